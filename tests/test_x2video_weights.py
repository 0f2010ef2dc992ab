"""Local pretrained weights: SD 2.1-layout folders load and widen; missing ones say what to supply."""

from __future__ import annotations

import os

import pytest
import torch
from diffusers import UNet2DConditionModel

from x2video.attention import HybridSelfAttnProcessor
from x2video.weights import MissingWeightsError, load_unet_from_rgbx, load_unet_from_sd21

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def tiny(in_channels: int) -> UNet2DConditionModel:
    torch.manual_seed(0)
    return UNet2DConditionModel(sample_size=8, in_channels=in_channels, out_channels=4, layers_per_block=1,
                                block_out_channels=(16, 32), down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=16,
                                attention_head_dim=4, norm_num_groups=8)


def test_sd21_folder_loads_widened_with_processors(tmp_path):
    base = tiny(4)
    base.save_pretrained(tmp_path / "sd21" / "unet", safe_serialization=True)
    unet = load_unet_from_sd21(tmp_path / "sd21")
    assert unet.config.in_channels == 23
    assert any(isinstance(p, HybridSelfAttnProcessor) for p in unet.attn_processors.values())
    x, t, text = torch.randn(1, 4, 8, 8), torch.tensor([3]), torch.randn(1, 5, 16)
    with torch.no_grad():
        want = base(x, t, text).sample
        got = unet(torch.cat([x, torch.randn(1, 19, 8, 8)], 1), t, text).sample
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)  # pretrained behaviour kept


def test_rgbx_folder_must_take_23_channels(tmp_path):
    tiny(23).save_pretrained(tmp_path / "rgbx" / "unet", safe_serialization=True)
    assert load_unet_from_rgbx(tmp_path / "rgbx").config.in_channels == 23
    tiny(4).save_pretrained(tmp_path / "wrong", safe_serialization=True)
    with pytest.raises(ValueError, match="23"):
        load_unet_from_rgbx(tmp_path / "wrong")


def test_missing_weights_say_what_to_supply(tmp_path):
    with pytest.raises(MissingWeightsError, match="stabilityai/stable-diffusion-2-1"):
        load_unet_from_sd21(tmp_path / "nowhere")
    tiny(4).save_pretrained(tmp_path / "pickled" / "unet", safe_serialization=False)
    with pytest.raises(MissingWeightsError, match="safetensors"):
        load_unet_from_sd21(tmp_path / "pickled")
