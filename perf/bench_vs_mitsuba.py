"""Seconds per frame of the project's renderer at its default settings against Mitsuba 3 on the
same scene, camera and samples per pixel, measured in one run (issue 16's speed figure).

    python perf/bench_vs_mitsuba.py --size 256 --spp 32 --frames 2 --rounds 2

Scene: the seed-0 generated apartment, its largest room, a planned trajectory. Ours: every pass
of the clip contract at the default RenderSettings (samples = spp). Mitsuba (llvm_ad_rgb, all
cores): the exported scene loaded once, then ``mi.render`` with the ``path`` integrator
(max_depth = our max_bounces + 2) inside an ``aov`` integrator (depth, albedo, position, normal:
the closest it has to our passes), and ``path`` alone; the first Mitsuba render of each kind
(its JIT compilation) is not timed. The three are alternated ``rounds`` times and the best
s/frame of each is printed with the ratios — a ratio < 1 means ours is faster.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from interiorvideo.render import Renderer, RenderSettings
from interiorvideo.render.mitsuba_ref import mitsuba, scene_to_mitsuba
from interiorvideo.scene import generate_scene
from interiorvideo.trajectory import plan_trajectory
from interiorvideo.trajectory.camera import scale_intrinsics


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--spp", type=int, default=32)
    ap.add_argument("--frames", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--scene-seed", type=int, default=0)
    args = ap.parse_args()
    scene = generate_scene(args.scene_seed)
    room = max(scene.rooms, key=lambda r: r.area).room_id
    traj = plan_trajectory(scene, room, args.frames, 24.0, 0)
    K = scale_intrinsics(traj.K, (traj.width, traj.height), (args.size, args.size))
    settings = RenderSettings(samples=args.spp)
    ours = Renderer(scene, settings)
    ours.render_frame(scale_intrinsics(traj.K, (traj.width, traj.height), (16, 16)), traj.poses[0], 16, 16)  # JIT

    mi = mitsuba()
    depth = settings.max_bounces + 2
    loaded = {}
    for kind, aovs in (("path+aov", True), ("path", False)):
        loaded[kind] = [mi.load_dict(scene_to_mitsuba(scene, K, pose, args.size, args.size, args.spp, depth,
                                                      aovs=aovs)) for pose in traj.poses]
        np.asarray(mi.render(loaded[kind][0], spp=args.spp, seed=0))  # compile

    best = {"ours": np.inf, "path+aov": np.inf, "path": np.inf}
    for _ in range(args.rounds):
        t = time.perf_counter()
        for pose in traj.poses:
            ours.render_frame(K, pose, args.size, args.size)
        best["ours"] = min(best["ours"], (time.perf_counter() - t) / args.frames)
        for kind, scenes in loaded.items():
            t = time.perf_counter()
            for i, ms in enumerate(scenes):
                np.asarray(mi.render(ms, spp=args.spp, seed=i + 1))
            best[kind] = min(best[kind], (time.perf_counter() - t) / args.frames)
    print(f"seed-{args.scene_seed} apartment room {room}, {args.size}x{args.size}, {args.spp} spp, "
          f"{args.frames} frames, best of {args.rounds} rounds; ours: {settings}")
    for kind, s in best.items():
        print(f"{kind:>9}: {s:6.2f} s/frame")
    print(f"ours / Mitsuba path+aov: {best['ours'] / best['path+aov']:.2f}   "
          f"ours / Mitsuba path: {best['ours'] / best['path']:.2f}   (goal: first ratio <= 1)")


if __name__ == "__main__":
    main()
