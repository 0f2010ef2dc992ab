"""Checkpoints through accelerate's own state saving, and the exported pipeline.

``Accelerator.save_state`` writes the UNet (``model.safetensors``), the optimiser and lr schedule
(``optimizer.bin``, ``scheduler.bin``), the GradScaler under fp16 and each rank's RNG state;
``load_state`` reads them back with ``torch.load(weights_only=True)`` (safetensors for the model),
so a damaged or non-weights file fails to load instead of running code. The EMA is *not*
registered with ``register_for_checkpointing``: accelerate unpickles registered objects with
``weights_only=False`` (``load_custom_state``, no option to change it). It rides instead in
accelerate's save/load-state hooks as a diffusers ``ema/`` folder (safetensors + config.json), as
diffusers' own training scripts do. ``state.json`` (step, epoch, batch) is written last and marks
a folder complete. Folders are named by step and rotated here (accelerate's automatic naming
counts saves, not steps).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from accelerate import Accelerator
from diffusers import UNet2DConditionModel
from diffusers.training_utils import EMAModel

from interiorvideo.fileio import atomic_directory

from ..pipeline import X2VideoPipeline

EMA_FOLDER = "ema"
STATE_FILE = "state.json"


@dataclass
class TrainState:
    step: int = 0  # optimiser steps done
    epoch: int = 0
    batch: int = 0  # batches of this epoch consumed


def list_checkpoints(run: Path) -> list[Path]:
    """The complete checkpoints of a run, oldest first."""
    return sorted(p for p in (run / "checkpoints").glob("step-*") if (p / STATE_FILE).is_file())


def checkpoint_step(folder: Path) -> int:
    return int(json.loads((folder / STATE_FILE).read_text())["step"])


def register_ema(accelerator: Accelerator, ema: EMAModel) -> None:
    """Save and load ``ema`` with every ``save_state`` / ``load_state`` of ``accelerator``."""

    def save(models, weights, output_dir: str) -> None:
        if accelerator.is_main_process:
            ema.save_pretrained(str(Path(output_dir) / EMA_FOLDER))

    def load(models, input_dir: str) -> None:
        loaded = EMAModel.from_pretrained(str(Path(input_dir) / EMA_FOLDER), model_cls=UNet2DConditionModel)
        ema.load_state_dict(loaded.state_dict())

    accelerator.register_save_state_pre_hook(save)
    accelerator.register_load_state_pre_hook(load)


def save_checkpoint(accelerator: Accelerator, run: Path, state: TrainState, keep: int) -> Path:
    """All processes call this; the main one completes the folder and drops all but the last ``keep``."""
    folder = run / "checkpoints" / f"step-{state.step:07d}"
    # Every process writes its part into one folder, so its temporary name must be known to all of
    # them (fileio.atomic_directory gives each caller its own): the same write-then-rename by hand.
    tmp = folder.with_name(folder.name + ".tmp")
    main = accelerator.is_main_process
    if main:
        shutil.rmtree(tmp, ignore_errors=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp), safe_serialization=True)
    accelerator.wait_for_everyone()
    if main:
        (tmp / STATE_FILE).write_text(json.dumps(asdict(state)))  # written last: marks the folder complete
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
        for old in list_checkpoints(run)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()
    return folder


def load_checkpoint(accelerator: Accelerator, folder: Path) -> TrainState:
    """Restore the prepared model, optimiser, lr schedule and the registered EMA from ``folder``;
    a folder accelerate cannot read safely is refused with its name."""
    if not (folder / "model.safetensors").is_file():
        raise ValueError(f"checkpoint {folder} has no model.safetensors (written by an older x2video or "
                         f"damaged); remove it to resume from an earlier one, or train into another --out")
    try:
        accelerator.load_state(str(folder))
    except Exception as e:  # any failure to read is the same problem for the user
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise ValueError(f"checkpoint {folder} is damaged or holds something other than weights "
                         f"({type(e).__name__}: {first}); remove it to resume from an earlier one") from e
    return TrainState(**json.loads((folder / STATE_FILE).read_text()))


def export_pipeline(pipe: X2VideoPipeline, ema: EMAModel, out: Path) -> Path:
    """The EMA weights as a diffusers-layout pipeline, replaced atomically."""
    params = list(pipe.unet.parameters())
    ema.store(params)
    ema.copy_to(params)
    try:
        with atomic_directory(out, replace=True) as tmp:
            pipe.save_pretrained(tmp, safe_serialization=True)
    finally:
        ema.restore(params)
    return out
