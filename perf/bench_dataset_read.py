"""One clip out of a built dataset: read at its recorded shard offset (``Dataset.read_clip``) vs the
old way, decoding every sample of its shard until the key matches (``read_shard`` + scan).

    python perf/bench_dataset_read.py DATASET_DIR [--repeats 5]

Prints seconds per clip for both over every clip of the dataset (best of ``--repeats``) and the ratio.
"""

from __future__ import annotations

import argparse
import time

from interiorvideo.dataset import Dataset
from interiorvideo.shards import decode_sample, read_shard


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    ds = Dataset.open(a.data)
    keys = [k for s in ds.shards for k in s.keys]

    def by_offset() -> None:
        for k in keys:
            ds.read_clip(k)

    def by_scan() -> None:
        for k in keys:
            entry, _ = ds.locate(k)
            decode_sample(next(s for s in read_shard(ds.shard_path(entry)) if s["__key__"] == k))

    best = {}
    for name, fn in (("offset", by_offset), ("scan", by_scan)):
        times = []
        for _ in range(a.repeats):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        best[name] = min(times) / len(keys)
    clips_per_shard = sum(s.clips for s in ds.shards) / len(ds.shards)
    print(f"{len(keys)} clips, {clips_per_shard:.1f} clips/shard")
    print(f"read at offset: {best['offset'] * 1e3:.2f} ms/clip; scan of the shard: {best['scan'] * 1e3:.2f} ms/clip; "
          f"ratio {best['scan'] / best['offset']:.2f}x")


if __name__ == "__main__":
    main()
