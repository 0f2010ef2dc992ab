"""3D-FRONT houses with 3D-FUTURE furniture → the scene model.

The format (Alibaba's 3D-FRONT / 3D-FUTURE release), read the way the dataset's own
3D-FRONT-ToolBox (``scripts/scene.py``, ``scripts/utils.py``) and BlenderProc's ``Front3DLoader``
read it:

* one JSON per house: ``furniture`` [{uid, jid, title, category?, size, bbox, valid?}];
  ``mesh`` [{uid, jid, type (Floor, Ceiling, WallInner, WallOuter, Front, Back, Baseboard, Door,
  Window, SlabSide, …), xyz, normal, uv, faces (flat lists), material (a material uid)}];
  ``material`` [{uid, jid, texture (a URL), normaltexture, color [r, g, b, a] 0–255,
  UVTransform?}]; ``scene.room`` [{type, instanceid, pos, rot, scale, children [{ref, instanceid,
  pos [x, y, z], rot (a quaternion x, y, z, w), scale [sx, sy, sz]}]}], where a child's ``ref`` is
  the uid of a furniture or a mesh entry;
* the 3D-FUTURE model folder: ``<future_dir>/<jid>/raw_model.obj`` + ``model.mtl`` +
  ``texture.png`` (``normalized_model.obj`` is a unit-size copy and is not used: scene transforms
  expect the raw model), and ``<future_dir>/model_info.json``, a list of {model_id, category,
  super-category, material, style, theme};
* metres, +Y up.

Choices (each one that applied to a house is listed in ``Scene.source["assumptions"]``):

* Placement: a child's vertices are scaled, rotated by its quaternion (x, y, z, w — scipy's order;
  the ToolBox's ``quaternion_to_matrix`` reads it the same way) and translated, in +Y-up metres,
  then converted to the +Z-up world with ``to_z_up(v, "y")``: (x, y, z) → (x, −z, y). A room's own
  pos/rot/scale are ignored, as the ToolBox and BlenderProc ignore them: children are already in
  house coordinates.
* Rooms: one per ``scene.room`` that has anything placed in it, ids 0..N−1 in file order; the kind
  from its type (LivingRoom → living room, MasterBedroom → bedroom, Library → study, …); the polygon
  the outline of its Floor meshes' XY footprint (the shapely union of the floor triangles; its
  largest piece, holes dropped — :class:`~interiorvideo.scene.model.Room` has one outline); floor_z
  the top of the floor, ceiling_z the lowest Ceiling vertex. A room without a Floor mesh gets the
  bounding rectangle of its parts; one without a Ceiling the top of its walls.
* Architecture: one structural object per mesh, labelled from its type (Floor → floor, WallInner /
  WallOuter / Front / Back / SlabSide / … → wall, Window / BayWindow → window, Door → door,
  Ceiling → ceiling, Baseboard → baseboard, …); colour from its material's ``color`` (taken as sRGB,
  a design tool's colour picker); matte (roughness 0.8). Textures are never downloaded: with
  ``texture_dir`` (a local 3D-FRONT-texture folder) ``<texture_dir>/<material jid>/texture.png``
  (or the folder named in the texture URL) is used, through the material's ``UVTransform`` (its 2×2
  part, as the ToolBox applies it); without, the colour alone.
* Furniture: ``raw_model.obj`` through :func:`.obj.read_obj` (one part per OBJ object × material,
  the parts of one piece sharing a group), read once per jid; the label from model_info.json's
  category mapped to the platform's words ("Three-seat / Multi-seat Sofa" → sofa, "King-size Bed"
  → bed, …), else the furniture's ``category``, else its ``title``; the material kind from
  model_info's material (Cloth → fabric, Wood → wood, …); ``texture.png`` is the base colour as is
  (factor 1, the ``.mtl``'s Kd ignored, as BlenderProc and the ToolBox use it); the ``.mtl``'s
  ``Ke`` is ignored (3D-FUTURE files mark ordinary furniture emissive; BlenderProc resets it too),
  so an imported house has no lights of its own.
* Skipped with a warning (``warnings.warn`` and ``Scene.source["warnings"]``) naming what was lost:
  furniture whose model folder is missing or unreadable (named by jid), furniture marked
  ``valid: false``, rooms with nothing placed in them. Children whose ref names no entry (common
  in the release) and a second reference to a mesh already placed are ignored, the first noted
  in the assumptions.

Errors (:class:`~.common.SceneImportError`, naming the file): a missing or unreadable JSON, a JSON
that is not a 3D-FRONT house, a missing ``future_dir``, a malformed mesh or child transform.

Why :func:`import_front3d` and not ``import_scene``: a 3D-FRONT house is a JSON plus a model
folder whose rooms, units and up axis the format states, so none of ``import_scene``'s options
(rooms mode, up axis, labels from names) applies. The objects are still assembled by the same
code as every other format (:mod:`.assemble`: unique names, labels/structural flags from the
parts' extras, local prompts, the shared material bank).
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import shapely
from PIL import Image
from scipy.spatial.transform import Rotation
from shapely.geometry import Polygon
from shapely.geometry.polygon import orient

from ...colour import srgb_to_linear
from ..model import Room, Scene
from ..prompts import room_prompt
from ..sky import physical_sky
from .assemble import area_light, scene_objects
from .bank import MaterialBank
from .common import (
    DEFAULT_BASE_COLOR,
    FileResult,
    PartExtras,
    RawMaterial,
    RawPart,
    SceneImportError,
    check_mesh,
    clip01,
    err,
    mean_linear,
    to_z_up,
)
from .names import label_from_name
from .obj import read_obj

FRONT3D_IMPORTER_VERSION = 1
MODEL_FILE = "raw_model.obj"
TEXTURE_FILE = "texture.png"
MODEL_INFO_FILE = "model_info.json"
ARCH_ROUGHNESS = 0.8  # plaster, paint and flooring read as matte; the JSON states no roughness
DEFAULT_CEILING_HEIGHT = 2.8  # metres above the floor, for a room without ceiling or walls

# 3D-FRONT room types (lower case, letters only) → the platform's room kinds.
_ROOM_KINDS = {
    "livingroom": "living room", "livingdiningroom": "living room", "diningroom": "dining room",
    "bedroom": "bedroom", "masterbedroom": "bedroom", "secondbedroom": "bedroom", "kidsroom": "bedroom",
    "elderlyroom": "bedroom", "nannyroom": "bedroom", "kitchen": "kitchen", "library": "study", "study": "study",
    "bathroom": "bathroom", "masterbathroom": "bathroom", "secondbathroom": "bathroom", "balcony": "balcony",
    "terrace": "balcony", "aisle": "hallway", "hallway": "hallway", "corridor": "hallway",
    "storageroom": "storage room", "cloakroom": "cloakroom", "lounge": "lounge", "auditorium": "auditorium",
    "equipmentroom": "utility room", "stairwell": "stairwell", "garage": "garage", "otherroom": "room",
    "otherspace": "room", "none": "room", "": "room",
}

# 3D-FRONT mesh types (lower case) → (label, structural).
_WALL_TYPES = ("wallinner", "wallouter", "walltop", "wallbottom", "front", "back", "pocket", "slabside", "hole",
               "flue", "customizedfeaturewall", "extrusioncustomizedbackgroundwall", "customizedbackgroundmodel",
               "customized_wainscot")
_ARCH_LABELS: dict[str, tuple[str, bool]] = {
    **{t: ("wall", True) for t in _WALL_TYPES},
    "floor": ("floor", True), "ceiling": ("ceiling", True), "customizedceiling": ("ceiling", True),
    "smartcustomizedceiling": ("ceiling", True), "extrusioncustomizedceilingmodel": ("ceiling", True),
    "slabbottom": ("ceiling", True), "slabtop": ("slab", True), "lightband": ("light band", True),
    "cabinet/lightband": ("light band", True), "baseboard": ("baseboard", True), "cornice": ("cornice", True),
    "beam": ("beam", True), "column": ("column", True), "window": ("window", True), "baywindow": ("window", True),
    "door": ("door", True), "stair": ("stairs", True), "sewerpipe": ("pipe", True),
    "cabinet": ("cabinet", False), "customizedfurniture": ("cabinet", False),
    "customizedfixedfurniture": ("cabinet", False), "customizedpersonalizedmodel": ("furniture", False),
    "customizedplatform": ("platform", False),
}

# 3D-FUTURE categories (lower case, " / " between alternatives) → the platform's labels, the words
# the generator, prompts and room-kind votes use.
_CATEGORY_LABELS = {
    **{c: "sofa" for c in ("three-seat / multi-seat sofa", "three-seat / multi-person sofa", "loveseat sofa",
                           "two-seat sofa", "l-shaped sofa", "lazy sofa", "chaise longue sofa", "sofa")},
    **{c: "bed" for c in ("king-size bed", "double bed", "single bed", "kids bed", "bunk bed", "bed")},
    "bed frame": "bed frame", "armchair": "armchair", "nightstand": "nightstand", "wardrobe": "wardrobe",
    "children cabinet": "cabinet", "wine cabinet": "wine cabinet", "wine cooler": "wine cabinet",
    "drawer chest / corner cabinet": "dresser", "bookcase / jewelry armoire": "bookshelf", "shelf": "shelf",
    "tv stand": "tv stand", "sideboard / side cabinet / console table": "sideboard",
    "sideboard / side cabinet / console": "sideboard", "coffee table": "coffee table", "tea table": "coffee table",
    "corner / side table": "side table", "round end table": "side table", "dining table": "dining table",
    "desk": "desk", "dressing table": "dressing table", "dining chair": "dining chair",
    "lounge chair / cafe chair / office chair": "lounge chair", "lounge chair / book-chair / computer chair":
    "lounge chair", "dressing chair": "chair", "classic chinese chair": "chair", "hanging chair": "chair",
    "barstool": "bar stool", "footstool / sofastool / bed end stool / stool": "stool", "pier / stool": "stool",
    "pendant lamp": "pendant lamp", "ceiling lamp": "ceiling lamp", "floor lamp": "floor lamp",
    "wall lamp": "wall lamp", "table lamp": "table lamp", "lighting": "lamp", "kitchen cabinet": "kitchen cabinet",
    "plants": "plant", "mirror": "mirror", "art": "painting", "basin": "sink", "bath": "bathtub",
}


@dataclass(frozen=True)
class Front3DRoom:
    """One imported room: its id in the scene, the JSON's instanceid and type, and its geometry."""

    room_id: int
    instanceid: str
    type: str
    kind: str
    polygon: tuple[tuple[float, float], ...]
    floor_z: float
    ceiling_z: float


@dataclass
class Front3DResult:
    """What :func:`read_front3d` found: the raw parts (extras carry label, room id, group and the
    structural flag), the rooms, and the choices made on the way."""

    file: FileResult
    rooms: list[Front3DRoom]
    house_uid: str | None = None
    assumptions: list[str] = field(default_factory=list)


def import_front3d(json_path: str | Path, future_dir: str | Path, *, texture_dir: str | Path | None = None,
                   model_info: str | Path | None = None, name: str | None = None) -> Scene:
    """Import a 3D-FRONT house JSON with its 3D-FUTURE furniture as a Scene.

    future_dir: the 3D-FUTURE-model folder (``<jid>/raw_model.obj``, ``model_info.json``).
    texture_dir: an optional local 3D-FRONT-texture folder for floors and walls.
    model_info: the 3D-FUTURE ``model_info.json`` when it is not in ``future_dir``.
    name: the scene name (default: the JSON's stem, which is the house uid in the release).
    """
    res = read_front3d(json_path, future_dir, texture_dir=texture_dir, model_info=model_info)
    path = res.file.path
    for w in res.file.warnings:
        warnings.warn(f"{path}: {w}", stacklevel=2)
    parts = [(0, p) for p in res.file.parts]
    bank = MaterialBank()
    objects = scene_objects([res.file], parts, "auto", bank)
    objects = [replace(o, room_id=p.extras.room_id) for o, (_, p) in zip(objects, parts)]
    rooms = [Room(room_id=r.room_id, kind=r.kind, polygon=r.polygon, floor_z=r.floor_z, ceiling_z=r.ceiling_z,
                  prompt=room_prompt(r.kind, [o for o in objects if o.room_id == r.room_id], (), 0))
             for r in res.rooms]
    source = {
        "importer": "interiorvideo.scene.importers.front3d", "version": FRONT3D_IMPORTER_VERSION,
        "files": [str(path)], "formats": ["3d-front"], "readers": {"3d-front": "json", "obj": "trimesh"},
        "future_dir": str(future_dir), "texture_dir": None if texture_dir is None else str(texture_dir),
        "house_uid": res.house_uid, "up": "y", "units": "metres", "rooms": "3d-front",
        "room_map": [{"room_id": r.room_id, "instanceid": r.instanceid, "type": r.type} for r in res.rooms],
        "assumptions": list(res.assumptions), "warnings": list(res.file.warnings),
    }
    lights = tuple(area_light(o) for o in objects if o.material.is_emissive)
    return Scene(name=name or path.stem, objects=tuple(objects), lights=lights, rooms=tuple(rooms),
                 sky=physical_sky(lights), textures=dict(bank.textures), source=source)


def read_front3d(json_path: str | Path, future_dir: str | Path, *, texture_dir: str | Path | None = None,
                 model_info: str | Path | None = None) -> Front3DResult:
    """Read a 3D-FRONT house into raw parts (world Z-up metres) and rooms; see the module doc."""
    return _Reader(Path(json_path), future_dir, texture_dir, model_info).read()


def room_kind(room_type: str) -> str:
    """The platform's room kind for a 3D-FRONT room type (``MasterBedroom`` → ``bedroom``); an
    unknown type is split into words (``GuestRoom`` → ``guest room``)."""
    key = re.sub(r"[^a-z]", "", str(room_type).lower())
    if key in _ROOM_KINDS:
        return _ROOM_KINDS[key]
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", str(room_type)).strip().lower() or "room"


def category_label(category: str) -> str:
    """The platform's label for a 3D-FUTURE category (``King-size Bed`` → ``bed``); an unknown one
    gives its first alternative in lower case (``Wine Rack / Shelf`` → ``wine rack``)."""
    key = re.sub(r"\s+", " ", re.sub(r"\s*/\s*", " / ", str(category).strip().lower()))
    if key in _CATEGORY_LABELS:
        return _CATEGORY_LABELS[key]
    first = key.split(" / ")[0].strip()
    return "furniture" if first in ("", "others", "other", "unknown") else first


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "x"


class _Reader:
    """One house being read: the JSON's tables, the model cache, warnings and assumptions."""

    def __init__(self, path: Path, future_dir, texture_dir, model_info) -> None:
        self.path = path
        if not path.exists():
            raise SceneImportError(f"{path}: file not found")
        if not path.is_file():
            raise SceneImportError(f"{path}: not a file")
        if future_dir is None or not Path(future_dir).is_dir():
            raise err(path, f"3D-FUTURE model folder {future_dir} not found (give the 3D-FUTURE-model folder "
                            f"that holds <jid>/{MODEL_FILE} for this house's furniture)")
        self.future = Path(future_dir)
        if texture_dir is not None and not Path(texture_dir).is_dir():
            raise err(path, f"3D-FRONT texture folder {texture_dir} not found")
        self.texture_dir = None if texture_dir is None else Path(texture_dir)
        self.data = self._load_json()
        self.warnings: list[str] = []
        self.assumptions: list[str] = []
        self.info = self._model_info(Path(model_info) if model_info is not None else self.future / MODEL_INFO_FILE,
                                     explicit=model_info is not None)
        self.furniture = self._table("furniture")
        self.meshes = self._table("mesh")
        self.materials = self._table("material")
        self.models: dict[str, list[RawPart] | None] = {}
        self.missing: dict[str, list[str]] = {}  # jid → furniture uids placed but not loadable
        self.why: dict[str, str] = {}  # jid → why its model could not be loaded
        self.no_category: list[str] = []  # jids labelled from the house JSON, not model_info
        self.textures: dict[Path, np.ndarray | None] = {}
        self.pieces = 0  # furniture instances placed so far (a key for each one's parts)

    # -- the JSON -----------------------------------------------------------------------------

    def _load_json(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise err(self.path, f"cannot read the file ({exc})") from exc
        except json.JSONDecodeError as exc:
            raise err(self.path, f"not valid JSON ({exc})") from exc
        scene = data.get("scene") if isinstance(data, dict) else None
        rooms = scene.get("room") if isinstance(scene, dict) else None
        if (not isinstance(rooms, list) or not any(isinstance(data.get(k), list) for k in ("furniture", "mesh"))
                or any(k in data and not isinstance(data[k], list) for k in ("furniture", "mesh", "material"))):
            found = ", ".join(sorted(map(str, data))[:12]) if isinstance(data, dict) else type(data).__name__
            raise err(self.path, f"not a 3D-FRONT house JSON: expected a 'scene' with a 'room' list and "
                                 f"'furniture'/'mesh' lists (found: {found or 'nothing'})")
        return data

    def _table(self, key: str) -> dict[str, dict]:
        out: dict[str, dict] = {}
        for entry in self.data.get(key) or []:
            if isinstance(entry, dict) and entry.get("uid") is not None:
                out.setdefault(str(entry["uid"]), entry)
        return out

    def _model_info(self, path: Path, explicit: bool) -> dict[str, dict]:
        if not path.is_file():
            if explicit:
                raise err(self.path, f"3D-FUTURE model_info file {path} not found")
            self.assumptions.append(f"no {MODEL_INFO_FILE} in {self.future}: furniture labels come from the "
                                    f"house's furniture category/title")
            return {}
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            self.warnings.append(f"{path} could not be read ({exc}); furniture labels come from the house's "
                                 f"furniture category/title")
            return {}
        if not isinstance(info, list):
            self.warnings.append(f"{path} is not 3D-FUTURE's model_info list of {{model_id, category, ...}}; "
                                 f"ignored")
            return {}
        return {str(m["model_id"]): m for m in info if isinstance(m, dict) and m.get("model_id") is not None}

    # -- the house ----------------------------------------------------------------------------

    def read(self) -> Front3DResult:
        ignored_transform = []
        unknown_refs: list[str] = []
        used_meshes: set[str] = set()
        invalid: list[str] = []
        placed: list[tuple[dict, list[RawPart]]] = []
        for ri, room in enumerate(self.data["scene"]["room"]):
            if not isinstance(room, dict):
                raise err(self.path, f"scene.room[{ri}] is not an object")
            iid = str(room.get("instanceid") or f"room{ri}")
            if not _is_identity(room):
                ignored_transform.append(iid)
            parts: list[RawPart] = []
            children = room.get("children") or []
            if not isinstance(children, list):
                raise err(self.path, f"room {iid}: 'children' is not a list")
            for ci, c in enumerate(children):
                if not isinstance(c, dict):
                    raise err(self.path, f"room {iid}: child {ci} is not an object")
                ref = str(c.get("ref"))
                where = f"room {iid}, child {ci} (ref {ref!r})"
                if ref in self.meshes:
                    if ref in used_meshes:
                        continue  # one surface, listed by two rooms: keep the first
                    used_meshes.add(ref)
                    part = self._arch_part(self.meshes[ref], _transform(self.path, where, c))
                    if part is not None:
                        parts.append(part)
                elif ref in self.furniture:
                    f = self.furniture[ref]
                    if f.get("valid") is False:
                        invalid.append(str(f.get("jid") or ref))
                        continue
                    parts += self._furniture_parts(ref, f, _transform(self.path, where, c))
                else:
                    unknown_refs.append(ref)
            if parts:
                placed.append((room, parts))
            else:
                self.warnings.append(f"room {iid} ({room.get('type')}): nothing could be placed in it; skipped")

        for jid, uids in self.missing.items():
            self.warnings.append(f"furniture {', '.join(sorted(set(uids)))}: 3D-FUTURE model {jid} not loaded "
                                 f"({self.why[jid]}); {len(uids)} instance(s) skipped")
        if invalid:
            self.warnings.append(f"{len(invalid)} furniture instance(s) marked valid: false skipped "
                                 f"(jids {', '.join(sorted(set(invalid)))})")
        if unknown_refs:
            self.assumptions.append(f"{len(unknown_refs)} room children refer to no furniture or mesh entry "
                                    f"(e.g. {unknown_refs[0]!r}); ignored")
        if ignored_transform:
            self.assumptions.append(f"room pos/rot/scale ignored for {', '.join(ignored_transform)} (children "
                                    f"are placed in house coordinates, as the 3D-FRONT ToolBox does)")
        if not placed:
            raise err(self.path, "no room has a floor, wall or piece of furniture that could be placed")

        if self.no_category:
            self.assumptions.append(f"{len(set(self.no_category))} model(s) without a model_info category (e.g. "
                                    f"{self.no_category[0]}): labelled from the house's furniture category/title")
        result = FileResult(self.path, "3d-front", [], ours=True, warnings=self.warnings)
        rooms = []
        for rid, (room, parts) in enumerate(placed):
            rooms.append(self._room(rid, room, parts))
            result.parts += _named(rid, parts)
        return Front3DResult(result, rooms, house_uid=_str_or_none(self.data.get("uid")),
                             assumptions=list(dict.fromkeys(self.assumptions)))

    # -- architecture -------------------------------------------------------------------------

    def _arch_part(self, m: dict, tf: tuple[np.ndarray, np.ndarray, np.ndarray]) -> RawPart | None:
        uid, typ = str(m.get("uid")), str(m.get("type") or "").strip()
        mesh = f"{uid} ({typ or 'no type'})"
        try:
            xyz = np.asarray(m.get("xyz") or [], dtype=np.float64).ravel()
            faces = np.asarray(m.get("faces") or [], dtype=np.int64).ravel()
        except (TypeError, ValueError) as exc:
            raise err(self.path, f"xyz/faces are not lists of numbers ({exc})", mesh) from exc
        if xyz.size % 3 or faces.size % 3:
            raise err(self.path, f"{xyz.size} xyz numbers and {faces.size} face indices: both must be multiples "
                                 f"of 3", mesh)
        v, f = xyz.reshape(-1, 3), faces.reshape(-1, 3)
        check_mesh(self.path, mesh, v, f)
        if len(f) == 0:
            return None
        uv = _uvs(m.get("uv"), len(v))
        label, structural = _ARCH_LABELS.get(typ.lower(), (None, True))
        if label is None:
            label = label_from_name(typ) or "structure"
            self.assumptions.append(f"mesh type {typ!r} is not a known 3D-FRONT type: labelled {label!r}, structural")
        material, uv = self._arch_material(self.materials.get(str(m.get("material"))), label, uv)
        v = to_z_up(_place(v, *tf), "y")
        return RawPart("", typ, v, f, uv, material, extras=PartExtras(label=label, structural=structural))

    def _arch_material(self, mat: dict | None, label: str,
                       uv: np.ndarray | None) -> tuple[RawMaterial, np.ndarray | None]:
        """The material of a mesh (its colour; its texture from ``texture_dir`` when found) and
        the UVs it needs (None without a texture)."""
        base = DEFAULT_BASE_COLOR
        color = mat.get("color") if mat else None
        if isinstance(color, list) and len(color) >= 3 and all(isinstance(c, (int, float)) for c in color[:3]):
            base = tuple(clip01(c) for c in srgb_to_linear(np.asarray(color[:3], dtype=np.float64) / 255.0))
        raw = RawMaterial(f"{_slug(label)}_material", base, ARCH_ROUGHNESS, 0.0)
        img_path = self._front_texture(mat) if mat and self.texture_dir is not None and uv is not None else None
        raw.texture = self._image(img_path) if img_path is not None else None
        if raw.texture is None:
            return raw, None
        raw.base_color, raw.texture_hint = (1.0, 1.0, 1.0), f"{_slug(label)}_{img_path.parent.name[:8]}"
        t = mat.get("UVTransform")
        if isinstance(t, list) and len(t) == 9:
            uv = (uv.astype(np.float64) @ np.asarray(t, dtype=np.float64).reshape(3, 3)[:2, :2].T).astype(np.float32)
        return raw, uv

    def _front_texture(self, mat: dict) -> Path | None:
        """``<texture_dir>/<jid>/texture.png`` (the ToolBox's layout), else the folder the texture
        URL names (``…/<hash>/texture.png``, BlenderProc's layout)."""
        names = [str(mat.get("jid") or "")]
        url = str(mat.get("texture") or "")
        if "/" in url:
            names.append(url.rstrip("/").split("/")[-2])
        for n in names:
            p = self.texture_dir / n / TEXTURE_FILE
            if n and p.is_file():
                return p
        return None

    # -- furniture ----------------------------------------------------------------------------

    def _furniture_parts(self, uid: str, f: dict, tf) -> list[RawPart]:
        """The parts of one placed piece, in world Z-up; [] when its model cannot be loaded."""
        jid = str(f.get("jid") or "")
        if jid not in self.models:
            self.models[jid] = self._load_model(jid, f)
        model = self.models[jid]
        if model is None:
            self.missing.setdefault(jid, []).append(uid)
            return []
        self.pieces += 1
        return [replace(p, vertices=to_z_up(_place(p.vertices, *tf), "y"), group=f"piece{self.pieces}",
                        extras=replace(p.extras)) for p in model]

    def _load_model(self, jid: str, f: dict) -> list[RawPart] | None:
        """The parts of one 3D-FUTURE model in its own +Y-up frame, labelled, or None (and why)."""
        obj = self.future / jid / MODEL_FILE
        if not jid:
            self.why[jid] = "the furniture entry has no jid"
            return None
        if not obj.is_file():
            self.why[jid] = f"{obj} is missing"
            return None
        try:
            res = read_obj(obj, "z")  # "z": keep the model's own coordinates; placed and converted later
        except SceneImportError as exc:
            self.why[jid] = f"unreadable: {exc}"
            return None
        except Exception as exc:  # a reader or library bug on one model must not lose the house
            self.why[jid] = f"unreadable: {obj}: {type(exc).__name__}: {exc}"
            return None
        if not res.parts:
            self.why[jid] = f"{obj} has no triangles"
            return None
        self.warnings += [f"model {jid}: {w}" for w in res.warnings]
        info = self.info.get(jid, {})
        if not info.get("category"):
            self.no_category.append(jid)
        source = (info.get("category") or f.get("category") or str(f.get("title") or "").split("/")[0].strip()
                  or info.get("super-category") or "")
        label = category_label(str(source))
        material_word = _slug(info["material"]) if info.get("material") else None
        texture = self._image(self.future / jid / TEXTURE_FILE)
        parts = []
        for p in res.parts:
            m = p.material
            if max(m.emission) > 0.0:
                self.assumptions.append("3D-FUTURE .mtl emission (Ke) ignored: the files mark ordinary furniture "
                                        "emissive (BlenderProc resets it too)")
            base, tex = m.base_color, m.texture
            if tex is not None:
                base = (1.0, 1.0, 1.0)
                self.assumptions.append("3D-FUTURE texture.png is the base colour as is (factor 1; the .mtl's Kd "
                                        "is ignored where a texture is present)")
            elif texture is not None:  # texture.png the .mtl does not name: no UVs survived the reader
                base = tuple(clip01(c) for c in mean_linear(texture))
                self.assumptions.append(f"model {jid}: texture.png is not named by its .mtl; its mean colour is "
                                        f"the base colour")
            mat = replace(m, name=f"{_slug(label)}_{material_word or _slug(m.name or 'material')}", base_color=base,
                          emission=(0.0, 0.0, 0.0), texture=tex,
                          texture_hint=f"{_slug(label)}_{jid[:8]}" if tex is not None else None)
            # name: the OBJ part's own name when the model has several (the piece's name comes later)
            parts.append(RawPart(p.name if len(res.parts) > 1 else "", str(source) or label,
                                 p.vertices.astype(np.float64), p.triangles, p.uvs if tex is not None else None,
                                 mat, extras=PartExtras(label=label, structural=False)))
        return parts

    def _image(self, path: Path) -> np.ndarray | None:
        if path not in self.textures:
            img = None
            if path.is_file():
                try:
                    with Image.open(path) as im:
                        img = np.asarray(im.convert("RGB"), dtype=np.uint8)
                except (OSError, ValueError) as exc:
                    self.warnings.append(f"texture {path} could not be read ({exc}); not used")
            self.textures[path] = img
        return self.textures[path]

    # -- rooms --------------------------------------------------------------------------------

    def _room(self, rid: int, room: dict, parts: list[RawPart]) -> Front3DRoom:
        iid, typ = str(room.get("instanceid") or f"room{rid}"), str(room.get("type") or "")
        floors = [p for p in parts if not p.group and p.raw_name.lower() == "floor"]  # Floor meshes
        if floors:
            polygon = self._outline(iid, floors)
            floor_z = max(float(p.vertices[:, 2].max()) for p in floors)
        else:
            v = np.concatenate([p.vertices for p in parts]).astype(np.float64)
            lo, hi = v.min(axis=0), v.max(axis=0)
            polygon = _round_poly([(lo[0], lo[1]), (hi[0], lo[1]), (hi[0], hi[1]), (lo[0], hi[1])])
            floor_z = float(lo[2])
            self.assumptions.append(f"room {iid}: no Floor mesh; its polygon is the bounding rectangle of its parts")
        ceilings = [p for p in parts if not p.group and p.raw_name.lower() == "ceiling"]
        walls = [p for p in parts if p.extras.label == "wall"]
        ceiling_z = None
        if ceilings:
            ceiling_z = min(float(p.vertices[:, 2].min()) for p in ceilings)
        elif walls:
            ceiling_z = max(float(p.vertices[:, 2].max()) for p in walls)
            self.assumptions.append(f"room {iid}: no Ceiling mesh; the ceiling is at the top of its walls")
        if ceiling_z is None or ceiling_z <= floor_z + 0.5:
            ceiling_z = floor_z + DEFAULT_CEILING_HEIGHT
            self.assumptions.append(f"room {iid}: no usable ceiling or walls; the ceiling is "
                                    f"{DEFAULT_CEILING_HEIGHT} m above the floor")
        return Front3DRoom(rid, iid, typ, room_kind(typ), polygon, round(floor_z, 4) + 0.0, round(ceiling_z, 4) + 0.0)

    def _outline(self, iid: str, floors: list[RawPart]) -> tuple[tuple[float, float], ...]:
        """The outline of the floor triangles' XY footprint: their union (closed over float
        slivers), its largest piece, counter-clockwise, without holes."""
        tris = np.concatenate([p.vertices[p.triangles][:, :, :2].astype(np.float64) for p in floors])
        polys = shapely.polygons(np.concatenate([tris, tris[:, :1]], axis=1))
        polys = polys[shapely.area(polys) > 1e-10]
        eps = 1e-4
        union = shapely.union_all(polys).buffer(eps, join_style="mitre").buffer(-eps, join_style="mitre")
        pieces = sorted(getattr(union, "geoms", [union]), key=lambda g: -g.area)
        main = pieces[0]
        if sum(g.area for g in pieces[1:]) > 0.01:
            self.assumptions.append(f"room {iid}: its floor has {len(pieces)} separate pieces; the polygon is "
                                    f"the largest ({main.area:.2f} m²)")
        if any(Polygon(r).area > 0.01 for r in main.interiors):
            self.assumptions.append(f"room {iid}: holes in its floor are not part of its polygon")
        outline = orient(Polygon(main.exterior), 1.0).simplify(eps / 10)
        return _round_poly(list(outline.exterior.coords)[:-1])


def _named(rid: int, parts: list[RawPart]) -> list[RawPart]:
    """Give a room's parts their names (``room0_wall_3``; a piece of furniture ``room0_sofa_0``,
    its parts ``room0_sofa_0_<obj part>``), room id and group."""
    counts: dict[str, int] = {}
    pieces: dict[str, str] = {}
    for p in parts:
        base = f"room{rid}_{_slug(p.extras.label)}"
        p.extras.room_id = rid
        if p.group:  # furniture: the group is the piece's key until it has a name
            if p.group not in pieces:
                pieces[p.group] = f"{base}_{counts.get(base, 0)}"
                counts[base] = counts.get(base, 0) + 1
            piece = pieces[p.group]
            p.name = f"{piece}_{_slug(p.name)}" if p.name else piece
            p.group = p.extras.group = piece
        else:
            p.name = f"{base}_{counts.get(base, 0)}"
            counts[base] = counts.get(base, 0) + 1
    return parts


def _round_poly(points) -> tuple[tuple[float, float], ...]:
    return tuple((round(float(x), 4) + 0.0, round(float(y), 4) + 0.0) for x, y in points)


def _str_or_none(x) -> str | None:
    return None if x is None else str(x)


def _is_identity(room: dict) -> bool:
    def near(key, default):
        try:
            return np.allclose(np.asarray(room.get(key, default), dtype=np.float64), default)
        except (TypeError, ValueError):
            return False
    return near("pos", [0.0, 0.0, 0.0]) and near("rot", [0.0, 0.0, 0.0, 1.0]) and near("scale", [1.0, 1.0, 1.0])


def _transform(path: Path, where: str, c: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(scale, rotation matrix, translation) of a child, checked; in +Y-up metres."""
    def vec(key, default, n):
        x = c.get(key, default)
        try:
            a = np.asarray(default if x is None else x, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            a = np.zeros(0)
        if a.shape != (n,) or not np.isfinite(a).all():
            raise err(path, f"{where}: '{key}' must be {n} finite numbers, got {x!r}")
        return a

    pos, rot, scale = vec("pos", [0, 0, 0], 3), vec("rot", [0, 0, 0, 1], 4), vec("scale", [1, 1, 1], 3)
    if np.linalg.norm(rot) < 1e-9:
        raise err(path, f"{where}: 'rot' {rot.tolist()} is not a rotation quaternion (x, y, z, w)")
    return scale, Rotation.from_quat(rot).as_matrix(), pos


def _place(v: np.ndarray, scale: np.ndarray, rot: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Scale, then rotate, then translate (row vectors): ``R (s ⊙ v) + t``."""
    return (np.asarray(v, dtype=np.float64) * scale) @ rot.T + pos


def _uvs(uv, n: int) -> np.ndarray | None:
    if not isinstance(uv, list):
        return None
    try:
        a = np.asarray([x for x in uv if x is not None], dtype=np.float32)
    except (TypeError, ValueError):
        return None
    return a.reshape(n, 2) if a.size == 2 * n and np.isfinite(a).all() else None
