"""Free space at camera height: a grid over the room holding, per cell, the distance to the
nearest surface anywhere in the camera's height band (open3d distance queries on the real
geometry). Cells far enough from everything, above the floor, in the room's largest connected
region, are where a camera may go.

"Above the floor" is decided from geometry, not from labels (imported files name their meshes
``Cube`` or ``Plane``): a ray cast down from camera height must first meet a horizontal surface
within ``floor_tolerance`` of the room's floor height (a floor or a rug; not a table or a bed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..scene.model import Room
from ..scene.raycast import RaycastScene


@dataclass(frozen=True)
class FreeSpaceMap:
    origin: np.ndarray  # world xy of cell (0, 0) centre
    resolution: float  # metres per cell
    clearance: np.ndarray  # (ny, nx) min distance to a surface over the height band; 0 outside the room
    free: np.ndarray  # (ny, nx) bool: usable cells (largest connected region)
    clear_area: float = 0.0  # m² clear of surfaces by the clearance (floor or not)
    floor_area: float = 0.0  # m² where the ray down from camera height meets the floor

    def cell_to_world(self, ij: np.ndarray) -> np.ndarray:
        ij = np.asarray(ij, dtype=np.float64)
        return self.origin + ij[..., ::-1] * self.resolution

    def world_to_cell(self, xy: np.ndarray) -> np.ndarray:
        """Fractional (row, col) coordinates of world points."""
        xy = np.asarray(xy, dtype=np.float64)
        return ((xy - self.origin) / self.resolution)[..., ::-1]

    def clearance_at(self, xy: np.ndarray) -> np.ndarray:
        """Bilinear clearance at world points (cheap pre-check before exact open3d queries)."""
        rc = self.world_to_cell(xy).reshape(-1, 2).T
        return ndimage.map_coordinates(self.clearance, rc, order=1, mode="constant", cval=0.0).reshape(
            np.shape(xy)[:-1])

    @property
    def free_area(self) -> float:
        return float(self.free.sum()) * self.resolution ** 2


def free_space_map(rc: RaycastScene, room: Room, heights: tuple[float, ...], min_clearance: float,
                   resolution: float = 0.05, body_radius: float = 0.25,
                   floor_tolerance: float = 0.08) -> FreeSpaceMap:
    """A cell is walkable when a ray cast down from camera height first meets a horizontal
    surface within ``floor_tolerance`` of ``room.floor_z`` (the camera is not above a table or
    a bed), and it stays ``body_radius`` away from anything that is not walkable."""
    x0, y0, x1, y1 = room.bounds
    xs = np.arange(x0 + resolution / 2, x1, resolution)
    ys = np.arange(y0 + resolution / 2, y1, resolution)
    gx, gy = np.meshgrid(xs, ys)
    # Stay min_clearance inside the room outline too: doorways and windows have no surface to
    # keep away from, but a camera that drifts into them has left the room.
    inside = room.contains_xy(np.stack([gx.ravel(), gy.ravel()], axis=1), margin=min_clearance).reshape(gx.shape)
    clearance = np.full(gx.shape, np.inf)
    for h in heights:
        pts = np.stack([gx, gy, np.full_like(gx, room.floor_z + h)], axis=-1)
        dist = np.where(rc.occupied(pts), 0.0, rc.distance(pts))
        clearance = np.minimum(clearance, dist)
    clearance = np.where(inside, clearance, 0.0)
    ok = clearance >= min_clearance
    clear_area = float(ok.sum()) * resolution ** 2
    top_z = room.floor_z + max(heights)
    top = np.stack([gx, gy, np.full_like(gx, top_z)], axis=-1)
    down = rc.cast(top, np.array([0.0, 0.0, -1.0]))
    floor_hit = np.abs(top_z - down["t_hit"] - room.floor_z) <= floor_tolerance  # inf (a miss) is False
    walkable = floor_hit & (np.abs(down["normal"][..., 2]) > 0.9) & inside
    ok &= ndimage.distance_transform_edt(walkable) * resolution >= body_radius
    labels, n = ndimage.label(ok, structure=np.ones((3, 3)))
    if n == 0:
        free = ok
    else:
        sizes = ndimage.sum(ok, labels, index=np.arange(1, n + 1))
        free = labels == (1 + int(np.argmax(sizes)))
    return FreeSpaceMap(np.array([xs[0], ys[0]]), resolution, clearance.astype(np.float64), free, clear_area,
                        float(walkable.sum()) * resolution ** 2)
