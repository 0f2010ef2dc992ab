"""Where a cached training step's wall time goes, phase by phase: the loader's next batch, the loss
(the UNet forward apart), the UNet forward, backward, clipping, the optimiser, the EMA and what is
left (the loop itself). Each phase is timed by wrapping the call the loop makes, so the loop runs
unchanged; the step's own wall time comes from the same clock.

    python perf/probe_step_phases.py --data runs/demo/data [--steps 40]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from accelerate import Accelerator  # noqa: E402
from accelerate.optimizer import AcceleratedOptimizer  # noqa: E402
from diffusers.training_utils import EMAModel  # noqa: E402

import x2video.train.loop as loop  # noqa: E402
from x2video.train import TrainConfig, train  # noqa: E402

SPENT: dict[str, list[float]] = defaultdict(list)
LOCAL: list[bool] = []  # per step: whether its batch had local prompts
STEP_WALL: list[float] = []  # from one loader ``next`` to the next: one whole step


def timed(name: str, fn):
    def wrapper(*a, **k):
        t = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            SPENT[name].append(time.perf_counter() - t)
    return wrapper


class TimedLoader:
    """The loop's DataLoader, with the time of each ``next`` recorded."""

    def __init__(self, *a, **k):
        self.inner = torch.utils.data.DataLoader(*a, **k)

    def __iter__(self):
        it = iter(self.inner)
        last = None
        while True:
            t = time.perf_counter()
            if last is not None:
                STEP_WALL.append(t - last)
            last = t
            try:
                batch = next(it)
            except StopIteration:
                return
            SPENT["loader next"].append(time.perf_counter() - t)
            yield batch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--p-local", type=float, default=TrainConfig.p_local, help="share of steps with local prompts")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = tmp / "data"
        shutil.copytree(args.data, data, ignore=shutil.ignore_patterns("latents"))
        base = dict(data=str(data), config="tiny", size=64, vae_steps=5, batch_size=2, min_window=4,
                    p_reference=0.0, p_anchors=0.0, checkpoint_every=10 ** 6, log_every=5, warmup_steps=1)
        train(TrainConfig(out=str(tmp / "first"), latents="build", max_steps=2, **base), log=lambda m: None)
        shutil.copytree(tmp / "first" / "vae", tmp / "run" / "vae")
        loop.DataLoader = TimedLoader
        loop.training_loss = timed("loss (all)", loop.training_loss)
        Accelerator.backward = timed("backward", Accelerator.backward)
        Accelerator.clip_grad_norm_ = timed("clip", Accelerator.clip_grad_norm_)
        AcceleratedOptimizer.step = timed("optimiser", AcceleratedOptimizer.step)
        AcceleratedOptimizer.zero_grad = timed("zero_grad", AcceleratedOptimizer.zero_grad)
        EMAModel.step = timed("ema", EMAModel.step)
        torch.optim.lr_scheduler.LambdaLR.step = timed("lr scheduler", torch.optim.lr_scheduler.LambdaLR.step)
        Accelerator.accumulate = timed("accumulate (enter)", Accelerator.accumulate)
        loop.step_generator = timed("step generator", loop.step_generator)
        loop.tqdm.update = timed("progress bar", loop.tqdm.update)
        loop.tqdm.set_postfix = timed("progress bar", loop.tqdm.set_postfix)
        Accelerator.gather = timed("gather", Accelerator.gather)
        forward = torch.nn.Module.__call__
        unet_time: list[float] = []

        def call(self, *a, **k):
            if type(self).__name__ != "UNet2DConditionModel":
                return forward(self, *a, **k)
            ctx = (k.get("cross_attention_kwargs") or {}).get("x2v")
            LOCAL.append(ctx is not None and ctx.local_embeds is not None)
            t = time.perf_counter()
            try:
                return forward(self, *a, **k)
            finally:
                unet_time.append(time.perf_counter() - t)
        torch.nn.Module.__call__ = call
        t = time.perf_counter()
        result = train(TrainConfig(out=str(tmp / "run"), latents="auto", max_steps=args.steps, p_local=args.p_local,
                                   **base),
                       log=lambda m: None)
        wall = time.perf_counter() - t
        torch.nn.Module.__call__ = forward
    SPENT["unet forward"] = unet_time
    SPENT["loss (all)"] = [a - b for a, b in zip(SPENT["loss (all)"], unet_time)]
    SPENT["loss without the UNet"] = SPENT.pop("loss (all)")
    skip = 5  # the first steps warm allocators and caches
    step = statistics.median(STEP_WALL[skip:])
    print(f"{args.steps} cached steps, {wall:.1f} s in train() (setup included); median step {step * 1000:.1f} ms "
          f"(mean per step over the run {result.step_seconds * 1000:.1f} ms)")
    print("| phase | median ms | share of the median step |")
    print("|---|---|---|")
    accounted = 0.0
    for name, ts in SPENT.items():
        per = len(ts) / max(1, len(STEP_WALL) + 1)  # calls per step (the progress bar: two)
        ts = ts[skip:] if len(ts) > skip + 2 else ts
        med = statistics.median(ts) * round(per)
        accounted += med
        print(f"| {name} | {med * 1000:.1f} | {med / step:.0%} |")
    print(f"| rest (the loop itself) | {(step - accounted) * 1000:.1f} | {(step - accounted) / step:.0%} |")
    flags = LOCAL[skip:len(STEP_WALL)]
    for name, ts in (("unet forward", SPENT["unet forward"]), ("backward", SPENT["backward"]),
                     ("loss without the UNet", SPENT["loss without the UNet"]), ("step", STEP_WALL)):
        ts = ts[skip:len(STEP_WALL)]
        with_local = [t for t, f in zip(ts, flags) if f]
        without = [t for t, f in zip(ts, flags) if not f]
        if with_local and without:
            print(f"{name}: with local prompts {statistics.median(with_local) * 1000:.1f} ms "
                  f"({len(with_local)} steps), without {statistics.median(without) * 1000:.1f} ms "
                  f"({len(without)} steps)")


if __name__ == "__main__":
    main()
