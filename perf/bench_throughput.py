"""Issue 18's figures in one run: the training step with and without the latent cache against the
UNet-only step, the readers against the step, the 16-frame hybrid attention step against the
per-frame one, and batched against unbatched Recursive Sampling.

    python perf/bench_throughput.py --data DATASET                      # tiny, CPU
    python perf/bench_throughput.py --data DATASET --config sd21 --init SD21_FOLDER --size 512   # GPU

DATASET: an InteriorVideo build whose frames have the crop's size (the demo's runs/demo/data at
64² for tiny); it is copied to a temporary folder, so the cache this writes goes there.

Training steps here draw full windows (``min_window`` = the model's window, no reference, no
anchors), so every step of every variant has the same frame count; times are medians over the
steps logged (every 5th, the first left out), from the run's own train_log.csv. The UNet-only step is the same
UNet, attention context, optimiser and gradient clipping on random tensors of the window's
shape: what a step would cost if reading and encoding were free. Every ratio compares variants
measured in this run.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from interiorvideo.data import InteriorVideoDataset  # noqa: E402
from interiorvideo.dataset import Dataset  # noqa: E402
from x2video.attention import AttentionContext  # noqa: E402
from x2video.components import load_first_stage, pretrained_pipeline, tiny_pipeline  # noqa: E402
from x2video.configs import get_config  # noqa: E402
from x2video.latent_cache import build_cache, cache_key, open_cache  # noqa: E402
from x2video.sampling import GuidanceConfig, sample_video  # noqa: E402
from x2video.train import TrainConfig, train  # noqa: E402
from x2video.train.data import TRAIN_PASSES  # noqa: E402
from x2video.train.latent_data import LatentClipDataset  # noqa: E402


def median_step(run: Path, skip: int = 1) -> float:
    """The median of the logged steps' own durations (each row times the step it logs; with
    log_every 5 no logging falls inside a timed step), the first ``skip`` rows left out."""
    with (run / "train_log.csv").open() as f:
        seconds = [float(r["seconds"]) for r in csv.DictReader(f)]
    return statistics.median(seconds[skip:] if len(seconds) > skip + 2 else seconds)


def unet_only_step(pipe, rows: int, frames: int, h: int, steps: int, device, dtype, checkpointing: bool) -> float:
    """UNet forward + backward + clip + AdamW on random inputs of one training window (h² latents)."""
    unet = pipe.unet.to(device).train()
    if checkpointing:
        unet.enable_gradient_checkpointing()
    opt = torch.optim.AdamW(unet.parameters(), lr=1e-6, foreach=True)  # as training
    g = torch.Generator().manual_seed(0)
    x = torch.randn(rows, 23, h, h, generator=g).to(device)
    target = torch.randn(rows, 4, h, h, generator=g).to(device)
    text = torch.randn(rows, pipe.config.text_max_length, pipe.unet.config.cross_attention_dim, generator=g).to(device)
    ts = torch.randint(0, 1000, (rows,), generator=g).to(device)
    ctx = AttentionContext(num_frames=frames, reference="first", temporal_fraction=pipe.config.temporal_fraction,
                           temporal_neighbours=pipe.config.temporal_neighbours, latent_hw=(h, h))
    times = []
    for _ in range(steps):
        sync(device)
        t = time.perf_counter()
        with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
            out = unet(x, ts, encoder_hidden_states=text, cross_attention_kwargs={"x2v": ctx}).sample
        torch.nn.functional.mse_loss(out.float(), target).backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        sync(device)
        times.append(time.perf_counter() - t)
    return statistics.median(times[3:] if len(times) > 5 else times)


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
    config = get_config(args.config)
    window = config.window
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(args.data, data, ignore=shutil.ignore_patterns("latents"))
        base = dict(data=str(data), config=args.config, init=args.init, size=args.size, vae_steps=5,
                    max_steps=args.steps, batch_size=args.batch_size, min_window=window, p_reference=0.0,
                    p_anchors=0.0, checkpoint_every=10 ** 6, log_every=5, warmup_steps=1,
                    gradient_checkpointing=args.config == "sd21")
        pixels, cached = Path(tmp) / "pixels", Path(tmp) / "cached"
        quiet = lambda m: None  # noqa: E731
        train(TrainConfig(out=str(pixels), latents="off", **base), log=quiet)
        if args.config == "tiny":  # the same first stage for the cached run
            shutil.copytree(pixels / "vae", cached / "vae")
            vae, scales = load_first_stage(pixels / "vae")
            pipe = tiny_pipeline(vae, scales)
        else:
            pipe = pretrained_pipeline(args.init)
        key = cache_key(pipe.vae, args.size, dtype)
        t = time.perf_counter()
        build_cache(pipe.vae, Dataset.open(data), key, device, log=quiet)
        build_s = time.perf_counter() - t
        cache = open_cache(Dataset.open(data), key)
        train(TrainConfig(out=str(cached), latents="auto", **base), log=quiet)
        # The same cached run without local prompts: what masked cross-attention (denoiser work the
        # random-tensor UNet step does not do) costs, apart from the loop's own overhead.
        shutil.copytree(cached / "vae", Path(tmp) / "nolocal" / "vae")
        train(TrainConfig(out=str(Path(tmp) / "nolocal"), latents="auto", **{**base, "p_local": 0.0}), log=quiet)
        s_nolocal = median_step(Path(tmp) / "nolocal")
        rows, h = args.batch_size * window, args.size // cache.downsample
        unet_a = unet_only_step(pipe, rows, window, h, args.steps, device, dtype, args.config == "sd21")
        s_pix, s_cache = median_step(pixels), median_step(cached)
        unet_b = unet_only_step(pipe, rows, window, h, args.steps, device, dtype, args.config == "sd21")
        s_unet = min(unet_a, unet_b)
        lat_reader = reader_rate(LatentClipDataset(cache, frames=window + 1, shuffle=16, shardshuffle=True), 200)
        pix_reader = reader_rate(InteriorVideoDataset(dataset_dir=data, split="train", frames=window + 1,
                                                      size=args.size, passes=TRAIN_PASSES, short="skip", rank=0,
                                                      world_size=1), 100)
        clips = Dataset.open(data).num_clips("train")
    need = args.batch_size / s_cache
    print(f"## training, {args.config}, batch {args.batch_size} × {window}-frame windows at {args.size}², "
          f"{device.type}, {str(dtype).split('.')[-1]}")
    print("| step | s/step | steps/s | vs UNet-only |")
    print("|---|---|---|---|")
    for name, s in (("UNet only (random tensors)", s_unet), ("full step, pixels (VAE encode every step)", s_pix),
                    ("full step, latent cache", s_cache),
                    ("full step, latent cache, no local prompts (p_local 0)", s_nolocal)):
        print(f"| {name} | {s:.4f} | {1 / s:.2f} | {s_unet / s:.2f}× |")
    print(f"cache build: {clips} clips in {build_s:.1f} s ({clips / build_s:.1f} clips/s); "
          f"latent reader {lat_reader:.0f} clips/s = {lat_reader / need:.1f}× what the cached step consumes "
          f"({need:.1f} clips/s); pixel reader {pix_reader:.0f} clips/s")


def bench_attention(args, device, dtype) -> None:
    config = get_config(args.config)
    pipe = tiny_pipeline(seed=0) if args.config == "tiny" else pretrained_pipeline(args.init)
    h = args.size // 2 ** (len(pipe.vae.config.block_out_channels) - 1)
    variants = {"per-frame": dict(reference="none", fraction=0.0, neighbours=None),
                "hybrid, full window": dict(reference="first", fraction=config.temporal_heads_fraction,
                                            neighbours=None),
                f"hybrid, default (neighbours {config.temporal_neighbours})": dict(
                    reference="first", fraction=config.temporal_heads_fraction,
                    neighbours=config.temporal_neighbours)}
    for frames in args.attention_frames:
        times: dict[str, list[float]] = {}
        for _ in range(args.rounds):  # alternated, so machine noise hits every variant alike
            for name, v in variants.items():
                times.setdefault(name, []).append(_attention_step(pipe, frames, h, v, device, dtype, args))
        base = min(times["per-frame"])
        print(f"## attention: one training step of a {frames}-frame window, {args.config}, {args.size}²")
        print("| attention | s/step | vs per-frame |")
        print("|---|---|---|")
        for name, ts in times.items():
            print(f"| {name} | {min(ts):.4f} | {min(ts) / base:.2f}× |")


def _attention_step(pipe, frames, h, v, device, dtype, args) -> float:
    unet = pipe.unet.to(device).train()
    if args.config == "sd21":
        unet.enable_gradient_checkpointing()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(frames, 23, h, h, generator=g).to(device)
    text = torch.randn(frames, pipe.config.text_max_length, unet.config.cross_attention_dim, generator=g).to(device)
    ctx = AttentionContext(num_frames=frames, reference=v["reference"], temporal_fraction=v["fraction"],
                           temporal_neighbours=v["neighbours"], latent_hw=(h, h))
    best = float("inf")
    for _ in range(args.attention_repeats):
        sync(device)
        t = time.perf_counter()
        with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
            out = unet(x, torch.full((frames,), 500, device=device), encoder_hidden_states=text,
                       cross_attention_kwargs={"x2v": ctx}).sample
        out.float().square().mean().backward()
        unet.zero_grad(set_to_none=True)
        sync(device)
        best = min(best, time.perf_counter() - t)
    return best


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
            for batch in (1, 4):
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
        s = min(times)
        base = min(results[(mode, 1)][2])
        print(f"| {mode} | ≤ {batch} | {calls} | {s:.2f} | {T / s:.1f} | {calls / s:.1f} | {base / s:.2f}× |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="an InteriorVideo build (needed for the training figures)")
    ap.add_argument("--config", default="tiny", choices=("tiny", "sd21"))
    ap.add_argument("--init", help="sd21: a local Stable Diffusion 2.1 / RGB↔X / X2Video folder")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--steps", type=int, default=60, help="training steps per variant (every 5th is timed)")
    ap.add_argument("--batch-size", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3, help="alternated rounds of the attention and sampling variants")
    ap.add_argument("--attention-frames", type=int, nargs="+", default=[8, 16])
    ap.add_argument("--attention-repeats", type=int, default=3)
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
        bench_training(args, device, dtype)
    if "attention" in args.only:
        bench_attention(args, device, dtype)
    if "sampling" in args.only:
        bench_sampling(args, device, dtype)


if __name__ == "__main__":
    main()
