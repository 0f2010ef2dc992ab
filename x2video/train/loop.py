"""The training loop: build (or load) the pipeline, prepare with accelerate, step, log, checkpoint,
resume, export."""

from __future__ import annotations

import csv
import io
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from accelerate import Accelerator
from diffusers import UNet2DConditionModel
from diffusers.optimization import get_scheduler
from diffusers.training_utils import EMAModel
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from interiorvideo.data import collate
from interiorvideo.dataset import Dataset
from interiorvideo.fileio import atomic_write_bytes

from ..components import first_stage, pretrained_pipeline, tiny_pipeline
from ..configs import get_config
from ..latent_cache import LatentCache, build_cache, cache_key, open_cache
from ..pipeline import X2VideoPipeline
from ..schedulers import training_scheduler
from ..seeding import step_generator
from ..vae import VAETrainConfig, build_tiny_vae, latent_scale_factors, train_vae, vae_images
from .checkpoint import (
    TrainState,
    checkpoint_step,
    export_pipeline,
    list_checkpoints,
    load_checkpoint,
    register_ema,
    save_checkpoint,
)
from .config import TrainConfig, check_resume_config, compare_resume_config
from .data import (
    VAE_CROP_FRAMES,
    batches_per_epoch,
    make_dataset,
    make_latent_dataset,
    vae_probe_clips,
    vae_training_clips,
)
from .loss import PromptCache, training_loss

LOG_COLUMNS = ("step", "epoch", "loss", "lr", "seconds")
PROMPT_WARM_LIMIT = 20_000  # distinct prompts encoded before the first step (sd21: ~0.3 MB each)


@dataclass
class TrainResult:
    run: Path
    steps: int
    losses: list[float] = field(default_factory=list)  # per optimiser step, this invocation
    step_seconds: float = 0.0  # mean wall time per optimiser step, this invocation


class LossLog:
    """CSV of the loss curve; on resume, rows past the resumed step are dropped (they are redone)."""

    def __init__(self, path: Path, resume_step: int):
        self.path = path
        rows = []
        if path.is_file() and resume_step > 0:
            with path.open(newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"]) <= resume_step]
        text = io.StringIO(newline="")
        w = csv.DictWriter(text, LOG_COLUMNS)
        w.writeheader()
        w.writerows(rows)
        atomic_write_bytes(path, text.getvalue().encode())  # the kept rows, never a half-rewritten log

    def append(self, row: dict[str, Any]) -> None:
        with self.path.open("a", newline="") as f:
            csv.DictWriter(f, LOG_COLUMNS).writerow({k: row[k] for k in LOG_COLUMNS})


def _finished(run: Path, cfg: TrainConfig) -> int | None:
    """The step count of a run that is already complete (same settings, last checkpoint at or past
    max_steps, pipeline exported), so a re-run touches nothing; else None."""
    checkpoints = list_checkpoints(run)
    if not checkpoints or not (run / "pipeline" / "model_index.json").is_file():
        return None
    compare_resume_config(run, cfg)
    step = checkpoint_step(checkpoints[-1])
    return step if step >= cfg.max_steps else None


def _first_stage_for(cfg: TrainConfig, data: Dataset, run: Path, log: Callable[[str], None]):
    def train_now():
        log(f"training the tiny first-stage VAE ({cfg.vae_steps} steps) on {cfg.data}")
        ds = vae_training_clips(cfg, data)
        vae = build_tiny_vae(cfg.seed)
        bar = tqdm(total=cfg.vae_steps, desc="vae", unit="step")
        train_vae(vae, lambda: (vae_images(s) for s in ds), VAETrainConfig(steps=cfg.vae_steps, seed=cfg.seed),
                  lambda s, loss: (bar.update(1), bar.set_postfix(loss=f"{loss:.4f}")))
        bar.close()
        return vae, latent_scale_factors(vae, (collate([s]) for s in vae_probe_clips(cfg, data)))

    return first_stage(run / "vae", train_now)


def build_pipeline(cfg: TrainConfig, data: Dataset, run: Path, log: Callable[[str], None] = print) -> X2VideoPipeline:
    if cfg.init:
        return pretrained_pipeline(cfg.init)
    vae, scales = _first_stage_for(cfg, data, run, log)
    return tiny_pipeline(vae, scales, seed=cfg.seed)


def _latent_cache(cfg: TrainConfig, data: Dataset, pipe: X2VideoPipeline, weight_dtype: torch.dtype,
                  accelerator: Accelerator, log: Callable[[str], None]) -> LatentCache | None:
    """The latent cache this run reads (``cfg.latents``): one matching the pipeline's VAE, the
    crop size and the training dtype, built first under ``build``; None means pixels."""
    if cfg.latents == "off":
        return None
    key = cache_key(pipe.vae, cfg.size, weight_dtype)  # before the VAE is cast: the as-loaded weights
    cache = open_cache(data, key)
    if cache is None and cfg.latents == "build":
        bar = tqdm(desc="cache latents", unit="clip", disable=not accelerator.is_main_process)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        build_cache(pipe.vae, data, key, accelerator.device, rank=accelerator.process_index,
                    world_size=accelerator.num_processes, barrier=accelerator.wait_for_everyone, progress=progress,
                    log=log if accelerator.is_main_process else (lambda m: None))
        bar.close()
        accelerator.wait_for_everyone()
        cache = open_cache(data, key)
    if cache is not None:
        if cfg.verify_data:
            cache.verify("train")
        if accelerator.is_main_process:
            log(f"reading latents from {cache.root}")
    elif accelerator.is_main_process:
        log(f"no latent cache matches this VAE, crop and dtype ({key.folder}); encoding pixels every step "
            f"(`x2v cache-latents` or `x2v train --latents build` makes one)")
    return cache


def _check_clip_length(data: Dataset, need: int) -> None:
    """Training crops windows of ``need`` frames (and the first stage 4); shorter clips would be
    skipped, all of them, and the data stream would end before the first step."""
    frames = int(data.config.get("frames", 0))
    if frames < max(need, VAE_CROP_FRAMES):
        raise ValueError(f"{data.root}: its clips have {frames} frames; training takes windows of {need} (the model's "
                         f"window + 1) and the first stage {VAE_CROP_FRAMES}: build the dataset with --frames "
                         f"{max(need, VAE_CROP_FRAMES)} or more")


def train(cfg: TrainConfig, accelerator: Accelerator | None = None, log: Callable[[str], None] = print) -> TrainResult:
    """Train (or resume) the run in ``cfg.out`` up to ``cfg.max_steps`` optimiser steps."""
    cfg.check()
    data = Dataset.open(cfg.data)  # a missing or foreign dataset fails here, before any work
    if cfg.verify_data:
        data.verify_shards(data.shards_of("train"))  # a ShardError (ValueError) naming a damaged shard
    if cfg.config == "tiny" and not cfg.init:
        _check_clip_length(data, get_config("tiny").window + 1)
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
        # cpu=True where there is no GPU: accelerate then joins the ranks of a launch with gloo (on a
        # CUDA build of torch without a device it would otherwise run each rank alone).
        accelerator = Accelerator(gradient_accumulation_steps=cfg.grad_accum, mixed_precision=mp,
                                  log_with="tensorboard", project_dir=str(run), cpu=not torch.cuda.is_available())
    launched = int(os.environ.get("WORLD_SIZE", "1"))
    if launched > 1 and accelerator.num_processes != launched:
        raise ValueError(f"launched as {launched} processes, but the Accelerator joined {accelerator.num_processes}: "
                         f"each would train alone into {run}; pass an Accelerator of the launch")
    if accelerator.project_configuration.automatic_checkpoint_naming:
        raise ValueError("train names checkpoints by step (RUN/checkpoints/step-NNNNNNN); pass an Accelerator "
                         "without ProjectConfiguration(automatic_checkpoint_naming=True)")
    main = accelerator.is_main_process
    if main:
        check_resume_config(run, cfg)
        pipe = build_pipeline(cfg, data, run, log)
    accelerator.wait_for_everyone()
    if not main:
        pipe = build_pipeline(cfg, data, run, log)  # the first stage now exists on disk
    device = accelerator.device
    weight_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(accelerator.mixed_precision, torch.float32)
    cache = _latent_cache(cfg, data, pipe, weight_dtype, accelerator, log)
    pipe.vae.requires_grad_(False).to(device, weight_dtype).eval()
    pipe.text_encoder.requires_grad_(False).to(device).eval()
    unet = pipe.unet
    unet.train()
    if cfg.gradient_checkpointing:
        unet.enable_gradient_checkpointing()
    # foreach: one fused update over all parameters instead of a Python loop (the default on CUDA only).
    optimizer = torch.optim.AdamW(unet.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, foreach=True)
    # A prepared schedule steps once per process per optimiser step: the warm-up counts the same.
    lr_scheduler = get_scheduler("constant_with_warmup", optimizer,
                                 num_warmup_steps=cfg.warmup_steps * accelerator.num_processes)
    ema = EMAModel(unet.parameters(), decay=cfg.ema_decay, model_cls=UNet2DConditionModel, model_config=unet.config,
                   foreach=True)
    register_ema(accelerator, ema)
    unet, optimizer, lr_scheduler = accelerator.prepare(unet, optimizer, lr_scheduler)
    state = TrainState()
    existing = list_checkpoints(run)
    if existing:
        state = load_checkpoint(accelerator, existing[-1])
        log(f"resuming {run} from step {state.step}")
    ema.to(device)
    noise_scheduler = training_scheduler()
    prompts = PromptCache(pipe)
    split_prompts = data.prompts("train")
    if len(split_prompts) <= PROMPT_WARM_LIMIT:  # beyond it, encode lazily: memory grows with the cache
        bar = tqdm(total=len(split_prompts) + 1, desc="encode prompts", unit="prompt", disable=not main, leave=False)
        prompts.warm([""] + split_prompts, progress=lambda done, total: bar.update(1))
        bar.close()
    world, rank = accelerator.num_processes, accelerator.process_index
    _check_clip_length(data, pipe.config.window + 1)
    dataset = (make_latent_dataset(cfg, cache, pipe.config.window, rank, world) if cache is not None
               else make_dataset(cfg, data, pipe.config.window, rank, world))
    per_epoch = batches_per_epoch(data, cfg.batch_size, world) // cfg.grad_accum * cfg.grad_accum
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
    # Listed once: unwrap_model walks the module tree on every call (measured: 4 ms a step on 2 CPU cores).
    params, ema_params = list(unet.parameters()), list(accelerator.unwrap_model(unet).parameters())
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
                    accelerator.clip_grad_norm_(params, 1.0)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
            micro_losses.append(loss.detach().float())
            state.batch = i + 1
            if not accelerator.sync_gradients:
                continue
            lr_scheduler.step()
            ema.step(ema_params)
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
                save_checkpoint(accelerator, run, state, cfg.keep_checkpoints)
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
