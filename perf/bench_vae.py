"""The tiny first-stage VAE: reconstruction PSNR per pass on the test split against training
steps and wall time, for a VAE shape given on the command line.

    python perf/bench_vae.py --data /tmp/train64 --steps 600 --channels 16,32,32 --batch 16 --lr 2e-3
    python perf/bench_vae.py --data /tmp/train64 --steps 400 --channels 32,64,64 --mid-attention --batch 32 --lr 1e-3
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from diffusers import AutoencoderKL

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from interiorvideo.data import InteriorVideoDataset  # noqa: E402
from x2video.vae import TINY_VAE, VAE_PASSES, VAETrainConfig, pass_to_vae, reconstruction_psnr, train_vae, vae_images  # noqa: E402,E501


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--channels", default="16,32,32")
    ap.add_argument("--mid-attention", action="store_true")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--every", type=int, default=200)
    args = ap.parse_args()
    channels = tuple(int(c) for c in args.channels.split(","))
    torch.manual_seed(0)
    vae = AutoencoderKL(**{**TINY_VAE, "block_out_channels": channels, "mid_block_add_attention": args.mid_attention,
                           "norm_num_groups": 8 if channels[0] < 32 else 16})
    ds = InteriorVideoDataset(dataset_dir=args.data, split="train", frames=8, passes=list(VAE_PASSES), size=64,
                              shuffle=8, seed=0, short="skip", rank=0, world_size=1)
    tests = list(InteriorVideoDataset(dataset_dir=args.data, split="test", frames=8, passes=list(VAE_PASSES), size=64,
                                      temporal="first", short="skip", rank=0, world_size=1))
    started = time.perf_counter()
    print(f"VAE {channels}, mid attention {args.mid_attention}, batch {args.batch}, lr {args.lr}")

    def report(step: int, loss: float) -> None:
        if (step + 1) % args.every == 0:
            wall = time.perf_counter() - started
            vae.eval()
            psnr = {n: reconstruction_psnr(vae, torch.cat([pass_to_vae(n, s[n]) for s in tests])) for n in VAE_PASSES}
            vae.train()
            print(f"step {step + 1}: {wall:.0f} s, " + ", ".join(f"{n} {v:.2f} dB" for n, v in psnr.items()), flush=True)

    train_vae(vae, lambda: (vae_images(s) for s in ds), VAETrainConfig(steps=args.steps, batch_frames=args.batch,
                                                                      lr=args.lr), report)


if __name__ == "__main__":
    main()
