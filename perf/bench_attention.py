"""Hybrid Self-Attention cost against plain per-frame self-attention.

    python perf/bench_attention.py --tokens 1024 --channels 320 --heads 8

For windows of 8 and 16 frames, times one self-attention layer (SD-2.1 width at a 32x32
latent by default) with diffusers' AttnProcessor2_0 on each frame alone, and with X2Video's
HybridSelfAttnProcessor (reference attention + full temporal attention in the first k heads),
for several k; prints time and peak memory ratios (goal <= 1.5x). Memory is the peak of the
CPU allocator as torch.profiler reports it. Then, in the same run, the tiny configuration's
training step time (synthetic batch; perf/bench_train.py measures it on a real dataset).
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from diffusers.models.attention_processor import Attention, AttnProcessor2_0
from torch.profiler import ProfilerActivity, profile

from x2video.attention import AttentionContext, HybridSelfAttnProcessor

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def measure(attn: Attention, x: torch.Tensor, ctx: AttentionContext | None, repeats: int) -> tuple[float, int]:
    kw = {"x2v": ctx} if ctx is not None else {}
    with torch.no_grad():
        attn(x, **kw)
        best = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            attn(x, **kw)
            best = min(best, time.perf_counter() - t)
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            attn(x, **kw)
    peak, cur = 0, 0
    for e in sorted(prof.events(), key=lambda e: e.time_range.start):
        cur += e.cpu_memory_usage
        peak = max(peak, cur)
    return best, peak


def tiny_training_step(repeats: int) -> float:
    """Seconds per optimiser step of the tiny configuration through x2video.train.loss.training_loss
    (VAE encode, conditioning, Hybrid/Masked attention, backward, AdamW) on a synthetic batch of
    2 clips × 5 frames at 64²."""
    from x2video.components import tiny_pipeline
    from x2video.schedulers import training_scheduler
    from x2video.seeding import step_generator
    from x2video.train import TrainConfig
    from x2video.train.loss import PromptCache, training_loss

    pipe = tiny_pipeline(seed=0)
    g = torch.Generator().manual_seed(0)
    B, T, S = 2, 5, 64
    inst = torch.randint(0, 4, (B, T, 1, S, S), generator=g)
    batch = {"rgb": torch.rand(B, T, 3, S, S, generator=g) * 2, "albedo": torch.rand(B, T, 3, S, S, generator=g),
             "normal": torch.nn.functional.normalize(torch.randn(B, T, 3, S, S, generator=g), dim=2),
             "roughness": torch.rand(B, T, 1, S, S, generator=g), "metallic": torch.rand(B, T, 1, S, S, generator=g),
             "irradiance": torch.rand(B, T, 3, S, S, generator=g) * 2, "instance": inst,
             "prompt": ["a room"] * B, "local_prompts": [{1: "a red sofa", 2: "a lamp"}] * B}
    cfg = TrainConfig(data="-", out="-", min_window=4, p_reference=0.0, p_anchors=0.0, p_local=1.0)
    opt = torch.optim.AdamW(pipe.unet.parameters(), 1e-4)
    prompts, sched = PromptCache(pipe), training_scheduler()
    pipe.vae.requires_grad_(False)
    pipe.text_encoder.requires_grad_(False)
    times = []
    for step in range(repeats + 1):
        t = time.perf_counter()
        loss = training_loss(pipe, pipe.unet.train(), batch, step_generator(0, step), cfg, prompts, sched,
                             torch.device("cpu"))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - t)
    return min(times[1:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=int, default=1024)
    ap.add_argument("--channels", type=int, default=320)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.manual_seed(0)
    attn = Attention(query_dim=args.channels, heads=args.heads, dim_head=args.channels // args.heads)
    print(f"{args.tokens} tokens, {args.channels} channels, {args.heads} heads")
    for frames in (8, 16):
        x = torch.randn(frames, args.tokens, args.channels)
        attn.set_processor(AttnProcessor2_0())
        t0, m0 = measure(attn, x, None, args.repeats)
        attn.set_processor(HybridSelfAttnProcessor())
        print(f"window {frames}: per-frame {t0 * 1e3:.1f} ms, {m0 / 2**20:.1f} MiB")
        for k in (0, 1, 2, args.heads // 2):
            t, m = measure(attn, x, AttentionContext(frames, "first", k), args.repeats)
            print(f"  hybrid, {k} temporal heads: {t * 1e3:7.1f} ms ({t / t0:4.2f}x time), "
                  f"{m / 2**20:6.1f} MiB ({m / max(m0, 1):4.2f}x memory)")
    step = tiny_training_step(args.repeats)
    print(f"tiny training step (2 clips x 4-frame windows at 64^2, local prompts, AdamW): {step:.3f} s")


if __name__ == "__main__":
    main()
