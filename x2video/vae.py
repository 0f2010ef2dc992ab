"""The first stage of the ``tiny`` configuration: a small diffusers ``AutoencoderKL`` trained on
the dataset's own images, so the tiny denoiser works in a latent space that means something.

Stable Diffusion's VAE (used by ``sd21``) was trained on photographs and encodes every pass as a
3-channel image in [−1, 1]; the tiny VAE is trained the same way on the passes it will encode:
tone-mapped rgb (:mod:`interiorvideo.colour`), albedo, normals, roughness and metallic. It downsamples
4× (64² frames → 16² latents, 4 channels). Each pass gets its own latent scale factor (1 / the
standard deviation of its latents), as RGB↔X gives each channel its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL

from interiorvideo.colour import hdr_to_display

from .conditioning import LATENT_CHANNELS, to_vae_range

VAE_PASSES = ("rgb",) + LATENT_CHANNELS
# Stable Diffusion 2.1's VAE factor for rgb, RGB↔X's for the intrinsic channels.
SD21_SCALE_FACTORS = {"rgb": 0.18215, "albedo": 0.17301, "normal": 0.17484, "roughness": 0.16807,
                      "metallic": 0.13135}

# Measured (docs/performance.md): (16, 32, 32) without mid-block attention reconstructs as well as
# (32, 64, 64) with it at the same step count, in half the time.
TINY_VAE = dict(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 3,
                up_block_types=("UpDecoderBlock2D",) * 3, block_out_channels=(16, 32, 32), layers_per_block=1,
                latent_channels=4, norm_num_groups=8, sample_size=64, mid_block_add_attention=False)


def build_tiny_vae(seed: int = 0) -> AutoencoderKL:
    torch.manual_seed(seed)
    return AutoencoderKL(**TINY_VAE)


def downsample_factor(vae: AutoencoderKL) -> int:
    return 2 ** (len(vae.config.block_out_channels) - 1)


def pass_to_vae(name: str, x: torch.Tensor) -> torch.Tensor:
    """A pass (N, C, H, W) as the VAE's 3-channel [−1, 1] image; rgb is tone-mapped first."""
    if name == "rgb":
        return hdr_to_display(x) * 2.0 - 1.0
    return to_vae_range(name, x).clamp(-1.0, 1.0)


def vae_images(batch: dict, passes: Iterable[str] = VAE_PASSES) -> torch.Tensor:
    """All frames of all given passes of a collated batch, as one (N, 3, H, W) stack."""
    out = []
    for name in passes:
        if name in batch:
            x = batch[name]
            out.append(pass_to_vae(name, x.flatten(0, 1) if x.ndim == 5 else x))
    if not out:
        raise ValueError(f"batch has none of the passes {', '.join(passes)}")
    return torch.cat(out)


@dataclass(frozen=True)
class VAETrainConfig:
    steps: int = 600
    batch_frames: int = 16  # images per step: as good per step as 32, at half the cost (measured)
    lr: float = 2e-3
    kl_weight: float = 1e-6
    seed: int = 0


def train_vae(vae: AutoencoderKL, images: Callable[[], Iterator[torch.Tensor]], config: VAETrainConfig,
              progress: Callable[[int, float], None] | None = None) -> list[float]:
    """Train the autoencoder on (N, 3, H, W) image batches from ``images()`` (restarted when it
    runs out): L1 reconstruction + a small KL term, AdamW, cosine decay. Returns the losses."""
    gen = torch.Generator().manual_seed(config.seed)
    opt = torch.optim.AdamW(vae.parameters(), lr=config.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, config.steps)
                                                                                 / config.steps)))
    vae.train()
    losses: list[float] = []
    stream = _pooled(images, config.batch_frames, gen)
    for step in range(config.steps):
        x = next(stream)
        post = vae.encode(x).latent_dist
        z = post.mean + post.std * torch.randn(post.mean.shape, generator=gen)
        rec = vae.decode(z).sample
        loss = F.l1_loss(rec, x) + config.kl_weight * post.kl().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
        if progress:
            progress(step, losses[-1])
    vae.eval()
    return losses


def _pooled(images: Callable[[], Iterator[torch.Tensor]], size: int, gen: torch.Generator) -> Iterator[torch.Tensor]:
    """Random batches of ``size`` images drawn from a pool refilled from the image stream."""
    pool: list[torch.Tensor] = []
    it = images()
    while True:
        while sum(p.shape[0] for p in pool) < 4 * size:
            try:
                pool.append(next(it))
            except StopIteration:
                it = images()
                pool.append(next(it))
        allx = torch.cat(pool)
        idx = torch.randperm(allx.shape[0], generator=gen)
        yield allx[idx[:size]]
        pool = [allx[idx[size:]]]


@torch.no_grad()
def latent_scale_factors(vae: AutoencoderKL, batches: Iterable[dict]) -> dict[str, float]:
    """1 / std of each pass's latents (the VAE's posterior modes) over the given batches."""
    acc: dict[str, list[torch.Tensor]] = {}
    for batch in batches:
        for name in VAE_PASSES:
            if name in batch:
                x = batch[name]
                z = vae.encode(pass_to_vae(name, x.flatten(0, 1) if x.ndim == 5 else x)).latent_dist.mode()
                acc.setdefault(name, []).append(z)
    missing = [n for n in VAE_PASSES if n not in acc]
    if missing:
        raise ValueError(f"no data for passes {', '.join(missing)} to measure latent scale factors")
    return {n: float(1.0 / torch.cat(v).std().clamp_min(1e-6)) for n, v in acc.items()}


@torch.no_grad()
def reconstruction_psnr(vae: AutoencoderKL, images: torch.Tensor) -> float:
    """PSNR (dB) of decode(encode(x).mode()) on [0, 1]-mapped images."""
    rec = vae.decode(vae.encode(images).latent_dist.mode()).sample.clamp(-1, 1)
    mse = F.mse_loss((rec + 1) / 2, (images + 1) / 2)
    return float(10 * torch.log10(1.0 / mse.clamp_min(1e-12)))
