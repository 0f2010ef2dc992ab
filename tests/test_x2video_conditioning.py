"""Intrinsic conditioning and conv_in widening."""

from __future__ import annotations

import os

import pytest
import torch
from diffusers import AutoencoderKL, UNet2DConditionModel

from interiorvideo.colour import hdr_to_display
from x2video.conditioning import (
    CHANNELS,
    UNET_IN_CHANNELS,
    ConditioningConfig,
    IntrinsicConditioner,
    to_vae_range,
    widen_conv_in,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def tiny_vae() -> AutoencoderKL:
    torch.manual_seed(0)
    return AutoencoderKL(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 4,
                         up_block_types=("UpDecoderBlock2D",) * 4, block_out_channels=(8, 8, 16, 16),
                         latent_channels=4, layers_per_block=1, norm_num_groups=4)


def tiny_unet(in_channels: int = 4) -> UNet2DConditionModel:
    torch.manual_seed(0)
    return UNet2DConditionModel(sample_size=8, in_channels=in_channels, out_channels=4, layers_per_block=1,
                                block_out_channels=(16, 32), down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=16,
                                attention_head_dim=4, norm_num_groups=8)


def passes(b=2, h=32, w=32):
    g = torch.Generator().manual_seed(1)
    n = torch.nn.functional.normalize(torch.randn(b, 3, h, w, generator=g), dim=1)
    return {"albedo": torch.rand(b, 3, h, w, generator=g), "normal": n, "roughness": torch.rand(b, 1, h, w, generator=g),
            "metallic": torch.rand(b, 1, h, w, generator=g), "irradiance": torch.rand(b, 3, h, w, generator=g) * 3}


def test_layout_scale_factors_and_missing_channels():
    vae = tiny_vae()
    cond = IntrinsicConditioner(vae)
    p = passes()
    out = cond.encode(p)
    assert out.shape == (2, UNET_IN_CHANNELS - 4, 4, 4)
    with torch.no_grad():
        albedo = vae.encode(p["albedo"] * 2 - 1).latent_dist.mode() * 0.17301
        metallic = vae.encode(p["metallic"].expand(-1, 3, -1, -1) * 2 - 1).latent_dist.mode() * 0.13135
    torch.testing.assert_close(out[:, 0:4], albedo)
    torch.testing.assert_close(out[:, 12:16], metallic)
    irr = torch.nn.functional.interpolate(hdr_to_display(p["irradiance"]) * 2 - 1, size=(4, 4), mode="bilinear", antialias=True)
    torch.testing.assert_close(out[:, 16:19], irr)
    partial = cond.encode({"albedo": p["albedo"], "irradiance": None})
    assert torch.all(partial[:, 4:] == 0) and torch.equal(partial[:, :4], out[:, :4])
    with pytest.raises(ValueError, match="no intrinsic channel"):
        cond.encode({})


def test_dropout_mask_zeroes_exactly_the_dropped_channels():
    cond = IntrinsicConditioner(tiny_vae(), ConditioningConfig(channel_dropout=0.5))
    keep = cond.dropout_mask(2, torch.Generator().manual_seed(3))
    keep[0] = torch.tensor([True, False, True, False, True])
    out = cond.encode(passes(), keep=keep)
    full = cond.encode(passes())
    spans = [(0, 4), (4, 8), (8, 12), (12, 16), (16, 19)]
    for i, (a, b) in enumerate(spans):
        if keep[0, i]:
            assert torch.equal(out[0, a:b], full[0, a:b]), CHANNELS[i]
        else:
            assert torch.all(out[0, a:b] == 0), CHANNELS[i]
    assert to_vae_range("normal", torch.ones(1, 3, 2, 2)).max() == 1.0


def test_widened_conv_in_keeps_the_pretrained_outputs():
    unet = tiny_unet()
    x, t, text = torch.randn(2, 4, 8, 8), torch.tensor([50]), torch.randn(2, 5, 16)
    with torch.no_grad():
        before = unet(x, t, text).sample
        widen_conv_in(unet)
        extra = torch.randn(2, UNET_IN_CHANNELS - 4, 8, 8)
        after_zero = unet(torch.cat([x, torch.zeros_like(extra)], 1), t, text).sample
        after_any = unet(torch.cat([x, extra], 1), t, text).sample
    assert unet.config.in_channels == UNET_IN_CHANNELS and unet.conv_in.in_channels == UNET_IN_CHANNELS
    torch.testing.assert_close(after_zero, before)
    torch.testing.assert_close(after_any, before)  # new weights are zero: conditioning is inert until trained
    with pytest.raises(ValueError, match="cannot shrink"):
        widen_conv_in(unet, 4)
