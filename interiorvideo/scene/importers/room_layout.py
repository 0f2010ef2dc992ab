"""Which room each imported object is in, and the rooms themselves, for each ``rooms`` mode:

* ``"per-file"``: file k is room k; its polygon is the file's XY bounding rectangle, floor_z its
  min z and ceiling_z its max z.
* ``"single"``: one room spanning everything.
* ``"floor-split"``: rooms from :func:`.rooms.segment_rooms`; each object goes to the room its
  XY bounding-box centre is located in (see :meth:`.rooms.Segmentation.locate`), else room -1.
  Falls back to ``"single"`` (with a warning) when no free space is found.
* ``"extras"`` (one file written by us): room ids as the extras state them; each id's polygon is
  the segmented room most of its objects (walls and windows aside) lie in, else the bounding box
  of its objects.

Room kinds are guessed from the labels in each room (bed → bedroom, sofa → living room, …).
"""

from __future__ import annotations

import numpy as np

from ..model import Room, SceneObject
from ..prompts import room_prompt
from .common import RawPart
from .names import guess_room_kind
from .rooms import Segmentation, segment_rooms

# (room id, (x0, y0, x1, y1), floor_z, ceiling_z)
RoomGeometry = tuple[int, tuple[float, float, float, float], float, float]


def layout_rooms(mode: str, parts: list[tuple[int, RawPart]], labels: list[str],
                 n_files: int) -> tuple[str, list[RoomGeometry], list[int], list[str]]:
    """(the mode used, room geometries, room id per part, warnings) for parts given as
    (file index, part) in scene order with their labels."""
    raw = [p for _, p in parts]
    if mode == "single":
        return mode, [_bbox_room(0, [p.vertices for p in raw])], [0] * len(raw), []
    if mode == "per-file":
        geoms = [_bbox_room(fi, [p.vertices for f, p in parts if f == fi]) for fi in range(n_files)]
        return mode, geoms, [fi for fi, _ in parts], []
    seg = segment_rooms(raw)
    centres = [_centre_xy(p.vertices) for p in raw]
    if mode == "floor-split":
        if seg is None or not seg.rects:
            warning = "floor-split found no free space with a floor below; one room"
            return "single", [_bbox_room(0, [p.vertices for p in raw])], [0] * len(raw), [warning]
        geoms = [(k, r, fz, cz) for k, (r, fz, cz) in enumerate(zip(seg.rects, seg.floor_z, seg.ceiling_z))]
        return mode, geoms, [seg.locate(c) for c in centres], []
    return mode, *_extras_rooms(raw, labels, centres, seg), []


def _extras_rooms(raw: list[RawPart], labels: list[str], centres: list[np.ndarray],
                  seg: Segmentation | None) -> tuple[list[RoomGeometry], list[int]]:
    """Room ids as written in the extras, geometry from the segmentation where it matches."""
    room_ids = [p.extras.room_id if p.extras is not None else None for p in raw]
    ids = sorted({rid for rid in room_ids if rid is not None and rid >= 0})
    room_of = [rid if rid is not None else -1 for rid in room_ids]
    votes: dict[int, dict[int, int]] = {rid: {} for rid in ids}
    if seg is not None:
        for label, rid, c in zip(labels, room_of, centres):
            if rid in votes and label not in ("wall", "window"):
                s = seg.locate(c)
                if s >= 0:
                    votes[rid][s] = votes[rid].get(s, 0) + 1
    claimed: dict[int, tuple[int, int]] = {}
    for rid in ids:
        if votes[rid]:
            s = max(sorted(votes[rid]), key=lambda k: votes[rid][k])
            if s not in claimed or claimed[s][1] < votes[rid][s]:
                claimed[s] = (rid, votes[rid][s])
    seg_of = {rid: s for s, (rid, _) in claimed.items()}
    geoms = []
    for rid in ids:
        if rid in seg_of:
            s = seg_of[rid]
            geoms.append((rid, seg.rects[s], seg.floor_z[s], seg.ceiling_z[s]))
        else:
            geoms.append(_bbox_room(rid, [p.vertices for p, r in zip(raw, room_of) if r == rid]))
    return geoms, room_of


def build_rooms(geoms: list[RoomGeometry], objects: list[SceneObject]) -> list[Room]:
    """Rooms with kinds guessed from their objects' labels, and their prompts."""
    rooms = []
    for rid, rect, fz, cz in geoms:
        in_room = [o for o in objects if o.room_id == rid]
        kind = guess_room_kind([o.label for o in in_room])
        rooms.append(Room(room_id=int(rid), kind=kind, polygon=_rect_polygon(rect), floor_z=round(float(fz), 4) + 0.0,
                          ceiling_z=round(float(cz), 4) + 0.0, prompt=room_prompt(kind, in_room, (), 0)))
    return rooms


def _rect_polygon(rect) -> tuple[tuple[float, float], ...]:
    x0, y0, x1, y1 = (round(float(c), 4) + 0.0 for c in rect)  # + 0.0: no negative zeros
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


def _centre_xy(v: np.ndarray) -> np.ndarray:
    return (v[:, :2].min(axis=0).astype(np.float64) + v[:, :2].max(axis=0).astype(np.float64)) / 2.0


def _bbox_room(room_id: int, verts: list[np.ndarray]) -> RoomGeometry:
    v = np.concatenate(verts).astype(np.float64)
    lo, hi = v.min(axis=0), v.max(axis=0)
    return (room_id, (lo[0], lo[1], hi[0], hi[1]), float(lo[2]), float(hi[2]))
