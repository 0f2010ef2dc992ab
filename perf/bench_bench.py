"""x2v-bench's own cost: frames/s of every metric at 256², and the bench's wall time per clip.

    python perf/bench_bench.py                         # metrics on synthetic 256² clips + a small built dataset
    python perf/bench_bench.py --data DIR --split test # per-clip times on an existing dataset
    python perf/bench_bench.py --i3d i3d_torchscript.pt  # FVD's I3D features too

1. Metrics: a synthetic 8-frame clip at ``--metric-size`` (default 256²: smooth HDR radiance, a
   prediction with a brightness error and noise, ground-truth flow of a camera sliding past a
   plane, a rectangular edit mask); each registered metric is timed after one warm-up call (LPIPS
   loads its network there) and reported as frames scored per second (the light sweep of
   monotonicity counts its three clips). FVD's I3D features are timed when ``--i3d`` is given.
2. Per clip: gt and pbr-composite on every task, in this process (``workers=0``: no Ray start-up
   in the figure), on a dataset built in a temporary folder (``--frames``/``--size``) unless
   ``--data`` is given. Printed per method × task: wall seconds per clip (posing the task — decode,
   edit ground-truth render, flow — plus the method and all metrics); the edit renders are cached,
   so a second pass (``cached``) shows the cost without them.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


def synthetic(T: int, size: int, seed: int = 0) -> dict:
    from interiorvideo.render.flow import optical_flow

    rng = np.random.default_rng(seed)
    gt = (gaussian_filter(rng.random((T, size, size, 3)), sigma=(0, 4, 4, 0)) * 2.0).astype(np.float32)
    pred = np.clip(gt * 1.1 + rng.normal(0, 0.02, gt.shape), 0, None).astype(np.float32)
    K = np.array([[size, 0, size / 2], [0, size, size / 2], [0, 0, 1.0]])
    poses = np.repeat(np.eye(4)[None], T, axis=0)
    poses[:, 0, 3] = np.arange(T) * 0.01
    depth = np.full((T, size, size, 1), 2.0, np.float32)
    mask = np.zeros((T, size, size), bool)
    mask[:, size // 4:size // 2, size // 4:size // 2] = True
    return {"gt": gt, "pred": pred, "flow": optical_flow(depth, K, poses), "mask": mask}


def bench_metrics(size: int, T: int, i3d: str | None) -> dict[str, float]:
    from benchmarks.metrics import METRICS, compute, to_display

    d = synthetic(T, size)
    p, g = to_display(d["pred"]), to_display(d["gt"])  # the runner tone-maps once per unit
    ctx = {"space": "display"}
    out = {}
    for name, m in METRICS.items():
        if m.scope == "set":  # features per clip: timed below
            continue
        if m.scope == "sweep":
            args, frames = ([p * 0.5, p, np.clip(p * 1.5, 0, 1)], None), 3 * T
            kw = {"params": [0.5, 1.0, 1.5]}
        else:
            args, frames = (p, g), T
            kw = {k: d[k] for k in m.needs}
        compute(name, *args, **ctx, **kw)  # warm-up (LPIPS network load, OpenCV/numba init)
        t0 = time.perf_counter()
        r = compute(name, *args, **ctx, **kw)
        dt = time.perf_counter() - t0
        out[name] = frames / dt if r.missing_reason is None else float("nan")
        note = f"   (missing: {r.missing_reason})" if r.missing_reason else ""
        print(f"  {name:14s} {out[name]:10.1f} frames/s{note}")
    if i3d:
        from benchmarks.metrics.fvd import i3d_features

        i3d_features(g, i3d)
        t0 = time.perf_counter()
        i3d_features(g, i3d)
        out["fvd (I3D features)"] = T / (time.perf_counter() - t0)
        print(f"  {'fvd (I3D)':14s} {out['fvd (I3D features)']:10.1f} frames/s (features of one clip)")
    return out


def build(out: Path, frames: int, size: int):
    from pipelines import BuildConfig, build_dataset

    report = build_dataset(out, BuildConfig(generated=4, rooms_per_scene=1, clips_per_room=2, frames=frames, width=size,
                                            height=size, samples=8, shard_size=2, split_fractions=(0.5, 0.25, 0.25)),
                           workers=2)
    assert report.ok, report.failed
    return out


def bench_clips(data: Path, split: str, window: int, out: Path) -> dict:
    from benchmarks.runner import RunConfig, run_benchmark
    from benchmarks.units import unit_path
    from benchmarks.tasks import TASKS

    results = {}
    for label in ("first", "cached"):
        res = out / label
        cfg = RunConfig(data=data, out=res, split=split, methods=["gt", "pbr-composite"], tasks=list(TASKS),
                        workers=0, task_options={"long": {"window": window}}, cache=out / "cache")
        t0 = time.perf_counter()
        report = run_benchmark(cfg)
        wall = time.perf_counter() - t0
        assert report.ok, report.failed
        clips = sorted({u.stem for u in (res / ".units").rglob("*.json")})
        per = {}
        for m in cfg.methods:
            for t in cfg.tasks:
                secs = []
                for c in clips:
                    rec = json.loads(unit_path(res, m, t, c).read_text())
                    s = rec["seconds"]
                    secs.append(s.get("prepare", 0.0) + s.get("unit", 0.0))
                per[(m, t)] = float(np.mean(secs))
        results[label] = {"wall": wall, "clips": len(clips), "per": per}
    print(f"  {'method':14s} {'task':14s} {'s/clip (first)':>15s} {'s/clip (cached)':>16s}")
    for (m, t), v in results["first"]["per"].items():
        print(f"  {m:14s} {t:14s} {v:15.3f} {results['cached']['per'][(m, t)]:16.3f}")
    for label, r in results.items():
        print(f"  whole run ({label}): {r['wall']:.1f} s for {r['clips']} clips × 8 tasks × 2 methods "
              f"= {r['wall'] / r['clips']:.2f} s per clip")
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--metric-size", type=int, default=256)
    ap.add_argument("--metric-frames", type=int, default=8)
    ap.add_argument("--data", type=Path, default=None, help="an existing dataset (else one is built)")
    ap.add_argument("--split", default="test")
    ap.add_argument("--frames", type=int, default=16, help="frames per clip of the built dataset")
    ap.add_argument("--size", type=int, default=64, help="frame size of the built dataset")
    ap.add_argument("--long-window", type=int, default=4)
    ap.add_argument("--i3d", default=None, help="I3D TorchScript file (times FVD features)")
    args = ap.parse_args()

    import torch

    print(f"metrics on a synthetic {args.metric_frames}-frame clip at {args.metric_size}² "
          f"(torch threads {torch.get_num_threads()}):")
    bench_metrics(args.metric_size, args.metric_frames, args.i3d)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = args.data
        if data is None:
            t0 = time.perf_counter()
            data = build(tmp / "ds", args.frames, args.size)
            print(f"built a dataset of {args.frames}-frame clips at {args.size}² in {time.perf_counter() - t0:.1f} s")
        print(f"bench wall time per clip (gt and pbr-composite, all tasks, in-process) on {data} [{args.split}]:")
        bench_clips(data, args.split, args.long_window, tmp / "runs")


if __name__ == "__main__":
    main()
