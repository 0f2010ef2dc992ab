"""Parametric edits on intrinsic passes, applied before X2Video samples from them.

X2Video renders RGB from albedo, normal, roughness, metallic and irradiance, so editing a video
means editing those channels: recolour an object, change its material, perturb its geometry or
relight it. Edits are frozen dataclasses (their CLI string form is in :mod:`.serialise`), and
:func:`apply_edits` returns new arrays that differ from the input only in the edited pass and
only inside the edit's :class:`~.region.Region`, so an edited sample can be compared pixel for
pixel with the unedited one. :func:`~.bridge.from_scene_edit` turns a scene edit
(:mod:`.scene`) into the intrinsic edit whose sample the benchmark pairs with the ground truth
of the edited scene.

Arrays: numpy (T, H, W, C) (roughness/metallic (T, H, W, 1)), instance (T, H, W) int. Torch
tensors in the same layout are accepted too: they go through numpy on the CPU and come back as
tensors of their own dtype and device.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Union

import numpy as np

from .region import WHOLE, Region
from .values import (
    RGB,
    Vec3,
    as_float,
    as_int,
    from_numpy,
    opt_float,
    opt_vec3,
    set_field,
    to_numpy,
    torch_kind,
)

# -- the edits -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlbedoChange:
    """Recolour albedo in the region: ``color`` sets it (linear, in [0, 1]); otherwise it is
    multiplied by ``scale`` and/or ``tint`` and then divided by max(1, brightest channel), so a
    pixel pushed past 1 keeps its hue instead of being clipped per channel."""

    color: RGB | None = None
    scale: float | None = None
    tint: RGB | None = None
    region: Region = WHOLE
    kind: ClassVar[str] = "albedo"

    def __post_init__(self) -> None:
        set_field(self, "color", opt_vec3(self.color, "color", low=0.0, high=1.0))
        set_field(self, "scale", opt_float(self.scale, "scale", low=0.0))
        set_field(self, "tint", opt_vec3(self.tint, "tint", low=0.0))
        if self.color is not None and (self.scale is not None or self.tint is not None):
            raise ValueError("albedo edit: give color (set) or scale/tint (multiply), not both")
        if self.color is None and self.scale is None and self.tint is None:
            raise ValueError("albedo edit changes nothing: give color, scale or tint")

    def apply(self, passes: Mapping[str, np.ndarray], where: Callable) -> dict[str, np.ndarray]:
        a = _need(passes, "albedo", self.kind)
        if self.color is not None:
            new = np.broadcast_to(np.asarray(self.color, a.dtype), a.shape)
        else:
            f = _factor(self.scale, self.tint)
            x = np.maximum(a.astype(np.float64) * f, 0.0)
            new = (x / np.maximum(1.0, x.max(axis=-1, keepdims=True))).astype(a.dtype)
        return {"albedo": _blend(a, new, where(a))}


@dataclass(frozen=True)
class MaterialChange:
    """Set (``roughness``/``metallic``, in [0, 1]) or scale (``*_scale``, clamped to [0, 1])
    roughness and metallic in the region; only the passes named are touched."""

    roughness: float | None = None
    metallic: float | None = None
    roughness_scale: float | None = None
    metallic_scale: float | None = None
    region: Region = WHOLE
    kind: ClassVar[str] = "material"

    def __post_init__(self) -> None:
        for name in ("roughness", "metallic"):
            set_field(self, name, opt_float(getattr(self, name), name, low=0.0, high=1.0))
            set_field(self, f"{name}_scale", opt_float(getattr(self, f"{name}_scale"), f"{name}_scale", low=0.0))
            if getattr(self, name) is not None and getattr(self, f"{name}_scale") is not None:
                raise ValueError(f"material edit: give {name} (set) or {name}_scale, not both")
        if all(getattr(self, f.name) is None for f in fields(self) if f.name != "region"):
            raise ValueError("material edit changes nothing: give roughness, metallic, "
                             "roughness_scale or metallic_scale")

    def apply(self, passes: Mapping[str, np.ndarray], where: Callable) -> dict[str, np.ndarray]:
        out = {}
        for name in ("roughness", "metallic"):
            value, scale = getattr(self, name), getattr(self, f"{name}_scale")
            if value is None and scale is None:
                continue
            a = _need(passes, name, self.kind)
            if value is not None:
                new = np.broadcast_to(np.asarray(value, a.dtype), a.shape)
            else:
                new = np.clip(a.astype(np.float64) * scale, 0.0, 1.0).astype(a.dtype)
            out[name] = _blend(a, new, where(a))
        return out


@dataclass(frozen=True)
class NormalChange:
    """Perturb geometry: rotate normals by ``angle`` degrees about the camera-space ``axis``
    (OpenCV: x right, y down, z forward), then add a seeded bump field of standard deviation
    ``amplitude`` and feature ``size`` in pixels (1 = per-pixel noise; larger = smooth bumps,
    bilinear value noise). The field is fixed in screen space and identical in every frame
    (no flicker; it does not follow surfaces when the camera moves) and independent of the
    region, so a pixel's result does not depend on which other pixels are edited. A bump never
    tips a normal past the surface's tangent plane. Results are renormalised to unit length;
    pixels with a zero normal (no surface) stay zero."""

    amplitude: float = 0.0
    seed: int = 0
    size: float = 1.0
    angle: float = 0.0
    axis: Vec3 | None = None
    region: Region = WHOLE
    kind: ClassVar[str] = "normal"

    def __post_init__(self) -> None:
        set_field(self, "amplitude", as_float(self.amplitude, "amplitude", low=0.0))
        set_field(self, "seed", as_int(self.seed, "seed", low=0))
        set_field(self, "size", as_float(self.size, "size", low=1.0))
        set_field(self, "angle", as_float(self.angle, "angle"))
        set_field(self, "axis", opt_vec3(self.axis, "axis"))
        if self.axis is not None and not np.any(np.asarray(self.axis)):
            raise ValueError("normal edit: axis must not be zero")
        if self.angle != 0.0 and self.axis is None:
            raise ValueError("normal edit: angle needs an axis (camera-space x,y,z)")
        if self.amplitude == 0.0 and self.angle == 0.0:
            raise ValueError("normal edit changes nothing: give amplitude > 0 or a nonzero angle")

    def apply(self, passes: Mapping[str, np.ndarray], where: Callable) -> dict[str, np.ndarray]:
        a = _need(passes, "normal", self.kind)
        n = a.astype(np.float64)
        if self.angle != 0.0:
            n = n @ _rotation(self.axis, self.angle).T
        if self.amplitude > 0.0:
            T, H, W, _ = a.shape
            p = n + self.amplitude * noise_field(self.seed, H, W, self.size)
            d = np.sum(p * n, axis=-1, keepdims=True)
            p = np.where(d < 0.0, p - 2.0 * d * n, p)  # reflect back into the surface's hemisphere
            ok = np.linalg.norm(p, axis=-1, keepdims=True) > 1e-9
            n = np.where(ok, p, n)
        n = _unit(n).astype(a.dtype)
        n = _unit(n)  # renormalise in the storage dtype too
        surface = np.any(a != 0, axis=-1)
        return {"normal": _blend(a, n, where(a) & surface)}


@dataclass(frozen=True)
class IrradianceChange:
    """Relight: multiply irradiance by ``scale`` and/or an RGB ``tint``, globally or in a
    region (relighting only that surface). The result is clamped to [0, dtype max], so it
    stays non-negative and a float16 pass does not overflow to inf."""

    scale: float | None = None
    tint: RGB | None = None
    region: Region = WHOLE
    kind: ClassVar[str] = "irradiance"

    def __post_init__(self) -> None:
        set_field(self, "scale", opt_float(self.scale, "scale", low=0.0))
        set_field(self, "tint", opt_vec3(self.tint, "tint", low=0.0))
        if self.scale is None and self.tint is None:
            raise ValueError("irradiance edit changes nothing: give scale or tint")

    def apply(self, passes: Mapping[str, np.ndarray], where: Callable) -> dict[str, np.ndarray]:
        a = _need(passes, "irradiance", self.kind)
        top = np.finfo(a.dtype).max if a.dtype.kind == "f" else np.inf
        new = np.clip(a.astype(np.float64) * _factor(self.scale, self.tint), 0.0, top).astype(a.dtype)
        return {"irradiance": _blend(a, new, where(a))}


IntrinsicEdit = Union[AlbedoChange, MaterialChange, NormalChange, IrradianceChange]
EDIT_TYPES: dict[str, type] = {c.kind: c for c in (AlbedoChange, MaterialChange, NormalChange, IrradianceChange)}


# -- applying --------------------------------------------------------------------------------


def apply_edits(passes: Mapping[str, Any], edits: IntrinsicEdit | Iterable[IntrinsicEdit], *,
                instance: Any = None) -> dict[str, Any]:
    """Apply ``edits`` in order and return a new dict of new arrays; the input is never mutated.

    Every array in ``passes`` is copied (non-array values pass through), so the result can be
    modified freely. ``instance`` defaults to ``passes['instance']``; it is only needed by
    edits whose region is an instance id. Torch tensors are accepted and returned as tensors.
    """
    edits = [edits] if isinstance(edits, tuple(EDIT_TYPES.values())) else list(edits)
    for e in edits:
        if not isinstance(e, tuple(EDIT_TYPES.values())):
            raise TypeError(f"not an intrinsic edit: {e!r} (scene edits go through from_scene_edit)")
    kinds = {k: torch_kind(v) for k, v in passes.items()}
    out = {k: (np.array(to_numpy(v), copy=True) if kinds[k] or isinstance(v, np.ndarray) else v)
           for k, v in passes.items()}
    inst = to_numpy(instance) if instance is not None else out.get("instance")
    for e in edits:
        out.update(e.apply(out, _selector(e.region, inst)))
    return {k: (from_numpy(v, kinds[k]) if kinds[k] else v) for k, v in out.items()}


def _selector(region: Region, instance: np.ndarray | None) -> Callable[[np.ndarray], np.ndarray]:
    """A function from a pass to the boolean (T, H, W) selection of the region in it."""
    def where(a: np.ndarray) -> np.ndarray:
        thw = tuple(a.shape[:3])
        sel = region.resolve(thw, instance)
        return np.ones(thw, bool) if sel is None else sel
    return where


def _blend(a: np.ndarray, new: np.ndarray, sel: np.ndarray) -> np.ndarray:
    """``new`` inside ``sel``, ``a`` (bit for bit) outside."""
    return np.where(sel[..., None] if a.ndim == sel.ndim + 1 else sel, new, a).astype(a.dtype, copy=False)


def _need(passes: Mapping[str, Any], name: str, kind: str) -> np.ndarray:
    a = passes.get(name)
    if not isinstance(a, np.ndarray):
        have = ", ".join(k for k, v in passes.items() if isinstance(v, np.ndarray)) or "none"
        raise ValueError(f"{kind} edit needs the {name!r} pass; passes given: {have}")
    if a.ndim != 4:
        raise ValueError(f"{kind} edit: the {name!r} pass must be (T, H, W, C), got shape {a.shape}")
    return a


def _factor(scale: float | None, tint: RGB | None) -> np.ndarray:
    return (1.0 if scale is None else scale) * np.asarray((1.0, 1.0, 1.0) if tint is None else tint)


def _unit(n: np.ndarray) -> np.ndarray:
    length = np.linalg.norm(n, axis=-1, keepdims=True)
    return n / np.where(length > 0, length, 1)


def _rotation(axis: Vec3, degrees: float) -> np.ndarray:
    """Rodrigues' rotation matrix about ``axis`` (right-handed)."""
    k = np.asarray(axis, np.float64) / np.linalg.norm(axis)
    t = math.radians(degrees)
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(t) * K + (1 - math.cos(t)) * (K @ K)


def noise_field(seed: int, height: int, width: int, size: float = 1.0) -> np.ndarray:
    """Deterministic Gaussian noise (H, W, 3): per pixel for ``size`` 1, else bilinear value
    noise on a grid of ``size`` pixels (smooth bumps). Same seed and shape, same field."""
    rng = np.random.default_rng(seed)
    if size <= 1.0:
        return rng.standard_normal((height, width, 3))
    grid = rng.standard_normal((math.ceil(height / size) + 2, math.ceil(width / size) + 2, 3))
    y, x = (np.arange(height) + 0.5) / size, (np.arange(width) + 0.5) / size
    y0, x0 = np.floor(y).astype(int), np.floor(x).astype(int)
    fy, fx = (y - y0)[:, None, None], (x - x0)[None, :, None]
    g = grid[y0][:, x0] * (1 - fx) + grid[y0][:, x0 + 1] * fx
    g1 = grid[y0 + 1][:, x0] * (1 - fx) + grid[y0 + 1][:, x0 + 1] * fx
    return g * (1 - fy) + g1 * fy

