"""Real scenes through import → trajectories → render, with default flags: the table of
docs/real-scenes.md.

    python perf/bench_real_scenes.py FILE... [--size 128] [--frames 8] [--samples 32]

For each file: import time, triangles, the up axis and units it detected, lights (the default
rig is added when the file has none, and said so), rooms, rooms that yield a trajectory meeting
the guarantees (48 frames at 24 fps, seed 0), and render seconds per frame (all passes) on the
first such room. A generated apartment (seed 0) is rendered in the same run as the baseline, so
the ratio column does not depend on how busy the machine is.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from interiorvideo.render import Renderer, RenderSettings
from interiorvideo.scene import generate_scene
from interiorvideo.scene.importers import import_scene
from interiorvideo.scene.raycast import build_raycast_scene
from interiorvideo.trajectory import NoValidTrajectoryError, TrajectorySettings, plan_trajectory


def walk_rooms(scene, size: int) -> tuple[list, list[str]]:
    rc = build_raycast_scene(scene)
    settings = TrajectorySettings(width=size, height=size)
    trajs, failures = [], []
    for room in scene.rooms:
        try:
            trajs.append(plan_trajectory(scene, room.room_id, 48, 24.0, 0, settings, rc=rc))
        except NoValidTrajectoryError as exc:
            failures.append(str(exc))
    return trajs, failures


def seconds_per_frame(scene, traj, size: int, frames: int, samples: int) -> tuple[float, float]:
    """(s/frame, median linear rgb) for the first ``frames`` poses."""
    traj.poses = traj.poses[:frames]
    renderer = Renderer(scene, RenderSettings(samples=samples, seed=0))
    t0 = time.perf_counter()
    clip = renderer.render_clip(traj, size, size)
    return (time.perf_counter() - t0) / frames, float(np.median(clip["rgb"].astype(np.float32)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--samples", type=int, default=32)
    args = ap.parse_args()

    base = generate_scene(0)
    base_trajs, _ = walk_rooms(base, args.size)
    base_spf, _ = seconds_per_frame(base, base_trajs[0], args.size, args.frames, args.samples)
    print(f"baseline: generated apartment seed 0, {base.num_triangles} triangles, {base_spf:.2f} s/frame "
          f"at {args.size}², {args.samples} spp")
    print("| file | triangles | import s | up | units | lights | rooms | rooms walked | s/frame | × baseline | median rgb |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for path in args.files:
        t0 = time.perf_counter()
        scene = import_scene(path, default_lights=True)
        t_import = time.perf_counter() - t0
        o = scene.source["orientation"][0]
        rig = any("default light rig" in a for a in scene.source["assumptions"])
        trajs, failures = walk_rooms(scene, args.size)
        spf, med = seconds_per_frame(scene, trajs[0], args.size, args.frames, args.samples) if trajs else (float("nan"), 0.0)
        print(f"| {path.name} | {scene.num_triangles} | {t_import:.1f} | +{o['up'].upper()} | {o['units']} | "
              f"{len(scene.lights)}{' (rig)' if rig else ''} | {len(scene.rooms)} | {len(trajs)} | {spf:.2f} | "
              f"{spf / base_spf:.2f} | {med:.3f} |")
        for f in failures:
            print(f"    not walked: {f[:220]}")


if __name__ == "__main__":
    main()
