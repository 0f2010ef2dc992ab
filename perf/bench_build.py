"""Dataset build scaling and shard sizes.

    python perf/bench_build.py --scenes 4 --frames 16 --size 64

Builds the same small dataset twice in one run — Ray with 1 worker, then with 2 — and prints
clips/s of the render phase for each and their ratio (goal >= 1.8 on 2 cores), shard bytes per
frame per pass (from the shards' tar members), and the reader's throughput in clips/s (plain
webdataset decoding + the clip decoder, as training reads them).
"""

from __future__ import annotations

import argparse
import os
import tarfile
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import webdataset as wds

from interiorvideo.data import InteriorVideoDataset
from interiorvideo.shards import decode_sample
from pipelines import BuildConfig, build_dataset

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


def timed_build(out: Path, config: BuildConfig, workers: int) -> tuple[float, float]:
    """(clips/s over the whole render phase, start-up included; steady-state clips/s, measured
    between the first ``workers`` completions — which carry each worker's start-up — and the last)."""
    rates, stamps = [], []

    def progress(done: int, total: int, rate: float) -> None:
        rates.append(rate)
        stamps.append((done, time.perf_counter()))

    report = build_dataset(out, config, workers=workers, progress=progress)
    assert report.ok, report.failed
    done = [(d, t) for d, t in stamps[1:]]
    (d0, t0), (d1, t1) = done[workers - 1], done[-1]
    return rates[-1], (d1 - d0) / (t1 - t0)


def bytes_per_frame(shards: list[Path], frames: int) -> dict[str, float]:
    sizes: dict[str, int] = defaultdict(int)
    for shard in shards:
        with tarfile.open(shard) as tar:
            for m in tar.getmembers():
                sizes[m.name.split(".", 1)[1]] += m.size
    return {k: v / frames for k, v in sorted(sizes.items())}


def reader_clips_per_s(shards: list[Path], frames: int, repeats: int = 3) -> tuple[float, float]:
    """(plain webdataset decode + clip decoder, the training reader with an 8-frame crop) clips/s."""
    urls = [str(p) for p in shards]
    best_plain = best_train = 0.0
    for _ in range(repeats):
        t = time.perf_counter()
        n = sum(1 for s in wds.WebDataset(urls, shardshuffle=False).decode() if decode_sample(s) is not None)
        best_plain = max(best_plain, n / (time.perf_counter() - t))
        t = time.perf_counter()
        n = sum(1 for _ in InteriorVideoDataset(urls, frames=min(8, frames)))
        best_train = max(best_train, n / (time.perf_counter() - t))
    return best_plain, best_train


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenes", type=int, default=4)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--samples", type=int, default=16)
    args = ap.parse_args()
    config = BuildConfig(generated=args.scenes, rooms_per_scene=2, clips_per_room=1, frames=args.frames,
                         width=args.size, height=args.size, samples=args.samples, shard_size=4)
    with tempfile.TemporaryDirectory() as tmp:
        one, one_steady = timed_build(Path(tmp) / "w1", config, 1)
        two, two_steady = timed_build(Path(tmp) / "w2", config, 2)
        shards = sorted((Path(tmp) / "w2" / "shards").glob("*.tar"))
        n_clips = sum(1 for s in shards for _ in wds.WebDataset(str(s), shardshuffle=False))
        per_pass = bytes_per_frame(shards, n_clips * args.frames)
        reader, train_reader = reader_clips_per_s(shards, args.frames)
    print(f"{n_clips} clips of {args.frames} frames at {args.size}x{args.size}, {args.samples} samples/pixel")
    print(f"render phase, 1 worker:  {one:.3f} clips/s (steady state {one_steady:.3f})")
    print(f"render phase, 2 workers: {two:.3f} clips/s (steady state {two_steady:.3f})")
    print(f"ratio 2/1 workers:       {two / one:.2f} (steady state {two_steady / one_steady:.2f})   "
          f"(goal >= 1.8 on 2 cores)")
    print("shard bytes per frame per pass:")
    for member, b in per_pass.items():
        print(f"  {member:18s} {b / 1024:8.2f} KiB")
    print(f"total per frame: {sum(per_pass.values()) / 1024:.1f} KiB")
    print(f"reader (webdataset decode + clip decoder, 1 process): {reader:.1f} clips/s")
    print(f"training reader (interiorvideo.data, 8-frame crops, tensors, 1 process): {train_reader:.1f} clips/s")


if __name__ == "__main__":
    main()
