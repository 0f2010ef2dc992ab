"""Parametric edits on intrinsic sequences, applied before X2Video samples from them.

X2Video renders RGB from albedo, normal, roughness, metallic and irradiance, so editing a video
means editing those channels: recolour an object, change its material, perturb its geometry or
relight it. Edits are frozen dataclasses with a JSON form and a compact CLI string form, and
:func:`apply_edits` returns new arrays that differ from the input only in the edited pass and
only inside the edit's region, so an edited sample can be compared pixel for pixel with the
unedited one.

The vocabulary matches the renderer's scene edits (:mod:`interiorvideo.scene.edits`):
:func:`from_scene_edit` turns an ``AlbedoEdit``/``MaterialEdit``/``LightEdit`` into the
intrinsic edit whose sample the benchmark pairs with the ground truth of the edited scene.

CLI string grammar (``x2v sample --edit TEXT``)::

    TEXT   := KIND (":" KEY "=" VALUE)*
    VALUE  := NUMBER | NUMBER "," NUMBER "," NUMBER | PATH
    albedo:     color=R,G,B | scale=S | tint=R,G,B                        (+ region keys)
    material:   roughness=V metallic=V roughness_scale=S metallic_scale=S (+ region keys)
    normal:     amplitude=A seed=N size=PX | angle=DEG axis=X,Y,Z        (+ region keys)
    irradiance: scale=S tint=R,G,B                                        (+ region keys)
    light:      name=NAME intensity=I color=R,G,B   (a scene LightEdit; needs the scene)
    region keys: instance=ID | mask=PATH.npy   (neither: the whole frame)

e.g. ``albedo:instance=12:color=0.8,0.1,0.1``, ``material:instance=3:roughness=0.2:metallic=1``,
``normal:instance=5:amplitude=0.3:seed=1``, ``irradiance:scale=0.5:tint=1,0.9,0.8``.

Arrays: numpy (T, H, W, C) (roughness/metallic (T, H, W, 1)), instance (T, H, W) int. Torch
tensors in the same layout are accepted too: they go through numpy on the CPU and come back as
tensors of their own dtype and device.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Union

import numpy as np

if TYPE_CHECKING:
    from interiorvideo.scene.edits import Edit as SceneEdit
    from interiorvideo.scene.model import Scene

RGB = tuple[float, float, float]
Vec3 = tuple[float, float, float]


class NoIntrinsicCounterpart(NotImplementedError, ValueError):
    """A scene edit that intrinsic channels cannot express (e.g. moving a light). It is both a
    NotImplementedError (what it is) and a ValueError (what CLI code catches for bad input)."""


# -- regions ---------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Region:
    """Where an edit applies: an instance id, an explicit boolean mask ((T, H, W), or (H, W)
    broadcast over frames), or — neither given — the whole frame."""

    instance: int | None = None
    mask: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.instance is not None and self.mask is not None:
            raise ValueError("a region is an instance id or a mask, not both")
        if self.instance is not None:
            object.__setattr__(self, "instance", _as_int(self.instance, "instance", low=0))
        if self.mask is not None:
            m = _to_numpy(self.mask)
            if m.ndim not in (2, 3) or m.dtype.kind not in "bui":
                raise ValueError(f"region mask must be a boolean (H, W) or (T, H, W) array, "
                                 f"got {m.dtype} of shape {m.shape}")
            m = np.array(m, dtype=bool, copy=True)
            m.flags.writeable = False
            object.__setattr__(self, "mask", m)

    @property
    def whole(self) -> bool:
        return self.instance is None and self.mask is None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Region):
            return NotImplemented
        if (self.mask is None) != (other.mask is None):
            return False
        same_mask = self.mask is None or (self.mask.shape == other.mask.shape
                                          and bool(np.array_equal(self.mask, other.mask)))
        return self.instance == other.instance and same_mask

    def __hash__(self) -> int:
        m = self.mask
        return hash((self.instance, None if m is None else (m.shape, m.tobytes())))

    def __repr__(self) -> str:
        if self.instance is not None:
            return f"Region(instance={self.instance})"
        if self.mask is not None:
            return f"Region(mask={self.mask.shape}, {int(self.mask.sum())} px)"
        return "Region(whole frame)"

    def resolve(self, thw: tuple[int, int, int], instance: np.ndarray | None) -> np.ndarray | None:
        """The (T, H, W) boolean selection, or None for the whole frame."""
        if self.instance is not None:
            return _instance_mask(self.instance, thw, instance)
        if self.mask is not None:
            if self.mask.shape == thw[1:]:
                return np.broadcast_to(self.mask, thw)
            if self.mask.shape == thw:
                return self.mask
            raise ValueError(f"region mask of shape {self.mask.shape} does not fit passes of "
                             f"(T, H, W) = {thw}: expected {thw[1:]} or {thw}")
        return None


WHOLE = Region()


def _instance_mask(iid: int, thw: tuple[int, int, int], instance: np.ndarray | None) -> np.ndarray:
    if instance is None:
        raise ValueError(f"region instance={iid} needs the instance pass: pass it as "
                         f"passes['instance'] or apply_edits(..., instance=...)")
    if instance.shape != thw:
        raise ValueError(f"instance pass of shape {instance.shape} does not match passes of "
                         f"(T, H, W) = {thw}")
    sel = instance == iid
    if not sel.any():
        present = np.unique(instance)
        shown = ", ".join(str(int(i)) for i in present[:20]) + (" ..." if present.size > 20 else "")
        raise ValueError(f"region instance={iid}: id {iid} does not appear in the instance pass "
                         f"(ids present: {shown})")
    return sel


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
        _set(self, "color", _opt_vec3(self.color, "color", low=0.0, high=1.0))
        _set(self, "scale", _opt_float(self.scale, "scale", low=0.0))
        _set(self, "tint", _opt_vec3(self.tint, "tint", low=0.0))
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
            _set(self, name, _opt_float(getattr(self, name), name, low=0.0, high=1.0))
            _set(self, f"{name}_scale", _opt_float(getattr(self, f"{name}_scale"), f"{name}_scale", low=0.0))
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
        _set(self, "amplitude", _float(self.amplitude, "amplitude", low=0.0))
        _set(self, "seed", _as_int(self.seed, "seed", low=0))
        _set(self, "size", _float(self.size, "size", low=1.0))
        _set(self, "angle", _float(self.angle, "angle"))
        _set(self, "axis", _opt_vec3(self.axis, "axis"))
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
        _set(self, "scale", _opt_float(self.scale, "scale", low=0.0))
        _set(self, "tint", _opt_vec3(self.tint, "tint", low=0.0))
        if self.scale is None and self.tint is None:
            raise ValueError("irradiance edit changes nothing: give scale or tint")

    def apply(self, passes: Mapping[str, np.ndarray], where: Callable) -> dict[str, np.ndarray]:
        a = _need(passes, "irradiance", self.kind)
        top = np.finfo(a.dtype).max if a.dtype.kind == "f" else np.inf
        new = np.clip(a.astype(np.float64) * _factor(self.scale, self.tint), 0.0, top).astype(a.dtype)
        return {"irradiance": _blend(a, new, where(a))}


IntrinsicEdit = Union[AlbedoChange, MaterialChange, NormalChange, IrradianceChange]
EDIT_TYPES: dict[str, type] = {c.kind: c for c in (AlbedoChange, MaterialChange, NormalChange, IrradianceChange)}
REGION_KEYS = ("instance", "mask")
SCENE_LIGHT_KEYS = ("name", "intensity", "color", "position")
_VECTOR_KEYS = {"color", "tint", "axis", "position"}
_INT_KEYS = {"seed", "instance"}


def edit_keys(kind: str) -> tuple[str, ...]:
    """The keys an edit kind takes (CLI and JSON), region keys included."""
    if kind == "light":
        return SCENE_LIGHT_KEYS
    return tuple(f.name for f in fields(EDIT_TYPES[kind]) if f.name != "region") + REGION_KEYS


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
    kinds = {k: _torch_kind(v) for k, v in passes.items()}
    out = {k: (np.array(_to_numpy(v), copy=True) if kinds[k] or isinstance(v, np.ndarray) else v)
           for k, v in passes.items()}
    inst = _to_numpy(instance) if instance is not None else out.get("instance")
    for e in edits:
        out.update(e.apply(out, _selector(e.region, inst)))
    return {k: (_from_numpy(v, kinds[k]) if kinds[k] else v) for k, v in out.items()}


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


# -- torch interop (through numpy on the CPU) ------------------------------------------------


def _torch_kind(v: Any) -> tuple | None:
    """(dtype, device) of a torch tensor, else None."""
    if type(v).__module__.startswith("torch") and hasattr(v, "detach"):
        return (v.dtype, v.device)
    return None


def _to_numpy(v: Any) -> np.ndarray:
    if _torch_kind(v):
        import torch

        t = v.detach().cpu()
        return (t.float() if t.dtype == torch.bfloat16 else t).numpy()
    return np.asarray(v)


def _from_numpy(a: np.ndarray, kind: tuple) -> Any:
    import torch

    dtype, device = kind
    return torch.from_numpy(np.ascontiguousarray(a)).to(device=device, dtype=dtype)


# -- validation helpers ----------------------------------------------------------------------


def _set(obj: Any, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


def _opt_float(v: Any, name: str, low: float | None = None, high: float | None = None) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(v):
        raise ValueError(f"{name}={v!r} is not a finite number")
    v = float(v)
    if (low is not None and v < low) or (high is not None and v > high):
        raise ValueError(f"{name}={v!r} is outside [{low if low is not None else '-inf'}, "
                         f"{high if high is not None else 'inf'}]")
    return v


def _float(v: Any, name: str, low: float | None = None, high: float | None = None) -> float:
    if v is None:
        raise ValueError(f"{name} must be a number, not None")
    return _opt_float(v, name, low, high)  # type: ignore[return-value]


def _opt_vec3(v: Any, name: str, low: float | None = None, high: float | None = None) -> Vec3 | None:
    if v is None:
        return None
    try:
        items = list(v)
    except TypeError:
        items = []
    if len(items) != 3:
        raise ValueError(f"{name}={v!r} is not 3 numbers")
    return tuple(_opt_float(x, name, low, high) for x in items)  # type: ignore[return-value]


def _as_int(v: Any, name: str, low: int | None = None) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise ValueError(f"{name}={v!r} is not an integer")
    if low is not None and v < low:
        raise ValueError(f"{name}={v!r} must be >= {low}")
    return int(v)


# -- JSON ------------------------------------------------------------------------------------


def _mask_to_json(mask: np.ndarray) -> dict:
    bits = base64.b64encode(np.packbits(mask.ravel()).tobytes()).decode("ascii")
    return {"shape": list(mask.shape), "bits": bits}


def _mask_from_json(v: Any) -> np.ndarray:
    """A mask from its JSON form: packed bits, a nested list, or the path of a .npy file."""
    if isinstance(v, (str, Path)):
        try:
            return np.load(v, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ValueError(f"mask={str(v)!r}: cannot read a .npy mask ({exc})") from exc
    if isinstance(v, Mapping):
        try:
            shape = tuple(int(s) for s in v["shape"])
            raw = np.frombuffer(base64.b64decode(v["bits"]), np.uint8)
            return np.unpackbits(raw, count=math.prod(shape)).astype(bool).reshape(shape)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"mask={v!r}: expected {{'shape': [...], 'bits': base64}} ({exc})") from exc
    return np.asarray(v, dtype=bool)


def edit_to_dict(edit: IntrinsicEdit) -> dict:
    """JSON form: ``{"kind": ..., fields that are set, "instance" or "mask" for the region}``."""
    d: dict[str, Any] = {"kind": edit.kind}
    if edit.region.instance is not None:
        d["instance"] = edit.region.instance
    elif edit.region.mask is not None:
        d["mask"] = _mask_to_json(edit.region.mask)
    for f in fields(edit):
        v = getattr(edit, f.name)
        if f.name != "region" and v is not None and v != f.default:
            d[f.name] = list(v) if isinstance(v, tuple) else v
    return d


def edit_from_dict(d: Mapping[str, Any], *, scene: "Scene | None" = None) -> IntrinsicEdit:
    """Inverse of :func:`edit_to_dict`. Also takes the scene-edit form of
    :mod:`interiorvideo.scene.edits` (``instance_id`` keys, ``kind: light``) and converts it with
    :func:`from_scene_edit`, so the edits file that renders the ground truth drives the sample."""
    if not isinstance(d, Mapping):
        raise ValueError(f"edit {d!r}: expected a JSON object")
    kind = d.get("kind")
    if kind == "light" or "instance_id" in d:
        from interiorvideo.scene.edits import edit_from_dict as scene_from_dict

        return from_scene_edit(scene_from_dict(dict(d)), scene=scene)
    return _build(kind, {k: v for k, v in d.items() if k != "kind"}, json.dumps(d, default=str))


def edits_to_json(edits: Iterable[IntrinsicEdit]) -> list[dict]:
    return [edit_to_dict(e) for e in edits]


def edits_from_json(data: Any, *, scene: "Scene | None" = None) -> list[IntrinsicEdit]:
    """Edits from a JSON list of edit objects (a single object counts as a list of one)."""
    items = [data] if isinstance(data, Mapping) else data
    if not isinstance(items, list):
        raise ValueError(f"edits: expected a JSON list of edit objects, got {type(data).__name__}")
    return [edit_from_dict(d, scene=scene) for d in items]


def save_edits(path: str | Path, edits: Iterable[IntrinsicEdit]) -> None:
    Path(path).write_text(json.dumps(edits_to_json(edits), indent=1) + "\n")


def load_edits(path: str | Path, *, scene: "Scene | None" = None) -> list[IntrinsicEdit]:
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"edits file {str(path)!r}: not JSON ({exc})") from exc
    return edits_from_json(data, scene=scene)


# -- CLI strings -----------------------------------------------------------------------------


def _kinds_help() -> str:
    return "; ".join(f"{k}: {', '.join(edit_keys(k))}" for k in (*EDIT_TYPES, "light"))


def _build(kind: Any, values: Mapping[str, Any], source: str) -> IntrinsicEdit:
    """One edit from its kind and key → value fields (JSON or parsed CLI values)."""
    if kind not in EDIT_TYPES:
        raise ValueError(f"bad edit {source}: unknown kind {kind!r}; valid kinds and keys: {_kinds_help()}")
    valid = edit_keys(kind)
    for key in values:
        if key not in valid:
            raise ValueError(f"bad edit {source}: unknown key {key!r} for {kind}; valid keys: {', '.join(valid)}")
    kw = {k: v for k, v in values.items() if k not in REGION_KEYS}
    try:
        mask = _mask_from_json(values["mask"]) if "mask" in values else None
        region = Region(instance=values.get("instance"), mask=mask)
        return EDIT_TYPES[kind](region=region, **kw)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"bad edit {source}: {exc}") from exc


def _parse_value(key: str, raw: str, text: str) -> Any:
    if key in ("mask", "name"):
        return raw
    try:
        if key in _VECTOR_KEYS:
            return tuple(float(x) for x in raw.split(","))
        if key in _INT_KEYS:
            return int(raw)
        return float(raw)
    except ValueError:
        want = "comma-separated numbers" if key in _VECTOR_KEYS else "an integer" if key in _INT_KEYS else "a number"
        raise ValueError(f"bad edit {text!r}: {key}={raw!r} is not {want}") from None


def parse_edit(text: str, *, scene: "Scene | None" = None) -> IntrinsicEdit:
    """An edit from its CLI form ``kind:key=value:...`` (grammar in the module docstring).
    ``light:...`` is a scene LightEdit, converted with :func:`from_scene_edit` (needs ``scene``)."""
    parts = str(text).strip().split(":")
    kind = parts[0].strip()
    valid_kinds = (*EDIT_TYPES, "light")
    if kind not in valid_kinds:
        raise ValueError(f"bad edit {text!r}: unknown kind {kind!r}; valid kinds and keys: {_kinds_help()}")
    values: dict[str, Any] = {}
    for part in parts[1:]:
        key, eq, raw = part.partition("=")
        key, raw = key.strip(), raw.strip()
        if not eq or not key or not raw:
            raise ValueError(f"bad edit {text!r}: {part!r} is not key=value; "
                             f"valid keys for {kind}: {', '.join(edit_keys(kind))}")
        if key not in edit_keys(kind):
            raise ValueError(f"bad edit {text!r}: unknown key {key!r} for {kind}; "
                             f"valid keys: {', '.join(edit_keys(kind))}")
        if key in values:
            raise ValueError(f"bad edit {text!r}: key {key!r} given twice")
        values[key] = _parse_value(key, raw, text)
    if kind == "light":
        return _parse_light(values, text, scene)
    return _build(kind, values, repr(text))


def _parse_light(values: dict[str, Any], text: str, scene: "Scene | None") -> IntrinsicEdit:
    from interiorvideo.scene.edits import LightEdit

    if "name" not in values:
        raise ValueError(f"bad edit {text!r}: a light edit needs name=LIGHT")
    try:
        return from_scene_edit(LightEdit(**values), scene=scene)
    except NoIntrinsicCounterpart:
        raise
    except ValueError as exc:
        raise ValueError(f"bad edit {text!r}: {exc}") from exc


def _fmt(v: Any) -> str:
    if isinstance(v, tuple):
        return ",".join(_fmt(x) for x in v)
    return str(v) if isinstance(v, int) else repr(float(v))


def format_edit(edit: IntrinsicEdit) -> str:
    """The CLI form of an edit (``parse_edit(format_edit(e)) == e``). Mask regions have no
    string form (the mask is data, not a path): use JSON for them."""
    if edit.region.mask is not None:
        raise ValueError(f"{edit!r}: a mask region has no CLI string form; use edit_to_dict / JSON")
    d = edit_to_dict(edit)
    return ":".join([d.pop("kind")] + [f"{k}={_fmt(tuple(v) if isinstance(v, list) else v)}"
                                       for k, v in d.items()])


def parse_edits(texts: Sequence[str], *, scene: "Scene | None" = None) -> list[IntrinsicEdit]:
    """Several ``--edit`` strings, in order."""
    return [parse_edit(t, scene=scene) for t in texts]


# -- from the renderer's scene edits ---------------------------------------------------------


def from_scene_edit(edit: "SceneEdit", *, scene: "Scene | None" = None) -> IntrinsicEdit:
    """The intrinsic edit matching a scene edit of :mod:`interiorvideo.scene.edits`.

    * ``AlbedoEdit`` → albedo set to its colour on its instance: exact (the renderer drops the
      texture, so the edited scene's albedo pass is exactly the colour there).
    * ``MaterialEdit`` → roughness/metallic set on its instance: exact.
    * ``LightEdit`` intensity/colour → a whole-frame irradiance scale (new/old intensity) and
      tint (new/old colour, both normalised to max 1 as the scene does). Needs ``scene`` for the
      light's current values. This is an approximation: irradiance is linear in a light only
      when that light is the only light (no other lights, no sky through windows) and the
      renderer's indirect clamp is off; otherwise the other lights' share is wrongly scaled
      too. An area light's own visible emission is not in the intrinsics at all.
    * ``LightEdit`` position → :class:`NoIntrinsicCounterpart`: moving a light changes
      irradiance non-uniformly (shadows, falloff), which no intrinsic-space edit reproduces.
    """
    from interiorvideo.scene.edits import AlbedoEdit, LightEdit, MaterialEdit

    if isinstance(edit, AlbedoEdit):
        return AlbedoChange(color=tuple(edit.color), region=Region(instance=edit.instance_id))
    if isinstance(edit, MaterialEdit):
        return MaterialChange(roughness=edit.roughness, metallic=edit.metallic,
                              region=Region(instance=edit.instance_id))
    if isinstance(edit, LightEdit):
        return _from_light_edit(edit, scene)
    raise TypeError(f"not a scene edit: {edit!r}")


def _from_light_edit(edit: Any, scene: "Scene | None") -> IrradianceChange:
    if edit.position is not None:
        raise NoIntrinsicCounterpart(
            f"{edit}: moving a light has no intrinsic-space counterpart (it changes shadows and "
            f"falloff, not a uniform irradiance factor); render the edited scene's irradiance instead")
    if edit.intensity is None and edit.color is None:
        raise ValueError(f"{edit}: changes nothing")
    if scene is None:
        raise ValueError(f"{edit}: converting a light edit needs the scene (the light's current "
                         f"intensity and colour)")
    lights = {light.name: light for light in scene.lights}
    if edit.name not in lights:
        raise ValueError(f"{edit}: scene {scene.name!r} has no light {edit.name!r} "
                         f"(lights: {', '.join(sorted(lights))})")
    light = lights[edit.name]
    scale = tint = None
    if edit.intensity is not None:
        if light.intensity <= 0:
            raise ValueError(f"{edit}: light {edit.name!r} has intensity 0, so its irradiance "
                             f"cannot be scaled to a new intensity")
        scale = float(edit.intensity) / float(light.intensity)
    if edit.color is not None:
        tint = _color_ratio(edit, light.color)
    return IrradianceChange(scale=scale, tint=tint)


def _color_ratio(edit: Any, old: Sequence[float]) -> RGB:
    """new / old light colour per channel, both normalised to max 1 (as the scene stores it)."""
    new = np.asarray(edit.color, np.float64)
    old_ = np.asarray(old, np.float64)
    if new.shape != (3,) or new.min() < 0 or new.max() <= 0:
        raise ValueError(f"{edit}: colour must be 3 non-negative values, not all zero")
    new, old_ = new / new.max(), old_ / old_.max()
    if np.any((old_ == 0) & (new > 0)):
        raise ValueError(f"{edit}: the light emits nothing in a channel the new colour needs; "
                         f"irradiance there cannot be tinted up from zero")
    return tuple(float(r) for r in np.where(old_ > 0, new / np.where(old_ > 0, old_, 1), 1.0))
