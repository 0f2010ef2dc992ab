"""The tiny first stage: what the VAE sees, that training it lowers reconstruction error, and that
the per-pass latent scale factors give latents of unit spread."""

from __future__ import annotations

import torch

from interiorvideo.colour import hdr_to_display
from x2video.vae import (VAE_PASSES, VAETrainConfig, build_tiny_vae, downsample_factor, latent_scale_factors,
                         pass_to_vae, reconstruction_psnr, train_vae, vae_images)


def batch(seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    # smooth images (a few low-frequency blobs) an autoencoder can learn in a few steps
    base = torch.nn.functional.interpolate(torch.rand(2, 3, 3, 4, 4, generator=g).flatten(0, 1), size=(32, 32),
                                           mode="bilinear").view(2, 3, 3, 32, 32)
    return {"rgb": base * 3, "albedo": base, "normal": base * 2 - 1, "roughness": base[:, :, :1],
            "metallic": base[:, :, 1:2]}


def test_passes_map_to_the_vae_range():
    b = batch()
    assert torch.allclose(pass_to_vae("rgb", b["rgb"][0]), hdr_to_display(b["rgb"][0]) * 2 - 1)
    assert torch.equal(pass_to_vae("normal", b["normal"][0]), b["normal"][0])
    rough = pass_to_vae("roughness", b["roughness"][0])
    assert rough.shape[1] == 3 and torch.equal(rough[:, 0], rough[:, 2])
    images = vae_images(b)
    assert images.shape == (5 * 2 * 3, 3, 32, 32) and images.min() >= -1 and images.max() <= 1


def test_training_lowers_reconstruction_error_and_scales_normalise():
    vae = build_tiny_vae(0)
    assert downsample_factor(vae) == 4
    held_out = vae_images(batch(1))
    before = reconstruction_psnr(vae, held_out)
    losses = train_vae(vae, lambda: iter([vae_images(batch(0)), vae_images(batch(2))]),
                       VAETrainConfig(steps=30, batch_frames=8, lr=3e-3))
    after = reconstruction_psnr(vae, held_out)
    assert after > before + 3, (before, after)
    assert sum(losses[-10:]) < sum(losses[:10])
    scales = latent_scale_factors(vae, [batch(0), batch(1)])
    assert set(scales) == set(VAE_PASSES)
    with torch.no_grad():
        z = vae.encode(pass_to_vae("albedo", torch.cat([batch(0)["albedo"], batch(1)["albedo"]]).flatten(0, 1)))
    assert abs(float((z.latent_dist.mode() * scales["albedo"]).std()) - 1.0) < 1e-4
