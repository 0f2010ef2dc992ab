"""Warnings about an imported scene that a user must see before spending hours rendering it:
no light at all, files stacked on top of each other, rooms without a floor to walk on.

Each check looks at the assembled geometry (scene frame: +Z up, metres) and returns sentences
that name the file or room and the number that failed; :func:`.assemble.import_scene` keeps them
in ``scene.source["warnings"]`` and the CLI prints them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import open3d as o3d

from ..model import Room
from .common import RawPart

BAKED_SHARE = 0.25  # emissive surfaces covering more of a model than this are baked lighting, not lamps
STACKED_IOU = 0.25  # bounding-box overlap of two files above which they look modelled at one origin
FLOOR_MIN_COVER = 0.3  # a room's floor height must carry upward-facing surfaces over this much of it
FLOOR_BAND = 0.08  # m


def scene_warnings(files: Sequence[Path], parts_per_file: Sequence[Sequence[RawPart]], rooms_mode: str,
                   lit: bool, rooms: Sequence[Room]) -> list[str]:
    """``lit``: the scene has (or will get) a light source."""
    out = []
    if not lit:
        out.append("no light sources (no emissive material, no glTF punctual light): only sky light through "
                   "openings lights it, and a closed room renders black; pass --default-lights to add "
                   "a ceiling light rig")
    if rooms_mode == "per-file" and len(files) > 1:
        out += _stacked(files, parts_per_file)
    all_parts = [p for ps in parts_per_file for p in ps]
    for room in rooms:
        cover = floor_cover(all_parts, room)
        if cover < FLOOR_MIN_COVER:
            out.append(f"room {room.room_id}: no floor found — upward-facing surfaces within {FLOOR_BAND} m of its "
                       f"floor height {room.floor_z:.2f} m cover {cover:.0%} of it (< {FLOOR_MIN_COVER:.0%}); "
                       f"cameras cannot walk there")
    return out


def _box(parts: Sequence[RawPart]) -> tuple[np.ndarray, np.ndarray]:
    v = np.concatenate([p.vertices for p in parts]).astype(np.float64)
    return v.min(axis=0), v.max(axis=0)


def _stacked(files: Sequence[Path], parts_per_file: Sequence[Sequence[RawPart]]) -> list[str]:
    boxes = [_box(ps) for ps in parts_per_file]
    out = []
    for i in range(len(files)):
        for j in range(i + 1, len(files)):
            (lo1, hi1), (lo2, hi2) = boxes[i], boxes[j]
            inter = np.prod(np.clip(np.minimum(hi1, hi2) - np.maximum(lo1, lo2), 0.0, None))
            union = np.prod(hi1 - lo1) + np.prod(hi2 - lo2) - inter
            iou = float(inter / union) if union > 0 else 0.0
            if iou > STACKED_IOU:
                out.append(f"{files[i].name} and {files[j].name} overlap ({iou:.0%} of their bounding boxes): "
                           f"each looks modelled at the origin, and --rooms per-file stacks them in one space; "
                           f"import them one at a time")
    return out


def floor_cover(parts: Sequence[RawPart], room: Room, cell: float = 0.1) -> float:
    """Fraction of a room's rectangle where a ray cast down from just above the floor height
    meets a horizontal surface at that height (open3d ray casting, so one big floor triangle
    spanning several rooms counts where it is)."""
    x0, y0, x1, y1 = room.bounds
    cell = max(cell, max(x1 - x0, y1 - y0) / 400.0)
    xs, ys = np.arange(x0 + cell / 2, x1, cell), np.arange(y0 + cell / 2, y1, cell)
    if len(xs) == 0 or len(ys) == 0:
        return 0.0
    gx, gy = np.meshgrid(xs, ys)
    start = room.floor_z + FLOOR_BAND + 0.02
    rays = np.stack([gx.ravel(), gy.ravel(), np.full(gx.size, start), np.zeros(gx.size), np.zeros(gx.size),
                     -np.ones(gx.size)], axis=1).astype(np.float32)
    rc = o3d.t.geometry.RaycastingScene()
    for p in parts:
        rc.add_triangles(o3d.core.Tensor(np.ascontiguousarray(p.vertices, dtype=np.float32)),
                         o3d.core.Tensor(np.ascontiguousarray(p.triangles, dtype=np.uint32)))
    ans = rc.cast_rays(o3d.core.Tensor(rays))
    t = ans["t_hit"].numpy()
    flat = np.abs(ans["primitive_normals"].numpy()[:, 2]) > 0.9
    at_floor = np.abs(start - t - room.floor_z) <= FLOOR_BAND
    return float(np.mean(flat & at_floor))


def drop_baked_lighting(parts: Sequence[RawPart]) -> str | None:
    """Turn off emission that is baked lighting, and say so.

    Exporters of game and web assets (Sketchfab, three.js examples) often put a light map in
    the emissive channel: walls, bed and floor then "glow" with the light that was baked into
    them, and as area lights they would light the room uniformly, twice. Real lamps cover a small
    share of a model's surface, and their emission is a factor, not a texture: emission read
    from emissive textures covering more than :data:`BAKED_SHARE` of the surface is dropped (our
    own files, whose exact materials come from their extras, are left alone; so is an emissive
    factor, which a lamp file on its own may well cover most of)."""
    def area(p: RawPart) -> float:
        tri = p.vertices.astype(np.float64)[p.triangles]
        return float(0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1).sum())

    emissive = [p for p in parts if p.material.exact is None and p.material.emission_map
                and max(p.material.emission) > 0]
    if not emissive:
        return None
    total = sum(area(p) for p in parts)
    share = sum(area(p) for p in emissive) / max(total, 1e-30)
    if share <= BAKED_SHARE:
        return None
    names = sorted({p.material.name or "?" for p in emissive})
    for p in emissive:
        p.material.emission = (0.0, 0.0, 0.0)
    return (f"emissive materials cover {share:.0%} of the surface ({', '.join(names[:4])}"
            f"{', …' if len(names) > 4 else ''}): that is baked lighting, not lamps; their emission is ignored "
            f"(pass --default-lights for a light rig)")
