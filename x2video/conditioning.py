"""Intrinsic conditioning as RGB↔X does it, and the UNet input it feeds.

The denoiser's input is the noisy latent (4 channels) concatenated with the VAE latents of
albedo, normal, roughness and metallic (4 channels each, each with its own latent scale factor)
and the irradiance (display-mapped to [−1, 1]) bilinearly resized to latent size (3 channels): 23 channels. A missing
channel is zeros, and training drops channels at random so any subset works at inference.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL, UNet2DConditionModel

from interiorvideo.colour import hdr_to_display

LATENT_CHANNELS = ("albedo", "normal", "roughness", "metallic")
CHANNELS = LATENT_CHANNELS + ("irradiance",)
# Per-channel latent scale factors of RGB↔X's x-to-rgb model (albedo, normal, roughness, metallic).
RGBX_SCALE_FACTORS = {"albedo": 0.17301, "normal": 0.17484, "roughness": 0.16807, "metallic": 0.13135}
UNET_IN_CHANNELS = 4 + 4 * len(LATENT_CHANNELS) + 3  # 23


IRRADIANCE_ENCODINGS = ("display", "linear")


@dataclass(frozen=True)
class ConditioningConfig:
    scale_factors: tuple[float, float, float, float] = tuple(RGBX_SCALE_FACTORS[c] for c in LATENT_CHANNELS)
    channel_dropout: float = 0.1  # per channel and sample, during training
    irradiance: str = "display"  # how irradiance reaches the UNet (irradiance_to_unet)


def irradiance_to_unet(irradiance: torch.Tensor, encoding: str = "display") -> torch.Tensor:
    """Linear HDR irradiance → [−1, 1]. ``"display"`` (X2Video): through the fixed display mapping
    (interiorvideo.colour), so a bright lamp does not swamp the UNet input and irradiance reads on
    the same scale as rgb. ``"linear"`` (RGB↔X's x-to-rgb as published): clamped to [0, 1], then
    mapped to [−1, 1]."""
    if encoding == "display":
        return hdr_to_display(irradiance) * 2.0 - 1.0
    if encoding == "linear":
        return irradiance.clamp(0.0, 1.0) * 2.0 - 1.0
    raise ValueError(f"irradiance encoding must be one of {IRRADIANCE_ENCODINGS}, got {encoding!r}")


def to_vae_range(name: str, x: torch.Tensor) -> torch.Tensor:
    """Pass tensor (B, C, H, W) → a 3-channel image in [−1, 1] for the VAE.

    albedo, roughness, metallic live in [0, 1]; normals are already in [−1, 1];
    single-channel passes are repeated to 3 channels, as RGB↔X feeds them."""
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    return x if name == "normal" else x * 2.0 - 1.0


class IntrinsicConditioner:
    """Encodes intrinsic passes into the 19 conditioning channels of the UNet input."""

    def __init__(self, vae: AutoencoderKL, config: ConditioningConfig | None = None):
        self.vae = vae
        self.config = config or ConditioningConfig()

    def latent_size(self, height: int, width: int) -> tuple[int, int]:
        f = 2 ** (len(self.vae.config.block_out_channels) - 1)
        return height // f, width // f

    @torch.no_grad()
    def encode(self, passes: dict[str, torch.Tensor | None], keep: torch.Tensor | None = None) -> torch.Tensor:
        """``passes``: name → (B, C, H, W) tensors (None or absent = missing). ``keep``: optional
        (B, 5) bool mask of channels to keep (training-time dropout). Returns (B, 19, h, w)."""
        return self.assemble(self.encode_raw(passes), keep)

    @torch.no_grad()
    def encode_raw(self, passes: dict[str, torch.Tensor | None]) -> torch.Tensor:
        """The scale-free part of :meth:`encode`, (B, 19, h, w): the VAE's posterior modes of the
        four latent channels and the resized irradiance, zeros where a channel is missing. The
        latent cache stores this, so a cached and an encoded batch meet in :meth:`assemble`."""
        present = {k: v for k, v in passes.items() if v is not None and k in CHANNELS}
        if not present:
            raise ValueError(f"no intrinsic channel given; expected some of {', '.join(CHANNELS)}")
        ref = next(iter(present.values()))
        B, _, H, W = ref.shape
        h, w = self.latent_size(H, W)
        blocks = []
        for name in LATENT_CHANNELS:
            x = present.get(name)
            blocks.append(torch.zeros(B, 4, h, w, dtype=ref.dtype, device=ref.device) if x is None else
                          self.vae.encode(to_vae_range(name, x)).latent_dist.mode())
        irr = present.get("irradiance")
        blocks.append(torch.zeros(B, 3, h, w, dtype=ref.dtype, device=ref.device) if irr is None else
                      F.interpolate(irradiance_to_unet(irr, self.config.irradiance).float(), size=(h, w), mode="bilinear", align_corners=False,
                                    antialias=True).to(ref.dtype))  # antialiased resize has no bf16 kernel
        return torch.cat([b.to(blocks[-1].dtype) for b in blocks], dim=1)

    def assemble(self, raw: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """Raw channels (B, 19, h, w) → the UNet's conditioning: each latent block times its scale
        factor, then channels dropped where ``keep`` (B, 5) is False."""
        blocks = [raw[:, 4 * i:4 * i + 4] * self.config.scale_factors[i] for i in range(len(LATENT_CHANNELS))]
        blocks.append(raw[:, 4 * len(LATENT_CHANNELS):])
        if keep is not None:
            blocks = [b * keep[:, i, None, None, None].to(b.dtype) for i, b in enumerate(blocks)]
        return torch.cat(blocks, dim=1)

    def dropout_mask(self, batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """(B, 5) keep-mask for training: each channel dropped with probability channel_dropout."""
        return torch.rand(batch, len(CHANNELS), generator=generator) >= self.config.channel_dropout


def widen_conv_in(unet: UNet2DConditionModel, in_channels: int = UNET_IN_CHANNELS) -> UNet2DConditionModel:
    """Give a pretrained UNet more input channels, the new ones zero-initialised, so it computes
    exactly what it did until training teaches it to use them (as diffusers' InstructPix2Pix
    training widens Stable Diffusion)."""
    old = unet.conv_in
    if in_channels < old.in_channels:
        raise ValueError(f"conv_in has {old.in_channels} input channels; cannot shrink it to {in_channels}")
    new = torch.nn.Conv2d(in_channels, old.out_channels, old.kernel_size, old.stride, old.padding,
                          dtype=old.weight.dtype, device=old.weight.device)
    with torch.no_grad():
        new.weight.zero_()
        new.weight[:, : old.in_channels] = old.weight
        new.bias.copy_(old.bias)
    unet.conv_in = new
    unet.register_to_config(in_channels=in_channels)
    return unet
