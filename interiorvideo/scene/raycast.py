"""open3d ray-casting (Embree) scenes built from our scene model.

A ``RaycastingScene`` cannot be pickled, so callers (Ray workers included) build one where they
use it; building is cheap (milliseconds for a furnished apartment).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import open3d as o3d

from .model import Scene


@dataclass
class RaycastScene:
    """An Embree scene plus the map from open3d geometry ids back to instance ids."""

    scene: o3d.t.geometry.RaycastingScene
    geometry_to_instance: np.ndarray  # index: open3d geometry id → instance id (0 for the invalid id)

    def cast(self, origins: np.ndarray, directions: np.ndarray) -> dict[str, np.ndarray]:
        """Cast rays (…, 3) + (…, 3); returns hit distance ``t_hit`` (inf on miss), unit
        ``normal``, ``instance`` ids (0 on miss), ``primitive`` ids and barycentric ``uv``."""
        shape = np.broadcast_shapes(np.shape(origins), np.shape(directions))[:-1]
        rays = np.concatenate([np.broadcast_to(origins, shape + (3,)), np.broadcast_to(directions, shape + (3,))],
                              axis=-1).astype(np.float32).reshape(-1, 6)
        ans = self.scene.cast_rays(o3d.core.Tensor(rays))
        t_hit = ans["t_hit"].numpy().reshape(shape)
        geom = ans["geometry_ids"].numpy().astype(np.int64).reshape(shape)
        valid = np.isfinite(t_hit)
        inst = np.zeros(shape, dtype=np.int32)
        inst[valid] = self.geometry_to_instance[geom[valid]]
        return {
            "t_hit": t_hit,
            "normal": ans["primitive_normals"].numpy().reshape(shape + (3,)),
            "instance": inst,
            "primitive": ans["primitive_ids"].numpy().astype(np.int64).reshape(shape),
            "uv": ans["primitive_uvs"].numpy().reshape(shape + (2,)),
        }

    def distance(self, points: np.ndarray) -> np.ndarray:
        """Unsigned distance from each point to the nearest surface."""
        pts = np.asarray(points, dtype=np.float32).reshape(-1, 3)
        return self.scene.compute_distance(o3d.core.Tensor(pts)).numpy().reshape(np.shape(points)[:-1])


    def occupied(self, points: np.ndarray) -> np.ndarray:
        """Whether each point lies inside a closed object (ray parity test): distance alone is
        unsigned, and the middle of a big cabinet is far from every surface."""
        pts = np.asarray(points, dtype=np.float32).reshape(-1, 3)
        occ = self.scene.compute_occupancy(o3d.core.Tensor(pts), nsamples=3).numpy()
        return (occ > 0.5).reshape(np.shape(points)[:-1])


def build_raycast_scene(scene: Scene, exclude_labels: tuple[str, ...] = ()) -> RaycastScene:
    rc = o3d.t.geometry.RaycastingScene()
    ids = []
    for obj in scene.objects:
        if obj.label in exclude_labels:
            continue
        gid = rc.add_triangles(o3d.core.Tensor(obj.mesh.vertices), o3d.core.Tensor(obj.mesh.triangles.astype(np.uint32)))
        ids.append((gid, obj.instance_id))
    table = np.zeros(max((g for g, _ in ids), default=0) + 1, dtype=np.int32)
    for gid, iid in ids:
        table[gid] = iid
    return RaycastScene(rc, table)
