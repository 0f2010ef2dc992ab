"""``import_scene``: check the arguments, read each file with its format's reader, and assemble
the raw parts into one :class:`~interiorvideo.scene.model.Scene` — instance ids, names, labels,
materials, prompts, rooms and lights.

* Objects: one per raw part, instance ids 1..N in file and node order; names are made unique.
* Labels (``label_from="auto"``): the per-node extras when the file was written by us; else the
  node/object name with numbering and decoration removed (:func:`.names.label_from_name`); else
  the file stem. ``"name"`` ignores extras, ``"file"`` labels everything by file stem, and a
  callable maps the raw name to a label. When the label comes from our extras, so do the
  structural flag and the prompt; otherwise labels wall/floor/ceiling/window make an object
  ``structural`` and the prompt is the local prompt of label and material. Groups come from our
  extras, else the multi-primitive node / multi-material object, else the object itself.
* Lights: each emissive object becomes ``Light(kind="area", object_id=...)`` with intensity =
  max(emission) and colour = emission / intensity (colour × intensity is the emission to within
  float rounding, one ulp: an exact product is not always representable). glTF
  ``KHR_lights_punctual`` point/spot/directional lights come from the reader
  (:mod:`.gltf_lights`), oriented like their file's vertices; OBJ/PLY have none. The sky is
  the physical default (:func:`~interiorvideo.scene.sky.physical_sky`: Preetham daylight with the
  sun where the file's directional light is, else at 45° elevation).
* A ``scene.glb`` with a ``scene.json`` beside it (a folder from
  :func:`~interiorvideo.scene.io.save_scene`) is read exactly by
  :func:`~interiorvideo.scene.io.load_scene` instead, when no option asks otherwise.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path
from typing import Callable, Literal, Sequence

from ..io import GLB_NAME, JSON_NAME, load_scene
from ..lighting import default_light_rig
from ..mesh import Mesh
from ..model import Light, Scene, SceneObject
from ..prompts import local_prompt
from ..sky import physical_sky
from .bank import MaterialBank
from .common import (
    STRUCTURAL_LABELS,
    SUPPORTED_EXTENSIONS,
    FileResult,
    RawPart,
    SceneImportError,
    err,
    unique,
)
from .gltf import read_gltf
from .names import label_from_name
from .obj import read_obj
from .orient import UNITS, orient
from .ply import read_ply
from .room_layout import build_rooms, layout_rooms
from .sanity import drop_baked_lighting, scene_warnings

IMPORTER_VERSION = 2
READERS = {"gltf": "trimesh", "obj": "tinyobjloader", "ply": "open3d"}
_READ = {"gltf": read_gltf, "obj": read_obj, "ply": read_ply}

RoomsMode = Literal["per-file", "floor-split", "single"]
UpAxis = Literal["auto", "y", "z"]
Units = Literal["auto", "m", "cm", "mm", "in", "ft"]
LabelFrom = Literal["auto", "name", "file"] | Callable[[str], str]


def import_scene(
    paths: str | Path | Sequence[str | Path],
    *,
    rooms: RoomsMode | None = None,
    up: UpAxis | None = None,
    units: Units | None = None,
    scale: float | None = None,
    name: str | None = None,
    label_from: LabelFrom = "auto",
    default_lights: bool = False,
) -> Scene:
    """Import one or more mesh files (``.glb``, ``.gltf``, ``.obj`` with its ``.mtl``, ``.ply``) as a Scene.

    rooms: ``"per-file"`` | ``"floor-split"`` | ``"single"``; ``None`` picks per-file for several
    files, the extras' room ids for one file written by us, else floor-split.
    up: ``"auto"`` (default: detected per file from the geometry, +Y — glTF's and Blender's
    convention — unless the evidence says +Z; see :mod:`.orient`), ``"y"`` or ``"z"``.
    units: ``"auto"`` (default: detected from the storey height), or the files' unit; ``scale``
    (file units × scale = metres) overrides it.
    name: the scene name (default: the file stem, with ``+N`` for N more files).
    label_from: ``"auto"`` | ``"name"`` | ``"file"`` | a callable raw name → label (see the module doc).
    default_lights: when the files bring no light, add :func:`~interiorvideo.scene.lighting.default_light_rig`.

    What was assumed (axis, units, and why) is in ``scene.source["assumptions"]``; problems a
    user should know about (no light, stacked files, no floor) in ``scene.source["warnings"]``.
    """
    files = _checked_paths(paths, rooms, up, units, scale, label_from)

    # A scene folder written by save_scene: the JSON beside the GLB is the exact scene.
    if (len(files) == 1 and rooms is None and up in (None, "auto") and units in (None, "auto") and scale is None
            and label_from == "auto" and files[0].name == GLB_NAME and (files[0].parent / JSON_NAME).is_file()):
        try:
            return load_scene(files[0].parent)
        except (ValueError, KeyError, TypeError, FileNotFoundError) as exc:
            warnings.warn(f"{files[0].parent / JSON_NAME} could not be used ({exc}); importing {files[0]} alone",
                          stacklevel=2)

    results = [_read(p, "z") for p in files]  # file coordinates; oriented below, per file
    orientations = []
    for res in results:
        o = orient(res.parts, prior_up="y", up=up or "auto", units=units or "auto", scale=scale)
        for part in res.parts:
            part.vertices = o.to_scene(part.vertices)
        orientations.append(o)
    baked = [f"{r.path.name}: {w}" for r in results for w in [drop_baked_lighting(r.parts)] if w]
    mode = rooms or ("per-file" if len(results) > 1 else "extras" if results[0].ours else "floor-split")
    parts = [(fi, p) for fi, res in enumerate(results) for p in res.parts]
    bank = MaterialBank()
    objects = scene_objects(results, parts, label_from, bank)
    mode, geoms, room_of, room_warnings = layout_rooms(mode, parts, [o.label for o in objects], len(results))
    objects = [replace(o, room_id=int(rid)) for o, rid in zip(objects, room_of)]
    lights = [area_light(o) for o in objects if o.material.is_emissive]
    lights += [_oriented(li, o) for res, o in zip(results, orientations) for li in res.lights]
    scene_rooms = tuple(build_rooms(geoms, objects))
    warns = [f"{r.path.name}: {w}" for r in results for w in r.warnings] + baked + room_warnings
    warns += scene_warnings(files, [[p for f, p in parts if f == fi] for fi in range(len(files))], mode,
                            bool(lights) or default_lights, scene_rooms)

    scene_name = name or (files[0].stem if len(files) == 1 else f"{files[0].stem}+{len(files) - 1}")
    source = {
        "importer": "interiorvideo.scene.importers", "version": IMPORTER_VERSION,
        "files": [str(p) for p in files], "formats": [r.fmt for r in results],
        "readers": {r.fmt: READERS[r.fmt] for r in results}, "rooms": mode,
        "orientation": [o.to_dict() for o in orientations],
        "assumptions": [f"{f.name}: {note}" for f, o in zip(files, orientations) for note in o.notes],
        "label_from": label_from if isinstance(label_from, str) else getattr(label_from, "__name__", "callable"),
        "warnings": warns,
    }
    scene = Scene(name=scene_name, objects=tuple(objects), lights=tuple(lights),
                  rooms=scene_rooms, sky=physical_sky(tuple(lights)), textures=dict(bank.textures),
                  linear_textures=frozenset(bank.linear), source=source)
    return default_light_rig(scene) if default_lights and not lights else scene


def _checked_paths(paths, rooms, up, units, scale, label_from) -> list[Path]:
    if isinstance(paths, (str, Path)):
        files = [Path(paths)]
    else:
        files = [Path(p) for p in paths]
        if not files:
            raise ValueError("import_scene: no files given")
    if rooms not in (None, "per-file", "floor-split", "single"):
        raise ValueError(f"rooms must be 'per-file', 'floor-split' or 'single', got {rooms!r}")
    if up not in (None, "auto", "y", "z"):
        raise ValueError(f"up must be 'auto', 'y' or 'z', got {up!r}")
    if units not in (None, "auto", *UNITS):
        raise ValueError(f"units must be 'auto' or one of {', '.join(UNITS)}, got {units!r}")
    if scale is not None and not (isinstance(scale, (int, float)) and 0 < scale < float("inf")):
        raise ValueError(f"scale must be a positive finite number (file units × scale = metres), got {scale!r}")
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
    return files


def _read(path: Path, axis: str) -> FileResult:
    try:
        res = _READ[SUPPORTED_EXTENSIONS[path.suffix.lower()]](path, axis)
    except SceneImportError:
        raise
    except Exception as exc:  # a reader bug or library error: still name the file
        raise err(path, f"cannot import ({type(exc).__name__}: {exc})") from exc
    if not res.parts:
        raise err(path, "the file contains no triangles")
    return res


def scene_objects(results: list[FileResult], parts: list[tuple[int, RawPart]], label_from: LabelFrom,
                  bank: MaterialBank) -> list[SceneObject]:
    """Scene objects (room -1 for now) with instance ids 1..N, unique names, labels and materials;
    shared with :mod:`.front3d`, so every format names, labels and prompts objects alike."""
    taken: set[str] = set()
    objects = []
    for iid, (fi, p) in enumerate(parts, start=1):
        stem = results[fi].path.stem
        stem_label = label_from_name(stem) or stem.lower()
        ex = p.extras
        ours = label_from == "auto" and ex is not None and bool(ex.label)
        if label_from == "file":
            label = stem_label
        elif callable(label_from):
            label = str(label_from(p.raw_name) or "").strip() or stem_label
        elif ours:
            label = ex.label
        else:
            label = label_from_name(p.raw_name) or label_from_name(p.name) or stem_label
        obj_name = unique(p.name or stem, taken)
        material = bank.material(p.material, obj_name)
        objects.append(SceneObject(
            instance_id=iid, name=obj_name, label=label, room_id=-1,
            mesh=Mesh(p.vertices, p.triangles, p.uvs if material.textures else None),
            material=material,
            prompt=ex.prompt if ours and ex.prompt else local_prompt(label, material),
            group=(ex.group if ex is not None and ex.group else None) or p.group or obj_name,
            structural=ex.structural if ours and ex.structural is not None else label in STRUCTURAL_LABELS,
        ))
    return objects


def _oriented(light: Light, o) -> Light:
    """A file's own light (glTF punctual) brought into the scene frame like its file's vertices."""
    pos = None if light.position is None else tuple(float(x) for x in o.to_scene([light.position])[0])
    d = None if light.direction is None else o.direction_to_scene(light.direction).reshape(-1)
    return replace(light, position=pos, direction=None if d is None else tuple(float(x) for x in d))


def area_light(o: SceneObject) -> Light:
    """The area light of an emissive object (colour × intensity = its emission)."""
    peak = max(o.material.emission)
    return Light(f"{o.name}_light", "area", tuple(float(e / peak) for e in o.material.emission), float(peak),
                 object_id=o.instance_id, room_id=o.room_id if o.room_id >= 0 else None)
