"""What the training loop spends besides the UNet, piece by piece, on the tiny configuration:
the EMA update (foreach or not) and gradient clipping (accelerate's against torch's), each timed
alone on the tiny UNet's parameters; then a cProfile of a short cached training run, to find the
rest.

    python perf/probe_loop_overhead.py --data runs/demo/data [--profile-steps 40]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import tempfile
import time
from pathlib import Path

import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from accelerate import Accelerator  # noqa: E402
from diffusers.training_utils import EMAModel  # noqa: E402

from x2video.configs import build_unet, get_config  # noqa: E402
from x2video.train import TrainConfig, train  # noqa: E402


def ms_per_call(fn, repeats: int = 20) -> float:
    fn()
    t = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t) / repeats * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--profile-steps", type=int, default=40)
    args = ap.parse_args()
    params = list(build_unet(get_config("tiny")).parameters())
    for p in params:
        p.grad = torch.randn_like(p)
    for foreach in (False, True):
        ema = EMAModel(params, decay=0.999, foreach=foreach)
        print(f"EMA step, foreach={foreach}: {ms_per_call(lambda: ema.step(params)):.1f} ms")
    acc = Accelerator(cpu=True)
    print(f"accelerate clip_grad_norm_: {ms_per_call(lambda: acc.clip_grad_norm_(params, 1.0)):.1f} ms")
    print(f"torch clip_grad_norm_: {ms_per_call(lambda: torch.nn.utils.clip_grad_norm_(params, 1.0)):.1f} ms")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = tmp / "data"
        shutil.copytree(args.data, data, ignore=shutil.ignore_patterns("latents"))
        base = dict(data=str(data), config="tiny", size=64, vae_steps=5, batch_size=2, min_window=4,
                    p_reference=0.0, p_anchors=0.0, checkpoint_every=10 ** 6, log_every=5, warmup_steps=1)
        train(TrainConfig(out=str(tmp / "first"), latents="build", max_steps=2, **base), log=lambda m: None)
        shutil.copytree(tmp / "first" / "vae", tmp / "run" / "vae")
        prof = cProfile.Profile()
        prof.enable()
        train(TrainConfig(out=str(tmp / "run"), latents="auto", max_steps=args.profile_steps, **base),
              log=lambda m: None)
        prof.disable()
    pstats.Stats(prof).sort_stats("cumulative").print_stats("x2video|accelerate|training_utils", 30)


if __name__ == "__main__":
    main()
