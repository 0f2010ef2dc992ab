"""MTL (Phong) material parameters → the scene's PBR material, and back for :func:`.export.export_obj`.

An MTL material is a Phong model: diffuse ``Kd``, specular colour ``Ks`` with exponent ``Ns``, an
illumination model ``illum``, emission ``Ke`` and, in the Exocortex PBR extension, ``Pr``
(roughness) and ``Pm`` (metallic). The scene's material is the glTF metallic-roughness model
with a dielectric specular factor (1 ↔ F0 = 4 %, 0 ↔ Lambertian). The mapping:

* base colour: ``Kd`` (linear, as Blender reads it); a metal (below) takes ``Ks``, a metal's F0 colour.
* roughness: ``Pr`` when given; else from ``Ns`` through the Phong ↔ Beckmann equivalence of
  Walter et al. 2007, "Microfacet Models for Refraction through Rough Surfaces", §5.2:
  α = √(2 / (Ns + 2)), used as the GGX α, and roughness = √α because the renderer squares
  roughness into α (:func:`interiorvideo.render.brdf.alpha_from_roughness`, as glTF does). This
  keeps the highlight as wide as the Phong lobe the file's author saw (``Ns`` taken as the
  exponent of the half-vector lobe, as Walter et al. state the relation). Blender's OBJ importer
  uses 1 − √(Ns / 1000) instead, an empirical inverse of its own exporter rather than a lobe
  match, so a Blender-written ``Ns`` reads glossier here than in Blender.
* specular factor: 0 under ``illum`` 0 or 1 (the MTL's models without a specular term); else
  2 × mean(``Ks``), clipped to [0, 1], from Blender's OBJ importer (Principled "Specular" =
  mean(Ks), where 0.5 means F0 = 4 %, our factor 1); without ``Ks``, 1 under ``illum`` ≥ 2 and
  0 otherwise (Blender's "highlight on" rule). So ``Ks 0 0 0`` is a purely Lambertian surface.
* metallic: ``Pm`` when given; else 1 when ``Ks`` is much brighter than the diffuse colour
  (mean Ks > 2 × mean Kd) and either bright (mean Ks > 0.5) or tinted (max − min > 0.1) — a
  dielectric's highlight is white and weak (F0 ≈ 4 %), so a strong or coloured ``Ks`` over a dark
  diffuse is a conductor (a mirror is ``Kd 0``, ``Ks 1``). Textured (``map_Kd``) materials keep
  metallic 0: their colour lives in the map. (Blender reads metallic from ``Ka`` under
  ``illum`` 3; ``Ka`` is an ambient colour, often equal to ``Kd``, in most files, so it is not used.)
* emission: ``Ke``.
* maps (issue 16): ``map_Pr`` and ``map_Pm`` (grey, linear) multiply ``Pr`` / ``Pm`` (1 when
  absent, so the map is the value); ``norm``, ``map_Bump`` and ``bump`` are read as tangent-space
  normal maps with ``-bm`` as their scale — what Blender writes and reads (classic OBJ meant a
  height map by ``bump``; height maps are not supported); ``map_d`` (grey) × ``d`` is an alpha
  cut-out at 0.5 (MTL states no cutoff). A map that cannot be read is left out (the factor stays).
* transmission (glass) only under the illumination models with transparency, ``illum`` 4
  (glass), 6 and 7 (refraction): 1 − ``d`` (dissolve), else ``Tr``, else 1; a ``d`` < 1 under
  other models is a fade/cut-out, not glass, and stays opaque. ``illum`` 4 is a thin pane,
  6 and 7 solid refracting glass. ior: ``Ni``, or 1.5 where it is absent or ≤ 1 (many exporters
  write ``Ni 1`` for every material). The tint of the transmitted light is the base colour
  (glTF's single colour): ``Tf`` when given, else ``Kd`` — white when ``Kd`` is black, as
  exporters often write it for glass.

The MTL itself is parsed by trimesh (:func:`trimesh.exchange.obj.parse_mtl`), which keeps every
key, so an absent ``Pr`` is told apart from ``Pr 0``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from trimesh.visual.material import SimpleMaterial

from .common import DEFAULT_BASE_COLOR, DEFAULT_ROUGHNESS, RawMaterial

SPECULAR_PER_KS = 2.0  # specular factor per unit mean Ks (Blender: Specular = mean Ks, 0.5 ↔ F0 4 %)
METAL_KS_OVER_KD = 2.0  # mean Ks / mean Kd above which a strong or tinted Ks reads as a metal
METAL_KS = 0.5  # mean Ks above which a white Ks reads as a metal (F0 ≫ 4 %)
METAL_TINT = 0.1  # max − min of Ks above which a Ks is coloured (a dielectric's highlight is white)
GLASS_ILLUM = (4, 6, 7)  # MTL illumination models with transparency: 4 glass, 6/7 refraction
NS_MAX = 10000.0  # Ns written for a perfectly smooth material (roughness 0 has no finite exponent)


def roughness_from_ns(ns: float) -> float:
    """Perceptual roughness of a Phong exponent: √α with α = √(2 / (Ns + 2)) (Walter et al. 2007)."""
    return float((2.0 / (max(float(ns), 0.0) + 2.0)) ** 0.25)


def ns_from_roughness(roughness: float) -> float:
    """The Phong exponent whose lobe matches ``roughness`` (the inverse of :func:`roughness_from_ns`)."""
    r4 = float(roughness) ** 4
    return NS_MAX if r4 <= 2.0 / (NS_MAX + 2.0) else 2.0 / r4 - 2.0


def ks_from_specular(specular: float) -> float:
    """The grey ``Ks`` that :func:`raw_from_mtl` reads back as this specular factor."""
    return float(specular) / SPECULAR_PER_KS


def _floats(kw: dict, key: str, n: int) -> list[float] | None:
    """``n`` floats of an MTL key (a single value repeated), or None when absent or malformed."""
    try:
        vals = [float(x) for x in np.atleast_1d(kw[key])]
    except (KeyError, TypeError, ValueError):
        return None
    if not vals:
        return None
    return vals[:n] + [vals[-1]] * (n - len(vals[:n]))


MapLoader = Callable[[str, str], "np.ndarray | None"]  # (file name, PIL mode) → uint8 image or None


def raw_from_mtl(mat: SimpleMaterial, image: np.ndarray | None, load: MapLoader | None = None) -> RawMaterial:
    """The raw PBR material of one trimesh-parsed MTL material (``image``: its decoded ``map_Kd``;
    ``load`` reads the other maps the MTL names, relative to it)."""
    kw = {k.lower(): v for k, v in (mat.kwargs or {}).items()}
    kd, ks = _floats(kw, "kd", 3), _floats(kw, "ks", 3)
    pr, pm, ns, ke = _floats(kw, "pr", 1), _floats(kw, "pm", 1), _floats(kw, "ns", 1), _floats(kw, "ke", 3)
    illum = _floats(kw, "illum", 1)
    illum = None if illum is None else int(illum[0])

    base = np.asarray(kd if kd is not None else ((1.0, 1.0, 1.0) if image is not None else DEFAULT_BASE_COLOR))
    if pr is not None:
        roughness = pr[0]
    elif ns is not None:
        roughness = roughness_from_ns(ns[0])
    else:
        roughness = DEFAULT_ROUGHNESS
    if illum in (0, 1):
        specular = 0.0
    elif ks is not None:
        specular = SPECULAR_PER_KS * float(np.mean(ks))
    else:
        specular = 1.0 if illum is not None and illum >= 2 else 0.0
    if pm is not None:
        metallic = pm[0]
    elif ks is not None and image is None and illum not in (0, 1) and _looks_metallic(np.asarray(ks), kd):
        metallic, base = 1.0, np.asarray(ks)
    else:
        metallic = 0.0
    emission = tuple(max(0.0, e) for e in ke) if ke is not None else (0.0, 0.0, 0.0)
    transmission, ior, thin, base = _transmission(kw, illum, base)
    hint = None
    if mat.image is not None:
        hint = Path(str(mat.image.info.get("file_path", "") or "")).stem or None
    raw = RawMaterial(mat.name, tuple(float(c) for c in base), float(roughness), float(metallic), emission,
                      image, hint, specular=float(min(1.0, max(0.0, specular))), transmission=transmission,
                      ior=ior, thin=thin)
    if load is not None:
        _read_maps(raw, kw, load, pr is not None, pm is not None)
    return raw


def _map_file(tokens) -> tuple[str | None, float]:
    """The file name and ``-bm`` value of an MTL map statement's tokens (other options skipped)."""
    tokens = [str(t) for t in np.atleast_1d(tokens)]
    if not tokens:
        return None, 1.0
    bm = 1.0
    if "-bm" in tokens:
        try:
            bm = float(tokens[tokens.index("-bm") + 1])
        except (IndexError, ValueError):
            bm = 1.0
    return tokens[-1], bm


def _read_maps(raw: RawMaterial, kw: dict, load: MapLoader, has_pr: bool, has_pm: bool) -> None:
    """Attach the MTL's roughness, metallic, normal and alpha maps (see the module doc)."""
    def image(key: str, mode: str):
        name, bm = _map_file(kw.get(key, []))
        return (load(name, mode) if name else None), bm

    rough, _ = image("map_pr", "L")
    if rough is not None:
        raw.roughness_map, raw.roughness_channel = rough, 0
        raw.roughness = raw.roughness if has_pr else 1.0
    metal, _ = image("map_pm", "L")
    if metal is not None:
        raw.metallic_map, raw.metallic_channel = metal, 0
        raw.metallic = raw.metallic if has_pm else 1.0
    for key in ("norm", "map_bump", "bump"):
        nrm, bm = image(key, "RGB")
        if nrm is not None:
            raw.normal_map, raw.normal_scale = nrm, bm
            break
    alpha, _ = image("map_d", "L")
    if alpha is not None:
        d = _floats(kw, "d", 1)
        raw.alpha_map, raw.alpha_channel, raw.alpha_mode = alpha, 0, "mask"
        raw.alpha, raw.alpha_cutoff = (d[0] if d else 1.0), 0.5


def _transmission(kw: dict, illum: int | None, base: np.ndarray) -> tuple[float, float, bool, np.ndarray]:
    """(transmission, ior, thin, base colour) from d / Tr / Tf / Ni under illum 4, 6, 7 (module doc)."""
    if illum not in GLASS_ILLUM:
        return 0.0, 1.5, True, base
    d, tr, tf, ni = _floats(kw, "d", 1), _floats(kw, "tr", 1), _floats(kw, "tf", 3), _floats(kw, "ni", 1)
    t = 1.0 - d[0] if d is not None else (tr[0] if tr is not None else 1.0)
    ior = ni[0] if ni is not None and ni[0] > 1.0 else 1.5
    if tf is not None:
        base = np.clip(np.asarray(tf), 0.0, 1.0)
    elif float(np.max(base)) <= 0.0:
        base = np.ones(3)
    return float(min(max(t, 0.0), 1.0)), float(min(ior, 4.0)), illum == 4, base


def _looks_metallic(ks: np.ndarray, kd: list[float] | None) -> bool:
    """A Ks much brighter than Kd, and bright or coloured: a conductor (see the module doc)."""
    diffuse = float(np.mean(kd)) if kd is not None else 0.0
    strong = float(ks.mean()) > METAL_KS or float(ks.max() - ks.min()) > METAL_TINT
    return strong and float(ks.mean()) > METAL_KS_OVER_KD * diffuse
