"""Training X2Video on InteriorVideo shards with accelerate: one CPU, one GPU, several GPUs or nodes
(``accelerate launch`` / torchrun) run the same code.

Each optimisation step draws its randomness (window length, reference and anchor frames, noise,
timesteps, prompt / channel / local-prompt dropout) from a generator seeded by (seed, step,
micro-batch, rank), and the data order is a pure function of (seed, epoch); a checkpoint therefore
only needs the weights, the optimiser, the EMA and (step, epoch, batch) to resume *exactly*: the
next loss after a resume equals the uninterrupted run's.

Run folder::

    RUN/train_config.json   the settings (a resume must match them, max_steps aside)
    RUN/vae/                tiny only: the first-stage VAE + per-pass latent scale factors
    RUN/checkpoints/step-NNNNNNN/  unet/, ema/ (safetensors), optimizer.pt, lr_scheduler.pt, state.json
    RUN/train_log.csv       step, epoch, loss, lr, seconds
    RUN/tensorboard/        the same curves for TensorBoard
    RUN/pipeline/           the final X2VideoPipeline (EMA weights), diffusers layout
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from accelerate import Accelerator
from diffusers import UNet2DConditionModel
from diffusers.optimization import get_scheduler
from diffusers.training_utils import EMAModel
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from interiorvideo.data import InteriorVideoDataset, collate
from interiorvideo.dataset import Dataset

from .attention import AttentionContext
from .components import first_stage, pretrained_pipeline, tiny_pipeline
from .conditioning import CHANNELS, ConditioningConfig, IntrinsicConditioner
from .pipeline import X2VideoPipeline
from .schedulers import training_scheduler
from .seeding import step_generator
from .vae import VAETrainConfig, build_tiny_vae, latent_scale_factors, pass_to_vae, train_vae, vae_images

TRAIN_PASSES = ("rgb", "albedo", "normal", "roughness", "metallic", "irradiance", "instance")
LOG_COLUMNS = ("step", "epoch", "loss", "lr", "seconds")


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a run. Defaults suit ``tiny`` on a CPU; ``sd21`` runs use --init, size 512
    and bf16 on GPUs."""

    data: str
    out: str
    config: str = "tiny"
    init: str | None = None  # X2Video export, RGB↔X x-to-rgb or SD 2.1 folder (required for sd21)
    max_steps: int = 1000
    batch_size: int = 2  # clips per device per micro-batch
    grad_accum: int = 1
    lr: float = 3e-4
    weight_decay: float = 1e-2
    warmup_steps: int = 50
    ema_decay: float = 0.999
    gradient_checkpointing: bool = False
    mixed_precision: str = "auto"  # auto = bf16 on CUDA, else no
    size: int = 64  # training crop (square); sd21: 512
    min_window: int = 2  # window lengths are drawn from [min_window, config window]
    p_reference: float = 0.3  # a clean reference frame is prepended
    p_anchors: float = 0.3  # some window frames are given clean (as Recursive Sampling's anchors)
    p_prompt_drop: float = 0.1  # global prompt → "" (text classifier-free guidance)
    p_channel_drop: float = 0.1  # each intrinsic channel alone
    p_all_channels_drop: float = 0.1  # all intrinsics at once (intrinsic classifier-free guidance)
    p_local: float = 0.5  # use local prompts with instance masks
    max_local: int = 2
    shuffle: int = 16  # sample shuffle buffer
    num_workers: int = 0
    checkpoint_every: int = 200
    keep_checkpoints: int = 2
    log_every: int = 10
    vae_steps: int = 600  # tiny: first-stage VAE training steps
    seed: int = 0

    def check(self) -> None:
        if self.config not in ("tiny", "sd21"):
            raise ValueError(f"--config must be tiny or sd21, got {self.config!r}")
        if self.config == "sd21" and not self.init:
            raise ValueError("--config sd21 needs --init: a local Stable Diffusion 2.1 or RGB↔X x-to-rgb folder")
        for name in ("max_steps", "batch_size", "grad_accum", "size", "checkpoint_every", "log_every", "min_window",
                     "keep_checkpoints"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be ≥ 1, got {getattr(self, name)}")
        for f in fields(self):
            if f.name.startswith("p_") and not 0.0 <= getattr(self, f.name) <= 1.0:
                raise ValueError(f"--{f.name.replace('_', '-')} must be in [0, 1], got {getattr(self, f.name)}")
        if self.mixed_precision not in ("auto", "no", "bf16", "fp16"):
            raise ValueError(f"--mixed-precision must be auto, no, bf16 or fp16, got {self.mixed_precision!r}")


# Settings a resumed run may change without breaking exactness.
# (Not num_workers: the sample order depends on the DataLoader worker count.)
_RESUMABLE_CHANGES = {"max_steps", "checkpoint_every", "keep_checkpoints", "log_every"}


@dataclass
class TrainState:
    step: int = 0  # optimiser steps done
    epoch: int = 0
    batch: int = 0  # batches of this epoch consumed


@dataclass
class TrainResult:
    run: Path
    steps: int
    losses: list[float] = field(default_factory=list)  # per optimiser step, this invocation
    step_seconds: float = 0.0  # mean wall time per optimiser step, this invocation




def _uniform(gen: torch.Generator) -> float:
    return float(torch.rand((), generator=gen))


# ----------------------------------------------------------------------------- one micro-batch


@dataclass
class WindowLayout:
    """Which sample frames form the window, whether frame 0 is a clean reference, which frames are
    clean anchors; frames are folded into the batch as (clips · frames)."""

    frames: list[int]
    reference: bool
    clean: torch.Tensor  # (F,) bool: reference / anchors (t = 0, no loss)


def draw_layout(gen: torch.Generator, sample_frames: int, window: int, cfg: TrainConfig) -> WindowLayout:
    """A random window length in [min_window, window]; a reference prepended with p_reference (then
    the window starts one frame later, so the reference is not one of its frames); random clean
    anchors with p_anchors."""
    hi = max(1, min(window, sample_frames - 1))
    lo = min(cfg.min_window, hi)
    length = int(torch.randint(lo, hi + 1, (), generator=gen))
    reference = _uniform(gen) < cfg.p_reference
    frames = [0] + list(range(1, length + 1)) if reference else list(range(length))
    clean = torch.zeros(len(frames), dtype=torch.bool)
    if reference:
        clean[0] = True
    first = 1 if reference else 0
    if length >= 2 and _uniform(gen) < cfg.p_anchors:
        k = int(torch.randint(1, length, (), generator=gen))
        clean[first + torch.randperm(length, generator=gen)[:k]] = True
    return WindowLayout(frames, reference, clean)


class PromptCache:
    """Frozen text encoder outputs, computed once per distinct prompt."""

    def __init__(self, pipe: X2VideoPipeline):
        self.pipe = pipe
        self.cache: dict[str, torch.Tensor] = {}

    def __call__(self, prompts: list[str]) -> torch.Tensor:
        for p in prompts:
            if p not in self.cache:
                # One prompt per call: a batched encode differs in the last bits with the batch's
                # make-up, and a resumed run must see exactly the embeddings the first run saw.
                self.cache[p] = self.pipe.encode_prompt([p]).float().cpu()[0]
        return torch.stack([self.cache[p] for p in prompts])


def local_prompts(batch: dict, frames: list[int], gen: torch.Generator, cfg: TrainConfig, prompts: PromptCache,
                  latent_hw: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Up to ``max_local`` visible instances with prompts per clip → (B, K, L, C) embeddings and
    (B, F, K, h, w) masks; a clip with fewer gets empty masks (those prompts are never attended)."""
    if cfg.max_local == 0 or _uniform(gen) >= cfg.p_local or "instance" not in batch:
        return None
    inst = batch["instance"][:, frames, 0]  # (B, F, H, W)
    chosen: list[list[tuple[int, str]]] = []
    for b, table in enumerate(batch["local_prompts"]):
        ids = [int(i) for i in torch.unique(inst[b]) if int(i) > 0 and int(i) in table]
        order = torch.randperm(len(ids), generator=gen).tolist()
        chosen.append([(ids[i], table[ids[i]]) for i in order[:cfg.max_local]])
    k = max((len(c) for c in chosen), default=0)
    if k == 0:
        return None
    B, Fr = inst.shape[:2]
    embeds = torch.zeros(B, k, *prompts([""]).shape[1:])
    masks = torch.zeros(B, Fr, k, *inst.shape[-2:], dtype=torch.bool)
    for b, items in enumerate(chosen):
        if items:
            embeds[b, :len(items)] = prompts([t for _, t in items])
            for j, (iid, _) in enumerate(items):
                masks[b, :, j] = inst[b] == iid
    masks = F.interpolate(masks.flatten(0, 1).float(), size=latent_hw, mode="nearest-exact") > 0.5
    return embeds, masks.view(B, Fr, k, *latent_hw)


def training_loss(pipe: X2VideoPipeline, unet: torch.nn.Module, batch: dict, gen: torch.Generator,
                  cfg: TrainConfig, prompts: PromptCache, noise_scheduler, device: torch.device,
                  dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The v-prediction loss of one micro-batch (mean over the frames that are not clean)."""
    B, T = batch["rgb"].shape[:2]
    layout = draw_layout(gen, T, pipe.config.window, cfg)
    Fr = len(layout.frames)
    pick = lambda name: batch[name][:, layout.frames].flatten(0, 1).to(device, dtype)  # noqa: E731
    scale = pipe.pass_scale
    with torch.no_grad():
        latents = pipe.vae.encode(pass_to_vae("rgb", pick("rgb"))).latent_dist.mode() * scale["rgb"]
        keep = torch.rand(B, len(CHANNELS), generator=gen) >= cfg.p_channel_drop
        keep &= (torch.rand(B, 1, generator=gen) >= cfg.p_all_channels_drop)
        conditioner = IntrinsicConditioner(pipe.vae, ConditioningConfig(
            scale_factors=tuple(scale[c] for c in ("albedo", "normal", "roughness", "metallic"))))
        keep = keep.repeat_interleave(Fr, dim=0)
        if layout.reference:
            keep[::Fr] = False  # a reference image comes without intrinsics at inference time
        cond = conditioner.encode({c: pick(c) for c in CHANNELS if c in batch}, keep=keep.to(device))
    h, w = latents.shape[-2:]
    texts = [("" if _uniform(gen) < cfg.p_prompt_drop else p) for p in batch["prompt"]]
    text = prompts(texts).to(device, dtype).repeat_interleave(Fr, dim=0)
    local = local_prompts(batch, layout.frames, gen, cfg, prompts, (h, w))
    ctx = AttentionContext(num_frames=Fr, reference="given" if layout.reference else "first",
                           temporal_fraction=pipe.config.temporal_fraction, latent_hw=(h, w))
    if local is not None:
        embeds, masks = local
        ctx.local_embeds = embeds.to(device, dtype).repeat_interleave(Fr, dim=0)
        ctx.local_masks = masks.flatten(0, 1).to(device)
    t = torch.randint(0, noise_scheduler.config.num_train_timesteps, (B,), generator=gen).repeat_interleave(Fr)
    clean = layout.clean.repeat(B)
    t = torch.where(clean, torch.zeros_like(t), t).to(device)
    noise = torch.randn(latents.shape, generator=gen).to(device, dtype)
    noisy = torch.where(clean.to(device)[:, None, None, None], latents,
                        noise_scheduler.add_noise(latents, noise, t))
    target = noise_scheduler.get_velocity(latents, noise, t)
    pred = unet(torch.cat([noisy, cond.to(dtype)], dim=1), t, encoder_hidden_states=text,
                cross_attention_kwargs={"x2v": ctx}).sample
    weight = (~clean).to(device, torch.float32)
    per_frame = F.mse_loss(pred.float(), target.float(), reduction="none").mean(dim=(1, 2, 3))
    return (per_frame * weight).sum() / weight.sum().clamp_min(1.0)


# ----------------------------------------------------------------------------- data


def batches_per_epoch(data: str, batch_size: int, world_size: int) -> int:
    """Batches every rank can make each epoch whatever shards it gets: ranks must step together."""
    counts = sorted(e.clips for e in Dataset.open(data).shards_of("train"))
    per_rank = sum(counts[: len(counts) // world_size]) if world_size > 1 else sum(counts)
    n = per_rank // batch_size
    if n < 1:
        raise ValueError(f"{data}: {sum(counts)} training clips in {len(counts)} shards give no batch of "
                         f"{batch_size} per process for {world_size} process(es); lower --batch-size")
    return n


def make_dataset(cfg: TrainConfig, window: int, rank: int, world_size: int) -> InteriorVideoDataset:
    return InteriorVideoDataset(dataset_dir=cfg.data, split="train", frames=window + 1, size=cfg.size, crop="random",
                                passes=TRAIN_PASSES, shuffle=cfg.shuffle, shardshuffle=True, seed=cfg.seed,
                                short="skip", rank=rank, world_size=world_size)


# ----------------------------------------------------------------------------- checkpoints


def _checkpoints(run: Path) -> list[Path]:
    return sorted(p for p in (run / "checkpoints").glob("step-*") if (p / "state.json").is_file())


def save_checkpoint(run: Path, unet: UNet2DConditionModel, ema: EMAModel, optimizer, lr_scheduler,
                    state: TrainState, keep: int) -> Path:
    folder = run / "checkpoints" / f"step-{state.step:07d}"
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    unet.save_pretrained(tmp / "unet", safe_serialization=True)
    ema.save_pretrained(str(tmp / "ema"))
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    torch.save(lr_scheduler.state_dict(), tmp / "lr_scheduler.pt")
    (tmp / "state.json").write_text(json.dumps(asdict(state)))  # written last: marks the folder complete
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    for old in _checkpoints(run)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return folder


def load_checkpoint(folder: Path, unet: UNet2DConditionModel, optimizer, lr_scheduler) -> tuple[TrainState, EMAModel]:
    from safetensors.torch import load_file

    weights = {}
    for f in sorted((folder / "unet").glob("*.safetensors")):
        weights.update(load_file(f))
    unet.load_state_dict(weights)
    ema = EMAModel.from_pretrained(str(folder / "ema"), model_cls=UNet2DConditionModel)
    optimizer.load_state_dict(torch.load(folder / "optimizer.pt", map_location="cpu", weights_only=True))
    lr_scheduler.load_state_dict(torch.load(folder / "lr_scheduler.pt", map_location="cpu", weights_only=True))
    return TrainState(**json.loads((folder / "state.json").read_text())), ema


def export_pipeline(pipe: X2VideoPipeline, ema: EMAModel, out: Path) -> Path:
    """The EMA weights as a diffusers-layout pipeline, replaced atomically."""
    params = list(pipe.unet.parameters())
    ema.store(params)
    ema.copy_to(params)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        pipe.save_pretrained(tmp, safe_serialization=True)
    finally:
        ema.restore(params)
    old = out.with_name(out.name + ".old")
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)
    return out


# ----------------------------------------------------------------------------- logs


class LossLog:
    """CSV of the loss curve; on resume, rows past the resumed step are dropped (they are redone)."""

    def __init__(self, path: Path, resume_step: int):
        self.path = path
        rows = []
        if path.is_file() and resume_step > 0:
            with path.open(newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"]) <= resume_step]
        with path.open("w", newline="") as f:
            w = csv.DictWriter(f, LOG_COLUMNS)
            w.writeheader()
            w.writerows(rows)

    def append(self, row: dict[str, Any]) -> None:
        with self.path.open("a", newline="") as f:
            csv.DictWriter(f, LOG_COLUMNS).writerow({k: row[k] for k in LOG_COLUMNS})


def _comparable(cfg: TrainConfig) -> dict[str, Any]:
    """The settings a resume must keep; paths resolved so `data` and `/abs/data` are the same."""
    d = {k: v for k, v in asdict(cfg).items() if k not in _RESUMABLE_CHANGES and k != "out"}
    for key in ("data", "init"):
        if d.get(key):
            d[key] = str(Path(d[key]).resolve())
    return d


def _compare_resume_config(run: Path, cfg: TrainConfig) -> None:
    """Refuse to continue a run (checkpoints or a first-stage VAE already made) with other settings.
    Read-only, so every process of a multi-process launch may call it."""
    path = run / "train_config.json"
    if not path.is_file() or not (_checkpoints(run) or (run / "vae").is_dir()):
        return
    old = json.loads(path.read_text())
    old_cfg = TrainConfig(**{k: v for k, v in old.items() if k in {f.name for f in fields(TrainConfig)}})
    mine, theirs = _comparable(cfg), _comparable(old_cfg)
    diff = sorted(k for k in mine if mine[k] != theirs.get(k))
    if diff:
        raise ValueError(f"{run} holds a run with other settings ({', '.join(diff)}); resume with the same "
                         f"settings or choose another --out")


def _check_resume_config(run: Path, cfg: TrainConfig) -> None:
    """Main process only: compare, then record the settings (atomically)."""
    _compare_resume_config(run, cfg)
    path = run / "train_config.json"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(cfg), indent=2))
    tmp.replace(path)


# ----------------------------------------------------------------------------- the loop


def _finished(run: Path, cfg: TrainConfig) -> int | None:
    """The step count of a run that is already complete (same settings, last checkpoint at or past
    max_steps, pipeline exported), so a re-run touches nothing; else None."""
    checkpoints = _checkpoints(run)
    if not checkpoints or not (run / "pipeline" / "model_index.json").is_file():
        return None
    _compare_resume_config(run, cfg)
    step = int(json.loads((checkpoints[-1] / "state.json").read_text())["step"])
    return step if step >= cfg.max_steps else None


def _first_stage_for(cfg: TrainConfig, run: Path, log: Callable[[str], None]):
    def train_now():
        log(f"training the tiny first-stage VAE ({cfg.vae_steps} steps) on {cfg.data}")
        ds = InteriorVideoDataset(dataset_dir=cfg.data, split="train", frames=4, size=cfg.size, crop="random",
                                  passes=("rgb", "albedo", "normal", "roughness", "metallic"), shuffle=cfg.shuffle,
                                  seed=cfg.seed, short="skip", rank=0, world_size=1)
        vae = build_tiny_vae(cfg.seed)
        bar = tqdm(total=cfg.vae_steps, desc="vae", unit="step")
        train_vae(vae, lambda: (vae_images(s) for s in ds), VAETrainConfig(steps=cfg.vae_steps, seed=cfg.seed),
                  lambda s, loss: (bar.update(1), bar.set_postfix(loss=f"{loss:.4f}")))
        bar.close()
        probe = InteriorVideoDataset(dataset_dir=cfg.data, split="train", frames=4, size=cfg.size, crop="center",
                                     temporal="first", passes=("rgb", "albedo", "normal", "roughness", "metallic"),
                                     rank=0, world_size=1, short="skip")
        return vae, latent_scale_factors(vae, (collate([s]) for s in probe))

    return first_stage(run / "vae", train_now)


def build_pipeline(cfg: TrainConfig, run: Path, log: Callable[[str], None] = print) -> X2VideoPipeline:
    if cfg.init:
        return pretrained_pipeline(cfg.init)
    vae, scales = _first_stage_for(cfg, run, log)
    return tiny_pipeline(vae, scales, seed=cfg.seed)


def train(cfg: TrainConfig, accelerator: Accelerator | None = None, log: Callable[[str], None] = print) -> TrainResult:
    """Train (or resume) the run in ``cfg.out`` up to ``cfg.max_steps`` optimiser steps."""
    cfg.check()
    run = Path(cfg.out)
    run.mkdir(parents=True, exist_ok=True)
    finished = _finished(run, cfg)
    if finished is not None:
        log(f"{run} has already trained {finished} steps (--max-steps {cfg.max_steps}); nothing to do")
        return TrainResult(run, finished)
    if accelerator is None:
        mp = cfg.mixed_precision
        if mp == "auto":
            mp = "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "no"
        accelerator = Accelerator(gradient_accumulation_steps=cfg.grad_accum, mixed_precision=mp,
                                  log_with="tensorboard", project_dir=str(run))
    main = accelerator.is_main_process
    if main:
        _check_resume_config(run, cfg)
        pipe = build_pipeline(cfg, run, log)
    accelerator.wait_for_everyone()
    if not main:
        pipe = build_pipeline(cfg, run, log)  # the first stage now exists on disk
    device = accelerator.device
    weight_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(accelerator.mixed_precision, torch.float32)
    pipe.vae.requires_grad_(False).to(device, weight_dtype).eval()
    pipe.text_encoder.requires_grad_(False).to(device).eval()
    unet = pipe.unet
    unet.train()
    if cfg.gradient_checkpointing:
        unet.enable_gradient_checkpointing()
    optimizer = torch.optim.AdamW(unet.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    lr_scheduler = get_scheduler("constant_with_warmup", optimizer, num_warmup_steps=cfg.warmup_steps)
    ema = EMAModel(unet.parameters(), decay=cfg.ema_decay, model_cls=UNet2DConditionModel, model_config=unet.config)
    state = TrainState()
    existing = _checkpoints(run)
    if existing:
        state, ema = load_checkpoint(existing[-1], unet, optimizer, lr_scheduler)
        log(f"resuming {run} from step {state.step}")
    ema.to(device)
    unet, optimizer = accelerator.prepare(unet, optimizer)
    noise_scheduler = training_scheduler()
    prompts = PromptCache(pipe)
    world, rank = accelerator.num_processes, accelerator.process_index
    dataset = make_dataset(cfg, pipe.config.window, rank, world)
    per_epoch = batches_per_epoch(cfg.data, cfg.batch_size, world) // cfg.grad_accum * cfg.grad_accum
    if per_epoch < 1:
        raise ValueError(f"an epoch of {cfg.data} has fewer batches than --grad-accum {cfg.grad_accum}")
    loader = DataLoader(dataset, batch_size=cfg.batch_size, collate_fn=collate, num_workers=cfg.num_workers)
    csv_log = LossLog(run / "train_log.csv", state.step) if main else None
    if main:
        accelerator.init_trackers("tensorboard", config={k: (v if v is not None else "") for k, v in asdict(cfg).items()})
    result = TrainResult(run, state.step)
    bar = tqdm(total=cfg.max_steps, initial=state.step, desc="train", unit="step", disable=not main)
    started, micro_losses = time.perf_counter(), []
    t_step = time.perf_counter()
    while state.step < cfg.max_steps:
        dataset.set_epoch(state.epoch)
        seen = 0
        for i, batch in enumerate(loader):
            seen += 1
            if i >= per_epoch or state.step >= cfg.max_steps:
                break
            if i < state.batch:
                continue  # consumed before the checkpoint we resumed from
            micro = i % cfg.grad_accum
            gen = step_generator(cfg.seed, state.step, micro, rank)
            with accelerator.accumulate(unet), accelerator.autocast():
                loss = training_loss(pipe, unet, batch, gen, cfg, prompts, noise_scheduler, device, torch.float32)
                accelerator.backward(loss)
                if accelerator.sync_gradients:
                    accelerator.clip_grad_norm_(unet.parameters(), 1.0)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
            micro_losses.append(loss.detach().float())
            state.batch = i + 1
            if not accelerator.sync_gradients:
                continue
            lr_scheduler.step()
            ema.step(accelerator.unwrap_model(unet).parameters())
            state.step += 1
            step_loss = float(accelerator.gather(torch.stack(micro_losses).mean()[None].to(device)).mean())
            micro_losses = []
            result.losses.append(step_loss)
            bar.update(1)
            bar.set_postfix(loss=f"{step_loss:.4f}", epoch=state.epoch)
            now = time.perf_counter()
            if main and (state.step % cfg.log_every == 0 or state.step == cfg.max_steps):
                row = dict(step=state.step, epoch=state.epoch, loss=f"{step_loss:.6f}",
                           lr=f"{lr_scheduler.get_last_lr()[0]:.3e}", seconds=f"{now - t_step:.4f}")
                csv_log.append(row)
                accelerator.log({"loss": step_loss, "lr": lr_scheduler.get_last_lr()[0]}, step=state.step)
            t_step = now
            epoch_done = state.batch >= per_epoch
            if epoch_done:
                state = TrainState(state.step, state.epoch + 1, 0)
            if state.step % cfg.checkpoint_every == 0 or state.step == cfg.max_steps:
                accelerator.wait_for_everyone()
                if main:
                    save_checkpoint(run, accelerator.unwrap_model(unet), ema, optimizer, lr_scheduler, state,
                                    cfg.keep_checkpoints)
            if epoch_done:
                break
        else:
            if not seen:
                raise ValueError(f"{cfg.data}: the train split gave no clip of {pipe.config.window + 1} frames")
            if state.batch:  # the data ran out before per_epoch batches (clips skipped as too short)
                state = TrainState(state.step, state.epoch + 1, 0)
    bar.close()
    accelerator.wait_for_everyone()
    if main:
        export_pipeline(pipe, ema, run / "pipeline")
    accelerator.end_training()
    steps_done = state.step - result.steps
    result.step_seconds = (time.perf_counter() - started) / max(1, steps_done)
    result.steps = state.step
    return result


@torch.no_grad()
def evaluate_loss(pipe: X2VideoPipeline, data: str, cfg: TrainConfig, split: str = "train", batches: int = 4,
                  seed: int = 1234) -> float:
    """Mean training loss of ``pipe`` over fixed clips, crops and noise draws: comparable across
    checkpoints (the loss curve itself is noisy by construction)."""
    ds = InteriorVideoDataset(dataset_dir=data, split=split, frames=pipe.config.window + 1, size=cfg.size,
                              crop="center", temporal="first", passes=TRAIN_PASSES, short="skip", rank=0,
                              world_size=1)
    cfg = replace(cfg, p_prompt_drop=0.0, p_channel_drop=0.0, p_all_channels_drop=0.0)
    unet = pipe.unet.eval()
    losses = []
    prompts = PromptCache(pipe)
    for i, batch in enumerate(DataLoader(ds, batch_size=cfg.batch_size, collate_fn=collate)):
        if i >= batches:
            break
        for j in range(4):  # several noise levels per batch
            losses.append(float(training_loss(pipe, unet, batch, step_generator(seed, i, j), cfg, prompts,
                                              training_scheduler(), pipe.device)))
    if not losses:
        raise ValueError(f"{data}: no {split} clip to evaluate")
    return float(np.mean(losses))
