"""``--backend mitsuba`` on a GPU: a small clip of the seed-0 apartment rendered with Mitsuba's
``cuda_ad_rgb`` (rgb + irradiance by the ``x2v_path`` integrator, intrinsics from our primary
cast), checked against the clip contract, with s/frame against ``llvm_ad_rgb`` (and, with
``--cpu``, against the CPU backend) on the same frames.

    python perf/gpu_mitsuba_backend.py                          # cuda_ad_rgb vs llvm_ad_rgb
    python perf/gpu_mitsuba_backend.py --variant llvm_ad_rgb    # CPU only (no GPU needed)

Checks (exit 1 when one fails): the clip passes ``interiorvideo.schema.validate``; rgb and
irradiance are finite and not black; meta.renderer names the backend and variant; the intrinsic
passes of every variant are the same bytes; the image mean of rgb and irradiance agrees between
variants within 5 % (independent noise, 32 spp). Timing: the first frame includes Dr.Jit's kernel
compilation, so s/frame is reported for it and for the rest separately.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from interiorvideo.render import RenderSettings
from interiorvideo.render.mitsuba_backend import MitsubaRenderer, make_renderer
from interiorvideo.scene import generate_scene
from interiorvideo.schema import validate
from interiorvideo.trajectory import TrajectorySettings, plan_trajectory

INTRINSICS = ("albedo", "normal", "roughness", "metallic", "depth", "instance")


def render(backend: str, variant: str | None, scene, traj, size: tuple[int, int], samples: int) -> tuple[dict, dict]:
    t0 = time.perf_counter()
    r = make_renderer(scene, RenderSettings(samples=samples, seed=0), backend, variant)
    t_setup = time.perf_counter() - t0
    times = []

    def tick(done: int, total: int) -> None:
        times.append(time.perf_counter())

    t1 = time.perf_counter()
    clip = r.render_clip(traj, *size, progress=tick)
    steps = np.diff([t1, *times])
    timing = {"setup_s": round(t_setup, 3), "first_frame_s": round(float(steps[0]), 3),
              "s_per_frame": round(float(steps[1:].mean()) if len(steps) > 1 else float(steps[0]), 3)}
    if isinstance(r, MitsubaRenderer):
        timing["variant"] = r.variant
    return clip, timing


def check(name: str, clip: dict, backend: str) -> list[str]:
    problems = []
    try:
        validate(clip)
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        problems.append(f"{name}: schema: {exc}")
    for p in ("rgb", "irradiance"):
        a = clip[p].astype(np.float32)
        if not np.isfinite(a).all() or a.mean() <= 0:
            problems.append(f"{name}: {p} not finite or black (mean {a.mean():.4g})")
    if clip["meta"]["renderer"].get("backend", "cpu") != backend:
        problems.append(f"{name}: meta.renderer {clip['meta']['renderer']}")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variant", default="cuda_ad_rgb", choices=["cuda_ad_rgb", "llvm_ad_rgb"])
    ap.add_argument("--compare", default="llvm_ad_rgb", help="variant to time against ('' for none)")
    ap.add_argument("--cpu", action="store_true", help="also time the CPU backend")
    ap.add_argument("--frames", type=int, default=4)
    ap.add_argument("--size", default="128x128")
    ap.add_argument("--samples", type=int, default=32)
    ap.add_argument("--room", type=int, default=0)
    ap.add_argument("--json", default="", help="write the report here too")
    a = ap.parse_args()
    size = tuple(int(x) for x in a.size.split("x"))
    scene = generate_scene(0)
    traj = plan_trajectory(scene, a.room, a.frames, 24.0, 0, TrajectorySettings(width=size[0], height=size[1]))
    runs = [("mitsuba", a.variant)]
    if a.compare and a.compare != a.variant:
        runs.append(("mitsuba", a.compare))
    if a.cpu:
        runs.append(("cpu", None))
    report: dict = {"scene": scene.name, "frames": a.frames, "size": a.size, "samples": a.samples, "runs": {}}
    problems: list[str] = []
    clips = {}
    for backend, variant in runs:
        name = variant or backend
        clip, timing = render(backend, variant, scene, traj, size, a.samples)
        clips[name] = clip
        report["runs"][name] = {**timing, "rgb_mean": float(clip["rgb"].astype(np.float32).mean()),
                                "irradiance_mean": float(clip["irradiance"].astype(np.float32).mean())}
        problems += check(name, clip, backend)
        print(name, json.dumps(report["runs"][name]), flush=True)
    first = clips[a.variant]
    for name, clip in clips.items():
        for p in INTRINSICS:
            if clip[p].tobytes() != first[p].tobytes():
                problems.append(f"{p} of {name} differs from {a.variant}'s")
        if name != a.variant and name in (a.compare,):
            for p in ("rgb", "irradiance"):
                r = float(first[p].astype(np.float32).mean() / clip[p].astype(np.float32).mean())
                report["runs"][name][f"{p}_ratio_{a.variant}_over_this"] = round(r, 4)
                if abs(r - 1.0) > 0.05:
                    problems.append(f"{p} mean {a.variant} / {name} = {r:.4f}")
    if len(runs) > 1:
        base = report["runs"][a.variant]["s_per_frame"]
        for name, run in report["runs"].items():
            run["speedup_of_" + a.variant] = round(run["s_per_frame"] / max(base, 1e-9), 2)
    report["problems"] = problems
    print(json.dumps(report, indent=1))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
