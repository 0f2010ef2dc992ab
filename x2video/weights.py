"""Pretrained weights from local folders only (nothing is downloaded at run time).

* ``load_unet_from_sd21(path)``: Stable Diffusion 2.1's UNet (diffusers layout, safetensors),
  conv_in widened to the 23-channel intrinsic input with the new channels zero.
* ``load_unet_from_rgbx(path)``: RGB↔X's x-to-rgb UNet, which already takes the 23 channels.

Both install X2Video's attention processors. Without the folder, the error says what to fetch
and where to put it.
"""

from __future__ import annotations

from pathlib import Path

from diffusers import UNet2DConditionModel

from .conditioning import UNET_IN_CHANNELS, widen_conv_in
from .configs import install_processors

SD21_HINT = ("Stable Diffusion 2.1 in diffusers layout (unet/, vae/, text_encoder/, tokenizer/, scheduler/ with "
             "safetensors): on a machine with network access run `huggingface-cli download "
             "stabilityai/stable-diffusion-2-1 --local-dir sd21` and copy the folder here, then pass its path")
RGBX_HINT = ("RGB↔X's x-to-rgb model in diffusers layout: download `zheng95z/x-to-rgb` the same way "
             "(`huggingface-cli download zheng95z/x-to-rgb --local-dir x-to-rgb`) and pass its path")


class MissingWeightsError(FileNotFoundError):
    """Local weights that are not there; the message says what to supply."""


def _unet_folder(path: str | Path, hint: str) -> Path:
    root = Path(path)
    unet = root / "unet" if (root / "unet").is_dir() else root
    if not (unet / "config.json").is_file():
        raise MissingWeightsError(f"no UNet config at {unet / 'config.json'}. Supply {hint}.")
    if not any(unet.glob("*.safetensors")):
        raise MissingWeightsError(f"no .safetensors weights in {unet} (pickled .bin files are not loaded). "
                                  f"Supply {hint}.")
    return unet


def load_unet_from_sd21(path: str | Path) -> UNet2DConditionModel:
    folder = _unet_folder(path, SD21_HINT)
    unet = UNet2DConditionModel.from_pretrained(folder, use_safetensors=True, local_files_only=True)
    if unet.config.in_channels != UNET_IN_CHANNELS:
        widen_conv_in(unet, UNET_IN_CHANNELS)
    install_processors(unet)
    return unet


def load_unet_from_rgbx(path: str | Path) -> UNet2DConditionModel:
    folder = _unet_folder(path, RGBX_HINT)
    unet = UNet2DConditionModel.from_pretrained(folder, use_safetensors=True, local_files_only=True)
    if unet.config.in_channels != UNET_IN_CHANNELS:
        raise ValueError(f"{folder}: UNet takes {unet.config.in_channels} input channels, an x-to-rgb model takes "
                         f"{UNET_IN_CHANNELS} (noisy latent + albedo, normal, roughness, metallic latents + "
                         f"irradiance)")
    install_processors(unet)
    return unet
