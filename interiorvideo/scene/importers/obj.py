"""The OBJ (+ MTL) reader (through trimesh): one raw part per object × material, in file order.

Why trimesh: open3d reads the MTL PBR extension well but merges every object sharing a material
(85 objects → 61 meshes), so per-instance identity is lost. trimesh splits by object (``o``; ``g``
when a file has no ``o``); its plain ``split_objects`` merges an object's several materials under
one of them and lists geometry in reverse file order, hence ``group_material=True``, and the file
order is restored here from the OBJ directives. An object with several materials becomes one part
per material (``<object>_<material>``) sharing the object as group. Our own export
(:func:`.export.export_obj`) carries each instance's label and room id in comment lines.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import trimesh

from .common import (
    OBJ_EXTRAS_TAG,
    OBJ_HEADER,
    FileResult,
    PartExtras,
    RawPart,
    SceneImportError,
    err,
    name_from_node,
    to_z_up,
)
from .trimesh_parts import geometry_arrays, trimesh_load, uv_and_material

_OBJ_DIRECTIVE = re.compile(r"^[ \t]*(o|g|usemtl)[ \t]+(.*?)[ \t]*$", re.MULTILINE)


def read_obj(path: Path, up: str) -> FileResult:
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise err(path, f"cannot read the file ({exc})") from exc
    directives = [(m.group(1), m.group(2)) for m in _OBJ_DIRECTIVE.finditer(text)]
    use_o = any(d == "o" for d, _ in directives)
    use_g = not use_o and any(d == "g" for d, _ in directives)
    try:
        ts = trimesh_load(path, file_type="obj", split_objects=use_o, split_groups=use_g, group_material=True)
    except SceneImportError as exc:
        if isinstance(exc.__cause__, IndexError):
            raise err(path, f"a face refers to a vertex or texture coordinate that does not exist "
                            f"({exc.__cause__})") from exc.__cause__
        raise
    n_materials = len({m.name for g in ts.geometry.values() for m in [getattr(g.visual, "material", None)]
                       if m is not None and getattr(m, "name", None)})
    extras = _our_extras(text)
    order = _chunk_order(path, directives, use_o, use_g, n_materials)
    geoms = list(ts.geometry.items())
    fallback = {g: len(geoms) - k for k, (g, _) in enumerate(geoms)}  # trimesh lists them in reverse
    geoms.sort(key=lambda item: (order[item[0]][0] if item[0] in order else len(order) + fallback[item[0]],))
    per_object: dict[str, int] = {}
    for g, _ in geoms:
        o = order[g][1] if g in order else (path.stem if g == path.name else g)
        per_object[o] = per_object.get(o, 0) + 1

    result = FileResult(path, "obj", [], ours=bool(extras))
    for gname, geom in geoms:
        if not isinstance(geom, trimesh.Trimesh):
            continue
        o = order[gname][1] if gname in order else (path.stem if gname == path.name else gname)
        obj_name = o if per_object.get(o, 0) == 1 else gname
        v, f = geometry_arrays(path, obj_name, geom)
        if len(f) == 0:
            continue
        uv, mat = uv_and_material(geom, len(v), vertex_colors_linear=False, emissive_strength={})
        part = RawPart(obj_name, o, to_z_up(v, up), f, uv, mat, group=o if per_object.get(o, 0) > 1 else "")
        if obj_name in extras:
            part.extras = PartExtras.from_dict(extras[obj_name])
            part.name = name_from_node(obj_name)
        result.parts.append(part)
    if "mtllib" in text and not any(getattr(getattr(g.visual, "material", None), "name", None)
                                    for g in ts.geometry.values() if hasattr(g, "visual")):
        result.warnings.append("materials from the .mtl could not be loaded; using a neutral default")
    return result


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


def _chunk_order(path: Path, directives: list[tuple[str, str]], use_o: bool, use_g: bool,
                 n_materials: int) -> dict[str, tuple[int, str, str | None]]:
    """trimesh's geometry name of each (object, material) chunk → (file order, object, material)."""
    order: dict[str, tuple[int, str, str | None]] = {}
    obj = None
    mtl = None
    for d, value in directives:
        if d in ("o", "g") and (d == "o") == use_o and (use_o or use_g):
            obj = value
        elif d == "usemtl":
            mtl = value
        else:
            continue
        parts = [p for p in (obj,) if p is not None]
        if mtl is not None and n_materials > 1:
            parts.append(mtl)
        key = "_".join(parts) if parts else None
        if key is not None and key not in order:
            order[key] = (len(order), obj if obj is not None else (mtl or path.stem), mtl)
    return order
