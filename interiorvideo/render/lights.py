"""Lights for next-event estimation, flattened into the arrays the kernels sample:
emissive triangles grouped per area light (sampled by area), point and spot lights, and the sun.
Each shading point picks one light in proportion to its unshadowed contribution there and casts
one shadow ray, whatever the number of lights."""

from __future__ import annotations

import numpy as np
import open3d as o3d

from ..scene.model import Scene
from ..scene.raycast import RaycastScene, build_raycast_scene
from .shadows import pane_table, through_panes

SHADOW_OFFSET = 2e-3  # metres along the normal, so a shadow ray does not hit its own surface


def _f32(a, cols: int | None = 3) -> np.ndarray:
    a = np.asarray(a, np.float32)
    return a.reshape(-1, cols) if cols else a.reshape(-1)


class LightSet:
    def __init__(self, scene: Scene, rc: RaycastScene | None = None):
        self._rc = rc
        v0, e1, e2, tri_n, cdf, start = [], [], [], [], [], [0]
        centers, totals, radiance = [], [], []
        rooms_of: list[int | None] = []  # each light's room, in kernel order (area, point/spot, sun)
        n_inst = max((o.instance_id for o in scene.objects), default=0) + 1
        # Instance → index of its area light (-1: none), so a path hitting an emitter finds the
        # light pdf next-event estimation had there (MIS).
        self.inst_light = np.full(n_inst, -1, np.int64)
        for light in (li for li in scene.lights if li.kind == "area"):
            obj = scene.object(light.object_id)
            v = obj.mesh.vertices.astype(np.float64)[obj.mesh.triangles]
            a, b = v[:, 1] - v[:, 0], v[:, 2] - v[:, 0]
            cross = np.cross(a, b)
            area = 0.5 * np.linalg.norm(cross, axis=1)
            keep = area > 0
            v, a, b, cross, area = v[keep], a[keep], b[keep], cross[keep], area[keep]
            if len(area) == 0:
                continue
            if obj.material.emission_two_sided:
                # Each triangle twice, the copy facing the other way (edges swapped): sampling by
                # area then picks either side, and the side facing away from a point gives 0.
                v, a, b, cross, area = (np.concatenate([v, v]), np.concatenate([a, b]), np.concatenate([b, a]),
                                        np.concatenate([cross, -cross]), np.concatenate([area, area]))
            v0.append(v[:, 0])
            e1.append(a)
            e2.append(b)
            tri_n.append(cross / (2 * area[:, None]))
            cdf.append(np.cumsum(area) / area.sum())
            start.append(start[-1] + len(area))
            centers.append((v[:, 0] + (a + b) / 3).mean(axis=0))
            totals.append(area.sum())
            radiance.append(np.asarray(light.color) * light.intensity)
            rooms_of.append(light.room_id)
            self.inst_light[light.object_id] = len(totals) - 1
        self.area_center = _f32(centers)
        self.area_total = _f32(totals, None)
        self.area_radiance = _f32(radiance)
        self.area_lum = (self.area_radiance.mean(axis=1) * self.area_total).astype(np.float32)
        self.area_tri_start = np.asarray(start, np.int64)
        self.tri_cdf = _f32(np.concatenate(cdf) if cdf else [], None)
        self.tri_v0 = _f32(np.concatenate(v0) if v0 else [])
        self.tri_e1 = _f32(np.concatenate(e1) if e1 else [])
        self.tri_e2 = _f32(np.concatenate(e2) if e2 else [])
        self.tri_normal = _f32(np.concatenate(tri_n) if tri_n else [])

        deltas = [li for li in scene.lights if li.kind in ("point", "spot")]
        rooms_of += [li.room_id for li in deltas]
        self.pt_pos = _f32([li.position for li in deltas])
        self.pt_int = _f32([np.asarray(li.color) * li.intensity for li in deltas])
        self.pt_lum = (self.pt_int.mean(axis=1)).astype(np.float32)
        self.pt_dir = _f32([li.direction if li.kind == "spot" else (0.0, 0.0, -1.0) for li in deltas])
        self.pt_dir /= np.maximum(np.linalg.norm(self.pt_dir, axis=1, keepdims=True), 1e-12)
        # Point lights get cones that always pass (cos thresholds below −1).
        self.pt_cos = _f32([(np.cos(np.radians(li.cone_deg[0])), np.cos(np.radians(li.cone_deg[1])))
                            if li.kind == "spot" else (-2.0, -3.0) for li in deltas], 2)
        suns = [li for li in scene.lights if li.kind == "sun"]
        rooms_of += [None for _ in suns]
        self.sun_dir = _f32([s.direction for s in suns])
        self.sun_dir /= np.maximum(np.linalg.norm(self.sun_dir, axis=1, keepdims=True), 1e-12)
        self.sun_irr = _f32([np.asarray(s.color) * s.intensity for s in suns])
        self.sun_lum = self.sun_irr.mean(axis=1).astype(np.float32)
        self._room_masks(scene, rooms_of)

    def _room_masks(self, scene: Scene, rooms_of: list[int | None]) -> None:
        """How strongly a shading point in each room samples each light. Its own room's lights,
        those of rooms a door leads to, and every light of a room whose doors are unknown (no
        openings recorded: every imported room) get weight 1. Any other light — two doors away,
        or the sun — is weighted by the fraction of probe points in the room that see it
        (:meth:`_visibility`), so lights seen through a row of doors keep being sampled and
        lights behind walls cost nothing. Row ``len(rooms)`` (objects outside every room)
        allows every light."""
        index = {r.room_id: i for i, r in enumerate(scene.rooms)}
        mask = np.ones((len(scene.rooms) + 1, max(len(rooms_of), 1)), np.float32)
        first_sun = len(self.area_total) + len(self.pt_pos)
        for i, room in enumerate(scene.rooms):
            near = {room.room_id} | {o.to_room for o in room.openings if o.kind == "door" and o.to_room is not None}
            far = [k for k, rid in enumerate(rooms_of)
                   if k >= first_sun or (room.openings and rid is not None and rid in index and rid not in near)]
            if far:
                mask[i, far] = self._visibility(scene, room, far)
        self.room_mask = mask
        n = max((o.instance_id for o in scene.objects), default=0) + 1
        self.inst_room = np.full(n, len(scene.rooms), np.int64)
        for o in scene.objects:
            self.inst_room[o.instance_id] = index.get(o.room_id, len(scene.rooms))

    def _visibility(self, scene: Scene, room, lights: list[int], probes: int = 512) -> np.ndarray:
        """For each light index in ``lights``, the fraction of ``probes`` random points in
        ``room`` with an unblocked ray to it: to the sun's direction (floored at 2 %, so a sunlit
        sliver stays possible), to a point or spot light's position, or to any of up to 8 points
        on an area light (0 when none is seen: that light's direct light there can only arrive
        through paths that hit it, which count it with full weight)."""
        rc = self._rc or build_raycast_scene(scene)
        self._rc = rc
        rng = np.random.default_rng(room.room_id)
        x0, y0, x1, y1 = room.bounds
        pts = np.stack([rng.uniform(x0, x1, probes), rng.uniform(y0, y1, probes),
                        rng.uniform(room.floor_z + 0.05, room.ceiling_z - 0.05, probes)], axis=1)
        n_area, n_pt = len(self.area_total), len(self.pt_pos)
        diel, base = _pane_arrays(scene)
        out = np.zeros(len(lights), np.float32)
        for j, k in enumerate(lights):
            if k >= n_area + n_pt:  # the sun: rays towards it, long enough to leave the scene
                d = np.broadcast_to(self.sun_dir[k - n_area - n_pt] * 1000.0, pts.shape)
                out[j] = max(1.0 - self._blocked(rc, pts, d, 1.0, diel, base).mean(), 0.02)
                continue
            if k >= n_area:  # a point or spot light: delta, so its light crosses panes
                out[j] = 1.0 - self._blocked(rc, pts, self.pt_pos[k - n_area] - pts, 0.999, diel, base).mean()
                continue
            lo, hi = self.area_tri_start[k], self.area_tri_start[k + 1]
            tris = np.linspace(lo, hi - 1, min(8, hi - lo)).round().astype(np.int64)
            # Triangle centroids, pulled 1 cm off the emitter so its own surface doesn't block.
            targets = (self.tri_v0[tris] + (self.tri_e1[tris] + self.tri_e2[tris]) / 3
                       + 0.01 * self.tri_normal[tris])
            seen = np.zeros(probes, bool)
            for tgt in targets:
                seen |= ~self._blocked(rc, pts, tgt - pts, 0.999)
            out[j] = seen.mean()
        return out

    @staticmethod
    def _blocked(rc: RaycastScene, origins: np.ndarray, vectors: np.ndarray, tfar: float,
                 diel: np.ndarray | None = None, base: np.ndarray | None = None) -> np.ndarray:
        """Whether each ray is blocked before ``tfar``; with pane arrays (delta lights), rays
        that only cross thin panes pass, as the renderer's shadow rays do (shadows.py)."""
        rays = np.concatenate([origins, np.broadcast_to(vectors, origins.shape)], axis=1).astype(np.float32)
        hit = rc.scene.test_occlusions(o3d.core.Tensor(rays), tnear=0.0, tfar=tfar).numpy()
        if diel is not None and hit.any():
            hit[hit] = through_panes(rc.scene, rc.geometry_to_instance, diel, base, rays[hit], tfar)[0]
        return hit

    @property
    def count(self) -> int:
        return len(self.area_total) + len(self.pt_pos) + len(self.sun_dir)

    @property
    def arrays(self) -> tuple:
        """The light arrays in the order the kernels take them."""
        return (self.area_center, self.area_total, self.area_lum, self.area_radiance, self.area_tri_start,
                self.tri_cdf, self.tri_v0, self.tri_e1, self.tri_e2, self.tri_normal, self.pt_pos, self.pt_int,
                self.pt_lum, self.pt_dir, self.pt_cos, self.sun_dir, self.sun_irr, self.sun_lum)


def _pane_arrays(scene: Scene) -> tuple[np.ndarray | None, np.ndarray]:
    """Per instance (transmission, ior, thin) and base colour, or None without thin panes."""
    n = max((o.instance_id for o in scene.objects), default=0) + 1
    diel, base = np.zeros((n, 3), np.float32), np.ones((n, 3), np.float32)
    for o in scene.objects:
        m = o.material
        diel[o.instance_id] = m.transmission, m.ior, float(m.thin)
        base[o.instance_id] = m.base_color
    return (diel if pane_table(diel).any() else None), base
