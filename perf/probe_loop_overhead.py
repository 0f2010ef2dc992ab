"""What the training loop spends besides the UNet, piece by piece, on the tiny configuration:
the EMA update (foreach or not) and gradient clipping (accelerate's against torch's), each timed
alone on the tiny UNet's parameters. Every phase of a real cached step, timed inside the loop,
is perf/probe_step_phases.py's.

    python perf/probe_loop_overhead.py
"""

from __future__ import annotations

import argparse
import os
import time

import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from accelerate import Accelerator  # noqa: E402
from diffusers.training_utils import EMAModel  # noqa: E402

from x2video.configs import build_unet, get_config  # noqa: E402


def ms_per_call(fn, repeats: int = 20) -> float:
    fn()
    t = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t) / repeats * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.parse_args()
    params = list(build_unet(get_config("tiny")).parameters())
    for p in params:
        p.grad = torch.randn_like(p)
    for foreach in (False, True):
        ema = EMAModel(params, decay=0.999, foreach=foreach)
        print(f"EMA step, foreach={foreach}: {ms_per_call(lambda: ema.step(params)):.1f} ms")
    acc = Accelerator(cpu=True)
    print(f"accelerate clip_grad_norm_: {ms_per_call(lambda: acc.clip_grad_norm_(params, 1.0)):.1f} ms")
    print(f"torch clip_grad_norm_: {ms_per_call(lambda: torch.nn.utils.clip_grad_norm_(params, 1.0)):.1f} ms")


if __name__ == "__main__":
    main()
