"""Model configurations: sd21 is Stable Diffusion 2.1's UNet widened to 23 channels; tiny runs."""

from __future__ import annotations

import os

import pytest
import torch
from accelerate import init_empty_weights
from diffusers import UNet2DConditionModel

from x2video.attention import AttentionContext, HybridSelfAttnProcessor, MaskedCrossAttnProcessor
from x2video.configs import SD21_UNET, build_unet, get_config

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def test_sd21_has_stable_diffusion_21_size():
    with init_empty_weights():
        unet = UNet2DConditionModel(**SD21_UNET)
    n = sum(p.numel() for p in unet.parameters())
    # SD 2.1's UNet has 865,910,724 parameters; widening conv_in from 4 to 23 inputs adds 19·320·9.
    assert n == 865_910_724 + 19 * 320 * 9
    assert unet.config.cross_attention_dim == 1024 and unet.config.in_channels == 23


def test_tiny_builds_with_processors_and_denoises_a_window():
    cfg = get_config("tiny")
    torch.manual_seed(0)
    unet = build_unet(cfg)
    kinds = {type(p) for p in unet.attn_processors.values()}
    assert kinds == {HybridSelfAttnProcessor, MaskedCrossAttnProcessor}
    frames = cfg.window
    x = torch.randn(frames, 23, 16, 16)
    text = torch.randn(frames, 6, 384)
    ctx = AttentionContext(frames, "first", temporal_fraction=0.25)
    with torch.no_grad():
        out = unet(x, torch.tensor([500]), text, cross_attention_kwargs={"x2v": ctx}).sample
    assert out.shape == (frames, 4, 16, 16) and torch.isfinite(out).all()
    with pytest.raises(KeyError, match="unknown model config"):
        get_config("huge")
