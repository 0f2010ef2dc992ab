"""trimesh geometry → raw arrays and raw materials for the glTF reader (through trimesh), and
the material finishing (vertex colours, textures without UVs, clipping) every reader shares.

Materials: a glTF ``PBRMaterial`` gives base colour (8-bit, as trimesh stores
``baseColorFactor``), metallic/roughness (glTF defaults 1) and emission (times
``KHR_materials_emissive_strength``, which trimesh ignores and the glTF reader passes in);
metallicRoughness / emissive textures only scale their factors by their mean value, and alpha
is ignored. An MTL ``SimpleMaterial`` goes through :mod:`.mtl` (Phong → PBR). Vertex colours
multiply in their mean. A texture on a mesh without UVs folds its mean colour into the base colour.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import trimesh
from trimesh.visual.material import PBRMaterial, SimpleMaterial

from ...colour import srgb_to_linear
from .common import (
    DEFAULT_BASE_COLOR,
    RawMaterial,
    check_mesh,
    clip01,
    err,
    mean_linear,
)
from .mtl import raw_from_mtl


def trimesh_load(path: Path, **kwargs):
    """``trimesh.load`` as a scene; every trimesh exception becomes a SceneImportError."""

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return trimesh.load(str(path), force="scene", process=False, **kwargs)
    except Exception as exc:  # trimesh raises many types for a corrupt file
        raise err(path, f"cannot read the file ({type(exc).__name__}: {exc})") from exc


def geometry_arrays(path: Path, mesh_name: str, geom) -> tuple[np.ndarray, np.ndarray]:
    """Checked float64 vertices and int64 (M, 3) triangles of a trimesh geometry."""
    v = np.asarray(geom.vertices, dtype=np.float64)
    f = np.asarray(geom.faces, dtype=np.int64).reshape(-1, 3) if len(geom.faces) else np.zeros((0, 3), np.int64)
    check_mesh(path, mesh_name, v, f)
    return v, f


def uv_and_material(geom, n_vertices: int, *, vertex_colors_linear: bool,
                    emissive_strength: dict[str, float]) -> tuple[np.ndarray | None, RawMaterial]:
    """The geometry's UVs (None unless one per vertex and a texture uses them) and raw material."""
    uv = getattr(geom.visual, "uv", None)
    uv = None if uv is None or len(uv) != n_vertices else np.asarray(uv, dtype=np.float32)
    mat = material_from_visual(geom.visual, vertex_colors_linear=vertex_colors_linear,
                               emissive_strength=emissive_strength, has_uv=uv is not None)
    return (uv if mat.texture is not None else None), mat


def image_array(img) -> np.ndarray | None:
    """A PIL image as sRGB uint8 (H, W, 3), or None when absent or undecodable."""
    if img is None:
        return None
    try:
        return np.asarray(img.convert("RGB"), dtype=np.uint8)
    except Exception:  # an image PIL cannot decode: treat as absent
        return None


def _from_pbr(mat, emissive_strength: dict[str, float]) -> RawMaterial:
    bcf = mat.baseColorFactor
    base = np.asarray(bcf, dtype=np.float64)[:3] / 255.0 if bcf is not None else np.ones(3)
    # glTF defaults: metallic 1, roughness 1.
    metallic = 1.0 if mat.metallicFactor is None else float(mat.metallicFactor)
    roughness = 1.0 if mat.roughnessFactor is None else float(mat.roughnessFactor)
    mr = image_array(getattr(mat, "metallicRoughnessTexture", None))
    if mr is not None:  # glTF: G = roughness, B = metallic
        roughness *= float(mr[..., 1].mean()) / 255.0
        metallic *= float(mr[..., 2].mean()) / 255.0
    emission = np.zeros(3) if mat.emissiveFactor is None else np.asarray(mat.emissiveFactor, dtype=np.float64)[:3]
    em_tex = image_array(getattr(mat, "emissiveTexture", None))
    if em_tex is not None:
        emission = emission * mean_linear(em_tex)
    emission = emission * emissive_strength.get(mat.name or "", 1.0)
    return RawMaterial(mat.name, tuple(base), roughness, metallic, tuple(np.maximum(emission, 0.0)),
                       image_array(mat.baseColorTexture), emission_map=em_tex is not None,
                       emission_two_sided=bool(getattr(mat, "doubleSided", False)))


def material_from_visual(visual, *, vertex_colors_linear: bool, emissive_strength: dict[str, float],
                         has_uv: bool) -> RawMaterial:
    """A raw material from a trimesh visual (PBR from glTF, Simple from OBJ, or vertex colours)."""

    mat = getattr(visual, "material", None) if getattr(visual, "kind", None) != "vertex" else None
    if isinstance(mat, PBRMaterial):
        raw = _from_pbr(mat, emissive_strength)
    elif isinstance(mat, SimpleMaterial):
        raw = raw_from_mtl(mat, image_array(mat.image))
    else:
        raw = RawMaterial(None, DEFAULT_BASE_COLOR, 0.8, 0.0)

    vc = None
    if getattr(visual, "kind", None) == "vertex":
        vc = np.asarray(visual.vertex_colors)
    elif hasattr(visual, "vertex_attributes") and "color" in getattr(visual, "vertex_attributes", {}):
        vc = np.asarray(visual.vertex_attributes["color"])
    return finish_material(raw, vc, vertex_colors_linear=vertex_colors_linear, has_uv=has_uv)


def finish_material(raw: RawMaterial, vertex_colors: np.ndarray | None, *, vertex_colors_linear: bool,
                    has_uv: bool) -> RawMaterial:
    """Fold vertex colours (their mean) and a texture that has no UVs (its mean) into the base
    colour, and clip the factors to [0, 1]: what every reader does after mapping a material."""
    vc = vertex_colors
    # glTF COLOR_0 is linear; OBJ/PLY colours are sRGB.
    if vc is not None and vc.ndim == 2 and len(vc) and vc.shape[1] >= 3:
        c = vc[:, :3].astype(np.float64)
        c = c / 255.0 if vc.dtype == np.uint8 or c.max() > 1.0 else c
        mean = c.mean(axis=0) if vertex_colors_linear else srgb_to_linear(c).mean(axis=0)
        if raw.name is None:
            raw.base_color = tuple(mean)
        else:
            raw.base_color = tuple(np.asarray(raw.base_color) * mean)

    if raw.texture is not None and not has_uv:
        raw.base_color = tuple(np.asarray(raw.base_color) * mean_linear(raw.texture))
        raw.texture = None
    raw.base_color = tuple(clip01(c) for c in raw.base_color)
    raw.roughness, raw.metallic = clip01(raw.roughness), clip01(raw.metallic)
    return raw
