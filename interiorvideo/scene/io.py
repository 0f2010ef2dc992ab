"""Scene folders: ``scene.glb`` (geometry, UVs, PBR materials, textures — opens in any glTF
viewer) and ``scene.json`` (the exact materials, lights, rooms, labels, prompts and sky).

A ``map`` sky's HDR file travels inside the folder: :func:`save_scene` copies it there as
``environment.exr`` / ``environment.hdr`` and records its SHA-256 in ``scene.json``;
:func:`load_scene` points the sky at that copy and checks its bytes against the record, so a
frozen scene renders the same sky wherever the folder goes (and a changed file is an error).

glTF is Y-up, our world is Z-up: vertices are converted at this boundary, (x, y, z) ↔ (x, z, −y),
a pure swap and sign flip so float32 coordinates survive the round trip bit for bit.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import trimesh
from PIL import Image
from trimesh.visual import TextureVisuals
from trimesh.visual.material import PBRMaterial

from ..fileio import atomic_write_bytes, read_json, to_json_bytes
from .mesh import Mesh
from .model import Light, Material, Opening, Room, Scene, SceneObject, Sky
from .preview import floorplan_png_bytes
from .sky import file_sha256

SCENE_FORMAT_VERSION = 1
GLB_NAME = "scene.glb"
JSON_NAME = "scene.json"
FLOORPLAN_NAME = "floorplan.png"
ENVMAP_STEM = "environment"  # + the map's own suffix (.exr or .hdr)
TEXTURE_DIR = "textures"

Z_UP_TO_Y_UP = np.array([[1, 0, 0], [0, 0, 1], [0, -1, 0]], dtype=np.float32)


def z_up_to_y_up(v: np.ndarray) -> np.ndarray:
    return np.stack([v[:, 0], v[:, 2], -v[:, 1]], axis=1).astype(np.float32)


def y_up_to_z_up(v: np.ndarray) -> np.ndarray:
    return np.stack([v[:, 0], -v[:, 2], v[:, 1]], axis=1).astype(np.float32)


def node_name(obj: SceneObject) -> str:
    """GLB node names carry the instance id so a bare GLB still maps back to instances."""
    return f"{obj.instance_id:05d}_{obj.name}"


def _channel_of(textures: dict[str, np.ndarray], key: str, channel: int) -> np.ndarray:
    t = textures[key]
    return t if t.ndim == 2 else t[..., channel]


def _gltf_maps(mat: Material, textures: dict[str, np.ndarray]) -> dict:
    """The glTF fields of the maps beyond base colour, for viewers and for :mod:`.importers.gltf`:
    roughness (G) and metallic (B) packed into one metallicRoughnessTexture (when their sizes
    agree; the other channel 255 = factor alone), the normal map, alphaMode/alphaCutoff (alpha
    from the base colour texture's A; another alpha map has no glTF field and is left out)."""
    out: dict = {}
    r, m = mat.roughness_texture, mat.metallic_texture
    shapes = {textures[k].shape[:2] for k in (r, m) if k is not None}
    if len(shapes) == 1:
        packed = np.full(next(iter(shapes)) + (3,), 255, np.uint8)
        if r is not None:
            packed[..., 1] = _channel_of(textures, r, mat.roughness_channel)
        if m is not None:
            packed[..., 2] = _channel_of(textures, m, mat.metallic_channel)
        out["metallicRoughnessTexture"] = Image.fromarray(packed)
    if mat.normal_texture is not None:
        out["normalTexture"] = Image.fromarray(textures[mat.normal_texture][..., :3])
    if mat.alpha_mode != "opaque" and (mat.alpha_texture is None or
                                       (mat.alpha_texture == mat.texture and mat.alpha_channel == 3)):
        out["alphaMode"] = mat.alpha_mode.upper()
        out["alphaCutoff"] = float(mat.alpha_cutoff)
    return out


def _material_to_gltf(mat: Material, textures: dict[str, np.ndarray]) -> PBRMaterial:
    tex = Image.fromarray(textures[mat.texture]) if mat.texture else None
    return PBRMaterial(
        name=mat.name,
        baseColorFactor=[*mat.base_color, float(mat.alpha)],
        metallicFactor=float(mat.metallic),
        roughnessFactor=float(mat.roughness),
        # glTF factors live in [0, 1]: the colour goes here, the strength in the node extras.
        emissiveFactor=[float(e / max(mat.emission)) if mat.is_emissive else 0.0 for e in mat.emission],
        baseColorTexture=tex,
        **_gltf_maps(mat, textures),
    )


def scene_to_glb_bytes(scene: Scene) -> bytes:
    """Serialise geometry and materials to a binary glTF (deterministic for equal input)."""
    out = trimesh.Scene()
    for obj in scene.objects:
        mesh = obj.mesh
        visual = TextureVisuals(uv=mesh.uvs, material=_material_to_gltf(obj.material, scene.textures))
        tm = trimesh.Trimesh(z_up_to_y_up(mesh.vertices), mesh.triangles, visual=visual, process=False)
        name = node_name(obj)
        out.add_geometry(tm, node_name=name, geom_name=name)
    out.metadata["extras"] = {
        "generator": "interiorvideo",
        "up": "glTF +Y (world +Z)",
        # Enough for a bare GLB to describe itself: the exact material (colours are 8-bit in
        # glTF factors as trimesh writes them; emission strength has no core glTF field).
        "instances": {node_name(o): {"instance_id": o.instance_id, "label": o.label, "room_id": o.room_id,
                                     "group": o.group, "structural": o.structural, "prompt": o.prompt,
                                     "material": material_to_dict(o.material)}
                      for o in scene.objects},
    }
    glass = {o.material.name: o.material for o in scene.objects if o.material.is_transmissive}
    return out.export(file_type="glb", tree_postprocessor=lambda tree: _add_transmission(tree, glass))


def _add_transmission(tree: dict, glass: dict[str, Material]) -> None:
    """Write glass as glTF's KHR_materials_transmission / _ior (solid: _volume, thickness 1) —
    trimesh has no field for them — so other tools (and our importer without extras) see it."""
    used = set()
    for m in tree.get("materials", []):
        g = glass.get(m.get("name"))
        if g is None:
            continue
        ext = m.setdefault("extensions", {})
        ext["KHR_materials_transmission"] = {"transmissionFactor": float(g.transmission)}
        ext["KHR_materials_ior"] = {"ior": float(g.ior)}
        used |= {"KHR_materials_transmission", "KHR_materials_ior"}
        if not g.thin:
            ext["KHR_materials_volume"] = {"thicknessFactor": 1.0}
            used.add("KHR_materials_volume")
    if used:
        tree["extensionsUsed"] = sorted(set(tree.get("extensionsUsed", [])) | used)


MAP_FIELDS = ("roughness_texture", "roughness_channel", "metallic_texture", "metallic_channel", "normal_texture",
              "normal_scale", "alpha_mode", "alpha", "alpha_cutoff", "alpha_texture", "alpha_channel")
_MAP_DEFAULTS = {f: Material.__dataclass_fields__[f].default for f in MAP_FIELDS}


def material_to_dict(m: Material) -> dict:
    d = {
        "name": m.name, "kind": m.kind, "base_color": [float(c) for c in m.base_color],
        "roughness": float(m.roughness), "metallic": float(m.metallic),
        "emission": [float(c) for c in m.emission], "texture": m.texture, "color_name": m.color_name,
        "specular": float(m.specular), "emission_two_sided": bool(m.emission_two_sided),
        "transmission": float(m.transmission), "ior": float(m.ior), "thin": bool(m.thin),
    }
    # The maps beyond base colour only when used, so scene.json of a scene without them is as before.
    d.update({f: getattr(m, f) for f in MAP_FIELDS if getattr(m, f) != _MAP_DEFAULTS[f]})
    return d


def material_from_dict(d: dict) -> Material:
    return Material(
        name=d["name"], kind=d["kind"], base_color=tuple(d["base_color"]), roughness=d["roughness"],
        metallic=d["metallic"], emission=tuple(d.get("emission", (0.0, 0.0, 0.0))), texture=d.get("texture"),
        color_name=d.get("color_name", ""), specular=d.get("specular", 1.0),
        emission_two_sided=bool(d.get("emission_two_sided", False)),
        transmission=d.get("transmission", 0.0), ior=d.get("ior", 1.5), thin=d.get("thin", True),
        **{f: d[f] for f in MAP_FIELDS if f in d},
    )


def _tuple_or_none(x):
    return None if x is None else tuple(float(v) for v in x)


def light_to_dict(light: Light) -> dict:
    return {
        "name": light.name, "kind": light.kind, "color": list(light.color), "intensity": float(light.intensity),
        "position": None if light.position is None else list(light.position),
        "direction": None if light.direction is None else list(light.direction),
        "cone_deg": None if light.cone_deg is None else list(light.cone_deg),
        "object_id": light.object_id, "room_id": light.room_id,
    }


def light_from_dict(d: dict) -> Light:
    return Light(
        name=d["name"], kind=d["kind"], color=tuple(d["color"]), intensity=d["intensity"],
        position=_tuple_or_none(d.get("position")), direction=_tuple_or_none(d.get("direction")),
        cone_deg=_tuple_or_none(d.get("cone_deg")), object_id=d.get("object_id"), room_id=d.get("room_id"),
    )


def room_to_dict(room: Room) -> dict:
    return {
        "room_id": room.room_id, "kind": room.kind, "polygon": [list(p) for p in room.polygon],
        "floor_z": room.floor_z, "ceiling_z": room.ceiling_z, "prompt": room.prompt,
        "wall_thickness": room.wall_thickness, "area_m2": round(room.area, 4),
        "openings": [
            {"kind": o.kind, "side": o.side, "start": o.start, "end": o.end, "bottom": o.bottom, "top": o.top,
             "to_room": o.to_room} for o in room.openings
        ],
    }


def room_from_dict(d: dict) -> Room:
    return Room(
        room_id=d["room_id"], kind=d["kind"], polygon=tuple(tuple(p) for p in d["polygon"]),
        floor_z=d["floor_z"], ceiling_z=d["ceiling_z"], prompt=d.get("prompt", ""),
        wall_thickness=d.get("wall_thickness", 0.0),
        openings=tuple(Opening(**o) for o in d.get("openings", [])),
    )


def sky_to_dict(sky: Sky) -> dict:
    """The sky's fields for ``scene.json``; a map is named by its file in the scene folder."""
    d: dict = {"kind": sky.kind, "intensity": float(sky.intensity)}
    if sky.kind == "gradient":
        d |= {"zenith": [float(c) for c in sky.zenith], "horizon": [float(c) for c in sky.horizon]}
    elif sky.kind == "physical":
        d |= {"sun_direction": [float(c) for c in sky.sun_direction], "turbidity": float(sky.turbidity)}
    else:
        d |= {"file": ENVMAP_STEM + Path(sky.map_path).suffix.lower(), "sha256": sky.map_sha256 or
              file_sha256(sky.map_path), "rotation_deg": float(sky.rotation_deg)}
    return d


def sky_from_dict(d: dict, scene_dir: Path) -> Sky:
    """Inverse of :func:`sky_to_dict` (a JSON without ``kind``, from before sky kinds, is a gradient)."""
    kind = d.get("kind", "gradient")
    if kind == "gradient":
        return Sky(tuple(d["zenith"]), tuple(d["horizon"]), d["intensity"])
    if kind == "physical":
        return Sky(intensity=d["intensity"], kind="physical", sun_direction=tuple(d["sun_direction"]),
                   turbidity=d["turbidity"])
    if kind == "map":
        path = scene_dir / d["file"]
        if not path.is_file():
            raise FileNotFoundError(f"environment map of the scene not found: {path}")
        if file_sha256(path) != d["sha256"]:
            raise ValueError(f"environment map {path}: its SHA-256 differs from the one in {scene_dir / JSON_NAME}; "
                             "the file changed after the scene was saved")
        return Sky(intensity=d["intensity"], kind="map", map_path=str(path.resolve()), map_sha256=d["sha256"],
                   rotation_deg=d.get("rotation_deg", 0.0))
    raise ValueError(f"{scene_dir / JSON_NAME}: unknown sky kind {kind!r}")


def scene_folder_files(scene_dir: str | Path) -> list[Path]:
    """Every file a scene folder's scene is read from: scene.json, scene.glb and its sky's map, if any."""
    scene_dir = Path(scene_dir)
    files = [scene_dir / JSON_NAME, scene_dir / GLB_NAME]
    try:
        meta = read_json(files[0], "scene description")
    except (OSError, ValueError):  # reading the scene itself reports what is wrong with it
        return files
    sky = meta.get("sky") if isinstance(meta, dict) else None
    if isinstance(sky, dict) and sky.get("kind") == "map" and isinstance(sky.get("file"), str):
        files.append(scene_dir / sky["file"])
    return files


def scene_to_dict(scene: Scene) -> dict:
    materials = scene.materials()
    return {
        "format_version": SCENE_FORMAT_VERSION,
        "name": scene.name,
        "seed": scene.seed,
        "source": scene.source,
        "up_axis": "+Z (scene.glb is glTF +Y up)",
        "units": "metres",
        "sky": sky_to_dict(scene.sky),
        "materials": {k: material_to_dict(materials[k]) for k in sorted(materials)},
        "textures": sorted(scene.textures),
        **({"linear_textures": sorted(scene.linear_textures)} if scene.linear_textures else {}),
        **({"texture_files": texture_files(scene),
            "texture_shapes": {k: list(scene.textures[k].shape) for k in texture_files(scene)}}
           if texture_files(scene) else {}),
        "rooms": [room_to_dict(r) for r in scene.rooms],
        "lights": [light_to_dict(light) for light in scene.lights],
        "objects": [
            {
                "instance_id": o.instance_id, "name": o.name, "node": node_name(o), "label": o.label,
                "room_id": o.room_id, "material": o.material.name, "prompt": o.prompt, "group": o.group,
                "structural": o.structural, "triangles": o.mesh.num_triangles,
                "bounds": [[round(float(v), 5) for v in row] for row in o.mesh.bounds()],
            }
            for o in scene.objects
        ],
    }


def save_scene(scene: Scene, out_dir: str | Path, floorplan: bool = True) -> Path:
    """Write ``scene.glb``, ``scene.json`` and (optionally) ``floorplan.png`` into ``out_dir``.

    Every file's bytes are made (and the sky map checked) before the first is written, and each
    is written under a temporary name and renamed: a save that fails leaves the folder as it was,
    and an interrupted one never leaves a half-written file.
    """
    out_dir = Path(out_dir)
    meta = scene_to_dict(scene)
    files: dict[str, bytes] = {GLB_NAME: scene_to_glb_bytes(scene)}
    if scene.sky.kind == "map":
        data = Path(scene.sky.map_path).read_bytes()
        if hashlib.sha256(data).hexdigest() != meta["sky"]["sha256"]:
            raise ValueError(f"environment map {scene.sky.map_path}: its SHA-256 differs from the sky's "
                             f"({meta['sky']['sha256']}); the file changed after the sky was made")
        files[meta["sky"]["file"]] = data
    for key, rel in texture_files(scene).items():  # maps the GLB cannot carry losslessly, as PNG
        files[rel] = _png_bytes(scene.textures[key])
    if floorplan:
        files[FLOORPLAN_NAME] = floorplan_png_bytes(scene)
    files[JSON_NAME] = to_json_bytes(meta)  # last: a folder with scene.json is a complete scene
    for rel, data in files.items():
        atomic_write_bytes(out_dir / rel, data)
    return out_dir


def texture_files(scene: Scene) -> dict[str, str]:
    """The textures saved as PNG files beside the GLB (key → relative path): linear data maps and
    any texture that is not 3-channel sRGB colour (alpha, grey). The GLB's ``baseColorTexture``
    holds the plain colour ones, which load back from it as RGB."""
    keys = sorted(k for k, t in scene.textures.items() if k in scene.linear_textures or t.ndim != 3 or t.shape[2] != 3)
    return {k: f"{TEXTURE_DIR}/{i:04d}.png" for i, k in enumerate(keys)}


def _png_bytes(tex: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(tex[..., 0] if tex.ndim == 3 and tex.shape[2] == 1 else tex).save(buf, format="PNG")
    return buf.getvalue()


def _read_png(path: Path, shape: list[int] | None) -> np.ndarray:
    if not path.is_file():
        raise FileNotFoundError(f"scene texture not found: {path}")
    arr = np.asarray(Image.open(path), dtype=np.uint8)
    return arr.reshape(shape) if shape is not None else arr


def _texture_array(material: PBRMaterial) -> np.ndarray | None:
    tex = getattr(material, "baseColorTexture", None)
    if tex is None:
        return None
    return np.asarray(tex.convert("RGB"), dtype=np.uint8)


def load_scene(scene_dir: str | Path) -> Scene:
    """Read a scene folder written by :func:`save_scene` (exact materials from the JSON,
    geometry from the GLB)."""
    scene_dir = Path(scene_dir)
    if not scene_dir.is_dir():
        raise FileNotFoundError(f"scene folder not found: {scene_dir}")
    meta = read_json(scene_dir / JSON_NAME, "scene description")
    if meta.get("format_version") != SCENE_FORMAT_VERSION:
        raise ValueError(
            f"{scene_dir / JSON_NAME}: scene format version {meta.get('format_version')!r}, "
            f"this code reads version {SCENE_FORMAT_VERSION}"
        )
    glb_path = scene_dir / GLB_NAME
    if not glb_path.is_file():
        raise FileNotFoundError(f"scene geometry not found: {glb_path}")
    try:
        glb = trimesh.load(glb_path, force="scene", process=False)
    except Exception as exc:  # trimesh raises many types for a corrupt file
        raise ValueError(f"cannot read scene geometry {glb_path}: {exc}") from exc
    materials = {k: material_from_dict(v) for k, v in meta["materials"].items()}
    textures: dict[str, np.ndarray] = {k: _read_png(scene_dir / rel, meta.get("texture_shapes", {}).get(k))
                                       for k, rel in meta.get("texture_files", {}).items()}
    objects = []
    for entry in meta["objects"]:
        geom = glb.geometry.get(entry["node"])
        if geom is None:
            raise ValueError(f"{glb_path}: object {entry['node']!r} listed in {JSON_NAME} is missing from the GLB")
        material = materials[entry["material"]]
        uv = getattr(geom.visual, "uv", None)
        mesh = Mesh(y_up_to_z_up(np.asarray(geom.vertices)), np.asarray(geom.faces), None if uv is None else np.asarray(uv))
        if material.texture and material.texture not in textures:
            arr = _texture_array(geom.visual.material)
            if arr is None:
                raise ValueError(f"{glb_path}: texture {material.texture!r} of {entry['node']!r} is missing")
            textures[material.texture] = arr
        objects.append(SceneObject(
            instance_id=entry["instance_id"], name=entry["name"], label=entry["label"], room_id=entry["room_id"],
            mesh=mesh, material=material, prompt=entry.get("prompt", ""), group=entry.get("group", ""),
            structural=entry.get("structural", False),
        ))
    sky = sky_from_dict(meta["sky"], scene_dir)
    return Scene(
        name=meta["name"], objects=tuple(objects), lights=tuple(light_from_dict(d) for d in meta["lights"]),
        rooms=tuple(room_from_dict(d) for d in meta["rooms"]), sky=sky, textures=textures, seed=meta.get("seed"),
        source=meta.get("source", {}), linear_textures=frozenset(meta.get("linear_textures", ())),
    )
