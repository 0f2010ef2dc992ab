"""Speed-up from 1 to N threads of the renderer, beside what this machine gives other work in the
same run (issue 16's thread-scaling figure).

    python perf/bench_thread_scaling.py --size 256 --frames 2 --rounds 3 [--mitsuba]

Each workload runs with 1 and with N threads, alternated ``rounds`` times so the machine's load
drifts over both alike; the speed-up is the ratio of the best time of each. Besides the renderer
(every pass of a frame at the default settings, seed-0 apartment, largest room) it measures:
open3d's Embree ``cast_rays`` on the same scene (1M incoherent rays), a numba kernel that only
computes (the machine's compute ceiling), a numba kernel that only streams memory (2 × 200 MB,
its memory ceiling) and, with ``--mitsuba``, Mitsuba 3's path + aov integrators on the same frames.
The renderer is a wavefront path tracer — every bounce streams its path state through memory
between Embree calls — so its speed-up lies between the two numba ceilings.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import numba
import numpy as np
import open3d as o3d
from numba import njit, prange

from interiorvideo.render import Renderer, RenderSettings
from interiorvideo.scene import generate_scene
from interiorvideo.trajectory import plan_trajectory
from interiorvideo.trajectory.camera import scale_intrinsics


@njit(parallel=True, fastmath=True, cache=True)
def _compute_only(x, out):
    for i in prange(x.shape[0]):
        a = x[i]
        for _ in range(200):
            a = math.sin(a) * 1.0001 + math.sqrt(abs(a) + 1.0)
        out[i] = a


@njit(parallel=True, cache=True)
def _stream_only(x, out):
    for i in prange(x.shape[0]):
        out[i] = x[i] * 2.0 + 1.0


def speedups(workloads: dict[str, Callable[[int], None]], threads: int, rounds: int) -> dict[str, tuple]:
    """Best seconds of each workload with 1 and ``threads`` threads, alternated ``rounds`` times."""
    best = {name: {1: math.inf, threads: math.inf} for name in workloads}
    for _ in range(rounds):
        for name, run in workloads.items():
            for n in (1, threads):
                t = time.perf_counter()
                run(n)
                best[name][n] = min(best[name][n], time.perf_counter() - t)
    return {name: (b[1], b[threads], b[1] / b[threads]) for name, b in best.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--frames", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--mitsuba", action="store_true", help="also time Mitsuba 3 (llvm_ad_rgb) path + aov")
    args = ap.parse_args()

    scene = generate_scene(0)
    room = max(scene.rooms, key=lambda r: r.area).room_id
    traj = plan_trajectory(scene, room, args.frames, 24.0, 0)
    K = scale_intrinsics(traj.K, (traj.width, traj.height), (args.size, args.size))
    renderer = Renderer(scene, RenderSettings())
    renderer.render_frame(scale_intrinsics(traj.K, (traj.width, traj.height), (16, 16)), traj.poses[0], 16, 16)

    def ours(n: int) -> None:
        numba.set_num_threads(n)
        renderer.data.threads = n
        for pose in traj.poses:
            renderer.render_frame(K, pose, args.size, args.size)

    rng = np.random.default_rng(0)
    d = rng.normal(size=(1_000_000, 3)).astype(np.float32)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    o = traj.positions[rng.integers(len(traj.positions), size=len(d))].astype(np.float32)
    rays = o3d.core.Tensor(np.concatenate([o, d], axis=1))

    def embree(n: int) -> None:
        renderer.data.rc.scene.cast_rays(rays, nthreads=n)

    small = rng.random(2_000_000).astype(np.float32)
    big = rng.random(50_000_000).astype(np.float32)
    small_out, big_out = np.empty_like(small), np.empty_like(big)

    def numba_kernel(kernel, x, out) -> Callable[[int], None]:
        kernel(x, out)  # compile

        def run(n: int) -> None:
            numba.set_num_threads(n)
            for _ in range(4 if kernel is _stream_only else 1):
                kernel(x, out)
        return run

    workloads = {"renderer (all passes)": ours, "Embree cast_rays, 1M rays": embree,
                 "numba compute only": numba_kernel(_compute_only, small, small_out),
                 "numba memory stream only": numba_kernel(_stream_only, big, big_out)}
    if args.mitsuba:
        import drjit as dr

        from interiorvideo.render.mitsuba_ref import mitsuba, scene_to_mitsuba
        mi = mitsuba()
        depth = renderer.settings.max_bounces + 2
        spp = renderer.settings.samples
        loaded = [mi.load_dict(scene_to_mitsuba(scene, K, pose, args.size, args.size, spp, depth, aovs=True))
                  for pose in traj.poses]
        np.asarray(mi.render(loaded[0], spp=spp, seed=0))  # compile

        def mitsuba_path_aov(n: int) -> None:
            dr.set_thread_count(n)
            for i, ms in enumerate(loaded):
                np.asarray(mi.render(ms, spp=spp, seed=i + 1))
        workloads["Mitsuba path + aov"] = mitsuba_path_aov

    result = speedups(workloads, args.threads, args.rounds)
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    print(f"seed-0 apartment room {room}, {args.frames} frames at {args.size}x{args.size}, "
          f"best of {args.rounds} alternated rounds, 1 vs {args.threads} threads")
    for name, (t1, tn, ratio) in result.items():
        print(f"{name:28s} {t1:8.3f} s  {tn:8.3f} s  speed-up {ratio:.2f}x")


if __name__ == "__main__":
    main()
