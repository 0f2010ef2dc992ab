"""Floor-split room segmentation: rooms found from geometry alone, for files that say nothing
about rooms.

On a 5 cm grid: the floor level is the dominant upward-facing height in the lowest quarter of
the model, if it covers at least a tenth of the footprint (else the model has no floor, and no
room: a coffee table is not a floor); at 1.5 m above it,
open3d's ``RaycastingScene`` gives each cell its distance to the nearest surface
(``compute_distance``) and a ray down and a ray up (``cast_rays``). A cell is free space when it
is > 5 cm from every surface and the rays meet a floor below and, if the model has ceilings at
all, a ceiling above, both on their front faces (which rejects cells inside closed walls and
furniture; a model whose winding is inconsistent skips the facing test). Door and window holes
are free at 1.5 m, so a second slice 0.2 m under the ceilings (the 20th percentile of the heights
the free cells see above them; the model's top when it has no ceilings) must be free too: walls
are solid there above doors and windows. Free space eroded by 0.5 m (scipy's Euclidean distance
transform) also closes openings that reach the ceiling if they are narrower than ~1 m; its
connected components of ≥ 1 m² are the room seeds, grown back over the free space by a watershed
on the distance map (scikit-image), so growth follows free space and never crosses a wall. Free
pockets the flood cannot reach (walled in by furniture) join, whole, the room most of their cells
are nearest to, or are dropped below 0.25 m².

**Approximation**: a room's polygon is the bounding rectangle of its cells, pushed out by the
5 cm clearance and half a cell, so an L-shaped room gets its bounding rectangle (neighbours'
rectangles may then overlap) and open-plan spaces joined by openings wider than ~1 m stay one
room; floor_z and ceiling_z are the median ray hits (floor_z over the cells whose ray down meets
the floor level, and a room with less than 0.25 m² of such cells — free space over furniture in
a model without a floor there — is dropped). On generated apartments (seeds 0-19) every
room is found with IoU ≥ 0.97 against the generator's interior rectangle, also with the ceilings
removed or every triangle's winding flipped. :meth:`Segmentation.locate` puts a point in the room
whose cells hold it, else whose rectangle contains it, else the nearest rectangle within 0.5 m
(wall slabs, window frames), else nowhere (-1).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import open3d as o3d
from scipy import ndimage as ndi
from skimage.segmentation import watershed

from .common import RawPart

# Parameters (metres).
SPLIT_CELL = 0.05
SPLIT_SLICE_HEIGHT = 1.5
SPLIT_CLEARANCE = 0.05
SPLIT_HIGH_BELOW = 0.2  # the second slice, under the dominant ceiling height
SPLIT_ERODE = 0.5
SPLIT_MIN_SEED_AREA = 1.0
SPLIT_MIN_POCKET_AREA = 0.25
SPLIT_ASSIGN_TOLERANCE = 0.5
SPLIT_MAX_CELLS = 1500  # per axis; coarser cells for very large scenes
SPLIT_MIN_FLOOR_COVER = 0.1  # the floor level covers at least this fraction of the XY footprint
SPLIT_FLOOR_BAND = 0.15  # a room's floor cells meet a surface this close to the floor level

log = logging.getLogger(__name__)


@dataclass
class Segmentation:
    rects: list[tuple[float, float, float, float]]
    floor_z: list[float]
    ceiling_z: list[float]
    labels: np.ndarray  # (ny, nx) room index + 1, 0 = none
    origin: tuple[float, float]  # centre of cell (0, 0)
    cell: float

    def locate(self, xy: np.ndarray) -> int:
        """Room index (0-based) holding a point, or -1."""
        x, y = float(xy[0]), float(xy[1])
        ix = int(round((x - self.origin[0]) / self.cell))
        iy = int(round((y - self.origin[1]) / self.cell))
        if 0 <= iy < self.labels.shape[0] and 0 <= ix < self.labels.shape[1] and self.labels[iy, ix] > 0:
            return int(self.labels[iy, ix]) - 1
        inside = [k for k, (x0, y0, x1, y1) in enumerate(self.rects) if x0 <= x <= x1 and y0 <= y <= y1]
        if inside:
            return min(inside, key=lambda k: (self.rects[k][2] - self.rects[k][0]) * (self.rects[k][3] - self.rects[k][1]))
        best, best_d = -1, SPLIT_ASSIGN_TOLERANCE
        for k, (x0, y0, x1, y1) in enumerate(self.rects):
            d = float(np.hypot(max(x0 - x, 0.0, x - x1), max(y0 - y, 0.0, y - y1)))
            if d <= best_d:
                best, best_d = k, d
        return best


def _dominant_level(parts: list[RawPart], facing: float, lowest: bool) -> float | None:
    """The dominant height of horizontal surfaces facing up (``facing=1``, searched in the lowest
    quarter of the scene) or down (``facing=-1``, in the highest quarter), area-weighted on 2 cm bins."""
    zs, areas, zs_any, areas_any = [], [], [], []
    for p in parts:
        v = p.vertices.astype(np.float64)
        a, b, c = v[p.triangles[:, 0]], v[p.triangles[:, 1]], v[p.triangles[:, 2]]
        n = np.cross(b - a, c - a)
        area = 0.5 * np.linalg.norm(n, axis=1)
        nz = n[:, 2] / np.maximum(2.0 * area, 1e-20) * facing
        zc = (a[:, 2] + b[:, 2] + c[:, 2]) / 3.0
        zs.append(zc[nz > 0.9]), areas.append(area[nz > 0.9])
        zs_any.append(zc[np.abs(nz) > 0.9]), areas_any.append(area[np.abs(nz) > 0.9])
    z, w = np.concatenate(zs), np.concatenate(areas)
    if w.sum() <= 0:  # inverted winding everywhere: any horizontal surface
        z, w = np.concatenate(zs_any), np.concatenate(areas_any)
    allz = np.concatenate([p.vertices[:, 2] for p in parts]).astype(np.float64)
    zmin, zmax = float(allz.min()), float(allz.max())
    keep = (z <= zmin + 0.25 * (zmax - zmin) + 1e-6) if lowest else (z >= zmax - 0.25 * (zmax - zmin) - 1e-6)
    if not keep.any() or w[keep].sum() <= 0:
        return None
    z, w = z[keep], w[keep]
    bins = np.floor((z - zmin) / 0.02).astype(np.int64)
    totals = np.bincount(bins, weights=w)
    # A level is a floor only if it covers a real part of the footprint: a coffee table is the
    # lowest upward-facing surface of a model without a floor, and must not become one.
    allxy = np.concatenate([p.vertices[:, :2] for p in parts]).astype(np.float64)
    footprint = float(np.prod(allxy.max(axis=0) - allxy.min(axis=0)))
    if totals.max() < SPLIT_MIN_FLOOR_COVER * footprint:
        return None
    sel = bins == int(np.argmax(totals))
    return float(np.average(z[sel], weights=w[sel]))


def segment_rooms(parts: list[RawPart]) -> Segmentation | None:
    allv = np.concatenate([p.vertices for p in parts]).astype(np.float64)
    lo, hi = allv.min(axis=0), allv.max(axis=0)
    floor_z = _dominant_level(parts, 1.0, lowest=True)
    if floor_z is None:  # no floor at all: no room a camera could walk in
        log.debug("segment: no floor level covers %.0f%% of the footprint", 100 * SPLIT_MIN_FLOOR_COVER)
        return None
    z = floor_z + SPLIT_SLICE_HEIGHT
    if z >= hi[2]:
        z = floor_z + 0.5 * (hi[2] - floor_z)
    extent = hi[:2] - lo[:2]
    cell = max(SPLIT_CELL, float(extent.max()) / SPLIT_MAX_CELLS)
    nx, ny = (np.maximum(np.ceil(extent / cell).astype(int), 1))
    xs = lo[0] + (np.arange(nx) + 0.5) * cell
    ys = lo[1] + (np.arange(ny) + 0.5) * cell
    gx, gy = np.meshgrid(xs, ys)  # (ny, nx)
    pts = np.stack([gx, gy, np.full_like(gx, z)], axis=-1).reshape(-1, 3).astype(np.float32)

    rc = o3d.t.geometry.RaycastingScene()
    for p in parts:
        rc.add_triangles(o3d.core.Tensor(np.ascontiguousarray(p.vertices, dtype=np.float32)),
                         o3d.core.Tensor(np.ascontiguousarray(p.triangles, dtype=np.uint32)))

    def probe(points: np.ndarray):
        dist = rc.compute_distance(o3d.core.Tensor(points)).numpy()
        out = [dist]
        for direction in (-1.0, 1.0):
            rays = np.concatenate([points, np.tile(np.float32([0.0, 0.0, direction]), (len(points), 1))], axis=1)
            ans = rc.cast_rays(o3d.core.Tensor(rays))
            out += [ans["t_hit"].numpy(), ans["primitive_normals"].numpy()[:, 2]]
        return out

    dist, t_down, n_down, t_up, n_up = probe(pts)
    hit_down = np.isfinite(t_down) & (t_down <= (z - lo[2]) + 1e-3)
    hit_up = np.isfinite(t_up)
    clear = dist > SPLIT_CLEARANCE
    # Free: clear of surfaces, a floor below and (when the model has ceilings at all) a ceiling
    # above, both met on their front faces (which also rejects cells inside closed walls) unless
    # the model's winding is inconsistent.
    free = clear & hit_down
    has_ceilings = (free & hit_up).sum() >= 0.5 * free.sum()
    if has_ceilings:
        free &= hit_up
    facing = (n_down > 0) & ((n_up < 0) if has_ceilings else True)
    facing_ok = (free & facing).sum() >= 0.5 * free.sum()
    if facing_ok:
        free &= facing
    if not free.any():
        return None
    # A second slice just under the ceilings (the 20th percentile of the heights the free cells see
    # above them, so door lintels and lamps do not count), where walls are solid above doors and
    # windows; without ceilings, just under the top of the model.
    up_z = z + t_up
    z_high = (float(np.percentile(up_z[free], 20)) if has_ceilings else float(hi[2])) - SPLIT_HIGH_BELOW
    log.debug("segment: z=%.3f z_high=%.3f ceilings=%s facing=%s", z, z_high, has_ceilings, facing_ok)
    if z_high > z + 0.2:
        hdist, _td, hn_down, ht_up, hn_up = probe(pts.copy() * np.float32([1, 1, 0]) + np.float32([0, 0, z_high]))
        high_free = hdist > SPLIT_CLEARANCE
        if facing_ok:  # not inside a closed wall: the ray up meets a surface's front face
            high_free &= ~np.isfinite(ht_up) | (hn_up < 0)
        log.debug("segment: high slice keeps %d of %d", (free & high_free).sum(), free.sum())
        if (free & high_free).sum() >= 0.5 * free.sum():  # else the "ceiling" was something else
            free = free & high_free
    free = free.reshape(ny, nx)
    edt = ndi.distance_transform_edt(free) * cell
    seeds, n = ndi.label(edt > SPLIT_ERODE)
    if n:
        sizes = ndi.sum_labels(np.ones_like(edt), seeds, index=np.arange(1, n + 1)) * cell * cell
        keep = np.flatnonzero(sizes >= SPLIT_MIN_SEED_AREA) + 1
        remap = np.zeros(n + 1, dtype=np.int32)
        remap[keep] = np.arange(1, len(keep) + 1)
        seeds, n = remap[seeds], len(keep)
    if n == 0:  # nothing survives the erosion (a small model): free-space components are the rooms
        seeds, n = ndi.label(free)
        if n == 0:
            return None
    grown = watershed(-edt, markers=seeds, mask=free)
    # Free space the flood could not reach: specks (a cell or two walled in by furniture or wall
    # corners) are dropped; larger pockets (a closet too small to seed) join the nearest room.
    pockets, n_pockets = ndi.label(free & (grown == 0))
    if n_pockets:
        sizes = ndi.sum_labels(np.ones_like(edt), pockets, index=np.arange(1, n_pockets + 1)) * cell * cell
        big = np.flatnonzero(sizes >= SPLIT_MIN_POCKET_AREA) + 1
        if len(big):
            _, (iy, ix) = ndi.distance_transform_edt(grown == 0, return_indices=True)
            nearest = grown[iy, ix]
            for k in big:  # the whole pocket joins the room most of its cells are nearest to
                cells = pockets == k
                grown[cells] = int(np.argmax(np.bincount(nearest[cells])))

    pad = SPLIT_CLEARANCE + 0.5 * cell
    down_z = (z - t_down).reshape(ny, nx)
    up_z = (up_z if has_ceilings else np.full_like(up_z, np.nan)).reshape(ny, nx)
    rooms = []
    for k in range(1, n + 1):
        cells = grown == k
        if not cells.any():
            continue
        iy, ix = np.nonzero(cells)
        rect = (max(float(xs[ix.min()] - pad), float(lo[0])), max(float(ys[iy.min()] - pad), float(lo[1])),
                min(float(xs[ix.max()] + pad), float(hi[0])), min(float(ys[iy.max()] + pad), float(hi[1])))
        # The room's floor: cells whose ray down meets the floor level (not a table top); a
        # "room" of free space over furniture only (a model without a floor there) is none.
        on_floor = cells & (np.abs(down_z - floor_z) <= SPLIT_FLOOR_BAND)
        if on_floor.sum() * cell * cell < SPLIT_MIN_POCKET_AREA:
            continue
        fz = down_z[on_floor]
        cz = up_z[cells & np.isfinite(up_z)]
        rooms.append((k, rect, float(np.median(fz)) if len(fz) else floor_z,
                      float(np.median(cz)) if len(cz) else float(hi[2])))
    # Deterministic room order: south to north, then west to east (by rectangle centre).
    rooms.sort(key=lambda r: (round((r[1][1] + r[1][3]) / 2, 2), round((r[1][0] + r[1][2]) / 2, 2)))
    labels = np.zeros_like(grown, dtype=np.int32)
    for new, (old, *_rest) in enumerate(rooms, start=1):
        labels[grown == old] = new
    return Segmentation([r[1] for r in rooms], [round(r[2], 4) for r in rooms], [round(r[3], 4) for r in rooms],
                         labels, (float(xs[0]), float(ys[0])), cell)
