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
        """Whether each point lies inside a solid object: distance alone is unsigned, and the
        middle of a big cabinet is far from every surface.

        A point inside a solid sees the back of that object's faces first in (nearly) every
        direction; a point outside sees fronts or nothing. The vote over fixed directions is used
        instead of open3d's ray-parity ``compute_occupancy``, which miscounts rays through faces
        that two abutting parts share (a wall built of boxes around a doorway: open3d merges the
        two hits at equal distance, so the parity flips 0.9 m from any surface; seen on the
        seed-1 apartment). The back faces must belong to **one** object: a room whose walls,
        floor and ceiling are separate single-sided quads (the usual way rooms are modelled, and
        often wound to face outwards) shows only back faces from inside, yet no one quad encloses
        anything, so the room stays free. Callers ask about points a camera's clearance away
        from surfaces; within centimetres of a face that two parts share, either answer can
        come back."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        n, k = len(pts), len(_VOTE_DIRECTIONS)
        hits = self.cast(np.repeat(pts, k, axis=0), np.tile(_VOTE_DIRECTIONS, (n, 1)))
        facing = np.einsum("ij,ij->i", hits["normal"], np.tile(_VOTE_DIRECTIONS, (n, 1)))
        back = (np.isfinite(hits["t_hit"]) & (facing > 0)).reshape(n, k)
        inst = np.where(back, hits["instance"].reshape(n, k), -1)
        # The most frequent instance among each point's back-face hits, and how often it came.
        srt = np.sort(inst, axis=1)
        run_start = np.concatenate([np.ones((n, 1), bool), srt[:, 1:] != srt[:, :-1]], axis=1)
        run_id = np.cumsum(run_start, axis=1)
        counts = np.zeros((n, k + 1), dtype=np.int64)
        np.add.at(counts, (np.repeat(np.arange(n), k), run_id.ravel()), (srt >= 0).ravel().astype(np.int64))
        return (counts.max(axis=1) * 2 > k).reshape(np.shape(points)[:-1])


def _vote_directions() -> np.ndarray:
    """The 6 axes and 8 diagonals, tilted off the axes so that no ray runs along an axis-aligned
    face or edge of the (mostly axis-aligned) interiors."""
    axes = np.concatenate([np.eye(3), -np.eye(3)])
    diagonals = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=np.float64)
    d = np.concatenate([axes, diagonals]) + np.array([0.0123, 0.0311, 0.0217])
    return d / np.linalg.norm(d, axis=1, keepdims=True)


_VOTE_DIRECTIONS = _vote_directions()


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
