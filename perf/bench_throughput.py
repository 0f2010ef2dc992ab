"""Issue 18's figures in one run: the training step with and without the latent cache against the
UNet-only step, the readers against the step, the 16-frame hybrid attention step against the
per-frame one, and batched against unbatched Recursive Sampling.

    python perf/bench_throughput.py --data DATASET                      # tiny, CPU
    python perf/bench_throughput.py --data DATASET --config sd21 --init SD21_FOLDER --size 512   # GPU

DATASET: an InteriorVideo build whose frames have the crop's size (the demo's runs/demo/data at
64² for tiny); it is copied to a temporary folder, so the cache this writes goes there.

Training steps here draw full windows (``min_window`` = the model's window, no reference, no
anchors), so every step of every variant has the same frame count. The UNet-only step is the same
UNet, attention context (as many local prompts as the training's previous step), optimiser
and gradient clipping on random tensors of the window's shape: what a step would cost if
reading, encoding and the loop were free. It runs interleaved with the training steps, one before each batch, so
the host's slow and fast spells fall on both alike; the attention variants take turns step by
step, the sampling variants run in alternated rounds. Every figure is a median (a minimum would
credit whichever variant met the quietest moment), and every ratio compares variants measured in
this run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from interiorvideo.data import InteriorVideoDataset  # noqa: E402
from interiorvideo.dataset import Dataset  # noqa: E402
from x2video.attention import AttentionContext  # noqa: E402
from x2video.components import load_first_stage, pretrained_pipeline, tiny_pipeline  # noqa: E402
from x2video.latent_cache import build_cache, cache_key, open_cache  # noqa: E402
from x2video.sampling import GuidanceConfig, sample_video  # noqa: E402
import x2video.train.loop as loop  # noqa: E402
import x2video.train.loss as loss_module  # noqa: E402
from x2video.train import TrainConfig, train  # noqa: E402
from x2video.train.data import TRAIN_PASSES  # noqa: E402
from x2video.train.latent_data import LatentClipDataset  # noqa: E402
from x2video.train.loss import local_prompts  # noqa: E402


WARM_STEPS = 4  # a run's first steps (allocator and cache warm-up): left out of every median


class UNetOnlyStep:
    """UNet forward + backward + clip + AdamW on random inputs of one training window (h² latents):
    what a training step would cost if reading, encoding and the loop were free. The denoiser's
    own work is the training step's: ``step(k)`` carries k local prompts (0: none), whose masked
    cross-attention has more keys; :func:`interleaved` passes the k the training's own previous
    step drew, so both do the same mix of steps."""

    def __init__(self, pipe, batch: int, frames: int, h: int, device, dtype, checkpointing: bool):
        rows = batch * frames
        self.unet = pipe.unet.to(device).train()
        if checkpointing:
            self.unet.enable_gradient_checkpointing()
        self.opt = torch.optim.AdamW(self.unet.parameters(), lr=1e-6, foreach=True)  # as training
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(rows, 23, h, h, generator=g).to(device)
        self.target = torch.randn(rows, 4, h, h, generator=g).to(device)
        self.text_shape = (pipe.config.text_max_length, pipe.unet.config.cross_attention_dim)
        self.text = torch.randn(rows, *self.text_shape, generator=g).to(device)
        self.ts = torch.randint(0, 1000, (rows,), generator=g).to(device)
        self.pipe, self.batch, self.frames, self.h = pipe, batch, frames, h
        self.contexts: dict[int, AttentionContext] = {}
        self.device, self.dtype = device, dtype

    def context(self, k: int) -> AttentionContext:
        """The attention context with k local prompts per clip, as training gives them: disjoint
        instance masks (every latent pixel in one of k + 1 regions), one embedding per prompt."""
        if k not in self.contexts:
            p, B, Fr, h = self.pipe, self.batch, self.frames, self.h
            ctx = AttentionContext(num_frames=Fr, reference="first", temporal_fraction=p.config.temporal_fraction,
                                   temporal_neighbours=p.config.temporal_neighbours, latent_hw=(h, h))
            if k:
                g = torch.Generator().manual_seed(k)
                regions = torch.randint(0, k + 1, (B, 1, h, h), generator=g).expand(B, Fr, h, h)
                masks = torch.stack([regions == j + 1 for j in range(k)], dim=2)  # (B, F, K, h, w)
                ctx.local_masks = masks.flatten(0, 1).to(self.device)
                embeds = torch.randn(B, k, *self.text_shape, generator=g)
                ctx.local_embeds = embeds.repeat_interleave(Fr, dim=0).to(self.device)  # float32, as training
            self.contexts[k] = ctx
        return self.contexts[k]

    def step(self, local: int = 0) -> float:
        """One step with ``local`` local prompts; its seconds."""
        ctx = self.context(local)
        sync(self.device)
        t = time.perf_counter()
        with torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype != torch.float32):
            out = self.unet(self.x, self.ts, encoder_hidden_states=self.text,
                            cross_attention_kwargs={"x2v": ctx}).sample
        torch.nn.functional.mse_loss(out.float(), self.target).backward()
        torch.nn.utils.clip_grad_norm_(self.unet.parameters(), 1.0)
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        sync(self.device)
        return time.perf_counter() - t


@contextlib.contextmanager
def interleaved(unet_only: UNetOnlyStep):
    """Inside, the training loop's DataLoader runs one UNet-only step before it hands out each
    batch, so the two alternate step by step and share the host's fast and slow spells. The loop
    itself runs unchanged. Yields (training step seconds, UNet-only step seconds): a training
    step is the time from one batch request to the next (fetching its batch included) less the
    UNet-only step run inside it; an epoch's first batch starts no interval. Each UNet-only step
    carries as many local prompts as the training's previous step drew (recorded from
    ``local_prompts``), so the two do the same mix of plain and masked cross-attention steps."""
    train_s: list[float] = []
    unet_s: list[float] = []
    drawn = [0]  # local prompts per clip of the training's latest step

    def recording(*a, **k):
        out = local_prompts(*a, **k)
        drawn.append(0 if out is None else int(out[0].shape[1]))
        return out

    class Loader(DataLoader):
        def __iter__(self):
            asked = None
            it = super().__iter__()
            while True:
                t = time.perf_counter()
                if asked is not None:
                    train_s.append(t - asked - unet_s[-1])
                asked = t
                try:
                    batch = next(it)
                except StopIteration:
                    return
                unet_s.append(unet_only.step(drawn[-1]))
                yield batch

    saved, loop.DataLoader, loss_module.local_prompts = loop.DataLoader, Loader, recording
    try:
        yield train_s, unet_s
    finally:
        loop.DataLoader, loss_module.local_prompts = saved, local_prompts


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def reader_rate(ds, samples: int) -> float:
    t, n = time.perf_counter(), 0
    while n < samples:
        for _ in ds:
            n += 1
    return n / (time.perf_counter() - t)


def bench_training(args, device, dtype) -> None:
    """Every training variant runs with UNet-only steps interleaved step by step (:func:`interleaved`);
    each variant's ratio is against the UNet-only steps of its own run."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(args.data, data, ignore=shutil.ignore_patterns("latents"))
        base = dict(data=str(data), config=args.config, init=args.init, size=args.size, vae_steps=5,
                    max_steps=args.steps, batch_size=args.batch_size, p_reference=0.0,
                    p_anchors=0.0, checkpoint_every=10 ** 6, log_every=5, warmup_steps=1,
                    gradient_checkpointing=args.config == "sd21")
        quiet = lambda m: None  # noqa: E731
        first = Path(tmp) / "first-stage"  # tiny: its VAE, trained once and shared by every variant
        if args.config == "tiny":
            train(TrainConfig(out=str(first), **{**base, "max_steps": 1, "latents": "off"}), log=quiet)
        pipe = _pipeline(args, first)
        window = pipe.config.window  # the loaded model's own (an --init export keeps its window)
        base["min_window"] = window
        key = cache_key(pipe.vae, args.size, dtype)
        t = time.perf_counter()
        build_cache(pipe.vae, Dataset.open(data), key, device, log=quiet)
        build_s = time.perf_counter() - t
        cache = open_cache(Dataset.open(data), key)
        unet_only = UNetOnlyStep(_pipeline(args, first), args.batch_size, window, args.size // cache.downsample,
                                 device, dtype, args.config == "sd21")
        variants = {"full step, pixels (VAE encode every step)": dict(latents="off"),
                    "full step, latent cache": dict(latents="auto"),
                    # Without local prompts: what the loop costs besides the denoiser's own work.
                    "full step, latent cache, no local prompts (p_local 0)": dict(latents="auto", p_local=0.0)}
        step: dict[str, tuple[float, float]] = {}
        for i, (name, extra) in enumerate(variants.items()):
            out = Path(tmp) / f"run{i}"
            if args.config == "tiny":
                shutil.copytree(first / "vae", out / "vae")  # the same first stage
            with interleaved(unet_only) as (train_s, unet_s):
                train(TrainConfig(out=str(out), **base, **extra), log=quiet)
            if len(train_s) <= WARM_STEPS:
                raise SystemExit(f"{name}: only {len(train_s)} steps were timed (an epoch's last step is not); "
                                 f"give more --steps or a dataset with more train clips")
            step[name] = (statistics.median(train_s[WARM_STEPS:]), statistics.median(unet_s[WARM_STEPS:]))
        lat_reader = reader_rate(LatentClipDataset(cache, frames=window + 1, shuffle=16, shardshuffle=True), 200)
        pix_reader = reader_rate(InteriorVideoDataset(dataset_dir=data, split="train", frames=window + 1,
                                                      size=args.size, passes=TRAIN_PASSES, short="skip", rank=0,
                                                      world_size=1), 100)
        clips = Dataset.open(data).num_clips("train")
    s_cache = step["full step, latent cache"][0]
    print(f"## training, {args.config}, batch {args.batch_size} × {window}-frame windows at {args.size}², "
          f"{device.type}, {str(dtype).split('.')[-1]}; {args.steps} steps per variant, each with a UNet-only "
          "step (random tensors, as many local prompts as the training's previous step) interleaved")
    print("| step | median s/step | steps/s | interleaved UNet-only s/step | vs UNet-only |")
    print("|---|---|---|---|---|")
    for name, (s, u) in step.items():
        print(f"| {name} | {s:.4f} | {1 / s:.2f} | {u:.4f} | {u / s:.2f}× |")
    need = args.batch_size / s_cache
    print(f"cache build: {clips} clips in {build_s:.1f} s ({clips / build_s:.1f} clips/s); "
          f"latent reader {lat_reader:.0f} clips/s = {lat_reader / need:.1f}× what the cached step consumes "
          f"({need:.1f} clips/s); pixel reader {pix_reader:.0f} clips/s")


def _pipeline(args, pixel_run: Path):
    """The pipeline whose VAE the cache encodes with: the pixel run's trained tiny first stage, or sd21's."""
    if args.config == "tiny":
        vae, scales = load_first_stage(pixel_run / "vae")
        return tiny_pipeline(vae, scales)
    return pretrained_pipeline(args.init)


def bench_attention(args, device, dtype) -> None:
    """One training step (forward + backward) of a window per variant, the variants taking turns
    step by step (round robin), so the host's noise falls on all alike; medians, the first round
    (warm-up) left out."""
    pipe = tiny_pipeline(seed=0) if args.config == "tiny" else pretrained_pipeline(args.init)
    config = pipe.config  # the loaded model's own attention settings
    unet = pipe.unet.to(device).train()
    if args.config == "sd21":
        unet.enable_gradient_checkpointing()
    h = args.size // 2 ** (len(pipe.vae.config.block_out_channels) - 1)
    variants = {"per-frame": dict(reference="none", temporal_fraction=0.0, temporal_neighbours=None),
                "hybrid, full window": dict(reference="first", temporal_fraction=config.temporal_fraction,
                                            temporal_neighbours=None),
                f"hybrid, default (neighbours {config.temporal_neighbours})": dict(
                    reference="first", temporal_fraction=config.temporal_fraction,
                    temporal_neighbours=config.temporal_neighbours)}
    for frames in args.attention_frames:
        g = torch.Generator().manual_seed(0)
        x = torch.randn(frames, 23, h, h, generator=g).to(device)
        text = torch.randn(frames, pipe.config.text_max_length, unet.config.cross_attention_dim,
                           generator=g).to(device)
        t = torch.full((frames,), 500, device=device)
        contexts = {name: AttentionContext(num_frames=frames, latent_hw=(h, h), **v) for name, v in variants.items()}
        times: dict[str, list[float]] = {name: [] for name in variants}
        for r in range(args.attention_steps + 1):
            for name, ctx in contexts.items():
                s = _attention_step(unet, x, t, text, ctx, device, dtype)
                if r:
                    times[name].append(s)
        base = statistics.median(times["per-frame"])
        print(f"## attention: one training step of a {frames}-frame window, {args.config}, {args.size}²")
        print(f"({args.attention_steps} round-robin steps per variant, medians)")
        print("| attention | median s/step | vs per-frame |")
        print("|---|---|---|")
        for name, ts in times.items():
            print(f"| {name} | {statistics.median(ts):.4f} | {statistics.median(ts) / base:.2f}× |")


def _attention_step(unet, x, t, text, ctx, device, dtype) -> float:
    """One forward + backward step of a variant; its seconds."""
    sync(device)
    start = time.perf_counter()
    with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
        out = unet(x, t, encoder_hidden_states=text, cross_attention_kwargs={"x2v": ctx}).sample
    out.float().square().mean().backward()
    unet.zero_grad(set_to_none=True)
    sync(device)
    return time.perf_counter() - start


def bench_sampling(args, device, dtype) -> None:
    pipe = tiny_pipeline(seed=0) if args.config == "tiny" else pretrained_pipeline(args.init)
    pipe.to(device)
    T = args.sample_frames
    rng = np.random.default_rng(0)
    x = {"albedo": rng.random((T, args.size, args.size, 3), dtype=np.float32),
         "irradiance": rng.random((T, args.size, args.size, 3), dtype=np.float32)}
    results: dict[tuple[str, int], list] = {}
    for _ in range(args.rounds):
        for mode in ("recursive", "autoregressive", "independent"):
            for batch in (1, 4, 8):  # 4: the default
                sync(device)
                t = time.perf_counter()
                out = sample_video(pipe, x, mode=mode, steps=args.sample_steps, seed=0, batch_windows=batch)
                sync(device)
                results.setdefault((mode, batch), [out.model_calls, out.plan.num_windows, []])[2].append(
                    time.perf_counter() - t)
    print(f"## sampling: {T} frames, window {pipe.config.window}, {args.sample_steps} steps, {args.config}, "
          f"{args.size}², {GuidanceConfig(*pipe.config.guidance).passes} guidance pass(es) per row")
    print("| mode | windows per call | UNet calls | seconds | frames/s | calls/s | frames/s vs unbatched |")
    print("|---|---|---|---|---|---|---|")
    for (mode, batch), (calls, windows, times) in results.items():
        s = statistics.median(times)
        base = statistics.median(results[(mode, 1)][2])
        print(f"| {mode} | ≤ {batch} | {calls} | {s:.2f} | {T / s:.1f} | {calls / s:.1f} | {base / s:.2f}× |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="an InteriorVideo build (needed for the training figures)")
    ap.add_argument("--config", default="tiny", choices=("tiny", "sd21"))
    ap.add_argument("--init", help="sd21: a local Stable Diffusion 2.1 / RGB↔X / X2Video folder")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--steps", type=int, default=60, help="training steps per variant (the first 4: warm-up)")
    ap.add_argument("--batch-size", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=4,
                    help="alternated rounds of the sampling variants (each figure: the median)")
    ap.add_argument("--attention-frames", type=int, nargs="+", default=[8, 16])
    ap.add_argument("--attention-steps", type=int, default=20, help="timed steps per attention variant")
    ap.add_argument("--sample-frames", type=int, default=32)
    ap.add_argument("--sample-steps", type=int, default=10)
    ap.add_argument("--only", nargs="+", default=["training", "attention", "sampling"],
                    choices=("training", "attention", "sampling"))
    args = ap.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    if args.config == "sd21" and not args.init:
        ap.error("--config sd21 needs --init")
    if "training" in args.only:
        if not args.data:
            ap.error("the training figures need --data")
        if args.steps < WARM_STEPS + 4:
            ap.error(f"--steps {args.steps}: need at least {WARM_STEPS + 4} (the first {WARM_STEPS} are warm-up)")
        bench_training(args, device, dtype)
    if "attention" in args.only:
        bench_attention(args, device, dtype)
    if "sampling" in args.only:
        bench_sampling(args, device, dtype)


if __name__ == "__main__":
    main()
