"""The settings of a training run (:class:`TrainConfig`) and the resume guard: a run folder that
already holds checkpoints or a first-stage VAE is continued only with the same settings."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from interiorvideo.fileio import atomic_write_json

from .checkpoint import list_checkpoints

LATENT_MODES = ("auto", "build", "off")


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
    verify_data: bool = False  # check the train shards against dataset.json's sha256 before training
    latents: str = "auto"  # auto: read a matching latent cache if one exists; build: make it first; off: pixels

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
        if self.latents not in LATENT_MODES:
            raise ValueError(f"--latents must be one of {', '.join(LATENT_MODES)}, got {self.latents!r}")
        if self.mixed_precision not in ("auto", "no", "bf16", "fp16"):
            raise ValueError(f"--mixed-precision must be auto, no, bf16 or fp16, got {self.mixed_precision!r}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"--lr must be a positive finite number, got {self.lr}")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ValueError(f"--weight-decay must be a finite number ≥ 0, got {self.weight_decay}")
        if Path(self.out).exists() and not Path(self.out).is_dir():
            raise ValueError(f"--out {self.out} is a file, not a run folder")


# Settings a resumed run may change without breaking exactness.
# (Not num_workers: the sample order depends on the DataLoader worker count.)
RESUMABLE_CHANGES = {"max_steps", "checkpoint_every", "keep_checkpoints", "log_every", "verify_data"}


def _comparable(cfg: TrainConfig) -> dict[str, Any]:
    """The settings a resume must keep; paths resolved so `data` and `/abs/data` are the same."""
    d = {k: v for k, v in asdict(cfg).items() if k not in RESUMABLE_CHANGES and k != "out"}
    if d.get("latents") == "build":  # build only makes the cache auto would read: the same run
        d["latents"] = "auto"
    for key in ("data", "init"):
        if d.get(key):
            d[key] = str(Path(d[key]).resolve())
    return d


def compare_resume_config(run: Path, cfg: TrainConfig) -> None:
    """Refuse to continue a run (checkpoints or a first-stage VAE already made) with other settings.
    Read-only, so every process of a multi-process launch may call it."""
    path = run / "train_config.json"
    if not path.is_file() or not (list_checkpoints(run) or (run / "vae").is_dir()):
        return
    old = json.loads(path.read_text())
    old_cfg = TrainConfig(**{k: v for k, v in old.items() if k in {f.name for f in fields(TrainConfig)}})
    mine, theirs = _comparable(cfg), _comparable(old_cfg)
    diff = sorted(k for k in mine if mine[k] != theirs.get(k))
    if diff:
        raise ValueError(f"{run} holds a run with other settings ({', '.join(diff)}); resume with the same "
                         f"settings or choose another --out")


def check_resume_config(run: Path, cfg: TrainConfig) -> None:
    """Main process only: compare, then record the settings (atomically)."""
    compare_resume_config(run, cfg)
    atomic_write_json(run / "train_config.json", asdict(cfg))
