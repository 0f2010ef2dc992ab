"""Mitsuba 3 as the reference renderer: our Scene exported to a Mitsuba scene dict, rendered with
settings matched to :class:`~interiorvideo.render.RenderSettings`.

Mitsuba's Python style throughout: the scene is a plain dict handed to ``mi.load_dict``; meshes are
``mi.Mesh`` objects built in memory (no PLY files) and put in that dict.

Mappings (ours → Mitsuba) and where they are approximate:

- **Camera.** OpenCV pinhole (K, camera-to-world pose; x right, y down, z forward) → ``perspective``
  with ``fov`` along x from fx, ``principal_point_offset_x/y`` = ((W/2 − cx)/W, (H/2 − cy)/H), and
  ``to_world = pose · diag(−1, −1, 1, 1)`` (Mitsuba's camera looks along +Z with +Y up and +X to
  the *left*). Square pixels only. Our renderer shoots every ray through the pixel centre, so
  :func:`render_mitsuba` does too by default (``pixel="centre"``); ``pixel="area"`` is Mitsuba's
  box-filtered pixel area (anti-aliased edges, which bias region means near edges).
- **BSDF.** ``bsdf="x2v"`` (default): every material becomes the ``x2v`` plugin of
  :mod:`mitsuba_bsdf` — exactly the contract's model (two-sided Lambert (1 − m)(1 − F)·base +
  GGX·Schlick, our lobe-selection probability), so reference and ours differ only by noise.
  ``bsdf="principled"`` keeps Mitsuba's own BSDFs for comparison, as follows. Every BSDF is
  wrapped in ``twosided`` (our surfaces shade from whichever side is hit).
  A Lambertian material (metallic 0, specular 0) — the only case the project's transport is
  claimed exact for — becomes ``diffuse`` with reflectance base colour (× texture). Anything else
  becomes ``principled`` (GGX, α = roughness², as ours) with base_color, roughness, metallic and
  ``specular = 0.5·specular`` (Mitsuba's principled gives F0 = 0.08·specular, ours 0.04·specular),
  spec_tint/sheen/clearcoat 0. Approximate: principled's diffuse lobe is Disney's (roughness
  dependent retro-reflection) rather than our (1 − F)·Lambert, and its dielectric Fresnel is the
  exact one at η from F0 rather than Schlick's.
- **Dielectrics.** A transmissive material (transmission t) is ``blendbsdf`` (weight t) of the
  opaque BSDF above and :func:`dielectric_bsdf_dict`'s ``thindielectric`` / ``dielectric`` /
  ``roughdielectric`` (t = 1: that alone), outside ior 1, tint = base colour. Mitsuba's
  roughdielectric uses the separable Smith G, as ours; like ours, its shadow rays are blocked
  by glass (a delta light never shines through a smooth pane in Mitsuba's ``path``).
- **Textures.** Base-colour textures (sRGB uint8) are linearised as our renderer does, multiplied
  by the base-colour factor and given to a ``bitmap`` texture (``raw``, bilinear, repeat); our
  UVs have v = 0 at the bottom, Mitsuba's at the top row, so v is flipped on export.
- **Texture maps** (issue 16): roughness/metallic maps become single-channel ``bitmap`` textures
  (factor × channel, raw) in ``principled``; a normal map wraps the BSDF in ``normalmap``; an
  alpha cut-out wraps it in ``mask`` with a 0/1 opacity bitmap, and such scenes render with
  ``volpath`` (see :func:`normalmap_dict`, :func:`mask_dict` for where they are approximate).
- **Emission.** An object named by an ``area`` light gets an ``area`` emitter of radiance
  colour × intensity; an emissive object without a light gets radiance = its emission. Mitsuba's
  area emitters radiate from the front (the side the triangle winding's normal points to), as
  our next-event estimation, path hits and camera do. A two-sided emitter
  (``Material.emission_two_sided``) also gets a reversed copy of its triangles 1 mm behind it
  with a ``null`` BSDF and the same emitter (:func:`back_emitter`). An emissive object without
  an area light lights the scene in ours only through paths that hit it (no next-event
  estimation of it); the expectation is the same.
- **Point/spot/sun.** ``point`` with intensity = our radiant intensity (W/sr); ``spot`` likewise
  with ``beam_width`` = inner and ``cutoff_angle`` = outer half-angle — Mitsuba's falloff is linear
  in angle between them, ours is a smoothstep in cosine, so they agree inside the inner cone and
  beyond the outer one only; ``directional`` with irradiance = colour × intensity, pointing along
  −direction (ours points to the sun).
- **Sky.** Every sky kind is tabulated once into an equirectangular float32 table
  (:mod:`.environment`), laid out as Mitsuba's ``envmap`` reads it, and both renderers look up that
  same table bilinearly: the export hands Mitsuba the table itself, so the two see the same radiance
  along every direction (a map's rotation becomes the envmap's ``to_world``). Our renderer sees the
  sky only through camera rays and paths (no next-event estimation of it); the expectation is the
  same, except that a path's last vertex (``max_bounces``) samples no further direction, so sky
  light at depth ``max_depth`` is missing on our side (closed rooms are unaffected).
- **Integrator.** ``path`` with ``max_depth = max_bounces + 2`` (our renderer has next-event
  estimation at the primary hit and at each of ``max_bounces`` path vertices, and counts
  emitters hit by its paths with MIS, as Mitsuba's ``path`` does); the intrinsic
  channels come from an ``aov`` integrator around it (depth is Mitsuba's ray distance, converted
  here to our z-depth). Our ``indirect_clamp`` (default 8) is a bias Mitsuba does not have:
  compare with ``indirect_clamp=None``.
"""

from __future__ import annotations

import glob
import os
import re
import sys
from dataclasses import replace
from typing import Any

import numpy as np

from ..colour import srgb_to_linear
from ..scene.model import Light, Material, Scene, SceneObject
from .brdf import SMOOTH_ROUGHNESS
from .environment import RESOLUTION, environment
from .scenedata import texture_texels

VARIANT = "llvm_ad_rgb"
MIN_LLVM = 16  # drjit's LLVM backend aborts on LLVM 15 ("Cannot select: fminimum")
LLVM_GLOBS = ("/usr/lib/x86_64-linux-gnu/libLLVM*.so*", "/usr/lib/llvm-*/lib/libLLVM*.so*",
              "/usr/lib/aarch64-linux-gnu/libLLVM*.so*", "/usr/lib64/libLLVM*.so*", "/usr/local/lib/libLLVM*.so*")
AOVS = (("depth", "depth", 1), ("albedo", "albedo", 3), ("position", "position", 3), ("normal", "sh_normal", 3))


def find_libllvm() -> str | None:
    """The newest shared libLLVM ≥ 16 on this machine (Debian: ``libLLVM-19.so``), or None."""
    best: tuple[int, str] | None = None
    for pattern in LLVM_GLOBS:
        for path in glob.glob(pattern):
            m = re.search(r"libLLVM-(\d+)|libLLVM\.so\.(\d+)|llvm-(\d+)/", path)
            if not m or not os.path.isfile(path):
                continue
            version = int(next(g for g in m.groups() if g))
            if version >= MIN_LLVM and (best is None or version > best[0]):
                best = (version, path)
    return best[1] if best else None


def mitsuba(variant: str | None = None):
    """Import Mitsuba with ``variant`` set (None: keep the one already set, else :data:`VARIANT`),
    with the project's plugins (``x2v`` BSDF, ``x2v_path`` integrator) registered. LLVM variants
    need ``DRJIT_LIBLLVM_PATH`` pointing at a libLLVM ≥ 16; it is set here (only when unset) to
    the newest one found."""
    if variant is None:
        loaded = sys.modules.get("mitsuba")
        variant = (loaded.variant() if loaded is not None else None) or VARIANT
    if variant.startswith("llvm") and "DRJIT_LIBLLVM_PATH" not in os.environ:
        path = find_libllvm()
        if path is None:
            raise RuntimeError(
                f"Mitsuba's {variant} variant needs a shared libLLVM >= {MIN_LLVM} and none was found "
                f"(looked in {', '.join(LLVM_GLOBS)}; LLVM 15 aborts with 'Cannot select: fminimum'). "
                "Install it: `apt-get install libllvm19` (scripts/install.sh does), or set "
                "DRJIT_LIBLLVM_PATH to a libLLVM.so of version 16 or newer.")
        os.environ.setdefault("DRJIT_LIBLLVM_PATH", path)
    import mitsuba as mi

    if mi.variant() != variant:
        mi.set_variant(variant)
    from . import mitsuba_bsdf, mitsuba_integrator

    mitsuba_bsdf.register(mi)
    mitsuba_integrator.register(mi)
    return mi


# -- export --------------------------------------------------------------------------------------
def camera_dict(K: np.ndarray, pose: np.ndarray, width: int, height: int, spp: int, rfilter: str = "box") -> dict:
    mi = mitsuba()
    K = np.asarray(K, np.float64)
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    if abs(fx - fy) > 1e-6 * fx or abs(K[0, 1]) > 1e-9:
        raise ValueError(f"Mitsuba's perspective camera needs square pixels and no skew, got K={K.tolist()}")
    fov = np.degrees(2.0 * np.arctan(0.5 * width / fx))
    to_world = np.asarray(pose, np.float64) @ np.diag([-1.0, -1.0, 1.0, 1.0])
    return {
        "type": "perspective", "fov": float(fov), "fov_axis": "x",
        "principal_point_offset_x": float((width / 2.0 - cx) / width),
        "principal_point_offset_y": float((height / 2.0 - cy) / height),
        "near_clip": 1e-3, "far_clip": 1e4,
        "to_world": mi.ScalarTransform4f(to_world.astype(np.float32)),
        "film": {"type": "hdrfilm", "width": int(width), "height": int(height), "pixel_format": "rgb",
                 "rfilter": {"type": rfilter}},
        "sampler": {"type": "independent", "sample_count": int(spp)},
    }


def _rgb(c) -> dict:
    return {"type": "rgb", "value": [float(x) for x in c]}


def _reflectance(scene: Scene, m: Material) -> dict:
    if m.texture is None:
        return _rgb(m.base_color)
    mi = mitsuba()
    tex = srgb_to_linear(scene.textures[m.texture][..., :3].astype(np.float64) / 255.0)
    tex = np.ascontiguousarray(tex * np.asarray(m.base_color), np.float32)
    return {"type": "bitmap", "bitmap": mi.Bitmap(tex), "raw": True, "filter_type": "bilinear",
            "wrap_mode": "repeat"}


def dielectric_bsdf_dict(m: Material) -> dict:
    """The dielectric lobe of a transmissive material: ``thindielectric`` (thin), ``dielectric``
    (solid, roughness below SMOOTH_ROUGHNESS) or ``roughdielectric`` (GGX, α = roughness², visible
    normal sampling), air outside (ext_ior 1, not Mitsuba's default 1.000277), the base colour
    as specular transmittance (glTF's tint). Never ``twosided``: its sides are inside/outside."""
    common = {"int_ior": float(m.ior), "ext_ior": 1.0, "specular_transmittance": _rgb(m.base_color)}
    if m.thin:
        return {"type": "thindielectric", **common}
    if m.roughness < SMOOTH_ROUGHNESS:
        return {"type": "dielectric", **common}
    return {"type": "roughdielectric", "distribution": "ggx", "alpha": float(m.roughness) ** 2,
            "sample_visible": True, **common}


BSDFS = ("x2v", "principled")


def bsdf_dict(scene: Scene, m: Material, bsdf: str = "x2v") -> dict:
    """Our material as a Mitsuba BSDF: the ``x2v`` plugin (exact; it is two-sided itself) or
    ``principled``/``diffuse`` (approximate; see the module docstring for the mapping), inside
    ``normalmap`` for a normal map and ``mask`` for a cut-out. The x2v plugin takes scalar
    roughness and metallic, and inside ``normalmap`` it rendered the textured room 4–13 % dark
    (its own two-sided mirroring against normalmap's frame, not yet understood): a material with
    roughness/metallic maps or a normal map gets the principled mapping (``diffuse`` and
    ``metal_blend_dict`` where that is exact) whichever ``bsdf`` is asked for."""
    if bsdf not in BSDFS:
        raise ValueError(f"bsdf must be one of {BSDFS}, got {bsdf!r}")
    if m.transmission > 0.0:
        if m.transmission >= 1.0:
            return dielectric_bsdf_dict(m)
        return {"type": "blendbsdf", "weight": float(m.transmission),
                "bsdf_0": bsdf_dict(scene, replace(m, transmission=0.0), bsdf), "bsdf_1": dielectric_bsdf_dict(m)}
    textured = m.roughness_texture is not None or m.metallic_texture is not None
    if bsdf == "x2v" and not textured and m.normal_texture is None:
        out = {"type": "x2v", "base_color": _reflectance(scene, m), "roughness": float(m.roughness),
               "metallic": float(m.metallic), "specular": float(m.specular)}
        return mask_dict(scene, m, out) if m.masked else out
    if m.metallic == 0.0 and m.specular == 0.0 and not textured:
        inner = {"type": "diffuse", "reflectance": _reflectance(scene, m)}
    elif m.metallic_texture is not None and m.specular == 0.0:
        inner = metal_blend_dict(scene, m)
    else:
        inner = {"type": "principled", "base_color": _reflectance(scene, m),
                 "roughness": _scalar_map(scene, m.roughness, m.roughness_texture, m.roughness_channel),
                 "metallic": _scalar_map(scene, m.metallic, m.metallic_texture, m.metallic_channel),
                 "specular": float(max(0.5 * m.specular, 1e-4)),
                 "spec_tint": 0.0, "sheen": 0.0, "clearcoat": 0.0, "anisotropic": 0.0}
    if m.normal_texture is not None:
        inner = normalmap_dict(scene, m, inner)
    out = {"type": "twosided", "bsdf": inner}
    return mask_dict(scene, m, out) if m.masked else out


# -- texture maps beyond base colour (issue 16) ---------------------------------------------------
def _bitmap(img: np.ndarray, filter_type: str = "bilinear") -> dict:
    mi = mitsuba()
    img = np.ascontiguousarray(img, np.float32)
    return {"type": "bitmap", "bitmap": mi.Bitmap(img if img.ndim == 3 else img[..., None]), "raw": True,
            "filter_type": filter_type, "wrap_mode": "repeat"}


def _map_channel(scene: Scene, key: str, channel: int) -> np.ndarray:
    """One channel of a texture as the renderer reads it (scenedata.texture_texels), (H, W)."""
    return texture_texels(scene.textures[key], key not in scene.linear_textures)[..., channel]


def _scalar_map(scene: Scene, factor: float, key: str | None, channel: int):
    """A roughness or metallic parameter: the factor, or factor × the map's channel as a
    single-channel ``bitmap`` (raw: the data is linear)."""
    if key is None:
        return float(factor)
    return _bitmap(float(factor) * _map_channel(scene, key, channel))


def metal_blend_dict(scene: Scene, m: Material) -> dict:
    """A metallic map on a material without a dielectric lobe (specular 0): ``blendbsdf`` of
    ``diffuse`` (metallic 0: ours is Lambertian there) and ``principled`` at metallic 1 (a GGX
    conductor, as ours), weighted by the metallic map. Exact at metallic 0 and 1; in between ours
    is not a linear blend (its Fresnel mixes F0), so texels between 0 and 1 differ. ``principled``
    with a metallic map instead would give the metallic-0 texels Disney's retro-reflective
    diffuse, which is not ours (see test_render_glossy.py)."""
    metal = {"type": "principled", "base_color": _reflectance(scene, m),
             "roughness": _scalar_map(scene, m.roughness, m.roughness_texture, m.roughness_channel),
             "metallic": 1.0, "specular": 1e-4, "spec_tint": 0.0, "sheen": 0.0, "clearcoat": 0.0, "anisotropic": 0.0}
    return {"type": "blendbsdf", "weight": _scalar_map(scene, m.metallic, m.metallic_texture, m.metallic_channel),
            "bsdf_0": {"type": "diffuse", "reflectance": _reflectance(scene, m)}, "bsdf_1": metal}


def normalmap_dict(scene: Scene, m: Material, inner: dict) -> dict:
    """Mitsuba's ``normalmap`` BSDF around ``inner``: its frame is (s = ∂p/∂u made tangent,
    t = n × s, n), ours (T along +u, B along +v, N) for UVs that are not mirrored; we flip v on
    export, which Mitsuba's t (from the normal, not ∂p/∂v) does not see. Mitsuba has no scale:
    a ``normal_scale`` ≠ 1 is baked into the texels (normalised per texel; ours scales after the
    bilinear lookup, so they differ slightly between texels). Mitsuba's shadow-terminator term and
    its flipping of invalid normals are turned off: ours is the plain shading-normal BSDF with
    directions below the geometric surface rejected, which is what ``normalmap`` is without them."""
    rgb = texture_texels(scene.textures[m.normal_texture], False)[..., :3].astype(np.float64)
    if m.normal_scale != 1.0:
        n = (2.0 * rgb - 1.0) * np.array([m.normal_scale, m.normal_scale, 1.0])
        rgb = 0.5 * n / np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12) + 0.5
    # Mitsuba ≥ 3.6 defaults to two changes of the plain shading-normal BSDF that ours is: a
    # shadow-terminator term (Estevez et al. 2019) and flipping normals the view sees from below.
    return {"type": "normalmap", "normalmap": _bitmap(rgb), "bsdf": inner, "use_shadowing_function": False,
            "flip_invalid_normals": False}


def mask_dict(scene: Scene, m: Material, inner: dict) -> dict:
    """Mitsuba's ``mask`` BSDF around ``inner`` for a cut-out: opacity 1 where alpha ≥ cutoff, 0
    where it is cut, as a nearest-filtered bitmap. Ours thresholds the bilinearly interpolated
    alpha, which for a binary alpha map puts the edge at the same texel boundaries (corners where
    two cut texels meet diagonally differ within a texel). Mitsuba's ``path`` integrator lets
    the masked surface block light samples; :func:`integrator_dict` uses ``volpath``, which
    traces them through (Mitsuba's docs recommend it for ``mask``)."""
    if m.alpha_texture is None:
        opacity = np.full((1, 1), float(m.alpha >= m.alpha_cutoff))
    else:
        opacity = (m.alpha * _map_channel(scene, m.alpha_texture, m.alpha_channel) >= m.alpha_cutoff).astype(float)
    return {"type": "mask", "opacity": _bitmap(opacity, "nearest"), "bsdf": inner}


def mesh_object(scene: Scene, obj: SceneObject, emitter: dict | None, bsdf: str = "x2v",
                bsdfs: dict | None = None):
    """One object as an in-memory ``mi.Mesh`` with its BSDF (and area emitter). ``bsdfs``: loaded
    BSDFs by material, shared by the objects of one material (fewer BSDFs for Dr.Jit to trace
    and compile into the render kernel)."""
    mi = mitsuba()
    mesh = obj.mesh
    props = mi.Properties()
    cache = {} if bsdfs is None else bsdfs
    if obj.material not in cache:
        cache[obj.material] = mi.load_dict(bsdf_dict(scene, obj.material, bsdf))
    props["bsdf"] = cache[obj.material]
    props["face_normals"] = True  # our renderer shades with triangle normals
    if emitter is not None:
        props["emitter"] = mi.load_dict(emitter)
    has_uv = mesh.uvs is not None
    out = mi.Mesh(f"{obj.instance_id:05d}_{obj.name}", len(mesh.vertices), mesh.num_triangles, props,
                  has_vertex_normals=False, has_vertex_texcoords=has_uv)
    params = mi.traverse(out)
    params["vertex_positions"] = mi.Float(np.ascontiguousarray(mesh.vertices, np.float32).ravel())
    params["faces"] = mi.UInt32(np.ascontiguousarray(mesh.triangles, np.uint32).ravel())
    if has_uv:
        uv = mesh.uvs.astype(np.float32).copy()
        uv[:, 1] = 1.0 - uv[:, 1]  # ours: v = 0 at the bottom; Mitsuba: v = 0 is the top row
        params["vertex_texcoords"] = mi.Float(uv.ravel())
    params.update()
    return out


def back_emitter(obj: SceneObject, emitter: dict, lift: float = 1e-3):
    """The back side of a two-sided emitter: Mitsuba's area emitters radiate from the front only,
    so the object's triangles are repeated with the winding reversed, ``lift`` metres behind the
    surface, with a ``null`` BSDF (rays pass through it to the real surface) and the same emitter.
    At 0.1 mm the ray leaving the null copy started beyond the real surface and the panel leaked
    light (its back side 4 % too bright); at 1 mm and 5 mm the regions agree alike."""
    mi = mitsuba()
    mesh = obj.mesh
    v = mesh.vertices.astype(np.float64)[mesh.triangles]
    n = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    verts = (v - lift * n[:, None, :]).reshape(-1, 3)  # unshared vertices: each face moves along its own normal
    faces = np.arange(len(verts)).reshape(-1, 3)[:, ::-1]
    props = mi.Properties()
    props["bsdf"] = mi.load_dict({"type": "null"})
    props["emitter"] = mi.load_dict(emitter)
    out = mi.Mesh(f"{obj.instance_id:05d}_{obj.name}_back", len(verts), len(faces), props, has_vertex_normals=False,
                  has_vertex_texcoords=False)
    params = mi.traverse(out)
    params["vertex_positions"] = mi.Float(np.ascontiguousarray(verts, np.float32).ravel())
    params["faces"] = mi.UInt32(np.ascontiguousarray(faces, np.uint32).ravel())
    params.update()
    return out


def sky_envmap(scene: Scene, resolution: int = RESOLUTION) -> dict | None:
    """The sky as an ``envmap`` of exactly the table our renderer looks up (None when it is black)."""
    env = environment(scene.sky, resolution)
    if env.is_black:
        return None
    mi = mitsuba()
    # Mitsuba's envmap: texel (u, v) looks along (sin φ sin θ, cos θ, −cos φ sin θ) in its local frame;
    # to_world maps that frame's +Y onto our +Z (up), then turns it by the map's rotation about +Z.
    a = 2.0 * np.pi * env.u_offset
    rot = np.array([[np.cos(a), -np.sin(a), 0, 0], [np.sin(a), np.cos(a), 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    to_world = rot @ np.array([[1, 0, 0, 0], [0, 0, -1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], np.float64)
    return {"type": "envmap", "bitmap": mi.Bitmap(env.table),
            "to_world": mi.ScalarTransform4f(to_world.astype(np.float32))}


def light_dict(light: Light) -> dict | None:
    mi = mitsuba()
    power = [float(c) * float(light.intensity) for c in light.color]
    if light.kind == "point":
        return {"type": "point", "position": [float(x) for x in light.position], "intensity": _rgb(power)}
    if light.kind == "spot":
        pos = np.asarray(light.position, np.float64)
        d = np.asarray(light.direction, np.float64)
        d /= np.linalg.norm(d)
        up = [0.0, 0.0, 1.0] if abs(d[2]) < 0.99 else [0.0, 1.0, 0.0]
        inner, outer = light.cone_deg
        return {"type": "spot", "intensity": _rgb(power), "beam_width": float(inner), "cutoff_angle": float(outer),
                "to_world": mi.ScalarTransform4f.look_at(origin=pos.tolist(), target=(pos + d).tolist(), up=up)}
    if light.kind == "sun":
        d = -np.asarray(light.direction, np.float64)
        return {"type": "directional", "direction": (d / np.linalg.norm(d)).tolist(), "irradiance": _rgb(power)}
    return None  # area lights ride on their objects


def integrator_dict(max_depth: int, rr_depth: int = 5, aovs: bool = True, kind: str = "path") -> dict:
    """``path`` (or ``volpath``, for scenes with ``mask`` cut-outs), inside an ``aov`` integrator."""
    path = {"type": kind, "max_depth": int(max_depth), "rr_depth": int(rr_depth), "hide_emitters": False}
    if not aovs:
        return path
    return {"type": "aov", "aovs": ",".join(f"{name}:{kind}" for name, kind, _ in AOVS), "rgb": path}


def scene_to_mitsuba(scene: Scene, camera_K: np.ndarray, pose: np.ndarray, width: int, height: int, spp: int = 64,
                     max_depth: int = 10, rr_depth: int = 5, aovs: bool = True,
                     sky_resolution: int = RESOLUTION, bsdf: str = "x2v", integrator: dict | None = None) -> dict:
    """Our Scene, camera and settings as a Mitsuba scene dict (for ``mi.load_dict``). ``bsdf``:
    "x2v" (our model exactly) or "principled"; ``integrator`` replaces the default ``path``
    (+ ``aov``) integrator dict."""
    if bsdf not in BSDFS:
        raise ValueError(f"bsdf must be one of {BSDFS}, got {bsdf!r}")
    area = {li.object_id: li for li in scene.lights if li.kind == "area"}
    kind = "volpath" if any(o.material.masked for o in scene.objects) else "path"
    d: dict[str, Any] = {"type": "scene", "integrator": integrator or integrator_dict(max_depth, rr_depth, aovs, kind),
                         "sensor": camera_dict(camera_K, pose, width, height, spp)}
    bsdfs: dict = {}
    for obj in scene.objects:
        emitter = None
        if obj.instance_id in area:
            li = area[obj.instance_id]
            emitter = {"type": "area", "radiance": _rgb([c * li.intensity for c in li.color])}
        elif obj.material.is_emissive:
            emitter = {"type": "area", "radiance": _rgb(obj.material.emission)}
        d[f"obj_{obj.instance_id}"] = mesh_object(scene, obj, emitter, bsdf, bsdfs)
        if emitter is not None and obj.material.emission_two_sided:
            d[f"obj_{obj.instance_id}_back"] = back_emitter(obj, emitter)
    for i, li in enumerate(scene.lights):
        ld = light_dict(li)
        if ld is not None:
            d[f"light_{i}"] = ld
    sky = sky_envmap(scene, sky_resolution)
    if sky is not None:
        d["sky"] = sky
    return d


# -- render --------------------------------------------------------------------------------------
def render_mitsuba(scene: Scene, camera_K: np.ndarray, pose: np.ndarray, width: int, height: int, spp: int = 64,
                   max_depth: int = 10, seed: int = 0, aovs: bool = True, pixel: str = "centre",
                   **kwargs) -> dict[str, np.ndarray]:
    """Render with Mitsuba: linear ``rgb`` (H, W, 3) and, with ``aovs``, ``depth`` (our z-depth,
    (H, W, 1)), ``albedo`` (H, W, 3), world ``position`` (H, W, 3) and camera-space ``normal``
    (OpenCV axes, facing the camera, (H, W, 3)).

    ``pixel="centre"`` (default) shoots every sample through the pixel centre, as our renderer
    does (its passes are pixel-centre samples): a wavefront of camera rays from
    ``sensor.sample_ray`` handed to ``integrator.sample``, Mitsuba's own render loop minus the
    pixel jitter. ``pixel="area"`` is plain ``mi.render`` (box-filtered pixel area)."""
    if aovs and kwargs.get("integrator") is not None:
        raise ValueError("render_mitsuba: a replacement integrator comes without the aov wrapper; pass aovs=False")
    mi = mitsuba()
    import drjit as dr

    ms = mi.load_dict(scene_to_mitsuba(scene, camera_K, pose, width, height, spp, max_depth, aovs=aovs, **kwargs))
    n_aov = sum(k for _, _, k in AOVS) if aovs else 0
    if pixel == "area":
        img = np.array(mi.render(ms, spp=int(spp), seed=int(seed)), dtype=np.float32)
    elif pixel == "centre":
        sensor, integrator = ms.sensors()[0], ms.integrator()
        n = width * height * int(spp)
        sampler = sensor.sampler().clone()
        sampler.seed(int(seed), n)
        pix = dr.arange(mi.UInt32, n) // int(spp)
        pos = mi.Point2f((mi.Float(pix % width) + 0.5) / width, (mi.Float(pix // width) + 0.5) / height)
        ray, weight = sensor.sample_ray(0.0, sampler.next_1d(), pos, mi.Point2f(0.5, 0.5))
        spec, _, extra = integrator.sample(ms, sampler, ray)
        chans = [np.array(c, np.float32) for c in (spec * weight)]
        chans += [np.array(c, np.float32) for c in extra[len(extra) - n_aov:]] if aovs else []
        img = np.stack(chans, axis=-1).reshape(height, width, int(spp), -1).mean(axis=2)
    else:
        raise ValueError(f"pixel must be 'centre' or 'area', got {pixel!r}")
    out = {"rgb": img[..., :3]}
    if aovs:
        c = 3
        for name, _, k in AOVS:
            out[name] = img[..., c:c + k]
            c += k
        R, origin = np.asarray(pose)[:3, :3], np.asarray(pose)[:3, 3]
        hit = out["depth"][..., 0] > 0
        z = (out["position"] - origin) @ R[:, 2]
        out["depth"] = np.where(hit, z, 0.0)[..., None].astype(np.float32)
        n = out["normal"] @ R  # world → OpenCV camera axes
        view = (out["position"] - origin) @ R
        flip = np.einsum("...i,...i->...", n, view) > 0
        n[flip] *= -1
        norm = np.linalg.norm(n, axis=-1, keepdims=True)
        out["normal"] = np.where(norm > 0, n / np.maximum(norm, 1e-12), 0.0).astype(np.float32)
    return out


# -- comparison ----------------------------------------------------------------------------------
def region_ratio(ours: tuple[np.ndarray, np.ndarray], ref: tuple[np.ndarray, np.ndarray],
                 mask: np.ndarray) -> tuple[float, float]:
    """Ratio of region means, ours / reference, over ``mask``, and its 1σ Monte-Carlo noise.

    Each side is given as two renders with different seeds (images (H, W[, C]); channels are
    averaged). The noise of a region mean comes from the seed-to-seed difference: a pixel's
    variance is var(x₁ − x₂)/2, so the mean of both seeds over N pixels has standard error
    std(x₁ − x₂)/(2√N) (pixels are independent: ours hashes its sample streams per 1 cm cell,
    Mitsuba per pixel)."""
    mask = np.asarray(mask, bool)
    n = int(mask.sum())
    if n < 2:
        raise ValueError(f"region has {n} pixels; need at least 2")

    def stats(pair):
        x1, x2 = (np.asarray(x, np.float64) for x in pair)
        if x1.ndim == 3:
            x1, x2 = x1.mean(axis=-1), x2.mean(axis=-1)
        mean = 0.5 * (x1[mask].mean() + x2[mask].mean())
        return mean, (x1[mask] - x2[mask]).std() / (2.0 * np.sqrt(n))

    a, sa = stats(ours)
    b, sb = stats(ref)
    r = a / b
    return float(r), float(abs(r) * np.hypot(sa / a, sb / b))
