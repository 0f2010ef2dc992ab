"""The tiny UNet's head count against the cost of Hybrid Self-Attention: one training step
(forward + backward) of a 16-frame window at 16² latents, per-frame against the default hybrid
setting, for several head counts, in one run.

    OMP_NUM_THREADS=1 python perf/probe_tiny_heads.py --frames 16

diffusers' UNet2DConditionModel reads ``attention_head_dim`` as the number of heads when
``num_attention_heads`` is unset, so TINY_UNET's 8 means 8 heads (4-8 dimensions each): the
attention kernels then spend their time on score matrices, not arithmetic. Random weights: cost
does not depend on what they are. Quality is not measured here.
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from diffusers import UNet2DConditionModel

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from x2video.attention import AttentionContext  # noqa: E402
from x2video.configs import TINY_UNET, get_config, install_processors  # noqa: E402


def step_seconds(heads: int, ctx: AttentionContext, frames: int, repeats: int) -> float:
    torch.manual_seed(0)
    unet = UNet2DConditionModel(**{**TINY_UNET, "attention_head_dim": heads})
    install_processors(unet)
    unet.train()
    x, text = torch.randn(frames, 23, 16, 16), torch.randn(frames, 32, 384)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        out = unet(x, torch.full((frames,), 500), encoder_hidden_states=text, cross_attention_kwargs={"x2v": ctx})
        out.sample.square().mean().backward()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--heads", type=int, nargs="+", default=[8, 4, 2])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    tiny = get_config("tiny")
    print(f"| heads | per-frame s/step | hybrid (fraction {tiny.temporal_heads_fraction}, neighbours "
          f"{tiny.temporal_neighbours}) s/step | ratio |")
    print("|---|---|---|---|")
    for heads in args.heads:
        per = step_seconds(heads, AttentionContext(args.frames, "none", 0), args.frames, args.repeats)
        hyb = step_seconds(heads, AttentionContext(args.frames, "first", temporal_fraction=tiny.temporal_heads_fraction,
                                                   temporal_neighbours=tiny.temporal_neighbours),
                           args.frames, args.repeats)
        print(f"| {heads} | {per:.3f} | {hyb:.3f} | {hyb / per:.2f}× |")


if __name__ == "__main__":
    main()
