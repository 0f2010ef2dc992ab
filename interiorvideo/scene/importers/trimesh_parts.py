"""trimesh geometry → raw arrays and raw materials for the glTF reader (through trimesh), and
the material finishing (vertex colours, textures without UVs, clipping) every reader shares.

Materials: a glTF ``PBRMaterial`` gives base colour (8-bit, as trimesh stores
``baseColorFactor``), metallic/roughness (glTF defaults 1) and emission (times
``KHR_materials_emissive_strength``, which trimesh ignores and the glTF reader passes in);
the metallicRoughness texture becomes the roughness (G) and metallic (B) maps, the normal
texture a normal map (its scale from the file's JSON, which trimesh does not keep), alphaMode /
alphaCutoff / the base colour's alpha an alpha map; an emissive texture only scales its factor by
its mean value. An MTL ``SimpleMaterial`` goes through :mod:`.mtl` (Phong → PBR). Vertex colours
multiply in their mean. A texture on a mesh without UVs folds its mean into its factor (colour,
roughness, metallic, alpha); a normal map without UVs is dropped.
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


def uv_and_material(geom, n_vertices: int, *, vertex_colors_linear: bool, emissive_strength: dict[str, float],
                    normal_scale: dict[str, float] | None = None) -> tuple[np.ndarray | None, RawMaterial]:
    """The geometry's UVs (None unless one per vertex and a texture uses them) and raw material."""
    uv = getattr(geom.visual, "uv", None)
    uv = None if uv is None or len(uv) != n_vertices else np.asarray(uv, dtype=np.float32)
    mat = material_from_visual(geom.visual, vertex_colors_linear=vertex_colors_linear,
                               emissive_strength=emissive_strength, has_uv=uv is not None,
                               normal_scale=normal_scale or {})
    return (uv if mat.has_maps else None), mat


def image_array(img, mode: str = "RGB") -> np.ndarray | None:
    """A PIL image as uint8 (H, W, 3) (``mode`` "RGBA": (H, W, 4)), or None when absent or undecodable."""
    if img is None:
        return None
    try:
        return np.asarray(img.convert(mode), dtype=np.uint8)
    except Exception:  # an image PIL cannot decode: treat as absent
        return None


def _from_pbr(mat, emissive_strength: dict[str, float], normal_scale: dict[str, float]) -> RawMaterial:
    bcf = mat.baseColorFactor
    base = np.asarray(bcf, dtype=np.float64)[:3] / 255.0 if bcf is not None else np.ones(3)
    # glTF defaults: metallic 1, roughness 1.
    metallic = 1.0 if mat.metallicFactor is None else float(mat.metallicFactor)
    roughness = 1.0 if mat.roughnessFactor is None else float(mat.roughnessFactor)
    mr = image_array(getattr(mat, "metallicRoughnessTexture", None))
    emission = np.zeros(3) if mat.emissiveFactor is None else np.asarray(mat.emissiveFactor, dtype=np.float64)[:3]
    em_tex = image_array(getattr(mat, "emissiveTexture", None))
    if em_tex is not None:
        emission = emission * mean_linear(em_tex)
    emission = emission * emissive_strength.get(mat.name or "", 1.0)
    mode = str(getattr(mat, "alphaMode", None) or "OPAQUE").lower()
    mode = mode if mode in ("mask", "blend") else "opaque"
    base_tex = image_array(mat.baseColorTexture, "RGBA" if mode != "opaque" else "RGB")
    if base_tex is not None and mode != "opaque" and (base_tex[..., 3] == 255).all():
        base_tex = base_tex[..., :3].copy()  # no alpha in the image: the factor alone decides
    raw = RawMaterial(mat.name, tuple(base), roughness, metallic, tuple(np.maximum(emission, 0.0)), base_tex,
                      emission_map=em_tex is not None,
                      emission_two_sided=bool(getattr(mat, "doubleSided", False)))
    if mr is not None:  # glTF: one texture, G = roughness, B = metallic (linear data)
        raw.roughness_map, raw.roughness_channel, raw.metallic_map, raw.metallic_channel = mr, 1, mr, 2
    raw.normal_map = image_array(getattr(mat, "normalTexture", None))
    if raw.normal_map is not None:
        raw.normal_scale = float(normal_scale.get(mat.name or "", 1.0))
    if mode != "opaque":
        raw.alpha_mode = mode
        raw.alpha = float(bcf[3]) / 255.0 if bcf is not None and len(bcf) > 3 else 1.0
        # glTF: MASK cuts at alphaCutoff (default 0.5); BLEND is rendered as a mask at 0.5 (Material).
        cutoff = getattr(mat, "alphaCutoff", None)
        raw.alpha_cutoff = float(cutoff) if mode == "mask" and cutoff is not None else 0.5
        if base_tex is not None and base_tex.shape[2] == 4:
            raw.alpha_map, raw.alpha_channel = base_tex, 3
    return raw


def material_from_visual(visual, *, vertex_colors_linear: bool, emissive_strength: dict[str, float],
                         has_uv: bool, normal_scale: dict[str, float] | None = None) -> RawMaterial:
    """A raw material from a trimesh visual (PBR from glTF, Simple from OBJ, or vertex colours)."""

    mat = getattr(visual, "material", None) if getattr(visual, "kind", None) != "vertex" else None
    if isinstance(mat, PBRMaterial):
        raw = _from_pbr(mat, emissive_strength, normal_scale or {})
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
        raw.base_color = tuple(np.asarray(raw.base_color) * mean_linear(raw.texture[..., :3]))
        raw.texture = None
    if not has_uv:  # maps without UVs cannot be looked up: their mean scales the factor
        if raw.roughness_map is not None:
            raw.roughness *= _mean_channel(raw.roughness_map, raw.roughness_channel)
        if raw.metallic_map is not None:
            raw.metallic *= _mean_channel(raw.metallic_map, raw.metallic_channel)
        if raw.alpha_map is not None:
            raw.alpha *= _mean_channel(raw.alpha_map, raw.alpha_channel)
        raw.roughness_map = raw.metallic_map = raw.normal_map = raw.alpha_map = None
    raw.alpha = clip01(raw.alpha)
    raw.base_color = tuple(clip01(c) for c in raw.base_color)
    raw.roughness, raw.metallic = clip01(raw.roughness), clip01(raw.metallic)
    return raw


def _mean_channel(img: np.ndarray, channel: int) -> float:
    """Mean of one channel of a uint8 map, in [0, 1] (data maps are linear)."""
    img = img if img.ndim == 3 else img[..., None]
    return float(img[..., min(channel, img.shape[2] - 1)].mean()) / 255.0
