"""``x2v``: train and sample X2Video; a thin layer over :mod:`x2video.train` and friends."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn, Optional

import typer

from . import __version__

app = typer.Typer(help="X2Video: neural video rendering from intrinsic channels.", no_args_is_help=True,
                  add_completion=False)


@app.callback()
def _root() -> None:
    """X2Video command line."""
    from x2video.quiet import quiet_libraries

    quiet_libraries()


@app.command()
def version() -> None:
    """Print the installed version."""
    typer.echo(f"x2v {__version__}")


def _fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(2)


@app.command()
def train(
    data: Path = typer.Option(..., help="InteriorVideo dataset folder (`interiorvideo build`); its train split is read."),
    out: Path = typer.Option(..., help="Run folder: checkpoints, logs, the final pipeline/. Re-run to resume."),
    config: str = typer.Option("tiny", help="Model size: tiny (CPU, minutes) or sd21 (Stable Diffusion 2.1, GPUs)."),
    init: Optional[Path] = typer.Option(None, help="Local weights to start from: an X2Video pipeline export, RGB↔X "
                                        "x-to-rgb or Stable Diffusion 2.1 (diffusers layout). Required for sd21."),
    max_steps: int = typer.Option(1000, help="Optimiser steps in all (a resumed run continues to this)."),
    batch_size: int = typer.Option(2, help="Clips per device per micro-batch."),
    grad_accum: int = typer.Option(1, help="Micro-batches per optimiser step."),
    lr: float = typer.Option(3e-4, help="AdamW learning rate (after warm-up)."),
    warmup_steps: int = typer.Option(50, help="Linear learning-rate warm-up steps."),
    ema_decay: float = typer.Option(0.999, help="EMA decay of the exported weights."),
    size: int = typer.Option(64, help="Square training crop in pixels (sd21: 512)."),
    gradient_checkpointing: bool = typer.Option(False, help="Trade compute for memory (large models)."),
    mixed_precision: str = typer.Option("auto", help="auto (bf16 on CUDA, else fp32), no, bf16 or fp16."),
    checkpoint_every: int = typer.Option(200, help="Save a resumable checkpoint every N steps."),
    log_every: int = typer.Option(10, help="Append the loss to train_log.csv / TensorBoard every N steps."),
    vae_steps: int = typer.Option(600, help="tiny only: steps of the first-stage VAE trained on the dataset."),
    num_workers: int = typer.Option(0, help="DataLoader worker processes per device."),
    seed: int = typer.Option(0, help="Seed of all training randomness: the same seed and data give the same run."),
    verify_data: bool = typer.Option(False, help="Check the train split's shards against dataset.json's sha256 "
                                                 "first (one read of each; values are always checked)."),
    latents: str = typer.Option("auto", help="auto: read a latent cache matching this run's VAE, crop and dtype if "
                                "one exists (x2v cache-latents); build: make it first (after tiny's first stage); "
                                "off: encode pixels every step."),
) -> None:
    """Train X2Video on InteriorVideo shards. The same command runs on a CPU, a GPU, or many GPUs
    and nodes under `accelerate launch` (see the README); re-running it resumes exactly."""
    from .train import TrainConfig, train as run_training
    from .weights import MissingWeightsError

    cfg = TrainConfig(data=str(data), out=str(out), config=config, init=str(init) if init else None,
                      max_steps=max_steps, batch_size=batch_size, grad_accum=grad_accum, lr=lr,
                      warmup_steps=warmup_steps, ema_decay=ema_decay, size=size,
                      gradient_checkpointing=gradient_checkpointing, mixed_precision=mixed_precision,
                      checkpoint_every=checkpoint_every, log_every=log_every, vae_steps=vae_steps,
                      num_workers=num_workers, seed=seed, verify_data=verify_data, latents=latents)
    try:
        result = run_training(cfg, log=lambda m: typer.echo(m, err=True))
    except (ValueError, FileNotFoundError, MissingWeightsError) as exc:
        _fail(str(exc))
    from accelerate import PartialState

    if PartialState().is_main_process:  # once, not once per rank of a launch
        typer.echo(f"trained {result.steps} steps ({result.step_seconds:.3f} s/step); pipeline in {out / 'pipeline'}")


@app.command("cache-latents")
def cache_latents(
    data: Path = typer.Option(..., help="InteriorVideo dataset folder; the cache is written under DATA/latents/."),
    init: Path = typer.Option(..., help="Where the VAE comes from: a training run folder (tiny: after its first "
                              "stage), an X2Video export, or a Stable Diffusion 2.1 / RGB↔X folder."),
    config: str = typer.Option("tiny", help="tiny or sd21: sets the default --size (64 / 512)."),
    size: Optional[int] = typer.Option(None, help="The training crop the cache serves (x2v train --size)."),
    dtype: str = typer.Option("auto", help="The dtype the VAE runs in, as training will hold it: auto (bfloat16 on "
                              "CUDA, else float32), float32, bfloat16 or float16."),
    split: list[str] = typer.Option(["train"], help="Splits to encode; repeatable."),
    batch_frames: int = typer.Option(8, min=1, help="Frames per VAE call."),
) -> None:
    """Encode every clip's passes once through the VAE, so training reads latents instead of
    re-encoding pixels each step. Resumable; run under `accelerate launch` to split the shards
    over GPUs. Training finds the cache by itself (x2v train --latents auto)."""
    from tqdm.auto import tqdm

    from interiorvideo.dataset import DatasetError

    from .latent_cache import LatentCacheError, cache_latents as run_cache
    from .weights import MissingWeightsError

    if config not in ("tiny", "sd21"):
        _fail(f"--config must be tiny or sd21, got {config!r}")
    bars: list = []

    def progress(done: int, total: int) -> None:
        if not bars:
            bars.append(tqdm(total=total, desc="cache latents", unit="clip"))
        bars[0].update(done - bars[0].n)

    try:
        cache = run_cache(data, init, size or (64 if config == "tiny" else 512), dtype, splits=split,
                          batch_frames=batch_frames, progress=progress, log=typer.echo)
    except (DatasetError, LatentCacheError, MissingWeightsError, ValueError, OSError) as exc:
        _fail(str(exc))
    finally:
        for bar in bars:
            bar.close()
    if cache is not None:
        typer.echo(f"x2v train --data {data} --size {cache.size[0]} reads it (--latents auto)")


def _guidance(text: float | None, intrinsic: float | None, rescale: float | None, checkpoint: Path):
    """Given scales over the model's defaults (read from its model_index.json)."""
    from .sampling import GuidanceConfig

    if text is None and intrinsic is None and rescale is None:
        return None
    import json

    index = checkpoint / "pipeline" / "model_index.json"
    index = index if index.is_file() else checkpoint / "model_index.json"
    default = json.loads(index.read_text()).get("guidance", [3.0, 1.5, 0.7]) if index.is_file() else [3.0, 1.5, 0.7]
    return GuidanceConfig(*(d if v is None else v for v, d in zip((text, intrinsic, rescale), default)))


@app.command()
def sample(
    checkpoint: Path = typer.Option(..., help="A training run folder (its pipeline/) or an X2VideoPipeline export."),
    out: Path = typer.Option(..., help="Output mp4; beside it <stem>.hdr.npy (linear HDR, T×H×W×3) and "
                             "<stem>_frames/NNNN.png (sRGB)."),
    data: Optional[Path] = typer.Option(None, help="InteriorVideo dataset folder to take the intrinsics from."),
    clip: Optional[str] = typer.Option(None, help="Clip key in --data (see `interiorvideo info`)."),
    intrinsics: Optional[Path] = typer.Option(None, help="Folder of per-frame intrinsics: <pass>/NNNN.(png|exr|npy) "
                                              "for albedo, normal, roughness, metallic, irradiance (README)."),
    frames: Optional[int] = typer.Option(None, help="Frames to render (default: all the input has)."),
    channels: Optional[str] = typer.Option(None, help="Comma-separated subset of intrinsic channels to condition on."),
    mode: str = typer.Option("recursive", help="recursive | autoregressive | independent (long-video sampling)."),
    perframe: bool = typer.Option(False, help="Temporal and reference attention off (the per-frame baseline)."),
    reference: Optional[Path] = typer.Option(None, help="Reference image (sRGB PNG/JPEG, or linear .exr/.npy)."),
    prompt: Optional[str] = typer.Option(None, help="Global prompt (default: the clip's, else empty)."),
    local_prompt: list[str] = typer.Option([], help="MASK:TEXT, MASK = instance=ID (with --data) or a mask "
                                           ".png/.npy; repeatable."),
    edit: list[str] = typer.Option([], help="Parametric edit before sampling, e.g. albedo:instance=12:color=0.8,0.1,0.1 "
                                   "(kinds: albedo, material, normal, irradiance); repeatable."),
    steps: int = typer.Option(20, help="Denoising steps (DDIM, trailing spacing)."),
    batch_windows: int = typer.Option(4, min=1, help="Independent windows (one Recursive Sampling stage) per UNet "
                                      "call: faster, more memory; 1 runs them one by one."),
    window: Optional[int] = typer.Option(None, min=1, help="Frames per window (default: the model's training window)."),
    temporal_neighbours: str = typer.Option("model", help="Temporal heads attend to frame 0 and a band of this many "
                                            "frames around their own: an integer ≥ 1, 'all' (every frame of "
                                            "the window) or 'model' (the model's setting)."),
    seed: int = typer.Option(0, help="Seed: the same seed gives the same frames."),
    text_scale: Optional[float] = typer.Option(None, help="Text guidance scale (default: the model's; sd21 3.0, "
                                               "tiny 1.0 = off)."),
    intrinsic_scale: Optional[float] = typer.Option(None, help="Intrinsic guidance scale (default: the model's; "
                                                    "sd21 1.5)."),
    guidance_rescale: Optional[float] = typer.Option(None, help="Guidance rescale, 0 = off (default: the model's)."),
) -> None:
    """Render a video from intrinsic channels with a trained X2Video."""
    from tqdm.auto import tqdm

    from .sample_job import SampleJob, run_sample
    from .weights import MissingWeightsError

    job = SampleJob(checkpoint=str(checkpoint), out=str(out), data=str(data) if data else None, clip=clip,
                    intrinsics=str(intrinsics) if intrinsics else None, frames=frames,
                    channels=[c.strip() for c in channels.split(",")] if channels else None, mode=mode,
                    perframe=perframe, reference=str(reference) if reference else None, prompt=prompt,
                    local_prompts=local_prompt, edits=edit, steps=steps, batch_windows=batch_windows, seed=seed,
                    window=window, temporal_neighbours=temporal_neighbours,
                    guidance=_guidance(text_scale, intrinsic_scale, guidance_rescale, checkpoint))
    bars: list = []

    def progress(done: int, total: int) -> None:
        if not bars:  # created on the first call, so input errors print without a bar
            bars.append(tqdm(total=total, desc="sample", unit="UNet call"))
        bars[0].update(done - bars[0].n)

    try:
        result = run_sample(job, progress)
    except (ValueError, KeyError, FileNotFoundError, MissingWeightsError) as exc:
        _fail(str(exc).strip('"'))
    finally:
        for bar in bars:
            bar.close()
    s = result.sample
    typer.echo(f"wrote {result.video} ({s.hdr.shape[0]} frames, {s.plan.num_windows} windows, {s.model_calls} "
               f"UNet calls, {s.seconds:.1f} s); HDR in {result.hdr}")


if __name__ == "__main__":
    app()
