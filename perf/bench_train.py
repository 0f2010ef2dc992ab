"""Tiny-config training cost, in one run: the training step time next to the reader's throughput
(is the reader fast enough to feed training?), and the first-stage choice measured: the tiny UNet
on 16² latents (VAE route) against the same UNet on 64² pixels (pixel-space route).

    python perf/bench_train.py --data DATASET --steps 20

DATASET: any InteriorVideo build at 64² (e.g. `interiorvideo build --out /tmp/ds --size 64x64 ...`).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import torch
from diffusers import UNet2DConditionModel

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from interiorvideo.data import InteriorVideoDataset  # noqa: E402
from x2video.configs import TINY_UNET  # noqa: E402
from x2video.train import TrainConfig, train  # noqa: E402
from x2video.train.data import TRAIN_PASSES  # noqa: E402


def reader_clips_per_s(data: str, frames: int, size: int) -> float:
    ds = InteriorVideoDataset(dataset_dir=data, split="train", frames=frames, size=size, passes=TRAIN_PASSES,
                              short="skip", rank=0, world_size=1)
    t, n = time.perf_counter(), 0
    for _ in range(3):
        for _ in ds:
            n += 1
    return n / (time.perf_counter() - t)


def unet_step_s(size: int, in_channels: int, rows: int, repeats: int = 5) -> float:
    torch.manual_seed(0)
    unet = UNet2DConditionModel(**{**TINY_UNET, "sample_size": size, "in_channels": in_channels,
                                   "out_channels": 4 if in_channels == 23 else 3})
    opt = torch.optim.AdamW(unet.parameters(), 1e-4)
    x = torch.randn(rows, in_channels, size, size)
    text = torch.randn(rows, 32, 384)
    times = []
    for _ in range(repeats + 1):
        t = time.perf_counter()
        out = unet(x, torch.full((rows,), 500), text).sample
        out.square().mean().backward()
        opt.step()
        opt.zero_grad()
        times.append(time.perf_counter() - t)
    return min(times[1:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig(data=args.data, out=tmp, size=64, vae_steps=5, max_steps=args.steps,
                          batch_size=args.batch_size, checkpoint_every=10 ** 6, log_every=10 ** 6)
        result = train(cfg, log=lambda m: None)
    window = 4
    clips = reader_clips_per_s(args.data, window + 1, 64)
    step_clips = args.batch_size / result.step_seconds
    rows = args.batch_size * window
    latent, pixel = unet_step_s(16, 23, rows), unet_step_s(64, 3 + 11, rows)
    print(f"tiny training step (batch {args.batch_size} clips, windows ≤ {window} frames, 64²): "
          f"{result.step_seconds:.3f} s/step = {step_clips:.1f} clips/s")
    print(f"reader (all training passes, {window + 1} frames, 64²): {clips:.1f} clips/s "
          f"= {clips / step_clips:.1f}x what training consumes")
    print(f"tiny UNet step, {rows} frames: 16² latents {latent:.3f} s, 64² pixels {pixel:.3f} s "
          f"(pixel/latent {pixel / latent:.1f}x)")


if __name__ == "__main__":
    main()
