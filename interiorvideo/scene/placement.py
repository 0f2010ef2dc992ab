"""Placing furniture in a room without overlaps.

Furniture turns only by quarter turns, so every piece is an axis-aligned box in the plan and
overlap is an exact box test. Keep-out boxes protect door swings, window views and the space in
front of a sofa or wardrobe; rugs are a floor layer: things placed over them stand on them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .furniture import Furniture
from .mesh import Mesh, merge
from .model import Opening

# Rotation (degrees about +Z) that puts a piece's back (local −y) against each wall.
BACK_TO_WALL_ROTATION = {"south": 0.0, "north": 180.0, "west": -90.0, "east": 90.0}
TOUCH_TOL = 1e-4  # boxes may touch (a lamp on a nightstand) but not interpenetrate
WALL_GAP = 0.02


@dataclass(frozen=True)
class Placed:
    furniture: Furniture
    meshes: tuple[Mesh, ...]  # world-space part meshes, same order as furniture.parts
    lo: np.ndarray
    hi: np.ndarray
    rotation: float
    floor_layer: bool = False

    @property
    def center(self) -> np.ndarray:
        return (self.lo + self.hi) / 2

    _origin: tuple[float, float, float] = (0.0, 0.0, 0.0)


def boxes_overlap(lo_a, hi_a, lo_b, hi_b, tol: float = TOUCH_TOL) -> bool:
    return bool(np.all(np.minimum(hi_a, hi_b) - np.maximum(lo_a, lo_b) > tol))


class Placer:
    """Tracks what a room already holds and finds free spots for new pieces."""

    def __init__(self, interior: tuple[float, float, float, float], ceiling: float, openings: tuple[Opening, ...],
                 rng: np.random.Generator):
        self.interior = interior
        self.ceiling = ceiling
        self.rng = rng
        self.placed: list[Placed] = []
        self.keepouts: list[tuple[np.ndarray, np.ndarray]] = []
        x0, y0, x1, y1 = interior
        for o in openings:
            depth = 1.0 if o.kind == "door" else 0.35
            zlo = 0.0 if o.kind == "door" else o.bottom
            a, b = o.start - 0.1, o.end + 0.1
            lo, hi = {
                "south": ((a, y0, zlo), (b, y0 + depth, o.top)), "north": ((a, y1 - depth, zlo), (b, y1, o.top)),
                "west": ((x0, a, zlo), (x0 + depth, b, o.top)), "east": ((x1 - depth, a, zlo), (x1, b, o.top)),
            }[o.side]
            self.keepouts.append((np.array(lo), np.array(hi)))

    # -- geometry -----------------------------------------------------------------------------
    @staticmethod
    def local_bounds(f: Furniture, rotation: float) -> tuple[np.ndarray, np.ndarray]:
        m = merge([p.mesh for p in f.parts]).transformed(rotation)
        b = m.bounds().astype(np.float64)
        return b[0], b[1]

    def _inside(self, lo: np.ndarray, hi: np.ndarray) -> bool:
        x0, y0, x1, y1 = self.interior
        return bool(lo[0] >= x0 - 1e-6 and lo[1] >= y0 - 1e-6 and hi[0] <= x1 + 1e-6 and hi[1] <= y1 + 1e-6
                    and lo[2] >= -1e-6 and hi[2] <= self.ceiling + 1e-6)

    def fits(self, lo: np.ndarray, hi: np.ndarray, floor_layer: bool = False, ignore_keepouts: bool = False) -> bool:
        if not self._inside(lo, hi):
            return False
        for p in self.placed:
            if floor_layer and not p.floor_layer:
                # A rug may not slide under something already standing on the floor.
                if boxes_overlap(lo[:2], hi[:2], p.lo[:2], p.hi[:2]) and p.lo[2] < 0.02:
                    return False
                continue
            if boxes_overlap(lo, hi, p.lo, p.hi):
                return False
        if not ignore_keepouts and not floor_layer:
            for klo, khi in self.keepouts:
                if boxes_overlap(lo, hi, klo, khi):
                    return False
        return True

    def _floor_height(self, lo: np.ndarray, hi: np.ndarray) -> float:
        z = 0.0
        for p in self.placed:
            if p.floor_layer and boxes_overlap(lo[:2], hi[:2], p.lo[:2], p.hi[:2]):
                z = max(z, float(p.hi[2]))
        return z

    # -- placing ------------------------------------------------------------------------------
    def try_place(self, f: Furniture, x: float, y: float, rotation: float, z: float | None = None,
                  floor_layer: bool = False, ignore_keepouts: bool = False) -> Placed | None:
        """Place with the rotated footprint centred at (x, y); ``z`` None = stand on floor/rug."""
        llo, lhi = self.local_bounds(f, rotation)
        shift_xy = np.array([x, y]) - (llo[:2] + lhi[:2]) / 2
        lo = np.array([llo[0] + shift_xy[0], llo[1] + shift_xy[1], llo[2]])
        hi = np.array([lhi[0] + shift_xy[0], lhi[1] + shift_xy[1], lhi[2]])
        base = (0.0 if floor_layer else self._floor_height(lo, hi)) if z is None else z
        lo[2] += base
        hi[2] += base
        if not self.fits(lo, hi, floor_layer, ignore_keepouts):
            return None
        origin = (float(shift_xy[0]), float(shift_xy[1]), float(base))
        meshes = tuple(p.mesh.transformed(rotation, origin) for p in f.parts)
        placed = Placed(f, meshes, lo, hi, rotation, floor_layer, origin)
        self.placed.append(placed)
        if f.front_clearance > 0:
            self._add_front_keepout(placed)
        return placed

    def _add_front_keepout(self, p: Placed) -> None:
        c = p.furniture.front_clearance
        lo, hi = p.lo.copy(), p.hi.copy()
        front = {0.0: (1, +1), 180.0: (1, -1), -90.0: (0, +1), 90.0: (0, -1)}[p.rotation % 360 if p.rotation % 360 != 270
                                                                            else -90.0]
        axis, sign = front
        if sign > 0:
            lo[axis], hi[axis] = p.hi[axis], p.hi[axis] + c
        else:
            lo[axis], hi[axis] = p.lo[axis] - c, p.lo[axis]
        lo[2], hi[2] = 0.02, 1.0
        self.keepouts.append((lo, hi))

    def wall_position(self, f: Furniture, side: str, along: float, gap: float = WALL_GAP) -> tuple[float, float]:
        """Footprint centre that puts the piece's back ``gap`` metres from the wall ``side``."""
        rot = BACK_TO_WALL_ROTATION[side]
        llo, lhi = self.local_bounds(f, rot)
        half = (lhi - llo) / 2
        x0, y0, x1, y1 = self.interior
        return {
            "south": (along, y0 + gap + half[1]), "north": (along, y1 - gap - half[1]),
            "west": (x0 + gap + half[0], along), "east": (x1 - gap - half[0], along),
        }[side]

    def wall_span(self, side: str) -> tuple[float, float]:
        x0, y0, x1, y1 = self.interior
        return (x0, x1) if side in ("south", "north") else (y0, y1)

    def against_wall(self, f: Furniture, sides: list[str] | None = None, tries: int = 40,
                     along: float | None = None, z: float | None = None, gap: float = WALL_GAP) -> Placed | None:
        """Try random spots along the given walls (all four by default)."""
        sides = list(sides or ["south", "north", "west", "east"])
        rot_lo, rot_hi = {}, {}
        for k in range(tries):
            pinned = along is not None and k == 0
            side = sides[0] if pinned else sides[int(self.rng.integers(len(sides)))]
            rot = BACK_TO_WALL_ROTATION[side]
            if side not in rot_lo:
                rot_lo[side], rot_hi[side] = self.local_bounds(f, rot)
            width = (rot_hi[side] - rot_lo[side])[0 if side in ("south", "north") else 1]
            a, b = self.wall_span(side)
            if b - a < width:
                continue
            pos = along if pinned else float(self.rng.uniform(a + width / 2, b - width / 2))
            x, y = self.wall_position(f, side, pos, gap)
            p = self.try_place(f, x, y, rot, z=z)
            if p is not None:
                return p
        return None

    def in_corner(self, f: Furniture, tries: int = 8) -> Placed | None:
        x0, y0, x1, y1 = self.interior
        corners = [("south", x0), ("south", x1), ("north", x0), ("north", x1)]
        for k in self.rng.permutation(len(corners))[:tries]:
            side, cx = corners[int(k)]
            llo, lhi = self.local_bounds(f, 0.0)
            w = lhi[0] - llo[0]
            along = cx + (w / 2 + 0.05 if cx == x0 else -w / 2 - 0.05)
            x, y = self.wall_position(f, side, along, 0.05)
            p = self.try_place(f, x, y, 0.0)
            if p is not None:
                return p
        return None

    def on_top(self, f: Furniture, support: Placed, dx: float = 0.0, dy: float = 0.0) -> Placed | None:
        """Stand ``f`` on ``support``'s top surface (a lamp on a nightstand)."""
        top = support.furniture.top_z
        if top is None:
            return None
        c = support.center
        return self.try_place(f, float(c[0] + dx), float(c[1] + dy), support.rotation,
                              z=float(support.lo[2] + top), ignore_keepouts=True)

    def on_wall(self, f: Furniture, sides: list[str] | None = None, z_center: tuple[float, float] = (1.35, 1.65),
                tries: int = 30, along: float | None = None) -> Placed | None:
        """Hang ``f`` on a wall at eye height, clear of openings and of what stands below."""
        llo, lhi = self.local_bounds(f, 0.0)
        h = lhi[2] - llo[2]
        for _ in range(tries):
            zc = float(self.rng.uniform(*z_center))
            z = min(zc - h / 2, self.ceiling - 0.15 - h)
            p = self.against_wall(f, sides, tries=1, z=z, gap=0.0, along=along)
            if p is not None:
                return p
        return None
