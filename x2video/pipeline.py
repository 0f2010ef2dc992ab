"""``X2VideoPipeline``: the X2Video model as one diffusers ``DiffusionPipeline`` (unet, vae, text
encoder, tokenizer, scheduler) with its own settings, saved and loaded in diffusers layout with
safetensors (``save_pretrained`` / ``from_pretrained``; ``model_index.json`` holds the settings).

Training exports this; sampling (:mod:`x2video.sampling`) runs it. The attention processors of
X2Video are installed whenever a pipeline is built, so a loaded UNet always has them.
"""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import AutoencoderKL, DiffusionPipeline, UNet2DConditionModel

from .configs import install_processors
from .vae import VAE_PASSES, SD21_SCALE_FACTORS
from .weights import MissingWeightsError


class X2VideoPipeline(DiffusionPipeline):
    """Components plus the settings the paper leaves open (window, temporal head share, latent
    scale factors per pass, prompt length) and the model's default guidance (text scale,
    intrinsic scale, rescale): RGB↔X's (3, 1.5, 0.7) for sd21; none for tiny, where guidance
    measured worse (20.0 vs 20.7 dB, perf/probe_tiny_quality.py) and costs three UNet passes."""

    model_cpu_offload_seq = "text_encoder->unet->vae"

    def __init__(self, unet: UNet2DConditionModel, vae: AutoencoderKL, text_encoder, tokenizer, scheduler,
                 config_name: str = "tiny", window: int = 8, temporal_fraction: float = 0.25,
                 scale_factors: list[float] | tuple[float, ...] = tuple(SD21_SCALE_FACTORS[p] for p in VAE_PASSES),
                 text_max_length: int = 77, guidance: list[float] | tuple[float, ...] = (3.0, 1.5, 0.7)):
        super().__init__()
        if len(scale_factors) != len(VAE_PASSES):
            raise ValueError(f"scale_factors needs {len(VAE_PASSES)} values ({', '.join(VAE_PASSES)}), "
                             f"got {len(scale_factors)}")
        install_processors(unet)
        self.register_modules(unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, scheduler=scheduler)
        self.register_to_config(config_name=config_name, window=int(window), temporal_fraction=float(temporal_fraction),
                                scale_factors=[float(s) for s in scale_factors], text_max_length=int(text_max_length),
                                guidance=[float(g) for g in guidance])

    @property
    def pass_scale(self) -> dict[str, float]:
        return dict(zip(VAE_PASSES, self.config.scale_factors))

    @torch.no_grad()
    def encode_prompt(self, prompts: list[str]) -> torch.Tensor:
        """(B, text_max_length, C) token states of the text encoder."""
        tokens = self.tokenizer(list(prompts), padding="max_length", max_length=self.config.text_max_length,
                                truncation=True, return_tensors="pt")
        mask = tokens.get("attention_mask") if "token_type_ids" in tokens else None  # BERT wants it, CLIP not
        out = self.text_encoder(input_ids=tokens["input_ids"].to(self.text_encoder.device),
                                attention_mask=None if mask is None else mask.to(self.text_encoder.device))
        return out.last_hidden_state


def load_pipeline(path: str | Path, **kw) -> X2VideoPipeline:
    """An X2Video pipeline from a local folder: a pipeline export (model_index.json) or a training
    run folder (its ``pipeline/``)."""
    root = Path(path)
    if (root / "pipeline" / "model_index.json").is_file():
        root = root / "pipeline"
    if not (root / "model_index.json").is_file():
        raise MissingWeightsError(f"no X2Video pipeline at {path} (expected model_index.json, or a training run "
                                  f"folder with pipeline/). Train one with `x2v train --data DIR --out RUN`.")
    return X2VideoPipeline.from_pretrained(root, local_files_only=True, use_safetensors=True, **kw)
