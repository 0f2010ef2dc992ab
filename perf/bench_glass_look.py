"""What window glass does to the generated apartments (issue 16): for every room with a window,
one frame rendered three ways — no panes (generator version 1), thin panes whose shadow rays
for delta lights pass with the pane's transmittance (the default), and panes that block them
(Mitsuba's ``path``) — printing the frame's and the floor's mean radiance relative to no panes,
the 99th percentile (sun patches) and the render time.

    python perf/glass_look.py [SEED ...] [--size 64x48] [--spp 16]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np

from interiorvideo.render import Renderer, RenderSettings
from interiorvideo.render import lights as lights_module
from interiorvideo.render.scenedata import SceneData
from interiorvideo.scene import generate_scene
from interiorvideo.scene.model import Scene
from interiorvideo.trajectory import plan_trajectory


def render(scene: Scene, traj, size: tuple[int, int], spp: int, block: bool) -> tuple[dict, float]:
    has, arrays = SceneData.has_panes, lights_module._pane_arrays
    if block:  # panes opaque to every shadow ray, the sun's room-visibility probes included
        SceneData.has_panes = property(lambda self: False)
        lights_module._pane_arrays = lambda s: (None, None)
    try:
        t = time.perf_counter()
        clip = Renderer(scene, RenderSettings(samples=spp, seed=0)).render_clip(traj, *size)
        return clip, time.perf_counter() - t
    finally:
        SceneData.has_panes, lights_module._pane_arrays = has, arrays


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("seeds", nargs="*", type=int, default=[0])
    ap.add_argument("--size", default="64x48")
    ap.add_argument("--spp", type=int, default=16)
    a = ap.parse_args()
    size = tuple(int(v) for v in a.size.split("x"))
    for seed in a.seeds:
        scene = generate_scene(seed)
        bare = dataclasses.replace(scene, objects=tuple(o for o in scene.objects if o.label != "window pane"))
        for room in (r.room_id for r in scene.rooms if any(op.kind == "window" for op in r.openings)):
            traj = plan_trajectory(scene, room, 2, 24.0, 0)
            traj = dataclasses.replace(traj, poses=traj.poses[:1])
            rows = {}
            for name, sc, block in (("no panes", bare, False), ("panes pass", scene, False),
                                    ("panes block", scene, True)):
                clip, dt = render(sc, traj, size, a.spp, block)
                rgb = clip["rgb"][0].astype(np.float64)
                floor = np.isin(clip["instance"][0], [o.instance_id for o in sc.objects if o.label == "floor"])
                rows[name] = (rgb.mean(), rgb[floor].mean() if floor.any() else np.nan,
                              np.percentile(rgb.mean(-1), 99), dt)
            b = rows["no panes"]
            print(f"seed {seed} room {room}: " + "; ".join(
                f"{k} mean {v[0] / b[0]:.3f}x floor {v[1] / b[1]:.3f}x p99 {v[2]:.3f} {v[3]:.2f}s"
                for k, v in rows.items()), flush=True)


if __name__ == "__main__":
    main()
