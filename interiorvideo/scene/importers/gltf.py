"""The glTF/GLB reader (through trimesh): one raw part per node primitive, in depth-first node
order, with node transforms applied and Y-up converted to Z-up.

Why trimesh and not open3d (checked on scenes from ``generate_scene``, not assumed):
``open3d.io.read_triangle_model`` (Assimp) merges all meshes that share a material into one (a
46-object apartment came back as 33 meshes: the four wall slabs of a room became one mesh named
after one of them), re-splits vertices, quantises ``baseColorFactor`` to 8 bits and drops the
scene ``extras``. trimesh keeps every node with its name and transform, float32 positions bit for
bit, UVs, ``baseColorTexture``, metallic/roughness and emissive factors, and the scene extras.
trimesh stores ``baseColorFactor`` as 8-bit RGBA, so a foreign file's base colours are exact to
1/255. A node whose mesh has several primitives becomes one part per primitive (``<node>_<k>``).

Maps (issue 16): ``metallicRoughnessTexture`` is kept as the roughness (G) and metallic (B) maps,
``normalTexture`` as a normal map with its ``scale`` (read from the JSON: trimesh drops it),
``alphaMode`` MASK / BLEND with ``alphaCutoff`` and the base colour's alpha (factor × texture A)
as an alpha cut-out; BLEND is rendered as a mask at 0.5 (see ``Material``). Only a mesh without
UVs reduces them to their mean (roughness, metallic, alpha) or drops them (normal map).

Our own GLBs (``scene_to_glb_bytes``: scene extras with ``generator == "interiorvideo"``) carry
per node the label, room id, group, structural flag, prompt and the exact material; those
replace the 8-bit factors (and the normalised emissive colour, whose strength only the extras
hold), so such a file imports with its materials and lights exactly as written.

Draco (``KHR_draco_mesh_compression``): trimesh decodes a compressed primitive through DracoPy
(a declared dependency) before it reads the accessors, so the decoded positions, triangles and
UVs get the node transforms like any other primitive. Without DracoPy, or when a primitive's
Draco data does not decode, trimesh would leave zero placeholders (a mesh of degenerate
triangles at the origin); that is an error naming the file, the node and the mesh instead.

Transmission: ``KHR_materials_transmission`` (factor), ``_ior`` and ``_volume`` (solid glass when
present, thin-walled otherwise, as glTF defines) → ``Material.transmission / ior / thin``
(:func:`.gltf_header.transmission_params`; trimesh ignores these extensions).

Lights: ``KHR_lights_punctual`` point, spot and directional lights are read by
:mod:`.gltf_lights` onto :attr:`FileResult.lights`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import trimesh

from ..io import material_from_dict
from ..model import Material
from .common import (
    FileResult,
    PartExtras,
    RawMaterial,
    RawPart,
    check_mesh,
    err,
    name_from_node,
    to_z_up,
)
from .gltf_header import (
    emissive_strengths,
    gltf_json,
    node_order,
    normal_scales,
    specular_factors,
    transmission_params,
)
from .gltf_lights import punctual_lights
from .trimesh_parts import geometry_arrays, trimesh_load, uv_and_material

DRACO = "KHR_draco_mesh_compression"


def read_gltf(path: Path, up: str) -> FileResult:
    header = gltf_json(path)
    draco_meshes = _draco_meshes(path, header)
    with _trimesh_warnings() as logged:
        ts = trimesh_load(path)
    name_index, rank = node_order(header)
    strength = emissive_strengths(header)
    nscale = normal_scales(header)
    transmissive = transmission_params(header)
    specular = specular_factors(header)
    extras = ts.metadata.get("extras") if isinstance(ts.metadata, dict) else None
    instances = extras.get("instances") if isinstance(extras, dict) else None
    ours = isinstance(instances, dict) and extras.get("generator") == "interiorvideo"
    nodes = header.get("nodes", []) or []
    meshes = header.get("meshes", []) or []

    result = FileResult(path, "gltf", [], ours=ours)
    seen_sibling: dict[str, int] = {}
    for frame, node, node_idx, transform, gname in _geometry_frames(ts, name_index, rank):
        geom = ts.geometry[gname]
        if not isinstance(geom, trimesh.Trimesh):
            result.warnings.append(f"skipped non-triangle geometry {gname!r}")
            continue
        if node is None:
            node = frame
        if frame != node:  # one primitive of a multi-primitive mesh
            k = seen_sibling.get(node, 0)
            seen_sibling[node] = k + 1
            obj_name = f"{node}_{k}"
        else:
            obj_name = node
        gltf_node = nodes[node_idx] if node_idx < len(nodes) else {}
        named = "name" in gltf_node
        mesh_name = ""
        if isinstance(gltf_node.get("mesh"), int) and gltf_node["mesh"] < len(meshes):
            mesh_name = str(meshes[gltf_node["mesh"]].get("name", ""))
        if not named:
            obj_name = (mesh_name or path.stem) + (obj_name[len(node):] if frame != node else "")
        raw_name = node if named else (mesh_name or "")

        v, f = geometry_arrays(path, obj_name, geom)
        if gltf_node.get("mesh") in draco_meshes and len(v) and not v.any():
            reason = "; ".join(m for m in logged if DRACO in m) or "trimesh left zero placeholders"
            raise err(path, f"node {node!r}: its {DRACO} data did not decode ({reason})", mesh_name or obj_name)
        if len(f) == 0:
            continue
        T = np.asarray(transform, dtype=np.float64)
        if not np.array_equal(T, np.eye(4)):
            v = v @ T[:3, :3].T + T[:3, 3]
            if np.linalg.det(T[:3, :3]) < 0:  # a mirroring transform flips the winding back
                f = f[:, ::-1]
            check_mesh(path, obj_name, v, f)
        uv, mat = uv_and_material(geom, len(v), vertex_colors_linear=True, emissive_strength=strength,
                                  normal_scale=nscale)
        if mat.name in transmissive:
            mat.transmission, mat.ior, mat.thin = transmissive[mat.name]
        if mat.name in specular:
            mat.specular = specular[mat.name]
        part = RawPart(obj_name, raw_name, to_z_up(v, up), f, uv, mat, group=node if frame != node else "")
        info = instances.get(frame) if ours else None
        if isinstance(info, dict):
            part.extras = PartExtras.from_dict(info)
            part.name = name_from_node(frame)
            problem = _use_exact_material(mat, info.get("material"))
            if problem:
                result.warnings.append(f"node {frame!r}: {problem}; using the 8-bit glTF material")
        result.parts.append(part)
    result.lights, notes = punctual_lights(path, header, ts.graph, name_index, rank, up)
    result.warnings += notes
    return result


def _draco_meshes(path: Path, header: dict) -> set[int]:
    """Indices of the meshes with a Draco-compressed primitive; an error when DracoPy is missing."""
    meshes = header.get("meshes", []) or []
    found = {i for i, m in enumerate(meshes) if isinstance(m, dict)
             and any(DRACO in ((p or {}).get("extensions") or {}) for p in m.get("primitives", []) or [])}
    if found:
        try:
            import DracoPy  # noqa: F401 - trimesh's decoder imports it lazily and hides its absence
        except ImportError as exc:
            raise err(path, f"its meshes use {DRACO} and DracoPy, the Draco decoder, is not installed "
                            f"(pip install DracoPy): {exc}") from exc
    return found


@contextlib.contextmanager
def _trimesh_warnings() -> Iterator[list[str]]:
    """The warnings trimesh logs meanwhile (it reports an extension that failed to decode only so)."""
    messages: list[str] = []

    class _Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = _Keep(logging.WARNING)
    logger = logging.getLogger("trimesh")
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


def _geometry_frames(ts, name_index: dict[str, int], rank: dict[int, int]) -> list[tuple]:
    """(frame, glTF node name or None, node index, transform, geometry name) per geometry
    instance, in depth-first node order (primitives of a node in geometry order)."""
    geom_rank = {g: k for k, g in enumerate(ts.geometry)}
    parents = ts.graph.transforms.parents
    entries = []
    for frame in ts.graph.nodes_geometry:
        transform, gname = ts.graph[frame]
        node = frame if frame in name_index else parents.get(frame)
        node_idx = name_index.get(node, len(name_index)) if node is not None else len(name_index)
        entries.append((rank.get(node_idx, len(rank) + node_idx), geom_rank.get(gname, 0), str(frame),
                        frame, node, node_idx, transform, gname))
    entries.sort(key=lambda e: e[:3])
    return [e[3:] for e in entries]


def _exact_material(d) -> Material | None:
    """The material our GLB writer stored in a node's extras, or None when absent or malformed."""
    if not isinstance(d, dict):
        return None
    try:
        m = material_from_dict(d)
        if len(m.base_color) != 3 or len(m.emission) != 3 or not isinstance(m.name, str) \
                or not isinstance(m.kind, str) or not (m.texture is None or isinstance(m.texture, str)):
            return None
        # Every field as material_from_dict read it (new fields carry over), numbers as floats.
        return replace(m, base_color=tuple(float(c) for c in m.base_color), roughness=float(m.roughness),
                       metallic=float(m.metallic), emission=tuple(float(c) for c in m.emission),
                       color_name=str(m.color_name), specular=float(m.specular))
    except (KeyError, TypeError, ValueError):
        return None


def _use_exact_material(raw: RawMaterial, d) -> str:
    """Attach the extras' exact material to ``raw``; a reason when it cannot be used."""
    exact = _exact_material(d)
    if exact is None:
        return "no usable material in the extras"
    if (exact.texture is None) != (raw.texture is None):
        return "the extras' material and the GLB disagree on its texture"
    for key, img in ((exact.roughness_texture, raw.roughness_map), (exact.metallic_texture, raw.metallic_map),
                     (exact.normal_texture, raw.normal_map), (exact.alpha_texture, raw.alpha_map)):
        if (key is None) != (img is None):
            return "the extras' material and the GLB disagree on its maps"
    raw.exact = exact
    raw.texture_hint = exact.texture
    return ""
