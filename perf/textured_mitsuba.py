"""Per-region radiance ratios, ours / Mitsuba 3, in the textured reference room (issue 16) and
variants of it: the numbers in docs/textures.md.

    python perf/textured_mitsuba.py full 128      # all maps
    python perf/textured_mitsuba.py nonormal 128  # flat back wall
    python perf/textured_mitsuba.py noalpha 128   # no leaf panel, no canopy
    python perf/textured_mitsuba.py bare 128      # floor maps only
"""

from __future__ import annotations

import sys

from scipy.ndimage import binary_erosion

from interiorvideo.render import Renderer, RenderSettings
from interiorvideo.render.mitsuba_ref import region_ratio, render_mitsuba
from interiorvideo.scene import reference as ref
from interiorvideo.scene.model import Scene


def variant_scene(variant: str) -> Scene:
    base = ref.textured_room(normal_map=variant in ("full", "noalpha"))
    drop = (ref.CANOPY, ref.PANEL) if variant in ("noalpha", "bare") else ()
    objs = tuple(o for o in base.objects if o.instance_id not in drop)
    return Scene(base.name, objs, base.lights, base.rooms, textures=base.textures,
                 linear_textures=base.linear_textures)


def main(variant: str, spp: int) -> None:
    scene, traj = variant_scene(variant), ref.textured_camera(64, 48)
    ours = [Renderer(scene, RenderSettings(samples=spp, max_bounces=6, seed=s, indirect_clamp=None)).render_frame(
        traj.K, traj.poses[0], traj.width, traj.height) for s in (0, 1)]
    theirs = [render_mitsuba(scene, traj.K, traj.poses[0], traj.width, traj.height, spp=spp, max_depth=8, seed=s,
                             aovs=False) for s in (0, 1)]
    inst, metal = ours[0]["instance"], ours[0]["metallic"][..., 0]
    regions = {k: inst == v for k, v in ref.TEXTURED_REGIONS.items()}
    regions["floor, metal texels"] = (inst == ref.FLOOR) & (metal == 1)
    regions["floor, Lambertian texels"] = (inst == ref.FLOOR) & (metal == 0)
    for name, mask in regions.items():
        mask = binary_erosion(mask, iterations=1)
        if mask.sum() < 5:
            continue
        r, s = region_ratio((ours[0]["rgb"], ours[1]["rgb"]), (theirs[0]["rgb"], theirs[1]["rgb"]), mask)
        print(f"{variant} {name:26s} {int(mask.sum()):5d} px  {r:.4f} ± {s:.4f}  ({(r - 1) / s:+.1f}σ)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "full", int(sys.argv[2]) if len(sys.argv) > 2 else 128)
