"""Apartment floor plans: split a rectangle into rooms, connect them with doors, open windows in
exterior walls, and build the structural meshes (walls with real holes, floors, ceilings).

Each room owns its four wall slabs, built inside its own rectangle, so a shared wall is two slabs
back to back with the same door hole cut through both. That keeps every structural instance
inside exactly one room, which the per-room renderer and prompts rely on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .mesh import Mesh, box_between, merge
from .model import Opening

Rect = tuple[float, float, float, float]  # x0, y0, x1, y1 (outer, including walls)
SIDES = ("south", "north", "west", "east")

DOOR_WIDTH = 0.9
DOOR_HEIGHT = 2.1


@dataclass(frozen=True)
class PlanSettings:
    n_rooms: tuple[int, int] = (3, 5)
    room_area: tuple[float, float] = (14.0, 24.0)  # m² per room, before the split
    min_side: float = 3.2  # outer metres; leaves ≥ 3 m inside the walls
    wall_thickness: float = 0.08
    ceiling_height: tuple[float, float] = (2.6, 3.0)


@dataclass(frozen=True)
class RoomPlan:
    rect: Rect
    openings: tuple[Opening, ...]

    def interior(self, t: float) -> Rect:
        x0, y0, x1, y1 = self.rect
        return (x0 + t, y0 + t, x1 - t, y1 - t)


def split_rectangle(rng: np.random.Generator, n_rooms: int, s: PlanSettings) -> tuple[Rect, list[Rect]]:
    """Binary-space-partition a random apartment footprint into ``n_rooms`` rectangles."""
    area = n_rooms * rng.uniform(*s.room_area)
    aspect = rng.uniform(1.0, 1.7)
    w = float(np.sqrt(area * aspect))
    d = float(area / w)
    w, d = max(w, s.min_side), max(d, s.min_side)
    outline = (0.0, 0.0, round(w, 3), round(d, 3))
    rects = [outline]
    while len(rects) < n_rooms:
        order = sorted(range(len(rects)), key=lambda i: -(rects[i][2] - rects[i][0]) * (rects[i][3] - rects[i][1]))
        for i in order:
            x0, y0, x1, y1 = rects[i]
            horizontal = (x1 - x0) >= (y1 - y0)
            length = (x1 - x0) if horizontal else (y1 - y0)
            if length < 2 * s.min_side:
                continue
            cut = round(float(np.clip(rng.uniform(0.38, 0.62) * length, s.min_side, length - s.min_side)), 3)
            if horizontal:
                a, b = (x0, y0, x0 + cut, y1), (x0 + cut, y0, x1, y1)
            else:
                a, b = (x0, y0, x1, y0 + cut), (x0, y0 + cut, x1, y1)
            rects[i:i + 1] = [a, b]
            break
        else:
            break  # nothing left to split: fewer, larger rooms
    return outline, rects


def _shared_edge(a: Rect, b: Rect, eps: float = 1e-6) -> tuple[str, float, float] | None:
    """If ``b`` touches ``a``, the side of ``a`` they share and the overlap interval along it."""
    for side, (fixed_a, fixed_b, lo_a, hi_a, lo_b, hi_b) in {
        "east": (a[2], b[0], a[1], a[3], b[1], b[3]), "west": (a[0], b[2], a[1], a[3], b[1], b[3]),
        "north": (a[3], b[1], a[0], a[2], b[0], b[2]), "south": (a[1], b[3], a[0], a[2], b[0], b[2]),
    }.items():
        if abs(fixed_a - fixed_b) < eps:
            lo, hi = max(lo_a, lo_b), min(hi_a, hi_b)
            if hi - lo > eps:
                return side, lo, hi
    return None


OPPOSITE = {"east": "west", "west": "east", "north": "south", "south": "north"}


def plan_openings(rng: np.random.Generator, outline: Rect, rects: list[Rect], s: PlanSettings,
                  ceiling: float) -> list[RoomPlan]:
    """Doors along a random spanning tree of the room adjacency graph (so every room is reachable),
    plus windows on exterior walls."""
    t = s.wall_thickness
    margin = t + 0.15 + DOOR_WIDTH / 2
    edges = []
    for i in range(len(rects)):
        for j in range(i + 1, len(rects)):
            shared = _shared_edge(rects[i], rects[j])
            if shared and shared[2] - shared[1] >= 2 * margin + 0.05:
                edges.append((i, j, *shared))
    order = rng.permutation(len(edges))
    parent = list(range(len(rects)))

    def find(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    openings: list[list[Opening]] = [[] for _ in rects]
    for e in order:
        i, j, side, lo, hi = edges[e]
        extra = rng.random() < 0.15
        if find(i) == find(j) and not extra:
            continue
        parent[find(i)] = find(j)
        c = round(float(rng.uniform(lo + margin, hi - margin)), 3)
        a, b = c - DOOR_WIDTH / 2, c + DOOR_WIDTH / 2
        openings[i].append(Opening("door", side, a, b, 0.0, DOOR_HEIGHT, to_room=j))
        openings[j].append(Opening("door", OPPOSITE[side], a, b, 0.0, DOOR_HEIGHT, to_room=i))
    roots = {find(k) for k in range(len(rects))}
    if len(roots) != 1:
        raise RuntimeError("floor plan is not connected; no shared wall is long enough for a door")

    ox0, oy0, ox1, oy1 = outline
    for k, (x0, y0, x1, y1) in enumerate(rects):
        exterior = [side for side, on in (("south", abs(y0 - oy0) < 1e-6), ("north", abs(y1 - oy1) < 1e-6),
                                          ("west", abs(x0 - ox0) < 1e-6), ("east", abs(x1 - ox1) < 1e-6)) if on]
        if not exterior:
            continue
        n_win = 1 if (x1 - x0) * (y1 - y0) < 18 or len(exterior) == 1 else 2
        for side in list(rng.permutation(exterior))[:n_win]:
            lo, hi = (x0, x1) if side in ("south", "north") else (y0, y1)
            span = hi - lo - 2 * (t + 0.35)
            width = float(min(rng.uniform(0.9, 1.8), span))
            if width < 0.6:
                continue
            c = float(rng.uniform(lo + t + 0.35 + width / 2, hi - t - 0.35 - width / 2))
            sill = round(float(rng.uniform(0.8, 0.95)), 3)
            top = round(float(min(rng.uniform(2.05, 2.3), ceiling - 0.2)), 3)
            openings[k].append(Opening("window", side, round(c - width / 2, 3), round(c + width / 2, 3), sill, top))
    return [RoomPlan(r, tuple(o)) for r, o in zip(rects, openings)]


def wall_side_mesh(rect: Rect, side: str, openings: list[Opening], height: float, t: float) -> Mesh:
    """One wall slab of a room with rectangular holes for its doors and windows."""
    x0, y0, x1, y1 = rect
    if side in ("south", "north"):
        lo, hi = x0, x1
        fixed = (y0, y0 + t) if side == "south" else (y1 - t, y1)
    else:  # west/east slabs stop at the south/north slabs so slabs never overlap
        lo, hi = y0 + t, y1 - t
        fixed = (x0, x0 + t) if side == "west" else (x1 - t, x1)

    def piece(a: float, b: float, z0: float, z1: float) -> Mesh:
        if side in ("south", "north"):
            return box_between((a, fixed[0], z0), (b, fixed[1], z1))
        return box_between((fixed[0], a, z0), (fixed[1], b, z1))

    pieces, cursor = [], lo
    for o in sorted(openings, key=lambda o: o.start):
        a, b = max(o.start, lo), min(o.end, hi)
        if a - cursor > 1e-6:
            pieces.append(piece(cursor, a, 0.0, height))
        if o.bottom > 1e-6:
            pieces.append(piece(a, b, 0.0, o.bottom))
        if height - o.top > 1e-6:
            pieces.append(piece(a, b, o.top, height))
        cursor = b
    if hi - cursor > 1e-6:
        pieces.append(piece(cursor, hi, 0.0, height))
    return merge(pieces)


def window_frame_mesh(rect: Rect, o: Opening, t: float) -> Mesh:
    """A frame with a centre mullion, set inside the hole so it never protrudes into the room."""
    x0, y0, x1, y1 = rect
    f = 0.05
    if o.side in ("south", "north"):
        yy = (y0, y0 + t) if o.side == "south" else (y1 - t, y1)

        def b(a0, a1, z0, z1):
            return box_between((a0, yy[0] + t * 0.3, z0), (a1, yy[1] - t * 0.3, z1))
    else:
        xx = (x0, x0 + t) if o.side == "west" else (x1 - t, x1)

        def b(a0, a1, z0, z1):
            return box_between((xx[0] + t * 0.3, a0, z0), (xx[1] - t * 0.3, a1, z1))
    mid = (o.start + o.end) / 2
    return merge([
        b(o.start, o.end, o.bottom, o.bottom + f), b(o.start, o.end, o.top - f, o.top),
        b(o.start, o.start + f, o.bottom + f, o.top - f), b(o.end - f, o.end, o.bottom + f, o.top - f),
        b(mid - f / 2, mid + f / 2, o.bottom + f, o.top - f),
    ])


def window_pane_mesh(rect: Rect, o: Opening, t: float) -> Mesh:
    """A window's glass: one rectangle filling the opening in the wall's mid-plane (the frame's
    bars overlap its edges); thin-walled glass needs no thickness and shades both sides."""
    x0, y0, x1, y1 = rect
    if o.side in ("south", "north"):
        y = y0 + t / 2 if o.side == "south" else y1 - t / 2
        v = [(o.start, y, o.bottom), (o.end, y, o.bottom), (o.end, y, o.top), (o.start, y, o.top)]
    else:
        x = x0 + t / 2 if o.side == "west" else x1 - t / 2
        v = [(x, o.start, o.bottom), (x, o.end, o.bottom), (x, o.end, o.top), (x, o.start, o.top)]
    return Mesh(np.asarray(v, np.float64), np.array([[0, 1, 2], [0, 2, 3]]))


def floor_mesh(rect: Rect) -> Mesh:
    x0, y0, x1, y1 = rect
    return box_between((x0, y0, -0.05), (x1, y1, 0.0))


def ceiling_mesh(rect: Rect, height: float) -> Mesh:
    x0, y0, x1, y1 = rect
    return box_between((x0, y0, height), (x1, y1, height + 0.05))
