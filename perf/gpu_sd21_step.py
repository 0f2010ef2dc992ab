"""sd21-size X2Video training steps on a GPU: steps/s and peak memory at 512², 8-frame windows.

    python perf/gpu_sd21_step.py --frames 8 --size 512 --steps 5

Random weights of Stable Diffusion 2.1's UNet widened to 23 input channels (no download needed
for timing), fp32 master weights with bf16 autocast and gradient checkpointing (what `accelerate`
does with mixed_precision="bf16"), AdamW, v-prediction-shaped MSE. Runs the step with X2Video's
Hybrid Self-Attention (reference + temporal heads) and, in the same process, with per-frame
attention (the RGB-X-style baseline), and prints both with their ratio.
"""

from __future__ import annotations

import argparse
import os
import time

import torch
import torch.nn.functional as F
from diffusers import UNet2DConditionModel

from x2video.attention import AttentionContext
from x2video.configs import SD21_UNET, install_processors

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def bench(mode: str, frames: int, size: int, steps: int, fraction: float) -> tuple[float, float]:
    torch.manual_seed(0)
    unet = UNet2DConditionModel(**SD21_UNET).cuda()
    install_processors(unet)
    unet.enable_gradient_checkpointing()
    unet.train()
    opt = torch.optim.AdamW(unet.parameters(), lr=1e-5, fused=True)
    h = size // 8
    x = torch.randn(frames, 23, h, h, device="cuda")
    text = torch.randn(frames, 77, 1024, device="cuda")
    target = torch.randn(frames, 4, h, h, device="cuda")
    ts = torch.full((frames,), 500, device="cuda")
    ctx = (AttentionContext(frames, "first", temporal_fraction=fraction) if mode == "hybrid"
           else AttentionContext(frames, "none", 0))

    def step() -> None:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            out = unet(x, ts, text, cross_attention_kwargs={"x2v": ctx}).sample
        loss = F.mse_loss(out.float(), target)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(2):
        step()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    rate = steps / (time.perf_counter() - t)
    peak = torch.cuda.max_memory_allocated() / 2**30
    return rate, peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--fraction", type=float, default=0.25, help="share of heads with temporal attention")
    args = ap.parse_args()
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    print(f"sd21 UNet (23 in-channels), {args.frames}-frame window at {args.size}^2, bf16 autocast, "
          f"gradient checkpointing, AdamW")
    base = bench("per-frame", args.frames, args.size, args.steps, args.fraction)
    print(f"per-frame attention: {base[0]:.3f} steps/s, peak {base[1]:.1f} GiB", flush=True)
    hyb = bench("hybrid", args.frames, args.size, args.steps, args.fraction)
    print(f"hybrid attention ({args.fraction:.0%} temporal heads): {hyb[0]:.3f} steps/s, peak {hyb[1]:.1f} GiB")
    print(f"hybrid / per-frame: time {base[0] / hyb[0]:.2f}x, memory {hyb[1] / base[1]:.2f}x")


if __name__ == "__main__":
    main()
