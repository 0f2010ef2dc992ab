"""What a file's numbers mean: its up axis and its units, detected from the geometry, so that
real files import right with default flags and the importer can say what it assumed.

Files rarely say either. glTF is +Y up and in metres by specification, but exporters break both
(a Z-up test room written as-is, a Sketchfab room in centimetres); OBJ and PLY carry no units
and no axis convention at all. So both are decided from evidence, with the format's convention
as the prior, and every decision is returned as a plain sentence with its numbers.

**Up axis** (candidates +Y, the glTF/Blender convention, and +Z, the robotics/CAD one). For each
candidate the geometry is turned Z-up and scored by two kinds of gravity evidence:

* *floor*: the area of the upward-facing level with the most area in the lowest quarter of the
  height, as a fraction of the footprint (a floor covers most of it; a wall seen as a "floor" is a sliver of it when
  the room is wider than tall, and nothing when the candidate's bottom is an open side);
* *resting*: the fraction of furniture-like connected pieces (not specks, not flat panels, not
  spanning the whole height as walls do) whose lowest point is at that floor level — things stand on the
  floor, while under a wrong axis only the pieces that touch one wall would. This is the
  stronger cue (weight 1 against :data:`FLOOR_WEIGHT`): under a wrong axis the bottom is a
  wall, which covers that axis's footprint as fully as a floor covers the real one.

The format's convention gets a prior of :data:`UP_PRIOR`; the other axis must win by more, and a
file of fewer than :data:`MIN_PIECES` pieces keeps the convention (a few triangles say nothing).

**Units** (m, cm, mm, in, ft). The evidence is the storey height: the dominant height of
downward-facing surfaces (ceilings) above the floor level, else the height of the model. In
metres a storey is 2–6 m (up to 40 m for a model without ceilings: a hall, a temple); the unit
kept is metres when that holds, else the unit that brings the height closest to
:data:`TYPICAL_STOREY_M`. Floor area is reported beside it as a second check.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import trimesh

from ..io import y_up_to_z_up
from .common import RawPart

UNITS: dict[str, float] = {"m": 1.0, "cm": 0.01, "mm": 0.001, "in": 0.0254, "ft": 0.3048}
UP_AXES = ("y", "z")
UP_PRIOR = 0.15  # score bonus of the format's convention
FLOOR_WEIGHT = 0.5  # a wall at the bottom of a wrong axis covers its footprint as well as a floor does
MIN_PIECES = 5  # fewer connected pieces than this are no evidence against the convention
TYPICAL_STOREY_M = 2.7
STOREY_RANGE_M = (2.0, 6.0)  # plausible floor-to-ceiling height in metres (one storey, a high hall)
OPEN_HEIGHT_RANGE_M = (1.0, 40.0)  # a model without ceilings: a room shell, a hall, a temple
_UNIT_NAMES = {"m": "metres", "cm": "centimetres", "mm": "millimetres", "in": "inches", "ft": "feet"}


@dataclass(frozen=True)
class Orientation:
    """How to bring one file into the scene frame (+Z up, metres): ``to_scene``."""

    up: str  # the file's up axis, "y" or "z"
    scale: float  # file units → metres
    units: str  # a key of UNITS, or "custom" for a user-given --scale
    notes: tuple[str, ...] = field(default_factory=tuple)  # what was assumed, with its evidence
    evidence: dict = field(default_factory=dict)

    def to_scene(self, v: np.ndarray) -> np.ndarray:
        """File coordinates (N, 3) → scene coordinates, float32."""
        v = np.asarray(v, dtype=np.float64)
        z_up = y_up_to_z_up(v).astype(np.float64) if self.up == "y" else v
        return (z_up * self.scale).astype(np.float32)

    def direction_to_scene(self, d: np.ndarray) -> np.ndarray:
        """A direction (no scaling) in file coordinates → scene coordinates."""
        d = np.asarray(d, dtype=np.float64)
        rows = d.reshape(-1, 3)
        return (y_up_to_z_up(rows).astype(np.float64) if self.up == "y" else rows).reshape(d.shape)

    def to_dict(self) -> dict:
        return {"up": self.up, "scale": self.scale, "units": self.units, "notes": list(self.notes),
                "evidence": self.evidence}


def _triangles(parts: list[RawPart], up: str) -> tuple[np.ndarray, np.ndarray]:
    """All triangles as (M, 3, 3) in a Z-up frame for the candidate axis, and the part of each."""
    tris, owner = [], []
    for k, p in enumerate(parts):
        v = np.asarray(p.vertices, dtype=np.float64)
        if up == "y":
            v = y_up_to_z_up(v).astype(np.float64)
        tris.append(v[p.triangles])
        owner.append(np.full(len(p.triangles), k))
    return np.concatenate(tris), np.concatenate(owner)


def _pieces(parts: list[RawPart]) -> tuple[np.ndarray, np.ndarray]:
    """The vertices of every part (coincident ones merged) and the connected piece each belongs
    to: a one-mesh scene is still many objects."""
    verts, piece, offset = [], [], 0
    for p in parts:
        mesh = trimesh.Trimesh(p.vertices, p.triangles, process=False)
        mesh.merge_vertices()
        labels = trimesh.graph.connected_component_labels(mesh.face_adjacency, node_count=len(mesh.faces))
        of_vertex = np.full(len(mesh.vertices), -1, dtype=np.int64)
        of_vertex[mesh.faces.ravel()] = np.repeat(labels, 3)
        used = of_vertex >= 0
        verts.append(np.asarray(mesh.vertices, dtype=np.float64)[used])
        piece.append(of_vertex[used] + offset)
        offset += int(labels.max()) + 1 if len(labels) else 0
    return np.concatenate(verts), np.concatenate(piece)


def up_scores(parts: list[RawPart]) -> dict[str, dict[str, float]]:
    """Per candidate axis: the floor coverage and resting fraction described in the module doc."""
    piece_v, piece = _pieces(parts)
    order = np.argsort(piece, kind="stable")
    starts = np.concatenate([[0], np.flatnonzero(np.diff(piece[order])) + 1])
    out = {}
    for up in UP_AXES:
        tri, _ = _triangles(parts, up)
        n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        area = 0.5 * np.linalg.norm(n, axis=1)
        nz = n[:, 2] / np.maximum(2.0 * area, 1e-30)
        allv = tri.reshape(-1, 3)
        lo, hi = allv.min(axis=0), allv.max(axis=0)
        height = max(float(hi[2] - lo[2]), 1e-12)
        footprint = max(float((hi[0] - lo[0]) * (hi[1] - lo[1])), 1e-24)
        zc = tri[:, :, 2].mean(axis=1)
        # The floor: the upward-facing level (2 % of the height thick) with the most area in
        # the lowest quarter — the top of a floor slab is not at the very bottom of the model.
        up_low = (nz > 0.9) & (zc <= lo[2] + 0.25 * height)
        floor, floor_z = 0.0, float(lo[2])
        if up_low.any():
            bins = np.floor((zc[up_low] - lo[2]) / (0.02 * height)).astype(np.int64)
            levels = np.bincount(bins, weights=area[up_low])
            best = bins == int(np.argmax(levels))
            floor = float(min(1.0, levels.max() / footprint))
            floor_z = float(np.average(zc[up_low][best], weights=area[up_low][best] + 1e-30))
        q = (y_up_to_z_up(piece_v).astype(np.float64) if up == "y" else piece_v)[order]
        pmin, pmax = np.minimum.reduceat(q, starts, axis=0), np.maximum.reduceat(q, starts, axis=0)
        # Furniture-like pieces: not specks, not flat (floor and ceiling panels, which lie at
        # the bottom or top whichever way is up) and not spanning the whole height (walls, the
        # one mesh of a whole room), which touch the bottom whichever way is up.
        span = pmax[:, 2] - pmin[:, 2]
        big = np.linalg.norm(pmax - pmin, axis=1) >= 0.01 * float(np.linalg.norm(hi - lo))
        big &= (span < 0.8 * height) & (span > 0.01 * height)
        resting = float(np.mean(np.abs(pmin[big, 2] - floor_z) <= 0.02 * height)) if big.any() else 0.0
        score = resting + FLOOR_WEIGHT * floor
        out[up] = {"floor": round(floor, 4), "resting": round(resting, 4), "score": round(score, 4),
                   "pieces": int(big.sum()), "all_pieces": len(starts)}
    return out


def detect_up(parts: list[RawPart], prior: str) -> tuple[str, str, dict]:
    """(axis, the sentence saying why, the scores)."""
    scores = up_scores(parts)
    if scores[prior]["all_pieces"] < MIN_PIECES:
        return prior, (f"up axis +{prior.upper()} (the format convention: too little geometry to tell; "
                       f"--up to override)"), scores
    # Resting is evidence only where both axes see enough furniture-like pieces (a room of bare
    # panels has none under its real axis, and door frames under the wrong one).
    use_resting = min(scores[a]["pieces"] for a in UP_AXES) >= MIN_PIECES
    total = {a: (scores[a]["score"] if use_resting else FLOOR_WEIGHT * scores[a]["floor"])
             + (UP_PRIOR if a == prior else 0.0) for a in UP_AXES}
    up = max(UP_AXES, key=lambda a: (total[a], a == prior))
    other = "z" if up == "y" else "y"
    s, o = scores[up], scores[other]
    why = (f"up axis +{up.upper()} ({'the format convention' if up == prior else 'against the format convention +' + prior.upper()}; "
           f"floor covers {s['floor']:.0%} of the footprint and {s['resting']:.0%} of the pieces rest on it, "
           f"against {o['floor']:.0%} and {o['resting']:.0%} with +{other.upper()} up; --up {other} to override)")
    return up, why, scores


def storey_height(parts: list[RawPart]) -> tuple[float, bool, float]:
    """(floor-to-ceiling height, whether ceilings were found, floor area) in file units of Z-up parts."""
    tri = np.concatenate([np.asarray(p.vertices, dtype=np.float64)[p.triangles] for p in parts])
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    area = 0.5 * np.linalg.norm(n, axis=1)
    nz = n[:, 2] / np.maximum(2.0 * area, 1e-30)
    zc = tri[:, :, 2].mean(axis=1)
    lo, hi = float(tri[:, :, 2].min()), float(tri[:, :, 2].max())
    height = max(hi - lo, 1e-12)

    def dominant(mask: np.ndarray) -> float | None:
        if area[mask].sum() <= 0:
            return None
        bins = np.floor((zc[mask] - lo) / (0.01 * height)).astype(np.int64)
        totals = np.bincount(bins, weights=area[mask])
        sel = bins == int(np.argmax(totals))
        return float(np.average(zc[mask][sel], weights=area[mask][sel])), float(totals.max())

    floor = dominant((nz > 0.9) & (zc <= lo + 0.25 * height))
    floor_z, floor_area = (floor if floor is not None else (lo, 0.0))
    ceiling = dominant((nz < -0.9) & (zc >= floor_z + 0.3 * (hi - floor_z)))
    if ceiling is not None and ceiling[1] >= 0.25 * max(floor_area, 1e-30):
        return ceiling[0] - floor_z, True, floor_area
    return hi - floor_z, False, floor_area


def detect_units(parts_z_up: list[RawPart]) -> tuple[str, str, dict]:
    """(unit key, the sentence saying why, the evidence) for parts already turned Z-up."""
    h, ceilings, floor_area = storey_height(parts_z_up)
    lo_m, hi_m = STOREY_RANGE_M if ceilings else OPEN_HEIGHT_RANGE_M
    what = "floor-to-ceiling height" if ceilings else "height of the model (no ceilings found)"
    if lo_m <= h <= hi_m:
        unit = "m"
    else:
        unit = min(UNITS, key=lambda u: abs(np.log(max(h * UNITS[u], 1e-12) / TYPICAL_STOREY_M)))
    s = UNITS[unit]
    evidence = {"height_file_units": round(h, 6), "ceilings": ceilings, "floor_area_file_units": round(floor_area, 6)}
    why = (f"units: {_UNIT_NAMES[unit]} ({what} {h:.4g} file units = {h * s:.2f} m, "
           f"floor area {floor_area * s * s:.1f} m²; --units or --scale to override)")
    return unit, why, evidence


def orient(parts_file: list[RawPart], *, prior_up: str, up: str = "auto", units: str = "auto",
           scale: float | None = None) -> Orientation:
    """Decide up axis and scale for one file's parts (in file coordinates)."""
    notes, evidence = [], {}
    if up == "auto":
        up, why, scores = detect_up(parts_file, prior_up)
        notes.append(why)
        evidence["up_scores"] = scores
    else:
        notes.append(f"up axis +{up.upper()} (given)")
    if scale is not None:
        notes.append(f"scale {scale:g} (given): file units × {scale:g} = metres")
        return Orientation(up, float(scale), "custom", tuple(notes), evidence)
    if units == "auto":
        turned = [RawPart(p.name, p.raw_name, y_up_to_z_up(p.vertices) if up == "y" else p.vertices,
                          p.triangles, None, p.material) for p in parts_file]
        units, why, ev = detect_units(turned)
        notes.append(why)
        evidence["units"] = ev
    else:
        notes.append(f"units: {_UNIT_NAMES[units]} (given)")
    return Orientation(up, UNITS[units], units, tuple(notes), evidence)
