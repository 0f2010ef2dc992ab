"""Import user scenes (glTF/GLB, OBJ+MTL, PLY) into the scene model, and export scenes as OBJ.

``import_scene(paths, rooms=..., up=..., name=..., label_from=...)`` reads one or more files and
returns a :class:`~interiorvideo.scene.model.Scene`: one :class:`SceneObject` per mesh (per glTF
node primitive, per OBJ object × material, per PLY file) with a fresh instance id 1..N in file and
node order, a label, a PBR :class:`Material`, a local prompt, rooms, and area lights.
``export_obj(scene, path)`` writes OBJ + MTL + PNG textures that ``import_scene`` reads back.

Which library reads which format (checked on scenes from ``generate_scene``, not assumed)
-------------------------------------------------------------------------------------------
* ``.glb`` / ``.gltf`` → **trimesh**. ``open3d.io.read_triangle_model`` (Assimp) merges all meshes
  that share a material into one (a 46-object apartment came back as 33 meshes: the four wall
  slabs of a room became one mesh named after one of them), re-splits vertices, quantises
  ``baseColorFactor`` to 8 bits and drops the scene ``extras``. trimesh keeps every node with its
  name and transform, float32 positions bit for bit, UVs, ``baseColorTexture``, metallic/roughness
  and emissive factors, and the scene extras our GLB writer stores (labels, room ids). trimesh
  stores ``baseColorFactor`` as 8-bit RGBA (its writer quantises too), so base colours are exact
  to 1/255. ``KHR_materials_emissive_strength`` (which trimesh ignores) is read from the JSON.
  A node whose mesh has several primitives becomes one object per primitive (``<node>_<k>``).
* ``.obj`` (+ ``.mtl``) → **trimesh**, split by object (``o``; ``g`` when a file has no ``o``) and
  material. open3d reads the MTL PBR extension well but merges every object sharing a material
  (85 objects → 61 meshes), so per-instance identity is lost; trimesh's plain ``split_objects``
  merges an object's several materials under one of them and lists geometry in reverse file
  order, hence ``group_material=True`` and the file order is restored from the OBJ directives.
  The MTL is read from trimesh's parse: ``Kd`` → base colour (linear, as Blender reads it),
  ``map_Kd`` → texture, ``Pr``/``Pm`` (PBR extension) → roughness/metallic, else
  ``Ns`` → roughness = 1 − √Ns / 30 (Blender's mapping), ``Ke`` → emission.
* ``.ply`` → **open3d** (``read_triangle_mesh``): vertices, triangles and vertex colours, which
  is all a PLY holds. One object per file; albedo = mean linearised vertex colour, else a neutral
  grey.

Conventions
-----------
* Up axis: glTF is +Y up by spec and converted with :func:`~interiorvideo.scene.io.y_up_to_z_up`;
  OBJ and PLY default to +Y up as well (Blender's default export); ``up="z"`` keeps coordinates.
  Units are assumed to be metres.
* Labels (``label_from="auto"``): the per-node extras when the file was written by us (GLB from
  ``scene_to_glb_bytes``, OBJ from :func:`export_obj`); else the node/object name with numbering
  and decoration removed (``"Chair.001"`` → ``"chair"``, ``"room1_table-lamp_0_lampshade"`` →
  ``"lampshade"``, ``"SM_OfficeChair_02"`` → ``"office chair"``; direction words, ``room<n>`` and
  generic words like ``mesh`` are skipped); else the file stem. ``"name"`` ignores extras,
  ``"file"`` labels everything by file stem, and a callable maps the raw name to a label.
  Labels wall/floor/ceiling/window make the object ``structural``.
* Material kind: emission > 0 → ``emissive``; metallic > 0.5 → ``metal`` (``mirror`` when the
  name says so); else a kind named in the material/object name (wood, fabric, leather, stone,
  tile, ceramic, plastic, plant, …); else ``paint``. Material names are kept and made unique.
  metallicRoughness / emissive textures only scale their factors by their mean value; alpha
  is ignored. A material with a texture but a mesh without UVs keeps the texture's mean colour
  multiplied into its base colour instead.
* Lights: each emissive object becomes ``Light(kind="area", object_id=...)`` with colour =
  emission / max(emission) and intensity = max(emission). No other lights can be inferred from
  these formats (glTF ``KHR_lights_punctual`` is not read; OBJ/PLY have none), and the sky is
  the default :class:`Sky`.

Rooms
-----
* ``"per-file"``: file k is room k; its polygon is the file's XY bounding rectangle, floor_z its
  min z and ceiling_z its max z. Default when several files are given.
* ``"single"``: one room spanning everything.
* ``"floor-split"`` (default for one file that is not ours): a room segmentation on a 5 cm grid.
  The floor level is the dominant upward-facing height; at 1.5 m above it, open3d's
  ``RaycastingScene`` gives each cell its distance to the nearest surface (``compute_distance``)
  and a ray down and a ray up (``cast_rays``). A cell is free space when it is > 5 cm from every
  surface and the rays meet a floor below and, if the model has ceilings at all, a ceiling
  above, both on their front faces (which rejects cells inside closed walls and furniture; a
  model whose winding is inconsistent skips the facing test). Door and window holes are free at
  1.5 m, so a second slice 0.2 m under the ceilings (the 20th percentile of the heights the
  free cells see above them; the model's top when it has no ceilings) must be free too: walls
  are solid there above doors and windows. Free space eroded by 0.5 m (scipy's Euclidean
  distance transform) also closes openings that reach the ceiling if they are narrower than
  ~1 m; its connected components of ≥ 1 m² are the room seeds, grown back over the free space
  by a watershed on the distance map (scikit-image), so growth follows free space and never
  crosses a wall. Free pockets the flood cannot reach (walled in by furniture) join, whole, the
  room most of their cells are nearest to, or are dropped below 0.25 m². **Approximation**: a
  room's polygon is the bounding rectangle of its cells, pushed out by the 5 cm clearance and
  half a cell, so an L-shaped room gets its bounding rectangle (neighbours' rectangles may then
  overlap) and open-plan spaces joined by openings wider than ~1 m stay one room; floor_z and
  ceiling_z are the median ray hits. On generated apartments (seeds 0-19) every room is found
  with IoU ≥ 0.97 against the generator's interior rectangle, also with the ceilings removed or
  every triangle's winding flipped. Each object goes to the room whose cells hold its XY
  bounding-box centre, else whose rectangle contains it, else the nearest rectangle within
  0.5 m (wall slabs, window frames); only objects outside all of these get room -1. Room
  kinds are guessed from the labels in them (bed → bedroom, sofa → living room, …).
* Auto for one file written by us: room ids from the extras (room polygons from the
  segmentation, matched by the objects the extras put in each room); and when the file is a
  ``scene.glb`` with a ``scene.json`` beside it, :func:`~interiorvideo.scene.io.load_scene` reads
  the exact scene instead.

Errors: a missing file, an unknown extension, an unreadable or corrupt file, a file without
triangles, non-finite vertices or out-of-range triangle indices raise :class:`SceneImportError`
(a ``ValueError``) naming the file and, where it applies, the mesh.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import struct
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal, Sequence

import numpy as np

from ..fileio import atomic_write_bytes
from .io import GLB_NAME, JSON_NAME, load_scene, node_name, y_up_to_z_up, z_up_to_y_up
from .materials import color_name, srgb_to_linear
from .mesh import Mesh
from .model import Light, Material, Room, Scene, SceneObject
from .prompts import local_prompt, room_prompt

__all__ = ["SceneImportError", "SUPPORTED_EXTENSIONS", "export_obj", "import_scene", "label_from_name"]

IMPORTER_VERSION = 1
SUPPORTED_EXTENSIONS = {".glb": "gltf", ".gltf": "gltf", ".obj": "obj", ".ply": "ply"}
READERS = {"gltf": "trimesh", "obj": "trimesh", "ply": "open3d"}

RoomsMode = Literal["per-file", "floor-split", "single"]
UpAxis = Literal["y", "z"]
LabelFrom = Literal["auto", "name", "file"] | Callable[[str], str]

STRUCTURAL_LABELS = frozenset({"wall", "floor", "ceiling", "window"})
DEFAULT_BASE_COLOR = (0.5, 0.5, 0.5)  # linear mid grey (sRGB ≈ 188): "light gray" in prompts
DEFAULT_ROUGHNESS = 0.5
OBJ_EXTRAS_TAG = "#@interiorvideo "
OBJ_HEADER = "interiorvideo export_obj (+Y up; world +Z up)"

# Floor-split parameters (metres).
SPLIT_CELL = 0.05
SPLIT_SLICE_HEIGHT = 1.5
SPLIT_CLEARANCE = 0.05
SPLIT_HIGH_BELOW = 0.2  # the second slice, under the dominant ceiling height
SPLIT_ERODE = 0.5
SPLIT_MIN_SEED_AREA = 1.0
SPLIT_MIN_POCKET_AREA = 0.25
SPLIT_ASSIGN_TOLERANCE = 0.5
SPLIT_MAX_CELLS = 1500  # per axis; coarser cells for very large scenes

log = logging.getLogger(__name__)


class SceneImportError(ValueError):
    """A file could not be imported; the message names the file (and the mesh, when relevant)."""


# ---------------------------------------------------------------------------------------------
# Raw parts: what a reader returns before the scene is assembled.


@dataclass
class _RawMaterial:
    name: str | None
    base_color: tuple[float, float, float]
    roughness: float
    metallic: float
    emission: tuple[float, float, float] = (0.0, 0.0, 0.0)
    texture: np.ndarray | None = None  # sRGB uint8 (H, W, 3)
    texture_hint: str | None = None


@dataclass
class _RawPart:
    name: str  # object name (before scene-wide de-duplication)
    raw_name: str  # the name labels are derived from
    vertices: np.ndarray  # (N, 3) float32, world Z-up
    triangles: np.ndarray  # (M, 3) int64
    uvs: np.ndarray | None
    material: _RawMaterial
    group: str = ""
    extras_label: str | None = None
    extras_room: int | None = None


@dataclass
class _FileResult:
    path: Path
    fmt: str
    parts: list[_RawPart]
    ours: bool = False  # written by interiorvideo (extras with labels and room ids)
    warnings: list[str] = field(default_factory=list)


def _err(path: Path, msg: str, mesh: str | None = None) -> SceneImportError:
    where = f"{path}" if mesh is None else f"{path}, mesh {mesh!r}"
    return SceneImportError(f"{where}: {msg}")


def _check_mesh(path: Path, mesh: str, vertices: np.ndarray, triangles: np.ndarray) -> None:
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise _err(path, f"vertex array has shape {vertices.shape}, expected (N, 3)", mesh)
    if triangles.ndim != 2 or triangles.shape[1] != 3:
        raise _err(path, f"face array has shape {triangles.shape}, expected (M, 3) triangles", mesh)
    if not np.isfinite(vertices).all():
        bad = int((~np.isfinite(vertices)).any(axis=1).sum())
        raise _err(path, f"{bad} of {len(vertices)} vertices are not finite (NaN or inf)", mesh)
    if len(triangles) and (triangles.min() < 0 or triangles.max() >= len(vertices)):
        raise _err(path, f"triangle indices span [{int(triangles.min())}, {int(triangles.max())}] but the "
                         f"mesh has {len(vertices)} vertices", mesh)


def _to_z_up(v: np.ndarray, up: str) -> np.ndarray:
    v = np.asarray(v)
    return y_up_to_z_up(v) if up == "y" else v.astype(np.float32)


def _image_array(img) -> np.ndarray | None:
    if img is None:
        return None
    try:
        return np.asarray(img.convert("RGB"), dtype=np.uint8)
    except Exception:  # an image PIL cannot decode: treat as absent
        return None


def _mean_linear(img: np.ndarray) -> np.ndarray:
    return srgb_to_linear(img.reshape(-1, 3).astype(np.float64) / 255.0).mean(axis=0)


def _clip01(x) -> float:
    return float(min(1.0, max(0.0, float(x))))


# ---------------------------------------------------------------------------------------------
# trimesh loading (all trimesh exceptions become SceneImportError)


def _trimesh_load(path: Path, **kwargs):
    import trimesh

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return trimesh.load(str(path), force="scene", process=False, **kwargs)
    except Exception as exc:  # trimesh raises many types for a corrupt file
        raise _err(path, f"cannot read the file ({type(exc).__name__}: {exc})") from exc


def _material_from_visual(visual, *, vertex_colors_linear: bool, emissive_strength: dict[str, float],
                          has_uv: bool) -> _RawMaterial:
    """A raw material from a trimesh visual (PBR from glTF, Simple from OBJ, or vertex colours)."""
    from trimesh.visual.material import PBRMaterial, SimpleMaterial

    mat = getattr(visual, "material", None) if getattr(visual, "kind", None) != "vertex" else None
    raw: _RawMaterial
    if isinstance(mat, PBRMaterial):
        bcf = mat.baseColorFactor
        base = np.asarray(bcf, dtype=np.float64)[:3] / 255.0 if bcf is not None else np.ones(3)
        # glTF defaults: metallic 1, roughness 1.
        metallic = 1.0 if mat.metallicFactor is None else float(mat.metallicFactor)
        roughness = 1.0 if mat.roughnessFactor is None else float(mat.roughnessFactor)
        mr = _image_array(getattr(mat, "metallicRoughnessTexture", None))
        if mr is not None:  # glTF: G = roughness, B = metallic
            roughness *= float(mr[..., 1].mean()) / 255.0
            metallic *= float(mr[..., 2].mean()) / 255.0
        emission = np.zeros(3) if mat.emissiveFactor is None else np.asarray(mat.emissiveFactor, dtype=np.float64)[:3]
        em_tex = _image_array(getattr(mat, "emissiveTexture", None))
        if em_tex is not None:
            emission = emission * _mean_linear(em_tex)
        emission = emission * emissive_strength.get(mat.name or "", 1.0)
        raw = _RawMaterial(mat.name, tuple(base), roughness, metallic, tuple(np.maximum(emission, 0.0)),
                           _image_array(mat.baseColorTexture))
    elif isinstance(mat, SimpleMaterial):
        kw = {k.lower(): v for k, v in (mat.kwargs or {}).items()}
        img = _image_array(mat.image)

        def floats(key, n):
            try:
                vals = [float(x) for x in np.atleast_1d(kw[key])]
            except (KeyError, TypeError, ValueError):
                return None
            if not vals:
                return None
            return vals[:n] + [vals[-1]] * (n - len(vals[:n]))

        kd = floats("kd", 3)
        base = np.asarray(kd if kd is not None else ((1.0, 1.0, 1.0) if img is not None else DEFAULT_BASE_COLOR))
        pr, pm, ns, ke = floats("pr", 1), floats("pm", 1), floats("ns", 1), floats("ke", 3)
        if pr is not None:
            roughness = pr[0]
        elif ns is not None:
            roughness = 1.0 - np.sqrt(max(ns[0], 0.0)) / 30.0
        else:
            roughness = DEFAULT_ROUGHNESS
        metallic = pm[0] if pm is not None else 0.0
        emission = tuple(max(0.0, e) for e in ke) if ke is not None else (0.0, 0.0, 0.0)
        hint = None
        if mat.image is not None:
            hint = Path(str(mat.image.info.get("file_path", "") or "")).stem or None
        raw = _RawMaterial(mat.name, tuple(base), roughness, metallic, emission, img, hint)
    else:
        raw = _RawMaterial(None, DEFAULT_BASE_COLOR, 0.8, 0.0)

    # Vertex colours: multiply in their mean (glTF COLOR_0 is linear; OBJ/PLY colours are sRGB).
    vc = None
    if getattr(visual, "kind", None) == "vertex":
        vc = np.asarray(visual.vertex_colors)
    elif hasattr(visual, "vertex_attributes") and "color" in getattr(visual, "vertex_attributes", {}):
        vc = np.asarray(visual.vertex_attributes["color"])
    if vc is not None and vc.ndim == 2 and len(vc) and vc.shape[1] >= 3:
        c = vc[:, :3].astype(np.float64)
        c = c / 255.0 if vc.dtype == np.uint8 or c.max() > 1.0 else c
        mean = c.mean(axis=0) if vertex_colors_linear else srgb_to_linear(c).mean(axis=0)
        if raw.name is None:
            raw.base_color = tuple(mean)
        else:
            raw.base_color = tuple(np.asarray(raw.base_color) * mean)

    if raw.texture is not None and not has_uv:
        raw.base_color = tuple(np.asarray(raw.base_color) * _mean_linear(raw.texture))
        raw.texture = None
    raw.base_color = tuple(_clip01(c) for c in raw.base_color)
    raw.roughness, raw.metallic = _clip01(raw.roughness), _clip01(raw.metallic)
    return raw


# ---------------------------------------------------------------------------------------------
# glTF / GLB


def _gltf_json(path: Path) -> dict:
    data = path.read_bytes()
    if not data.strip():
        raise _err(path, "not a valid glTF file (the file is empty)")
    try:
        if path.suffix.lower() == ".glb":
            if len(data) < 20:
                raise ValueError(f"only {len(data)} bytes, shorter than a GLB header")
            magic, _version, _length = struct.unpack_from("<4sII", data, 0)
            if magic != b"glTF":
                raise ValueError("missing the 'glTF' magic bytes")
            chunk_len, chunk_type = struct.unpack_from("<II", data, 12)
            if chunk_type != 0x4E4F534A:
                raise ValueError("first chunk is not JSON")
            header = json.loads(data[20:20 + chunk_len].decode("utf-8"))
        else:
            header = json.loads(data.decode("utf-8"))
    except (struct.error, ValueError, UnicodeDecodeError) as exc:
        raise _err(path, f"not a valid glTF file ({exc})") from exc
    if not isinstance(header, dict):
        raise _err(path, "not a valid glTF file (top level is not an object)")
    return header


def _gltf_node_order(header: dict) -> tuple[dict[str, int], dict[int, int]]:
    """trimesh's frame names → glTF node index, and node index → depth-first rank."""
    from trimesh.util import unique_name

    nodes = header.get("nodes", []) or []
    name_index: dict[str, int] = {}
    counts: dict = {}
    for i, n in enumerate(nodes):  # the same naming trimesh's glTF loader applies
        name_index[unique_name(n.get("name", str(i)), name_index, counts=counts)] = i
    rank: dict[int, int] = {}
    scenes = header.get("scenes") or [{"nodes": list(range(len(nodes)))}]
    roots = scenes[header.get("scene", 0) if isinstance(header.get("scene", 0), int) else 0].get("nodes", [])
    stack = list(reversed(roots))
    while stack:
        i = stack.pop()
        if not isinstance(i, int) or i in rank or i >= len(nodes):
            continue
        rank[i] = len(rank)
        stack.extend(reversed(nodes[i].get("children", []) or []))
    return name_index, rank


def _read_gltf(path: Path, up: str) -> _FileResult:
    import trimesh

    header = _gltf_json(path)
    ts = _trimesh_load(path)
    name_index, rank = _gltf_node_order(header)
    strength = {}
    for m in header.get("materials", []) or []:
        s = ((m.get("extensions") or {}).get("KHR_materials_emissive_strength") or {}).get("emissiveStrength")
        if s is not None and m.get("name") is not None:
            strength.setdefault(m["name"], float(s))
    extras = ts.metadata.get("extras") if isinstance(ts.metadata, dict) else None
    instances = extras.get("instances") if isinstance(extras, dict) else None
    ours = isinstance(instances, dict) and extras.get("generator") == "interiorvideo"
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
    siblings: dict[str, int] = {}
    for e in entries:
        if e[3] != e[4] and e[4] is not None:
            siblings[e[4]] = siblings.get(e[4], 0) + 1

    result = _FileResult(path, "gltf", [], ours=ours)
    seen_sibling: dict[str, int] = {}
    for *_, frame, node, node_idx, transform, gname in entries:
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
        gltf_node = header.get("nodes", [])[node_idx] if node_idx < len(header.get("nodes", []) or []) else {}
        named = "name" in gltf_node
        mesh_name = ""
        if isinstance(gltf_node.get("mesh"), int) and gltf_node["mesh"] < len(header.get("meshes", []) or []):
            mesh_name = str(header["meshes"][gltf_node["mesh"]].get("name", ""))
        if not named:
            obj_name = (mesh_name or path.stem) + (obj_name[len(node):] if frame != node else "")
        raw_name = node if named else (mesh_name or "")

        v = np.asarray(geom.vertices, dtype=np.float64)
        f = np.asarray(geom.faces, dtype=np.int64).reshape(-1, 3) if len(geom.faces) else np.zeros((0, 3), np.int64)
        _check_mesh(path, obj_name, v, f)
        if len(f) == 0:
            continue
        T = np.asarray(transform, dtype=np.float64)
        if not np.array_equal(T, np.eye(4)):
            v = v @ T[:3, :3].T + T[:3, 3]
            if np.linalg.det(T[:3, :3]) < 0:  # a mirroring transform flips the winding back
                f = f[:, ::-1]
            _check_mesh(path, obj_name, v, f)
        uv = getattr(geom.visual, "uv", None)
        uv = None if uv is None or len(uv) != len(v) else np.asarray(uv, dtype=np.float32)
        mat = _material_from_visual(geom.visual, vertex_colors_linear=True, emissive_strength=strength,
                                    has_uv=uv is not None)
        if mat.texture is None:
            uv = None
        part = _RawPart(obj_name, raw_name, _to_z_up(v, up), f, uv, mat,
                        group=node if frame != node else "")
        if ours and frame in instances and isinstance(instances[frame], dict):
            info = instances[frame]
            part.extras_label = info.get("label")
            part.extras_room = info.get("room_id")
            part.name = re.sub(r"^\d{5}_", "", frame)
        result.parts.append(part)
    return result


# ---------------------------------------------------------------------------------------------
# OBJ


_OBJ_DIRECTIVE = re.compile(r"^[ \t]*(o|g|usemtl)[ \t]+(.*?)[ \t]*$", re.MULTILINE)


def _read_obj(path: Path, up: str) -> _FileResult:
    import trimesh

    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise _err(path, f"cannot read the file ({exc})") from exc
    directives = [(m.group(1), m.group(2)) for m in _OBJ_DIRECTIVE.finditer(text)]
    use_o = any(d == "o" for d, _ in directives)
    use_g = not use_o and any(d == "g" for d, _ in directives)
    try:
        ts = _trimesh_load(path, file_type="obj", split_objects=use_o, split_groups=use_g, group_material=True)
    except SceneImportError as exc:
        if isinstance(exc.__cause__, IndexError):
            raise _err(path, f"a face refers to a vertex or texture coordinate that does not exist "
                             f"({exc.__cause__})") from exc.__cause__
        raise
    n_materials = len({m.name for g in ts.geometry.values() for m in [getattr(g.visual, "material", None)]
                       if m is not None and getattr(m, "name", None)})

    # Our own export carries labels and room ids in comment lines.
    extras: dict[str, dict] = {}
    if text.lstrip().startswith("# " + OBJ_HEADER):
        for line in text.splitlines():
            if line.startswith(OBJ_EXTRAS_TAG):
                try:
                    d = json.loads(line[len(OBJ_EXTRAS_TAG):])
                    extras[str(d["node"])] = d
                except (ValueError, KeyError, TypeError):
                    continue

    # File order of (object, material) chunks, and the name trimesh gives each.
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
    geoms = list(ts.geometry.items())
    fallback = {g: len(geoms) - k for k, (g, _) in enumerate(geoms)}  # trimesh lists them in reverse
    geoms.sort(key=lambda item: (order[item[0]][0] if item[0] in order else len(order) + fallback[item[0]],))
    per_object: dict[str, int] = {}
    for g, _ in geoms:
        o = order[g][1] if g in order else (path.stem if g == path.name else g)
        per_object[o] = per_object.get(o, 0) + 1

    result = _FileResult(path, "obj", [], ours=bool(extras))
    for gname, geom in geoms:
        if not isinstance(geom, trimesh.Trimesh):
            continue
        o = order[gname][1] if gname in order else (path.stem if gname == path.name else gname)
        obj_name = o if per_object.get(o, 0) == 1 else gname
        v = np.asarray(geom.vertices, dtype=np.float64)
        f = np.asarray(geom.faces, dtype=np.int64).reshape(-1, 3) if len(geom.faces) else np.zeros((0, 3), np.int64)
        _check_mesh(path, obj_name, v, f)
        if len(f) == 0:
            continue
        uv = getattr(geom.visual, "uv", None)
        uv = None if uv is None or len(uv) != len(v) else np.asarray(uv, dtype=np.float32)
        mat = _material_from_visual(geom.visual, vertex_colors_linear=False, emissive_strength={},
                                    has_uv=uv is not None)
        if mat.texture is None:
            uv = None
        part = _RawPart(obj_name, o, _to_z_up(v, up), f, uv, mat, group=o if per_object.get(o, 0) > 1 else "")
        if obj_name in extras:
            part.extras_label = extras[obj_name].get("label")
            part.extras_room = extras[obj_name].get("room_id")
            part.name = re.sub(r"^\d{5}_", "", obj_name)
        result.parts.append(part)
    if "mtllib" in text and not any(getattr(getattr(g.visual, "material", None), "name", None)
                                    for g in ts.geometry.values() if hasattr(g, "visual")):
        result.warnings.append("materials from the .mtl could not be loaded; using a neutral default")
    return result


# ---------------------------------------------------------------------------------------------
# PLY


def _read_ply(path: Path, up: str) -> _FileResult:
    import open3d as o3d

    try:
        with o3d.utility.VerbosityContextManager(o3d.utility.VerbosityLevel.Error):
            m = o3d.io.read_triangle_mesh(str(path), enable_post_processing=False, print_progress=False)
    except Exception as exc:
        raise _err(path, f"cannot read the file ({type(exc).__name__}: {exc})") from exc
    v = np.asarray(m.vertices, dtype=np.float64)
    f = np.asarray(m.triangles, dtype=np.int64).reshape(-1, 3)
    if len(v) == 0 and len(f) == 0:
        raise _err(path, "cannot read the file: no vertices (empty, corrupt or not a PLY mesh)")
    _check_mesh(path, path.stem, v, f)
    result = _FileResult(path, "ply", [])
    if len(f) == 0:
        return result
    if m.has_vertex_colors():
        c = np.clip(np.asarray(m.vertex_colors, dtype=np.float64), 0.0, 1.0)
        base = tuple(_clip01(x) for x in srgb_to_linear(c).mean(axis=0))
        mat = _RawMaterial(None, base, 0.8, 0.0)
    else:
        mat = _RawMaterial(None, DEFAULT_BASE_COLOR, 0.8, 0.0)
    result.parts.append(_RawPart(path.stem, path.stem, _to_z_up(v, up), f, None, mat))
    return result


_READERS = {"gltf": _read_gltf, "obj": _read_obj, "ply": _read_ply}


# ---------------------------------------------------------------------------------------------
# Labels, kinds, names

_IGNORED_SEGMENTS = frozenset({
    "room", "south", "north", "east", "west", "left", "right", "front", "back", "top", "bottom", "upper",
    "lower", "inner", "outer", "mesh", "meshes", "object", "obj", "geometry", "geo", "node", "gltf", "primitive",
    "prim", "default", "group", "untitled", "sm", "model", "polysurface", "shape", "lod", "part", "mat", "material",
})

_KIND_HINTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("mirror", ("mirror",)),
    ("fabric", ("fabric", "cloth", "textile", "cotton", "linen", "wool", "velvet", "carpet", "rug", "curtain",
                "upholster", "cushion", "bedding", "pillow", "lampshade", "shade")),
    ("leather", ("leather",)),
    ("wood", ("wood", "oak", "walnut", "pine", "timber", "plank", "parquet", "veneer", "birch", "maple", "teak")),
    ("stone", ("stone", "marble", "granite", "concrete", "slate", "terrazzo", "countertop")),
    ("tile", ("tile",)),
    ("ceramic", ("ceramic", "porcelain", "pottery", "clay", "pot")),
    ("plastic", ("plastic", "rubber", "vinyl", "acrylic")),
    ("plant", ("plant", "leaf", "leaves", "foliage", "grass")),
    ("metal", ("metal", "steel", "chrome", "iron", "alumin", "brass", "copper", "gold", "silver")),
)
_MATERIAL_WORDS = frozenset(w for _, words in _KIND_HINTS for w in words) - {"rug", "curtain", "cushion", "pillow",
                                                                             "plant", "pot", "mirror", "countertop",
                                                                             "lampshade", "shade", "bedding"}

_MULTIWORD_LABELS = frozenset({
    "ceiling light", "ceiling lamp", "ceiling fan", "floor lamp", "table lamp", "desk lamp", "wall lamp",
    "coffee table", "side table", "dining table", "end table", "bedside table", "night stand", "tv stand",
    "kitchen cabinet", "wall cabinet", "office chair", "dining chair", "picture frame", "plant pot", "bed frame",
    "kitchen island", "washing machine", "range hood", "shower curtain", "window frame", "door frame",
})
_MAX_PHRASE_WORDS = max(len(p.split()) for p in _MULTIWORD_LABELS)

_ROOM_KIND_VOTES = {
    "bed": "bedroom", "bed frame": "bedroom", "bedding": "bedroom", "wardrobe": "bedroom", "nightstand": "bedroom",
    "dresser": "bedroom", "sofa": "living room", "couch": "living room", "tv": "living room",
    "tv stand": "living room", "coffee table": "living room", "armchair": "living room",
    "refrigerator": "kitchen", "fridge": "kitchen", "kitchen cabinet": "kitchen", "countertop": "kitchen",
    "stove": "kitchen", "oven": "kitchen", "sink": "kitchen", "dining table": "dining room",
    "sideboard": "dining room", "desk": "study", "office chair": "study",
}


def label_from_name(name: str) -> str:
    """A semantic label from a node/object name: ``"Chair.001"`` → ``"chair"``,
    ``"room0_wall_south"`` → ``"wall"``, ``"SM_OfficeChair_02"`` → ``"office chair"``; ``""`` when the
    name holds nothing but numbers, directions or generic words."""
    s = re.sub(r"\.\d+$", "", str(name).strip())
    s = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", s)
    segments = []
    for seg in re.split(r"[_/|:.]+", s):
        seg = re.sub(r"[-\s]+", " ", seg).strip().lower()
        words = [w for w in seg.split() if not w.isdigit()]
        seg = re.sub(r"\s*\d+$", "", " ".join(words))
        seg = re.sub(r"^\d+\s*", "", seg).strip()
        if not seg or seg in _IGNORED_SEGMENTS or not re.search(r"[a-z]", seg):
            continue
        segments.append(seg)
    if not segments:
        return ""
    non_material = [k for k, seg in enumerate(segments) if seg not in _MATERIAL_WORDS]
    last = non_material[-1] if non_material else len(segments) - 1
    # Multi-word labels split at underscores ("Ceiling_Light", "Floor_Lamp_01"): the longest known
    # phrase that ends with the chosen segment.
    words = " ".join(segments[: last + 1]).split()
    for n in range(min(len(words), _MAX_PHRASE_WORDS), len(segments[last].split()), -1):
        phrase = " ".join(words[-n:])
        if phrase in _MULTIWORD_LABELS:
            return phrase
    return segments[last]


def _guess_kind(hint: str, metallic: float, emission) -> str:
    hint = hint.lower()
    if max(emission) > 0.0:
        return "emissive"
    if metallic > 0.5:
        return "mirror" if "mirror" in hint else "metal"
    for kind, words in _KIND_HINTS:
        if kind in ("metal", "mirror"):
            continue
        if any(w in hint for w in words):
            return kind
    return "paint"


def _unique(name: str, taken: set[str]) -> str:
    out, k = name, 2
    while out in taken:
        out = f"{name}_{k}"
        k += 1
    taken.add(out)
    return out


class _MaterialBank:
    """De-duplicates textures (by content) and materials (by value) across files."""

    def __init__(self) -> None:
        self.textures: dict[str, np.ndarray] = {}
        self._tex_by_hash: dict[str, str] = {}
        self._mats: dict[tuple, Material] = {}
        self._names: set[str] = set()

    def texture(self, img: np.ndarray, hint: str | None) -> str:
        key = hashlib.sha1(np.ascontiguousarray(img).tobytes() + str(img.shape).encode()).hexdigest()
        if key not in self._tex_by_hash:
            base = re.sub(r"\W+", "_", hint).strip("_") if hint else ""
            self._tex_by_hash[key] = _unique(base or f"texture{len(self.textures)}", set(self.textures))
            self.textures[self._tex_by_hash[key]] = img
        return self._tex_by_hash[key]

    def material(self, raw: _RawMaterial, obj_name: str) -> Material:
        tex = self.texture(raw.texture, raw.texture_hint) if raw.texture is not None else None
        name = raw.name or f"{obj_name}_material"
        key = (name, tuple(round(c, 6) for c in raw.base_color), round(raw.roughness, 6), round(raw.metallic, 6),
               tuple(round(float(e), 6) for e in raw.emission), tex)
        if key not in self._mats:
            kind = _guess_kind(f"{name} {obj_name}", raw.metallic, raw.emission)
            effective = np.asarray(raw.base_color)
            if tex is not None:
                effective = effective * _mean_linear(self.textures[tex])
            self._mats[key] = Material(
                name=_unique(name, self._names), kind=kind, base_color=tuple(float(c) for c in raw.base_color),
                roughness=float(raw.roughness), metallic=float(raw.metallic),
                emission=tuple(float(e) for e in raw.emission), texture=tex,
                color_name=color_name(np.clip(effective, 0.0, 1.0), raw.metallic >= 0.5),
            )
        return self._mats[key]


# ---------------------------------------------------------------------------------------------
# Rooms


@dataclass
class _Segmentation:
    rects: list[tuple[float, float, float, float]]
    floor_z: list[float]
    ceiling_z: list[float]
    labels: np.ndarray  # (ny, nx) room index + 1, 0 = none
    origin: tuple[float, float]  # centre of cell (0, 0)
    cell: float

    def locate(self, xy: np.ndarray) -> int:
        """Room index (0-based) holding a point, or -1."""
        x, y = float(xy[0]), float(xy[1])
        ix = int(round((x - self.origin[0]) / self.cell))
        iy = int(round((y - self.origin[1]) / self.cell))
        if 0 <= iy < self.labels.shape[0] and 0 <= ix < self.labels.shape[1] and self.labels[iy, ix] > 0:
            return int(self.labels[iy, ix]) - 1
        inside = [k for k, (x0, y0, x1, y1) in enumerate(self.rects) if x0 <= x <= x1 and y0 <= y <= y1]
        if inside:
            return min(inside, key=lambda k: (self.rects[k][2] - self.rects[k][0]) * (self.rects[k][3] - self.rects[k][1]))
        best, best_d = -1, SPLIT_ASSIGN_TOLERANCE
        for k, (x0, y0, x1, y1) in enumerate(self.rects):
            d = float(np.hypot(max(x0 - x, 0.0, x - x1), max(y0 - y, 0.0, y - y1)))
            if d <= best_d:
                best, best_d = k, d
        return best


def _dominant_level(parts: list[_RawPart], facing: float, lowest: bool) -> float | None:
    """The dominant height of horizontal surfaces facing up (``facing=1``, searched in the lowest
    quarter of the scene) or down (``facing=-1``, in the highest quarter), area-weighted on 2 cm bins."""
    zs, areas, zs_any, areas_any = [], [], [], []
    for p in parts:
        v = p.vertices.astype(np.float64)
        a, b, c = v[p.triangles[:, 0]], v[p.triangles[:, 1]], v[p.triangles[:, 2]]
        n = np.cross(b - a, c - a)
        area = 0.5 * np.linalg.norm(n, axis=1)
        nz = n[:, 2] / np.maximum(2.0 * area, 1e-20) * facing
        zc = (a[:, 2] + b[:, 2] + c[:, 2]) / 3.0
        zs.append(zc[nz > 0.9]), areas.append(area[nz > 0.9])
        zs_any.append(zc[np.abs(nz) > 0.9]), areas_any.append(area[np.abs(nz) > 0.9])
    z, w = np.concatenate(zs), np.concatenate(areas)
    if w.sum() <= 0:  # inverted winding everywhere: any horizontal surface
        z, w = np.concatenate(zs_any), np.concatenate(areas_any)
    allz = np.concatenate([p.vertices[:, 2] for p in parts]).astype(np.float64)
    zmin, zmax = float(allz.min()), float(allz.max())
    keep = (z <= zmin + 0.25 * (zmax - zmin) + 1e-6) if lowest else (z >= zmax - 0.25 * (zmax - zmin) - 1e-6)
    if not keep.any() or w[keep].sum() <= 0:
        return None
    z, w = z[keep], w[keep]
    bins = np.floor((z - zmin) / 0.02).astype(np.int64)
    totals = np.bincount(bins, weights=w)
    sel = bins == int(np.argmax(totals))
    return float(np.average(z[sel], weights=w[sel]))


def _segment_rooms(parts: list[_RawPart]) -> _Segmentation | None:
    import open3d as o3d
    from scipy import ndimage as ndi
    from skimage.segmentation import watershed

    allv = np.concatenate([p.vertices for p in parts]).astype(np.float64)
    lo, hi = allv.min(axis=0), allv.max(axis=0)
    floor_z = _dominant_level(parts, 1.0, lowest=True)
    floor_z = float(lo[2]) if floor_z is None else floor_z
    z = floor_z + SPLIT_SLICE_HEIGHT
    if z >= hi[2]:
        z = floor_z + 0.5 * (hi[2] - floor_z)
    extent = hi[:2] - lo[:2]
    cell = max(SPLIT_CELL, float(extent.max()) / SPLIT_MAX_CELLS)
    nx, ny = (np.maximum(np.ceil(extent / cell).astype(int), 1))
    xs = lo[0] + (np.arange(nx) + 0.5) * cell
    ys = lo[1] + (np.arange(ny) + 0.5) * cell
    gx, gy = np.meshgrid(xs, ys)  # (ny, nx)
    pts = np.stack([gx, gy, np.full_like(gx, z)], axis=-1).reshape(-1, 3).astype(np.float32)

    rc = o3d.t.geometry.RaycastingScene()
    for p in parts:
        rc.add_triangles(o3d.core.Tensor(np.ascontiguousarray(p.vertices, dtype=np.float32)),
                         o3d.core.Tensor(np.ascontiguousarray(p.triangles, dtype=np.uint32)))

    def probe(points: np.ndarray):
        dist = rc.compute_distance(o3d.core.Tensor(points)).numpy()
        out = [dist]
        for direction in (-1.0, 1.0):
            rays = np.concatenate([points, np.tile(np.float32([0.0, 0.0, direction]), (len(points), 1))], axis=1)
            ans = rc.cast_rays(o3d.core.Tensor(rays))
            out += [ans["t_hit"].numpy(), ans["primitive_normals"].numpy()[:, 2]]
        return out

    dist, t_down, n_down, t_up, n_up = probe(pts)
    hit_down = np.isfinite(t_down) & (t_down <= (z - lo[2]) + 1e-3)
    hit_up = np.isfinite(t_up)
    clear = dist > SPLIT_CLEARANCE
    # Free: clear of surfaces, a floor below and (when the model has ceilings at all) a ceiling
    # above, both met on their front faces (which also rejects cells inside closed walls) unless
    # the model's winding is inconsistent.
    free = clear & hit_down
    has_ceilings = (free & hit_up).sum() >= 0.5 * free.sum()
    if has_ceilings:
        free &= hit_up
    facing = (n_down > 0) & ((n_up < 0) if has_ceilings else True)
    facing_ok = (free & facing).sum() >= 0.5 * free.sum()
    if facing_ok:
        free &= facing
    if not free.any():
        return None
    # A second slice just under the ceilings (the 20th percentile of the heights the free cells see
    # above them, so door lintels and lamps do not count), where walls are solid above doors and
    # windows; without ceilings, just under the top of the model.
    up_z = z + t_up
    z_high = (float(np.percentile(up_z[free], 20)) if has_ceilings else float(hi[2])) - SPLIT_HIGH_BELOW
    log.debug("segment: z=%.3f z_high=%.3f ceilings=%s facing=%s", z, z_high, has_ceilings, facing_ok)
    if z_high > z + 0.2:
        hdist, _td, hn_down, ht_up, hn_up = probe(pts.copy() * np.float32([1, 1, 0]) + np.float32([0, 0, z_high]))
        high_free = hdist > SPLIT_CLEARANCE
        if facing_ok:  # not inside a closed wall: the ray up meets a surface's front face
            high_free &= ~np.isfinite(ht_up) | (hn_up < 0)
        log.debug("segment: high slice keeps %d of %d", (free & high_free).sum(), free.sum())
        if (free & high_free).sum() >= 0.5 * free.sum():  # else the "ceiling" was something else
            free = free & high_free
    free = free.reshape(ny, nx)
    edt = ndi.distance_transform_edt(free) * cell
    seeds, n = ndi.label(edt > SPLIT_ERODE)
    if n:
        sizes = ndi.sum_labels(np.ones_like(edt), seeds, index=np.arange(1, n + 1)) * cell * cell
        keep = np.flatnonzero(sizes >= SPLIT_MIN_SEED_AREA) + 1
        remap = np.zeros(n + 1, dtype=np.int32)
        remap[keep] = np.arange(1, len(keep) + 1)
        seeds, n = remap[seeds], len(keep)
    if n == 0:  # nothing survives the erosion (a small model): free-space components are the rooms
        seeds, n = ndi.label(free)
        if n == 0:
            return None
    grown = watershed(-edt, markers=seeds, mask=free)
    # Free space the flood could not reach: specks (a cell or two walled in by furniture or wall
    # corners) are dropped; larger pockets (a closet too small to seed) join the nearest room.
    pockets, n_pockets = ndi.label(free & (grown == 0))
    if n_pockets:
        sizes = ndi.sum_labels(np.ones_like(edt), pockets, index=np.arange(1, n_pockets + 1)) * cell * cell
        big = np.flatnonzero(sizes >= SPLIT_MIN_POCKET_AREA) + 1
        if len(big):
            _, (iy, ix) = ndi.distance_transform_edt(grown == 0, return_indices=True)
            nearest = grown[iy, ix]
            for k in big:  # the whole pocket joins the room most of its cells are nearest to
                cells = pockets == k
                grown[cells] = int(np.argmax(np.bincount(nearest[cells])))

    pad = SPLIT_CLEARANCE + 0.5 * cell
    down_z = (z - t_down).reshape(ny, nx)
    up_z = (up_z if has_ceilings else np.full_like(up_z, np.nan)).reshape(ny, nx)
    rooms = []
    for k in range(1, n + 1):
        cells = grown == k
        if not cells.any():
            continue
        iy, ix = np.nonzero(cells)
        rect = (max(float(xs[ix.min()] - pad), float(lo[0])), max(float(ys[iy.min()] - pad), float(lo[1])),
                min(float(xs[ix.max()] + pad), float(hi[0])), min(float(ys[iy.max()] + pad), float(hi[1])))
        fz = down_z[cells & np.isfinite(down_z)]
        cz = up_z[cells & np.isfinite(up_z)]
        rooms.append((k, rect, float(np.median(fz)) if len(fz) else floor_z,
                      float(np.median(cz)) if len(cz) else float(hi[2])))
    # Deterministic room order: south to north, then west to east (by rectangle centre).
    rooms.sort(key=lambda r: (round((r[1][1] + r[1][3]) / 2, 2), round((r[1][0] + r[1][2]) / 2, 2)))
    labels = np.zeros_like(grown, dtype=np.int32)
    for new, (old, *_rest) in enumerate(rooms, start=1):
        labels[grown == old] = new
    return _Segmentation([r[1] for r in rooms], [round(r[2], 4) for r in rooms], [round(r[3], 4) for r in rooms],
                         labels, (float(xs[0]), float(ys[0])), cell)


def _rect_polygon(rect) -> tuple[tuple[float, float], ...]:
    x0, y0, x1, y1 = (round(float(c), 4) + 0.0 for c in rect)  # + 0.0: no negative zeros
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


def _centre_xy(v: np.ndarray) -> np.ndarray:
    return (v[:, :2].min(axis=0).astype(np.float64) + v[:, :2].max(axis=0).astype(np.float64)) / 2.0


def _bbox_room(room_id: int, verts: list[np.ndarray]) -> tuple:
    v = np.concatenate(verts).astype(np.float64)
    lo, hi = v.min(axis=0), v.max(axis=0)
    return (room_id, (lo[0], lo[1], hi[0], hi[1]), float(lo[2]), float(hi[2]))


def _guess_room_kind(labels: list[str]) -> str:
    votes: dict[str, int] = {}
    for lab in labels:
        kind = _ROOM_KIND_VOTES.get(lab)
        if kind:
            votes[kind] = votes.get(kind, 0) + 1
    if not votes:
        return "room"
    return max(sorted(votes), key=lambda k: votes[k])


# ---------------------------------------------------------------------------------------------
# Public API


def _as_paths(paths) -> list[Path]:
    if isinstance(paths, (str, Path)):
        return [Path(paths)]
    out = [Path(p) for p in paths]
    if not out:
        raise ValueError("import_scene: no files given")
    return out


def import_scene(
    paths: str | Path | Sequence[str | Path],
    *,
    rooms: RoomsMode | None = None,
    up: UpAxis | None = None,
    name: str | None = None,
    label_from: LabelFrom = "auto",
) -> Scene:
    """Import one or more mesh files (``.glb``, ``.gltf``, ``.obj`` with its ``.mtl``, ``.ply``) as a Scene.

    rooms: ``"per-file"`` | ``"floor-split"`` | ``"single"``; ``None`` picks per-file for several
    files, the extras' room ids for one file written by us, else floor-split.
    up: ``"y"`` (default for every format; glTF is +Y up by spec) or ``"z"`` (keep coordinates).
    name: the scene name (default: the file stem, with ``+N`` for N more files).
    label_from: ``"auto"`` | ``"name"`` | ``"file"`` | a callable raw name → label (see the module doc).
    """
    files = _as_paths(paths)
    if rooms not in (None, "per-file", "floor-split", "single"):
        raise ValueError(f"rooms must be 'per-file', 'floor-split' or 'single', got {rooms!r}")
    if up not in (None, "y", "z"):
        raise ValueError(f"up must be 'y' or 'z', got {up!r}")
    if not (callable(label_from) or label_from in ("auto", "name", "file")):
        raise ValueError(f"label_from must be 'auto', 'name', 'file' or a callable, got {label_from!r}")
    for p in files:
        if not p.exists():
            raise SceneImportError(f"{p}: file not found")
        if not p.is_file():
            raise SceneImportError(f"{p}: not a file")
        if p.suffix.lower() not in SUPPORTED_EXTENSIONS:
            raise SceneImportError(f"{p}: unsupported file type {p.suffix!r} "
                                   f"(supported: {', '.join(sorted(SUPPORTED_EXTENSIONS))})")
    axis = up or "y"

    # A scene folder written by save_scene: the JSON beside the GLB is the exact scene.
    if (len(files) == 1 and rooms is None and axis == "y" and label_from == "auto"
            and files[0].name == GLB_NAME and (files[0].parent / JSON_NAME).is_file()):
        try:
            return load_scene(files[0].parent)
        except (ValueError, KeyError, TypeError, FileNotFoundError) as exc:
            warnings.warn(f"{files[0].parent / JSON_NAME} could not be used ({exc}); importing {files[0]} alone",
                          stacklevel=2)

    results = []
    for p in files:
        fmt = SUPPORTED_EXTENSIONS[p.suffix.lower()]
        try:
            res = _READERS[fmt](p, axis)
        except SceneImportError:
            raise
        except Exception as exc:  # a reader bug or library error: still name the file
            raise _err(p, f"cannot import ({type(exc).__name__}: {exc})") from exc
        if not res.parts:
            raise _err(p, "the file contains no triangles")
        results.append(res)

    mode = rooms or ("per-file" if len(results) > 1 else "extras" if results[0].ours else "floor-split")

    # Objects, materials, labels.
    bank = _MaterialBank()
    taken: set[str] = set()
    parts: list[tuple[int, _RawPart]] = []
    for fi, res in enumerate(results):
        parts.extend((fi, p) for p in res.parts)
    records = []
    for fi, p in parts:
        stem_label = label_from_name(results[fi].path.stem) or results[fi].path.stem.lower()
        if label_from == "file":
            label = stem_label
        elif callable(label_from):
            label = str(label_from(p.raw_name) or "").strip() or stem_label
        elif label_from == "auto" and p.extras_label:
            label = str(p.extras_label)
        else:
            label = label_from_name(p.raw_name) or label_from_name(p.name) or stem_label
        obj_name = _unique(p.name or results[fi].path.stem, taken)
        material = bank.material(p.material, obj_name)
        records.append((fi, p, obj_name, label, material))

    # Rooms.
    room_list: list[Room] = []
    room_of: list[int] = []
    source_warnings = [f"{r.path.name}: {w}" for r in results for w in r.warnings]
    geoms: list[tuple] = []
    if mode == "single":
        geoms = [_bbox_room(0, [p.vertices for _, p in parts])]
        room_of = [0] * len(parts)
    elif mode == "per-file":
        geoms = [_bbox_room(fi, [p.vertices for p in res.parts]) for fi, res in enumerate(results)]
        room_of = [fi for fi, _ in parts]
    else:
        seg = _segment_rooms([p for _, p in parts])
        centres = [_centre_xy(p.vertices) for _, p in parts]
        if mode == "floor-split":
            if seg is None or not seg.rects:
                source_warnings.append("floor-split found no free space with a floor below; one room")
                mode = "single"
                geoms = [_bbox_room(0, [p.vertices for _, p in parts])]
                room_of = [0] * len(parts)
            else:
                geoms = [(k, r, fz, cz) for k, (r, fz, cz) in enumerate(zip(seg.rects, seg.floor_z, seg.ceiling_z))]
                room_of = [seg.locate(c) for c in centres]
        else:  # extras: room ids as written, geometry from the segmentation where it matches
            ids = sorted({int(p.extras_room) for _, p in parts if p.extras_room is not None and p.extras_room >= 0})
            room_of = [int(p.extras_room) if p.extras_room is not None else -1 for _, p in parts]
            votes: dict[int, dict[int, int]] = {rid: {} for rid in ids}
            if seg is not None:
                for (fi, p, _n, label, _m), rid, c in zip(records, room_of, centres):
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
            for rid in ids:
                if rid in seg_of:
                    s = seg_of[rid]
                    geoms.append((rid, seg.rects[s], seg.floor_z[s], seg.ceiling_z[s]))
                else:
                    geoms.append(_bbox_room(rid, [p.vertices for (_, p), r in zip(parts, room_of) if r == rid]))

    objects = []
    for iid, ((fi, p, obj_name, label, material), rid) in enumerate(zip(records, room_of), start=1):
        objects.append(SceneObject(
            instance_id=iid, name=obj_name, label=label, room_id=int(rid),
            mesh=Mesh(p.vertices, p.triangles, p.uvs if material.texture is not None else None),
            material=material, prompt=local_prompt(label, material), group=p.group or obj_name,
            structural=label in STRUCTURAL_LABELS,
        ))
    for rid, rect, fz, cz in geoms:
        in_room = [o for o in objects if o.room_id == rid]
        kind = _guess_room_kind([o.label for o in in_room])
        room_list.append(Room(room_id=int(rid), kind=kind, polygon=_rect_polygon(rect), floor_z=round(float(fz), 4) + 0.0,
                              ceiling_z=round(float(cz), 4) + 0.0, prompt=room_prompt(kind, in_room, (), 0)))

    lights = []
    for o in objects:
        if o.material.is_emissive:
            peak = max(o.material.emission)
            lights.append(Light(f"{o.name}_light", "area", tuple(float(e / peak) for e in o.material.emission),
                                float(peak), object_id=o.instance_id, room_id=o.room_id if o.room_id >= 0 else None))

    scene_name = name or (files[0].stem if len(files) == 1 else f"{files[0].stem}+{len(files) - 1}")
    source = {
        "importer": "interiorvideo.scene.importers", "version": IMPORTER_VERSION,
        "files": [str(p) for p in files], "formats": [r.fmt for r in results],
        "readers": {r.fmt: READERS[r.fmt] for r in results}, "up": axis, "rooms": mode,
        "label_from": label_from if isinstance(label_from, str) else getattr(label_from, "__name__", "callable"),
        "warnings": source_warnings,
    }
    return Scene(name=scene_name, objects=tuple(objects), lights=tuple(lights), rooms=tuple(room_list),
                 textures=dict(bank.textures), source=source)


# ---------------------------------------------------------------------------------------------
# OBJ export


def _ns_from_roughness(roughness: float) -> float:
    """Blender's OBJ mapping: Ns = ((1 − roughness) · 30)², so roughness = 1 − √Ns / 30."""
    return float(((1.0 - roughness) * 30.0) ** 2)


def export_obj(scene: Scene, path: str | Path) -> Path:
    """Write ``scene`` as ``path`` (OBJ, +Y up) with ``<stem>.mtl`` and PNG textures beside it.

    One ``o`` object per instance named like the GLB nodes (``00001_room0_floor``); one MTL
    material per scene material with ``Kd`` (linear base colour, 8-bit precision through trimesh),
    ``map_Kd``, ``Ns`` and the PBR extension ``Pr``/``Pm``/``Ke``; a comment line per instance
    carries its label and room id so :func:`import_scene` reads them back exactly.
    """
    import trimesh
    from PIL import Image
    from trimesh.visual import TextureVisuals
    from trimesh.visual.material import SimpleMaterial

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
        mname = _unique(re.sub(r"\s+", "_", m.name) or "material", names)
        image = Image.fromarray(scene.textures[m.texture]) if m.texture else None
        ns = _ns_from_roughness(m.roughness)
        while True:
            sm = SimpleMaterial(image=image, diffuse=[*m.base_color, 1.0], glossiness=float(ns), name=mname)
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
