"""The OBJ (+ MTL) reader: geometry through tinyobjloader, the MTL through trimesh and
:mod:`.mtl`; one raw part per object × material, in file order.

Why tinyobjloader (the official Python binding of the C++ loader) for the geometry: trimesh
5.2's OBJ loader resolves relative face indices (``f -4 -3 -2 -1``, as in the Cornell box files)
against the end of the whole file, so every object got the last object's vertices, and it skips
``v<TAB>x y z`` lines and then fails on the faces. tinyobjloader reads both as the OBJ format
defines them and keeps one shape per ``o``/``g`` in file order, so per-object identity survives —
which open3d's reader loses: it merges every object sharing a material (85 objects → 61 meshes).

Objects: one per shape; where a file uses both ``o`` and ``g``, the ``g`` parts of an ``o`` are
that one object again (shapes are matched in order to the ``o``/``g`` lines by name). An object
with several materials becomes one part per material (``<object>_<material>``) sharing the object
as group; a file without ``o``/``g`` is one object named after the file. Corners are welded by
(vertex, texture coordinate) index pairs, so UVs are per vertex. Our own export
(:func:`.export.export_obj`) carries each instance's label and room id in comment lines.

Materials: tinyobjloader's ``material_t`` cannot tell ``Pr 0`` from an absent ``Pr`` and its
binding hides ``Ke``, so each ``mtllib`` is parsed with :func:`trimesh.exchange.obj.parse_mtl`
(every key kept, ``map_Kd`` loaded through trimesh's resolver) and mapped by :mod:`.mtl`.
The binding's ``numpy_*`` accessors returned zeros in 2.0.0rc13; the list accessors are used.
"""

from __future__ import annotations

import io
import json
import re
import warnings
from pathlib import Path

import numpy as np
import tinyobjloader
from PIL import Image
from trimesh.exchange.obj import parse_mtl
from trimesh.resolvers import FilePathResolver
from trimesh.visual.material import SimpleMaterial

from .common import (
    DEFAULT_BASE_COLOR,
    OBJ_EXTRAS_TAG,
    OBJ_HEADER,
    FileResult,
    PartExtras,
    RawMaterial,
    RawPart,
    check_mesh,
    err,
    name_from_node,
    to_z_up,
)
from .mtl import raw_from_mtl
from .trimesh_parts import finish_material, image_array

_OBJ_DIRECTIVE = re.compile(r"^[ \t]*(o|g)[ \t]+(.*?)[ \t]*$", re.MULTILINE)
_NON_FINITE = re.compile(r"^[ \t]*vt?[ \t][^\n]*?(?:nan|inf|\d\.#)[^\n]*", re.MULTILINE | re.IGNORECASE)
_MTLLIB = re.compile(r"^[ \t]*mtllib[ \t]+(.+?)[ \t]*$", re.MULTILINE)


def read_obj(path: Path, up: str) -> FileResult:
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise err(path, f"cannot read the file ({exc})") from exc
    reader = tinyobjloader.ObjReader()
    config = tinyobjloader.ObjReaderConfig()
    config.triangulate = True
    try:
        ok = reader.ParseFromFile(str(path), config)
        attrib, shapes, mtl_names = reader.GetAttrib(), reader.GetShapes(), [_norm(m.name) for m in reader.GetMaterials()]
        names = [_norm(s.name) for s in shapes]
    except Exception as exc:  # e.g. names that are not UTF-8
        raise err(path, f"cannot read the file ({type(exc).__name__}: {exc})") from exc
    if not ok:
        raise _parse_error(path, text, reader.Error().strip())
    problems = reader.Warning().strip()
    _check_finite(path, text)
    vertices = np.asarray(attrib.vertices, dtype=np.float64).reshape(-1, 3)
    texcoords = np.asarray(attrib.texcoords, dtype=np.float64).reshape(-1, 2)
    colours = np.asarray(attrib.colors, dtype=np.float64).reshape(-1, 3)
    colours = colours if len(colours) == len(vertices) and (colours != 1.0).any() else None
    materials, mtl_problems = _mtl_materials(path, text)
    load = _map_loader(path)

    extras = _our_extras(text)
    result = FileResult(path, "obj", [], ours=bool(extras))
    for obj, members in _objects(path, text, names):
        vi = np.concatenate([np.asarray(shapes[k].mesh.vertex_indices(), dtype=np.int64) for k in members])
        ti = np.concatenate([np.asarray(shapes[k].mesh.texcoord_indices(), dtype=np.int64) for k in members])
        mids = np.concatenate([np.asarray(shapes[k].mesh.material_ids, dtype=np.int64) for k in members])
        if len(vi) == 0:
            continue  # only lines or points
        _check_indices(path, obj, vi, ti, len(vertices), len(texcoords), problems)
        vi, ti = vi.reshape(-1, 3), ti.reshape(-1, 3)
        order = list(dict.fromkeys(mids.tolist()))  # materials in order of first use
        for mid in order:
            mname = mtl_names[mid] if 0 <= mid < len(mtl_names) else None
            part_name = obj if len(order) == 1 else f"{obj}_{mname or 'default'}"
            sel = mids == mid
            v, f, uv, corner_v = _weld(vertices, texcoords, vi[sel], ti[sel])
            check_mesh(path, part_name, v, f)
            simple = materials.get(mname) if mname is not None else None
            image = image_array(simple.image) if simple is not None else None
            raw = raw_from_mtl(simple, image, load) if simple is not None else \
                RawMaterial(None, DEFAULT_BASE_COLOR, 0.8, 0.0)
            raw = finish_material(raw, None if colours is None else colours[corner_v], vertex_colors_linear=False,
                                  has_uv=uv is not None)
            part = RawPart(part_name, obj, to_z_up(v, up), f, uv if raw.has_maps else None, raw,
                           group=obj if len(order) > 1 else "")
            if part_name in extras:
                part.extras = PartExtras.from_dict(extras[part_name])
                part.name = name_from_node(part_name)
            result.parts.append(part)
    result.warnings += mtl_problems
    empty = sorted({_norm(v) for _, v in _OBJ_DIRECTIVE.findall(text)} - set(names) - {""})
    if empty:
        result.warnings.append(f"o/g names with no faces after them: {', '.join(empty)} (a face belongs to the "
                               f"last o/g line before it, so faces listed above such a line are in the part "
                               f"before)")
    if _MTLLIB.search(text) and not materials:
        result.warnings.append("materials from the .mtl could not be loaded; using a neutral default")
    return result


def _norm(name: str) -> str:
    """A name with its whitespace runs made single spaces (tinyobjloader joins ``g a b`` so)."""
    return " ".join(str(name).split())


def _objects(path: Path, text: str, names: list[str]) -> list[tuple[str, list[int]]]:
    """(object name, shape indices) per object, in file order.

    tinyobjloader starts a shape at every ``o`` and ``g``. Where a file uses both, each shape is
    matched in order to the first ``o``/``g`` line of its name, and shapes under one ``o`` form
    that object. A shape without a name (faces before any ``o``/``g``) is named after the file.
    """
    directives = [(d, _norm(v)) for d, v in _OBJ_DIRECTIVE.findall(text) if _norm(v)]
    both = {d for d, _ in directives} == {"o", "g"}
    objects: list[tuple[str, list[int]]] = []
    owner_of_last: int | None = None
    pos, current_o = 0, None
    for k, name in enumerate(names):
        owner = None
        if both and name:
            j, o_here = pos, current_o
            while j < len(directives):
                if directives[j][0] == "o":
                    o_here = j
                if directives[j][1] == name:
                    break
                j += 1
            if j < len(directives):
                pos, current_o, owner = j + 1, o_here, o_here
        if owner is not None and owner == owner_of_last and objects:
            objects[-1][1].append(k)
        else:
            objects.append((directives[owner][1] if owner is not None else (name or path.stem), [k]))
        owner_of_last = owner
    return objects


def _parse_error(path: Path, text: str, message: str):
    """tinyobjloader's failure as an error naming the file and, from the line it gives, the object."""
    line = re.search(r"[Ll]ine (\d+)", message)
    obj = None
    if line:
        starts = [0] + [m.end() for m in re.finditer("\n", text)]
        obj = _object_at(text, starts[min(int(line.group(1)), len(starts)) - 1])
    what = ("a face refers to a vertex or texture coordinate that does not exist" if "`f' line" in message
            else "cannot read the file")
    return err(path, f"{what} (tinyobjloader: {message or 'parse failed'})", obj)


def _check_finite(path: Path, text: str) -> None:
    """tinyobjloader reads a coordinate it cannot parse (``nan``, ``inf``, MSVC's ``1.#QNAN``) as 0;
    such a vertex line is an error naming the object rather than a vertex silently moved to 0."""
    bad = _NON_FINITE.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise err(path, f"a vertex is not finite (NaN or inf) on line {line}: {bad.group(0).strip()!r}",
                  _object_at(text, bad.start()) or path.stem)


def _object_at(text: str, offset: int) -> str | None:
    """The name of the last ``o``/``g`` line before ``offset``."""
    name = None
    for m in _OBJ_DIRECTIVE.finditer(text, 0, offset):
        name = _norm(m.group(2)) or name
    return name


def _check_indices(path: Path, obj: str, vi: np.ndarray, ti: np.ndarray, n_v: int, n_t: int, problems: str) -> None:
    """A face index outside the file's vertices or texture coordinates is an error naming the object."""
    bad_v = (vi < 0) | (vi >= n_v)
    bad_t = ti >= n_t
    if bad_v.any() or bad_t.any():
        what = "vertex" if bad_v.any() else "texture coordinate"
        index = int(vi[bad_v][0] if bad_v.any() else ti[bad_t][0]) + 1
        note = f"; tinyobjloader: {problems}" if problems else ""
        raise err(path, f"a face refers to a {what} that does not exist (index {index} of "
                        f"{n_v if what == 'vertex' else n_t}{note})", obj)


def _weld(vertices: np.ndarray, texcoords: np.ndarray, vi: np.ndarray, ti: np.ndarray):
    """Vertices, triangles, UVs (None unless every corner has one) and each new vertex's index in
    the file, with one vertex per distinct (vertex, texture coordinate) pair in order of first use."""
    has_uv = bool(len(ti)) and bool((ti >= 0).all())
    key = vi.reshape(-1) * (len(texcoords) + 1) + (ti.reshape(-1) + 1 if has_uv else 0)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    by_use = np.argsort(first, kind="stable")
    rank = np.empty_like(by_use)
    rank[by_use] = np.arange(len(by_use))
    corners = first[by_use]
    corner_v = vi.reshape(-1)[corners]
    uv = texcoords[ti.reshape(-1)[corners]].astype(np.float32) if has_uv else None
    return vertices[corner_v], rank[inverse.reshape(-1)].reshape(-1, 3), uv, corner_v


def _mtl_materials(path: Path, text: str) -> tuple[dict[str, SimpleMaterial], list[str]]:
    """Material name → trimesh material of every ``mtllib`` the file names (the first definition
    wins), and why any of them could not be read."""
    resolver = FilePathResolver(str(path))
    materials: dict[str, SimpleMaterial] = {}
    problems = []
    for lib in _MTLLIB.findall(text):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                parsed = parse_mtl(resolver.get(lib), resolver=resolver)
                for name, kwargs in parsed.items():
                    materials.setdefault(_norm(name), SimpleMaterial(**kwargs))
        except Exception as exc:  # noqa: BLE001 - a missing or broken MTL is reported, not fatal
            problems.append(f"material library {lib!r} could not be read ({type(exc).__name__}: {exc})")
    return materials, problems


def _map_loader(path: Path):
    """Reads a map an MTL names (relative to the OBJ, as trimesh resolves ``map_Kd``) as uint8 in a
    PIL mode; None when it is missing or undecodable."""
    resolver = FilePathResolver(str(path))

    def load(name: str, mode: str) -> np.ndarray | None:
        try:
            return image_array(Image.open(io.BytesIO(resolver.get(name))), mode)
        except Exception:  # noqa: BLE001 - a missing map is left out, as trimesh does for map_Kd
            return None
    return load


def _our_extras(text: str) -> dict[str, dict]:
    """Node name → the extras comment of that instance, when ``export_obj`` wrote the file."""
    extras: dict[str, dict] = {}
    if text.lstrip().startswith("# " + OBJ_HEADER):
        for line in text.splitlines():
            if line.startswith(OBJ_EXTRAS_TAG):
                try:
                    d = json.loads(line[len(OBJ_EXTRAS_TAG):])
                    extras[str(d["node"])] = d
                except (ValueError, KeyError, TypeError):
                    continue
    return extras
