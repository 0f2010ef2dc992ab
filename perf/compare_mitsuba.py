"""The project's renderer against Mitsuba 3 on the reference rooms (issue 16).

    python perf/compare_mitsuba.py --size 64 --spp 64 --bounces 6                   # Lambertian room
    python perf/compare_mitsuba.py --size 64 --spp 64 --bounces 6 --scene metal     # + copper and mirror blocks
    python perf/compare_mitsuba.py --size 64 --spp 64 --bounces 6 --scene glossy    # + glossy dielectric walls
    python perf/compare_mitsuba.py --size 64 --spp 1024 --bounces 6 --scene window  # physical sky through a window
    python perf/compare_mitsuba.py --size 64 --spp 1024 --bounces 6 --scene window-map  # an HDR map instead

Renders a reference room (interiorvideo.scene.reference: cornell_room, or glossy_room with its
camera) with both renderers at
the same camera, spp and bounce depth (Mitsuba max_depth = bounces + 2, or bounces + 1 in a scene lit
by the sky alone: ours gathers the sky by paths only, so its last vertex adds none), each with two seeds,
and prints per region (eroded instance masks) the ratio of means ours / Mitsuba with its 1σ noise
from the seed-to-seed differences, the irradiance pass against Mitsuba rgb / albedo, and
seconds per frame of each renderer in this run (ours: all passes; Mitsuba: path + aov, and path
alone). The first Mitsuba render of a process includes its JIT compilation; timings are of the
second seed.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.ndimage import binary_erosion

from interiorvideo.render import Renderer, RenderSettings
from interiorvideo.render.mitsuba_ref import region_ratio, render_mitsuba
from interiorvideo.scene import reference as ref

def _window_map_room():
    import OpenEXR

    from interiorvideo.scene.sky import map_sky

    path = Path(tempfile.mkdtemp()) / "lobe.exr"
    with OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage},
                      {"RGB": ref.window_lobe_map()}) as f:
        f.write(str(path))
    return ref.window_room(map_sky(path))


SCENES = {
    "lambertian": (ref.cornell_room, ref.cornell_camera, ref.REGIONS),
    "metal": (ref.glossy_room, ref.glossy_camera, ref.GLOSSY_REGIONS),
    "glossy": (lambda: ref.glossy_room(glossy_walls=True), ref.glossy_camera, ref.GLOSSY_REGIONS),
    "window": (ref.window_room, ref.window_camera, ref.WINDOW_REGIONS),
    "window-map": (_window_map_room, ref.window_camera, ref.WINDOW_REGIONS),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=64, help="image width (height = 3/4 of it)")
    ap.add_argument("--spp", type=int, default=64)
    ap.add_argument("--bounces", type=int, default=6)
    ap.add_argument("--scene", choices=sorted(SCENES), default="lambertian")
    args = ap.parse_args()
    w, h = args.size, args.size * 3 // 4
    make_scene, make_camera, region_ids = SCENES[args.scene]
    scene, traj = make_scene(), make_camera(w, h)
    lambertian = {o.instance_id for o in scene.objects if o.material.metallic == 0 and o.material.specular == 0}
    K, pose = traj.K, traj.poses[0]
    depth = args.bounces + (2 if scene.lights else 1)
    ours, theirs, t_ours, t_mi, t_path = [], [], 0.0, 0.0, 0.0
    for seed in (0, 1):
        r = Renderer(scene, RenderSettings(samples=args.spp, max_bounces=args.bounces, seed=seed, indirect_clamp=None,
                                           pixel_samples=1))
        t = time.perf_counter()
        ours.append(r.render_frame(K, pose, w, h))
        t_ours = time.perf_counter() - t
        t = time.perf_counter()
        theirs.append(render_mitsuba(scene, K, pose, w, h, spp=args.spp, max_depth=depth, seed=seed))
        t_mi = time.perf_counter() - t
        t = time.perf_counter()
        render_mitsuba(scene, K, pose, w, h, spp=args.spp, max_depth=depth, seed=seed, aovs=False)
        t_path = time.perf_counter() - t
    (f1, f2), (m1, m2) = ours, theirs
    inst = f1["instance"]
    e1, e2 = (m["rgb"] / np.maximum(m["albedo"], 1e-6) for m in (m1, m2))
    print(f"{args.scene} reference room, {w}x{h}, {args.spp} spp, {args.bounces} bounces "
          f"(Mitsuba max_depth {depth}); ratio ours / Mitsuba ± 1σ noise")
    print(f"{'region':<14}{'pixels':>8}{'rgb':>20}{'irradiance (Lambertian)':>26}")
    regions = {**{k: binary_erosion(inst == i, iterations=1) for k, i in region_ids.items()},
               "image": np.ones_like(inst, bool)}
    for name, mask in regions.items():
        r, s = region_ratio((f1["rgb"], f2["rgb"]), (m1["rgb"], m2["rgb"]), mask)
        line = f"{name:<14}{int(mask.sum()):>8}{f'{r:.4f} ± {s:.4f}':>20}"
        if name != "image" and region_ids[name] in lambertian:
            ri, si = region_ratio((f1["irradiance"], f2["irradiance"]), (e1, e2), mask)
            line += f"{f'{ri:.4f} ± {si:.4f}':>26}"
        print(line)
    print(f"s/frame: ours {t_ours:.2f} (all passes), Mitsuba {t_mi:.2f} (path + aov), {t_path:.2f} (path); "
          f"ours / Mitsuba path+aov = {t_ours / t_mi:.2f}")


if __name__ == "__main__":
    main()
