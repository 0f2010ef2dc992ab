"""``export_obj``: a scene as OBJ + MTL + PNG textures that :func:`.assemble.import_scene` reads
back with the same instances, labels, room ids and (to 8-bit base colours) materials — for tools
that take OBJ but not glTF.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import trimesh
from PIL import Image
from trimesh.visual import TextureVisuals
from trimesh.visual.material import SimpleMaterial

from ...fileio import atomic_write_bytes
from ..io import node_name, z_up_to_y_up
from ..model import Material, Scene
from .common import OBJ_EXTRAS_TAG, OBJ_HEADER, unique
from .mtl import ks_from_specular, ns_from_roughness


def export_obj(scene: Scene, path: str | Path) -> Path:
    """Write ``scene`` as ``path`` (OBJ, +Y up) with ``<stem>.mtl`` and PNG textures beside it.

    One ``o`` object per instance named like the GLB nodes (``00001_room0_floor``); one MTL
    material per scene material with ``Kd`` (linear base colour, 8-bit precision through trimesh),
    ``map_Kd``, ``Ks`` (the specular factor) and ``Ns`` as :mod:`.mtl` reads them back, and the PBR
    extension ``Pr``/``Pm``/``Ke``; a comment line per instance
    carries its label and room id so :func:`import_scene` reads them back exactly.
    """

    path = Path(path)
    if path.suffix.lower() != ".obj":
        raise ValueError(f"export_obj writes .obj files, got {path}")
    mtl_name = f"{path.stem}.mtl"

    # One SimpleMaterial per distinct Material. trimesh de-duplicates materials by a hash of
    # (Kd, Ka, Ks, int(1000 Ns), image) that ignores the name, so distinct materials that hash
    # alike get their Ns nudged by 1e-3 (Pr, written below, is what the importer reads).
    simple: dict[int, tuple[str, SimpleMaterial, Material]] = {}
    names: set[str] = set()
    hashes: set[int] = set()
    for obj in scene.objects:
        m = obj.material
        if id(m) in simple:
            continue
        same = next((v for v in simple.values() if v[2] == m), None)
        if same is not None:
            simple[id(m)] = same
            continue
        mname = unique(re.sub(r"\s+", "_", m.name) or "material", names)
        image = Image.fromarray(scene.textures[m.texture]) if m.texture else None
        ns = ns_from_roughness(m.roughness)
        ks = ks_from_specular(m.specular)
        while True:
            sm = SimpleMaterial(image=image, diffuse=[*m.base_color, 1.0], specular=[ks, ks, ks, 1.0],
                                glossiness=float(ns), name=mname)
            if hash(sm) not in hashes:
                break
            ns += 1e-3
        hashes.add(hash(sm))
        simple[id(m)] = (mname, sm, m)

    tscene = trimesh.Scene()
    for obj in scene.objects:
        mesh = obj.mesh
        # Every mesh gets UVs: trimesh's OBJ writer indexes vt with the v index, which is only
        # right when all objects write as many vt as v lines.
        uv = mesh.uvs if mesh.uvs is not None else np.zeros((len(mesh.vertices), 2), dtype=np.float32)
        tm = trimesh.Trimesh(z_up_to_y_up(mesh.vertices), mesh.triangles,
                             visual=TextureVisuals(uv=uv, material=simple[id(obj.material)][1]), process=False)
        tscene.add_geometry(tm, node_name=node_name(obj), geom_name=node_name(obj))
    text, files = trimesh.exchange.obj.export_obj(
        tscene, include_normals=False, include_color=False, include_texture=True, return_texture=True,
        write_texture=False, mtl_name=mtl_name, header=OBJ_HEADER)

    # PBR extension lines for each material block.
    by_name = {mname: m for mname, _sm, m in simple.values()}
    mtl_lines = []
    for line in files.get(mtl_name, b"").decode("utf-8").splitlines():
        mtl_lines.append(line)
        if line.startswith("newmtl "):
            m = by_name.get(line[len("newmtl "):].strip())
            if m is not None:
                mtl_lines.append(f"Pr {m.roughness:.6f}")
                mtl_lines.append(f"Pm {m.metallic:.6f}")
                if m.is_emissive:
                    mtl_lines.append("Ke {:.6f} {:.6f} {:.6f}".format(*m.emission))
    files[mtl_name] = ("\n".join(mtl_lines) + "\n").encode("utf-8")

    # The usemtl written for each object must be its own material (guards the hash trick above).
    expected_mtl = {node_name(o): simple[id(o.material)][0] for o in scene.objects}
    current = None
    for line in text.splitlines():
        if line.startswith("o "):
            current = line[2:].strip()
        elif line.startswith("usemtl ") and current is not None:
            expected = expected_mtl.get(current)
            if expected is not None and line[7:].strip() != expected:
                raise RuntimeError(f"export_obj: object {current!r} got material {line[7:]!r}, not {expected!r}")

    extras = [OBJ_EXTRAS_TAG + json.dumps({"node": node_name(o), "instance_id": o.instance_id, "label": o.label,
                                           "room_id": o.room_id}, sort_keys=True) for o in scene.objects]
    lines = text.split("\n")
    lines[1:1] = extras  # just after the header line
    text = "\n".join(lines)

    for fname, data in files.items():
        atomic_write_bytes(path.parent / fname, data)
    atomic_write_bytes(path, text.encode("utf-8"))
    return path
