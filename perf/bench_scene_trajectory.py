"""Scene and trajectory generation time per room.

    python perf/bench_scene_trajectory.py --scenes 20 --frames 96

Prints seconds per room for each stage (generation, GLB/JSON writing, floor-plan PNG,
trajectory planning with its open3d checks) and, as a same-run baseline, the cost of the
open3d work the planner cannot avoid (building the Embree scene and the free-space distance
queries), so the ratio says how much the planner adds on top of its ray casting.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from interiorvideo.fileio import to_json_bytes
from interiorvideo.scene import generate_scene
from interiorvideo.scene.io import scene_to_dict, scene_to_glb_bytes
from interiorvideo.scene.preview import floorplan_png_bytes
from interiorvideo.scene.raycast import build_raycast_scene
from interiorvideo.trajectory import TrajectorySettings, plan_trajectory
from interiorvideo.trajectory.freespace import free_space_map


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenes", type=int, default=20)
    ap.add_argument("--frames", type=int, default=96)
    ap.add_argument("--fps", type=float, default=24.0)
    args = ap.parse_args()

    t = {k: 0.0 for k in ("generate", "glb_json", "png", "raycast_build", "freespace", "trajectory")}
    rooms = 0
    settings = TrajectorySettings()
    with tempfile.TemporaryDirectory():
        for seed in range(args.scenes):
            t0 = time.perf_counter()
            scene = generate_scene(seed)
            t1 = time.perf_counter()
            to_json_bytes(scene_to_dict(scene))
            scene_to_glb_bytes(scene)
            t2 = time.perf_counter()
            floorplan_png_bytes(scene)
            t3 = time.perf_counter()
            t["generate"] += t1 - t0
            t["glb_json"] += t2 - t1
            t["png"] += t3 - t2
            t4 = time.perf_counter()
            rc = build_raycast_scene(scene)
            t["raycast_build"] += time.perf_counter() - t4
            for room in scene.rooms:
                rooms += 1
                t5 = time.perf_counter()
                free_space_map(rc, room, (1.3, 1.4, 1.5), 0.42, settings.grid_resolution)
                t6 = time.perf_counter()
                plan_trajectory(scene, room.room_id, args.frames, args.fps, seed, settings, rc=rc)
                t7 = time.perf_counter()
                t["freespace"] += t6 - t5
                t["trajectory"] += t7 - t6
    print(f"{args.scenes} scenes, {rooms} rooms, {args.frames}-frame trajectories at {args.fps:g} fps")
    for k, v in t.items():
        print(f"  {k:14s} {v / rooms * 1000:8.2f} ms/room")
    total_scene = (t["generate"] + t["glb_json"] + t["png"]) / rooms
    print(f"scene generation + writing: {total_scene:.4f} s/room")
    print(f"trajectory planning:        {t['trajectory'] / rooms:.4f} s/room")
    print(f"trajectory / open3d free-space baseline (same run): {t['trajectory'] / max(t['freespace'], 1e-9):.2f}x")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
