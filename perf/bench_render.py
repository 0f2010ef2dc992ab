"""Renderer throughput against raw open3d ray casting, frames/s, and the noise level.

    python perf/bench_render.py --size 256 --frames 4

Prints, from one run on one scene: open3d's raw ``cast_rays`` throughput on the scene (batches
of 1M incoherent rays from the camera positions), the rays/s the renderer achieves (every ray it
casts — camera, path and shadow rays — over its wall time), their ratio, frames/s at the given
size for all passes at the default sample counts, and the noise level: the relative RMS
difference of two renders of the same frame with different seeds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import open3d as o3d

from interiorvideo.render import Renderer, RenderSettings
from interiorvideo.scene import generate_scene
from interiorvideo.trajectory import plan_trajectory
from interiorvideo.trajectory.camera import scale_intrinsics


def raw_cast_rays_per_s(renderer: Renderer, origins: np.ndarray, n: int = 1_000_000, repeats: int = 3) -> float:
    rng = np.random.default_rng(0)
    d = rng.normal(size=(n, 3)).astype(np.float32)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    o = origins[rng.integers(len(origins), size=n)].astype(np.float32)
    rays = o3d.core.Tensor(np.concatenate([o, d], axis=1))
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        renderer.data.rc.scene.cast_rays(rays)
        best = min(best, time.perf_counter() - t)
    return n / best


def relative_rms(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """RMS of the difference over the RMS of the mean image, on ``mask`` pixels."""
    a, b = a[mask].astype(np.float64), b[mask].astype(np.float64)
    return float(np.sqrt(np.mean((a - b) ** 2)) / np.sqrt(np.mean(((a + b) / 2) ** 2)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--frames", type=int, default=4)
    ap.add_argument("--scene-seed", type=int, default=0)
    ap.add_argument("--samples", type=int, default=RenderSettings().samples)
    ap.add_argument("--pixel-samples", type=int, default=RenderSettings().pixel_samples)
    args = ap.parse_args()

    scene = generate_scene(args.scene_seed)
    room = max(scene.rooms, key=lambda r: r.area).room_id
    traj = plan_trajectory(scene, room, args.frames, 24.0, 0)
    K = scale_intrinsics(traj.K, (traj.width, traj.height), (args.size, args.size))
    r = Renderer(scene, RenderSettings(samples=args.samples, pixel_samples=args.pixel_samples))
    r.render_frame(scale_intrinsics(traj.K, (traj.width, traj.height), (16, 16)), traj.poses[0], 16, 16)  # JIT

    raw = raw_cast_rays_per_s(r, traj.positions)
    r.counter.rays = 0
    t = time.perf_counter()
    frames = [r.render_frame(K, pose, args.size, args.size) for pose in traj.poses]
    elapsed = time.perf_counter() - t
    achieved = r.counter.rays / elapsed
    raw_after = raw_cast_rays_per_s(r, traj.positions)
    raw = max(raw, raw_after)

    other = Renderer(scene, RenderSettings(samples=args.samples, pixel_samples=args.pixel_samples,
                                           seed=1)).render_frame(K, traj.poses[0], args.size,
                                                                                        args.size)
    print(f"scene {scene.name} room {room}, {args.frames} frames at {args.size}x{args.size}, "
          f"{args.samples} irradiance samples/pixel")
    print(f"raw open3d cast_rays:  {raw / 1e6:8.2f} Mrays/s")
    print(f"renderer:              {achieved / 1e6:8.2f} Mrays/s  ({r.counter.rays / args.frames / 1e6:.1f} M rays/frame)")
    print(f"ratio renderer/raw:    {achieved / raw:8.2f}   (goal >= 0.6)")
    print(f"frames/s (all passes): {args.frames / elapsed:8.3f}   ({elapsed / args.frames:.2f} s/frame)")
    # Noise on lit surfaces: sky and light fixtures (no Monte-Carlo there) would dilute it.
    f0 = frames[0]
    surface = (f0["instance"] > 0) & (r.data.emission[f0["instance"]].max(axis=-1) == 0)
    print(f"noise (relative RMS between seeds 0 and 1, {surface.mean():.0%} of pixels): "
          f"rgb {relative_rms(f0['rgb'], other['rgb'], surface):.3f}, "
          f"irradiance {relative_rms(f0['irradiance'], other['irradiance'], surface):.3f}")


if __name__ == "__main__":
    main()
