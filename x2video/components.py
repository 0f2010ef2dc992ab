"""Assembling an X2Video pipeline to train: from a previous export, from local Stable Diffusion 2.1
or RGB↔X weights, or (``tiny``) from scratch with a first-stage VAE trained on the dataset.

Kept apart from the training loop so the same assembly serves ``x2v train``, tests and benches.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import torch
from diffusers import AutoencoderKL

from interiorvideo.fileio import atomic_directory

from .configs import build_unet, get_config
from .pipeline import X2VideoPipeline, load_pipeline
from .schedulers import sampling_scheduler
from .text import minilm_encoder, sd21_encoder
from .vae import SD21_SCALE_FACTORS, VAE_PASSES, build_tiny_vae
from .weights import RGBX_HINT, SD21_HINT, MissingWeightsError, load_unet_from_rgbx, load_unet_from_sd21

SCALE_FILE = "x2video_scale_factors.json"


def tiny_pipeline(vae: AutoencoderKL | None = None, scale_factors: dict[str, float] | None = None,
                  seed: int = 0) -> X2VideoPipeline:
    """The ``tiny`` configuration, built in-process: random UNet, the given (or a random) small VAE,
    all-MiniLM-L6-v2 as text encoder."""
    config = get_config("tiny")
    torch.manual_seed(seed)
    unet = build_unet(config)
    vae = vae if vae is not None else build_tiny_vae(seed)
    text = minilm_encoder()
    scales = scale_factors or {p: 1.0 for p in VAE_PASSES}
    return X2VideoPipeline(unet=unet, vae=vae, text_encoder=text.model, tokenizer=text.tokenizer,
                           scheduler=sampling_scheduler(), config_name="tiny", window=config.window,
                           temporal_fraction=config.temporal_heads_fraction,
                           temporal_neighbours=config.temporal_neighbours,
                           scale_factors=[scales[p] for p in VAE_PASSES], text_max_length=text.max_length,
                           guidance=(1.0, 1.0, 0.0))


def pretrained_pipeline(path: str | Path) -> X2VideoPipeline:
    """``sd21``-sized pipeline from a local folder: an X2Video export (model_index.json naming
    X2VideoPipeline), RGB↔X's x-to-rgb (its UNet takes 23 channels) or Stable Diffusion 2.1
    (conv_in widened, new channels zero)."""
    root = Path(path)
    index = root / "model_index.json"
    if index.is_file() and json.loads(index.read_text()).get("_class_name") == "X2VideoPipeline":
        return load_pipeline(root)
    if not root.is_dir():
        raise MissingWeightsError(f"--init folder not found: {root}. Supply {SD21_HINT}; or {RGBX_HINT}.")
    unet_cfg = root / "unet" / "config.json"
    is_rgbx = unet_cfg.is_file() and json.loads(unet_cfg.read_text()).get("in_channels") == 23
    unet = load_unet_from_rgbx(root) if is_rgbx else load_unet_from_sd21(root)
    if not (root / "vae" / "config.json").is_file():
        raise MissingWeightsError(f"no VAE under {root / 'vae'}. Supply {SD21_HINT}.")
    vae = AutoencoderKL.from_pretrained(root / "vae", local_files_only=True, use_safetensors=True)
    text = sd21_encoder(root)
    config = get_config("sd21")
    return X2VideoPipeline(unet=unet, vae=vae, text_encoder=text.model, tokenizer=text.tokenizer,
                           scheduler=sampling_scheduler(), config_name="sd21", window=config.window,
                           temporal_fraction=config.temporal_heads_fraction,
                           temporal_neighbours=config.temporal_neighbours,
                           scale_factors=[SD21_SCALE_FACTORS[p] for p in VAE_PASSES], text_max_length=text.max_length)


def load_vae(path: str | Path) -> AutoencoderKL:
    """The VAE a training run from ``path`` would use: a run folder (its first stage ``vae/`` or
    its ``pipeline/``), an X2Video export, or a Stable Diffusion 2.1 / RGB↔X folder (``vae/``)."""
    root = Path(path)
    for folder in (root / "pipeline" / "vae", root / "vae"):
        if (folder / "config.json").is_file():
            try:
                return AutoencoderKL.from_pretrained(folder, local_files_only=True, use_safetensors=True)
            except Exception as e:  # diffusers raises several types for a damaged folder
                raise MissingWeightsError(f"the VAE at {folder} is incomplete or damaged ({type(e).__name__})") from e
    raise MissingWeightsError(f"no VAE under {path}: give a training run folder (after its first stage), an X2Video "
                              f"export, or {SD21_HINT}")


def load_first_stage(folder: Path) -> tuple[AutoencoderKL, dict[str, float]]:
    vae = AutoencoderKL.from_pretrained(folder, local_files_only=True, use_safetensors=True)
    scales = json.loads((folder / SCALE_FILE).read_text())
    return vae, {p: float(scales[p]) for p in VAE_PASSES}


def save_first_stage(vae: AutoencoderKL, scales: dict[str, float], folder: Path) -> None:
    """Written under a temporary name and renamed, so an interrupted run never leaves half a VAE."""
    with atomic_directory(folder, replace=True) as tmp:
        vae.save_pretrained(tmp, safe_serialization=True)
        (tmp / SCALE_FILE).write_text(json.dumps(scales, indent=2))


def first_stage(folder: Path, train: Callable[[], tuple[AutoencoderKL, dict[str, float]]]) -> tuple[AutoencoderKL, dict[str, float]]:
    """The tiny VAE from ``folder`` if a finished one is there, else trained now and saved there."""
    if (folder / SCALE_FILE).is_file():
        return load_first_stage(folder)
    vae, scales = train()
    save_first_stage(vae, scales, folder)
    return vae, scales
