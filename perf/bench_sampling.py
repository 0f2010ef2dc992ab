"""Recursive vs autoregressive vs independent sampling of a 4×-window video: windows, UNet calls
and wall time, in one run (goal: recursive ≤ 1.2× the calls of sliding windows).

    python perf/bench_sampling.py --windows 4 --steps 10 --size 64

Uses the tiny configuration (untrained weights: cost does not depend on what the weights are).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from x2video.components import tiny_pipeline  # noqa: E402
from x2video.sampling import sample_video  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--windows", type=int, default=4, help="video length in windows")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    pipe = tiny_pipeline(seed=0)
    T = args.windows * pipe.config.window
    rng = np.random.default_rng(0)
    x = {"albedo": rng.random((T, args.size, args.size, 3), dtype=np.float32),
         "irradiance": rng.random((T, args.size, args.size, 3), dtype=np.float32)}
    rows = {}
    for _ in range(args.repeats):  # interleaved, so machine noise hits every mode alike
        for mode in ("recursive", "autoregressive", "independent"):
            t = time.perf_counter()
            out = sample_video(pipe, x, mode=mode, steps=args.steps, seed=0)
            rows.setdefault(mode, [out.plan.num_windows, out.plan.num_stages, out.model_calls, []])[3].append(
                time.perf_counter() - t)
    ar_calls, ar_time = rows["autoregressive"][2], min(rows["autoregressive"][3])
    print(f"{T} frames ({args.windows} windows of {pipe.config.window}) at {args.size}², {args.steps} steps, tiny model")
    print(f"{'mode':<15}{'windows':>8}{'stages':>8}{'UNet calls':>12}{'calls/AR':>10}{'seconds':>10}{'time/AR':>9}")
    for mode, (windows, stages, calls, times) in rows.items():
        print(f"{mode:<15}{windows:>8}{stages:>8}{calls:>12}{calls / ar_calls:>10.2f}{min(times):>10.2f}"
              f"{min(times) / ar_time:>9.2f}")


if __name__ == "__main__":
    main()
