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
                      num_workers=num_workers, seed=seed)
    try:
        result = run_training(cfg, log=lambda m: typer.echo(m, err=True))
    except (ValueError, FileNotFoundError, MissingWeightsError) as exc:
        _fail(str(exc))
    typer.echo(f"trained {result.steps} steps ({result.step_seconds:.3f} s/step); pipeline in {out / 'pipeline'}")
