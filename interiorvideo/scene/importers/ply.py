"""The PLY reader (through open3d's ``read_triangle_mesh``): vertices, triangles and vertex
colours, which is all a PLY holds. One raw part per file; its albedo is the mean linearised
vertex colour, else a neutral grey.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import open3d as o3d

from ...colour import srgb_to_linear
from .common import (
    DEFAULT_BASE_COLOR,
    FileResult,
    RawMaterial,
    RawPart,
    check_mesh,
    clip01,
    err,
    to_z_up,
)


def read_ply(path: Path, up: str) -> FileResult:
    try:
        with o3d.utility.VerbosityContextManager(o3d.utility.VerbosityLevel.Error):
            m = o3d.io.read_triangle_mesh(str(path), enable_post_processing=False, print_progress=False)
    except Exception as exc:
        raise err(path, f"cannot read the file ({type(exc).__name__}: {exc})") from exc
    v = np.asarray(m.vertices, dtype=np.float64)
    f = np.asarray(m.triangles, dtype=np.int64).reshape(-1, 3)
    if len(v) == 0 and len(f) == 0:
        raise err(path, "cannot read the file: no vertices (empty, corrupt or not a PLY mesh)")
    check_mesh(path, path.stem, v, f)
    result = FileResult(path, "ply", [])
    if len(f) == 0:
        return result
    if m.has_vertex_colors():
        c = np.clip(np.asarray(m.vertex_colors, dtype=np.float64), 0.0, 1.0)
        base = tuple(clip01(x) for x in srgb_to_linear(c).mean(axis=0))
        mat = RawMaterial(None, base, 0.8, 0.0)
    else:
        mat = RawMaterial(None, DEFAULT_BASE_COLOR, 0.8, 0.0)
    result.parts.append(RawPart(path.stem, path.stem, to_z_up(v, up), f, None, mat))
    return result
