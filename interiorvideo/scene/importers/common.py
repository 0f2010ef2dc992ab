"""What every importer module shares: the error type, the raw part and material records a
reader returns before a scene is assembled, the checks every mesh passes, and the up-axis
conversion.

Readers never build :class:`~interiorvideo.scene.model.Scene` objects themselves: they return
:class:`FileResult` records so that naming, material de-duplication, rooms and lights are decided
once, in :mod:`.assemble`, for all formats alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...colour import srgb_to_linear
from ..io import y_up_to_z_up
from ..model import Light, Material

SUPPORTED_EXTENSIONS = {".glb": "gltf", ".gltf": "gltf", ".obj": "obj", ".ply": "ply"}
STRUCTURAL_LABELS = frozenset({"wall", "floor", "ceiling", "window", "window pane"})
DEFAULT_BASE_COLOR = (0.5, 0.5, 0.5)  # linear mid grey (sRGB ≈ 188): "light gray" in prompts
DEFAULT_ROUGHNESS = 0.5
# Our OBJ files (export_obj) start with this header and carry per-instance extras in comments.
OBJ_EXTRAS_TAG = "#@interiorvideo "
OBJ_HEADER = "interiorvideo export_obj (+Y up; world +Z up)"


class SceneImportError(ValueError):
    """A file could not be imported; the message names the file (and the mesh, when relevant)."""


@dataclass
class RawMaterial:
    name: str | None
    base_color: tuple[float, float, float]
    roughness: float
    metallic: float
    emission: tuple[float, float, float] = (0.0, 0.0, 0.0)
    texture: np.ndarray | None = None  # sRGB uint8 (H, W, 3)
    texture_hint: str | None = None
    # The exact material from our own GLB's extras (its texture names the scene texture key);
    # when set it replaces the values above, which went through 8-bit glTF factors.
    exact: Material | None = None
    specular: float = 1.0  # dielectric specular factor (Material.specular); MTL Ks sets it
    emission_map: bool = False  # the emission came from an emissive texture (often a baked light map)
    emission_two_sided: bool = False  # glTF doubleSided; OBJ/MTL has no sidedness (Blender emits both ways)
    # -- maps beyond base colour (issue 16): uint8 images and the channel each reads -----------------
    roughness_map: np.ndarray | None = None  # linear data (glTF metallicRoughness: channel 1 = G)
    roughness_channel: int = 0
    metallic_map: np.ndarray | None = None  # linear data (glTF metallicRoughness: channel 2 = B)
    metallic_channel: int = 0
    normal_map: np.ndarray | None = None  # tangent-space RGB, linear
    normal_scale: float = 1.0
    alpha_mode: str = "opaque"  # "opaque" | "mask" | "blend" (Material.alpha_mode)
    alpha: float = 1.0
    alpha_cutoff: float = 0.5
    alpha_map: np.ndarray | None = None  # channel 3 of an RGBA image (the base colour's) or a grey map
    alpha_channel: int = 3

    @property
    def has_maps(self) -> bool:
        """Whether any texture (colour or data) needs the mesh's UVs."""
        return any(x is not None for x in (self.texture, self.roughness_map, self.metallic_map, self.normal_map,
                                           self.alpha_map))
    # Dielectric transmission (Material.transmission / ior / thin): glTF KHR_materials_transmission,
    # _ior and _volume (solid when present), MTL d / Tr / Tf / Ni / illum 4, 6, 7.
    transmission: float = 0.0
    ior: float = 1.5
    thin: bool = True


@dataclass
class PartExtras:
    """What a file written by us says about one instance (None: not stated)."""

    label: str | None = None
    room_id: int | None = None
    group: str | None = None
    structural: bool | None = None
    prompt: str | None = None

    @classmethod
    def from_dict(cls, d: dict) -> PartExtras:
        """Read per-instance extras, keeping only values of the right type."""
        def typed(key, kind):
            x = d.get(key)
            return x if isinstance(x, kind) and not (kind is int and isinstance(x, bool)) else None

        label = d.get("label")
        return cls(label=None if label in (None, "") else str(label), room_id=typed("room_id", int),
                   group=typed("group", str) or None, structural=typed("structural", bool),
                   prompt=typed("prompt", str) or None)


@dataclass
class RawPart:
    name: str  # object name (before scene-wide de-duplication)
    raw_name: str  # the name labels are derived from
    vertices: np.ndarray  # (N, 3) float32, world Z-up
    triangles: np.ndarray  # (M, 3) int64
    uvs: np.ndarray | None
    material: RawMaterial
    group: str = ""
    extras: PartExtras | None = None


@dataclass
class FileResult:
    path: Path
    fmt: str
    parts: list[RawPart]
    ours: bool = False  # written by interiorvideo (extras with labels and room ids)
    warnings: list[str] = field(default_factory=list)
    # Lights the file states itself (glTF KHR_lights_punctual), in the reader's coordinates
    # like the parts' vertices; emissive parts become area lights in assemble instead.
    lights: list[Light] = field(default_factory=list)


def err(path: Path, msg: str, mesh: str | None = None) -> SceneImportError:
    where = f"{path}" if mesh is None else f"{path}, mesh {mesh!r}"
    return SceneImportError(f"{where}: {msg}")


def name_from_node(node: str) -> str:
    """The object name inside one of our node names (``00007_room0_sofa_0`` → ``room0_sofa_0``)."""
    return re.sub(r"^\d{5}_", "", node)


def check_mesh(path: Path, mesh: str, vertices: np.ndarray, triangles: np.ndarray) -> None:
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise err(path, f"vertex array has shape {vertices.shape}, expected (N, 3)", mesh)
    if triangles.ndim != 2 or triangles.shape[1] != 3:
        raise err(path, f"face array has shape {triangles.shape}, expected (M, 3) triangles", mesh)
    if not np.isfinite(vertices).all():
        bad = int((~np.isfinite(vertices)).any(axis=1).sum())
        raise err(path, f"{bad} of {len(vertices)} vertices are not finite (NaN or inf)", mesh)
    if len(triangles) and (triangles.min() < 0 or triangles.max() >= len(vertices)):
        raise err(path, f"triangle indices span [{int(triangles.min())}, {int(triangles.max())}] but the "
                        f"mesh has {len(vertices)} vertices", mesh)


def to_z_up(v: np.ndarray, up: str) -> np.ndarray:
    v = np.asarray(v)
    return y_up_to_z_up(v) if up == "y" else v.astype(np.float32)


def mean_linear(img: np.ndarray) -> np.ndarray:
    """Mean linear colour of an sRGB uint8 image."""
    return srgb_to_linear(img.reshape(-1, 3).astype(np.float64) / 255.0).mean(axis=0)


def clip01(x) -> float:
    return float(min(1.0, max(0.0, float(x))))


def unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name_2``, ``name_3``, … whichever is not taken yet (and take it)."""
    out, k = name, 2
    while out in taken:
        out = f"{name}_{k}"
        k += 1
    taken.add(out)
    return out
