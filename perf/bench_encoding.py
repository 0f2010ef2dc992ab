"""Per-pass shard encodings compared on a rendered clip: bytes per frame and decode MB/s for
raw .npy and deflated .npz (the measurement behind interiorvideo.shards.ENCODING).

    python perf/bench_encoding.py --size 128 --frames 8
"""

from __future__ import annotations

import argparse
import io
import time

import numpy as np

from interiorvideo.render import Renderer, RenderSettings
from interiorvideo.scene import generate_scene
from interiorvideo.schema import PASSES
from interiorvideo.shards import ENCODING, encode_array
from interiorvideo.trajectory import plan_trajectory


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--frames", type=int, default=8)
    args = ap.parse_args()
    scene = generate_scene(0)
    room = max(scene.rooms, key=lambda r: r.area).room_id
    traj = plan_trajectory(scene, room, args.frames, 24.0, 0)
    clip = Renderer(scene, RenderSettings(samples=16)).render_clip(traj, args.size, args.size)
    print(f"{'pass':11s} {'enc':4s} {'KiB/frame':>10s} {'decode MB/s':>12s}   chosen")
    for name in PASSES:
        for ext in ("npy", "npz"):
            data = encode_array(clip[name], ext)
            t = time.perf_counter()
            for _ in range(5):
                x = np.load(io.BytesIO(data))
                x = x if ext == "npy" else x["data"]
            mbps = clip[name].nbytes / ((time.perf_counter() - t) / 5) / 1e6
            mark = "<-" if ENCODING[name] == ext else ""
            print(f"{name:11s} {ext:4s} {len(data) / args.frames / 1024:10.1f} {mbps:12.0f}   {mark}")


if __name__ == "__main__":
    main()
