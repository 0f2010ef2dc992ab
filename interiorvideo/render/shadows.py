"""Shadow rays through thin glass (issue 16): a delta light's shadow ray passes every thin pane
it meets, weighted by the pane's transmittance, and is blocked by anything else.

Why: a window pane is a thin dielectric, and a delta light (the sun, point and spot lights)
cannot be reached by a path that refracts — only its shadow ray can find it. Blocking shadow
rays at panes (what Mitsuba's ``path`` does) would take every sun patch out of the generated
apartments. A thin pane transmits straight on, so the shadow ray through it *is* the
transmitted light path: T = t·(1 − R_slab(cos))·tint, exact, with no MIS partner to count it
twice. Area lights keep opaque panes for shadow rays: their light through a pane is gathered by
the paths the pane transmits (full weight, see ``kernels``), and letting their shadow rays
through as well would count it twice.
"""

from __future__ import annotations

import numpy as np
import open3d as o3d

from .brdf import thin_slab_reflectance

MAX_PANES = 4  # panes one shadow ray may cross (double glazing, a window in each of two rooms)
STEP = 1e-4  # metres past a pane before the ray goes on


def pane_table(dielectric: np.ndarray) -> np.ndarray:
    """Per instance: True where the material is a thin transmissive pane (shadow rays pass)."""
    return (dielectric[:, 0] > 0.0) & (dielectric[:, 2] > 0.0)


def through_panes(scene: o3d.t.geometry.RaycastingScene, geometry_to_instance: np.ndarray, dielectric: np.ndarray,
                  base_color: np.ndarray, rays: np.ndarray, tfar: float, threads: int = 0) -> tuple[np.ndarray,
                                                                                              np.ndarray]:
    """Follow shadow rays (rows: origin, vector to the light; the segment ends at ``tfar``) across
    thin panes: returns (blocked, transmittance (n, 3)); a ray that meets anything but a pane, or
    more than MAX_PANES of them, is blocked."""
    n = len(rays)
    blocked = np.zeros(n, bool)
    trans = np.ones((n, 3), np.float32)
    panes = pane_table(dielectric)
    o = rays[:, :3].astype(np.float32).copy()
    d = rays[:, 3:].astype(np.float32)
    length = np.maximum(np.linalg.norm(d, axis=1), 1e-12)
    t_end = np.full(n, tfar, np.float32)
    live = np.arange(n)
    for layer in range(MAX_PANES + 1):
        if not len(live):
            break
        ans = scene.cast_rays(o3d.core.Tensor(np.concatenate([o[live], d[live]], axis=1)), nthreads=threads)
        t = ans["t_hit"].numpy()
        hit = t < t_end[live]
        inst = geometry_to_instance[np.where(hit, ans["geometry_ids"].numpy(), 0).astype(np.int64)]
        pane = hit & panes[inst]
        if layer == MAX_PANES:
            pane[:] = False
        blocked[live[hit & ~pane]] = True
        rows, k = live[pane], inst[pane]
        cos = np.abs(np.einsum("ij,ij->i", ans["primitive_normals"].numpy()[pane], d[rows])) / length[rows]
        r = thin_slab_reflectance(cos, dielectric[k, 1])
        trans[rows] *= (dielectric[k, 0] * (1.0 - r))[:, None] * base_color[k]
        step = t[pane] + STEP / length[rows]
        o[rows] += step[:, None] * d[rows]
        t_end[rows] -= step
        live = rows
    trans[blocked] = 0.0
    return blocked, trans
