"""The InteriorVideo clip contract: the single source of truth for what a clip is.

One clip = T frames from one camera trajectory in one room. Renderers, loaders,
X2Video training and x2v-bench all agree on this module rather than on prose, so
a clip that passes :func:`check_clip` can be consumed anywhere without guessing
units, dtypes or conventions.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np

SCHEMA_VERSION = 1

CAMERA_CONVENTION = """\
Camera convention (OpenCV), shared by every pass and by camera.K / camera.poses:
  * camera space: x right, y down, z forward (into the scene); units are metres.
  * world space: Z-up, metres.
  * camera.poses[t] is the 4x4 camera-to-world transform of frame t:
    X_world = poses[t] @ [X_cam, 1].
  * camera.K is the 3x3 pinhole intrinsic matrix (zero skew) mapping camera
    points to pixels: [u, v, 1] ~ K @ X_cam, in pixel units.
  * Pixel (row v, column u) covers [u, u+1) x [v, v+1); its centre is
    (u + 0.5, v + 0.5). The ray through it is K^-1 @ [u + 0.5, v + 0.5, 1].
  * depth is z-depth (the camera-space z of the surface), not ray length, so
    X_cam = depth * K^-1 @ [u + 0.5, v + 0.5, 1].
  * normals are unit camera-space vectors facing the camera:
    dot(normal, ray) <= 0; pixels with no surface (depth == 0) have normal 0.
"""


@dataclass(frozen=True)
class PassSpec:
    """Storage contract of one per-pixel pass (array of shape (T,H,W[,C]))."""

    name: str
    dtype: np.dtype
    channels: int | None  # None -> array is (T, H, W)
    low: float | None  # inclusive lower bound, None = unbounded
    high: float | None  # inclusive upper bound, None = unbounded
    hdr: bool
    description: str


def _spec(name, dtype, channels, low, high, hdr, description) -> tuple[str, PassSpec]:
    return name, PassSpec(name, np.dtype(dtype), channels, low, high, hdr, description)


PASSES: dict[str, PassSpec] = dict([
    _spec("rgb", np.float16, 3, 0.0, None, True, "linear HDR radiance"),
    _spec("albedo", np.float32, 3, 0.0, 1.0, False, "linear base colour"),
    # No generic range: the stricter unit-or-zero and facing rules apply instead.
    _spec("normal", np.float32, 3, None, None, False,
          "unit camera-space normal (OpenCV), facing the camera; 0 where depth == 0"),
    _spec("roughness", np.float32, 1, 0.0, 1.0, False, "perceptual roughness"),
    _spec("metallic", np.float32, 1, 0.0, 1.0, False, "metalness"),
    _spec("irradiance", np.float16, 3, 0.0, None, True,
          "diffuse irradiance, linear HDR, 1/pi folded in: Lambertian rgb = albedo * irradiance"),
    _spec("depth", np.float32, 1, 0.0, None, False, "metric z-depth in metres; 0 = no surface"),
    _spec("instance", np.int32, None, 0, None, False, "instance id; 0 = no object / background"),
])

#: The X2Video conditioning channels.
INTRINSIC_PASSES = ("albedo", "normal", "roughness", "metallic", "irradiance")

REQUIRED_META_KEYS = ("scene_id", "room_id", "trajectory_id", "seed", "fps",
                      "renderer", "prompt", "local_prompts")

_NON_PASS_KEYS = ("camera", "meta")
NORMAL_UNIT_TOL = 1e-2  # | |n| - 1 | tolerance
NORMAL_FACING_TOL = 1e-3  # max dot(n, unit view ray) still counted as facing
POSE_TOL = 1e-4  # orthonormality / determinant tolerance


class ClipValidationError(ValueError):
    """Raised by :func:`validate`; ``problems`` holds every finding, not just the first."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"clip violates schema v{SCHEMA_VERSION} "
                         f"({len(self.problems)} problem(s)):\n{lines}")


def _fmt(x: float) -> str:
    return repr(float(f"{float(x):.6g}"))


def _bounds(lo: float | None, hi: float | None) -> str:
    return f"{'(-inf' if lo is None else f'[{lo:g}'}, {'inf)' if hi is None else f'{hi:g}]'}"


def pixel_rays(K: np.ndarray, width: int, height: int) -> np.ndarray:
    """Camera-space rays through pixel centres (u+0.5, v+0.5), scaled to z = 1.

    Because the rays have z = 1, ``depth[..., None] * pixel_rays(K, W, H)`` is the
    camera-space point cloud of a frame. Returns float64 (H, W, 3).
    """
    K = np.asarray(K, dtype=np.float64)
    if K.shape != (3, 3):
        raise ValueError(f"K must be 3x3, got shape {K.shape}")
    u, v = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    pix = np.stack([u, v, np.ones_like(u)], axis=-1)
    rays = pix @ np.linalg.inv(K).T
    return rays / rays[..., 2:3]


def clip_shape(clip: Mapping[str, Any]) -> tuple[int, int, int]:
    """(T, H, W) of a clip, taken from the first present pass in ``PASSES`` order."""
    for name in PASSES:
        a = clip.get(name)
        if a is not None and np.ndim(a) >= 3:
            return tuple(int(s) for s in np.shape(a)[:3])  # type: ignore[return-value]
    raise ValueError("clip has no pass to take (T, H, W) from")


def _check_structure(name: str, a: Any, spec: PassSpec, out: list[str]) -> bool:
    """dtype / ndim / channels of one pass; True if values can be inspected."""
    if not isinstance(a, np.ndarray):
        out.append(f"{name}: expected numpy.ndarray, got {type(a).__name__}")
        return False
    ok = True
    if a.dtype != spec.dtype:
        out.append(f"{name}: dtype {a.dtype}, expected {spec.dtype}")
        ok = False
    want = "(T, H, W)" if spec.channels is None else f"(T, H, W, {spec.channels})"
    ndim = 3 if spec.channels is None else 4
    if a.ndim != ndim or (spec.channels is not None and a.shape[-1] != spec.channels):
        out.append(f"{name}: shape {a.shape}, expected {want}")
        return False
    if 0 in a.shape[:3]:
        out.append(f"{name}: empty shape {a.shape}")
        return False
    return ok


def _check_values(name: str, a: np.ndarray, spec: PassSpec, out: list[str]) -> None:
    """Finiteness and inclusive value range, reporting counts and observed extrema."""
    finite = np.isfinite(a) if a.dtype.kind == "f" else None
    if finite is not None and not finite.all():
        out.append(f"{name}: {a.size - np.count_nonzero(finite)} non-finite values (NaN/inf)")
    bad = np.zeros(a.shape, dtype=bool)
    if spec.low is not None:
        bad |= a < spec.low
    if spec.high is not None:
        bad |= a > spec.high
    if bad.any():
        lo = np.min(a, where=finite, initial=np.inf) if finite is not None else a.min()
        hi = np.max(a, where=finite, initial=-np.inf) if finite is not None else a.max()
        out.append(f"{name}: {np.count_nonzero(bad)} values outside {_bounds(spec.low, spec.high)}"
                   f" (min {_fmt(lo)}, max {_fmt(hi)})")


def _check_normals(n: np.ndarray, depth: np.ndarray | None, K: np.ndarray | None,
                   out: list[str]) -> None:
    """Unit-or-zero rule, zero exactly where depth == 0, and facing the camera."""
    zero = ~np.any(n != 0, axis=-1)
    length = np.linalg.norm(n, axis=-1)
    not_unit = ~zero & ~(np.abs(length - 1.0) <= NORMAL_UNIT_TOL)
    if not_unit.any():
        out.append(f"normal: {np.count_nonzero(not_unit)} pixels not unit length "
                   f"(tolerance {NORMAL_UNIT_TOL:g}) and not zero")
    if depth is not None:
        empty = depth[..., 0] == 0
        if (c := np.count_nonzero(zero & ~empty)):
            out.append(f"normal: {c} pixels zero where depth > 0")
        if (c := np.count_nonzero(~zero & empty)):
            out.append(f"normal: {c} pixels nonzero where depth == 0 (must be 0 with no surface)")
    if K is not None:
        T, H, W, _ = n.shape
        rays = pixel_rays(K, W, H)
        rays = (rays / np.linalg.norm(rays, axis=-1, keepdims=True)).astype(np.float32)
        back = ~zero & (np.einsum("thwc,hwc->thw", n, rays) > NORMAL_FACING_TOL)
        if back.any():
            out.append(f"normal: {np.count_nonzero(back)} pixels back-facing "
                       f"(dot(normal, view ray) > {NORMAL_FACING_TOL:g})")


def _check_camera(cam: Any, thw: tuple[int, int, int] | None, out: list[str]) -> bool:
    """Intrinsics and poses; True if K is usable for ray computations."""
    if not isinstance(cam, Mapping):
        out.append(f"camera: expected a mapping with 'K' and 'poses', got {type(cam).__name__}")
        return False
    K_ok = False
    for key, shape in (("K", (3, 3)), ("poses", None)):
        a = cam.get(key)
        if a is None:
            out.append(f"camera.{key}: missing")
            continue
        if not isinstance(a, np.ndarray):
            out.append(f"camera.{key}: expected numpy.ndarray, got {type(a).__name__}")
            continue
        if a.dtype != np.float64:
            out.append(f"camera.{key}: dtype {a.dtype}, expected float64")
        if (shape and a.shape != shape) or (not shape and (a.ndim != 3 or a.shape[1:] != (4, 4))):
            out.append(f"camera.{key}: shape {a.shape}, expected {'(3, 3)' if shape else '(T, 4, 4)'}")
            continue
        if not np.isfinite(a).all():
            out.append(f"camera.{key}: non-finite values")
            continue
        if key == "K":
            K_ok = _check_K(a, thw, out)
        else:
            _check_poses(a, thw, out)
    return K_ok


def _check_K(K: np.ndarray, thw: tuple[int, int, int] | None, out: list[str]) -> bool:
    start = len(out)
    if not (K[0, 0] > 0 and K[1, 1] > 0):
        out.append(f"camera.K: focal lengths must be > 0 (fx {_fmt(K[0, 0])}, fy {_fmt(K[1, 1])})")
    if K[0, 1] != 0 or K[1, 0] != 0:
        out.append(f"camera.K: nonzero skew / off-diagonal terms ({_fmt(K[0, 1])}, {_fmt(K[1, 0])})")
    if not np.array_equal(K[2], [0.0, 0.0, 1.0]):
        out.append(f"camera.K: last row {K[2].tolist()}, expected [0, 0, 1]")
    if thw is not None and not (0 <= K[0, 2] <= thw[2] and 0 <= K[1, 2] <= thw[1]):
        out.append(f"camera.K: principal point ({_fmt(K[0, 2])}, {_fmt(K[1, 2])}) outside "
                   f"the {thw[2]}x{thw[1]} image")
    return len(out) == start


def _check_poses(P: np.ndarray, thw: tuple[int, int, int] | None, out: list[str]) -> None:
    if thw is not None and P.shape[0] != thw[0]:
        out.append(f"camera.poses: {P.shape[0]} poses for {thw[0]} frames")

    def frames(mask: np.ndarray) -> str:
        idx = np.flatnonzero(mask)
        return f"{idx.size} poses (frames {idx[:8].tolist()}{'...' if idx.size > 8 else ''})"

    bad_row = np.any(P[:, 3] != np.array([0.0, 0.0, 0.0, 1.0]), axis=-1)
    if bad_row.any():
        out.append(f"camera.poses: {frames(bad_row)} with last row != [0, 0, 0, 1]")
    R = P[:, :3, :3]
    gram_err = np.abs(np.swapaxes(R, 1, 2) @ R - np.eye(3)).max(axis=(1, 2))
    if (m := gram_err > POSE_TOL).any():
        out.append(f"camera.poses: {frames(m)} with non-orthonormal rotation "
                   f"(max |R^T R - I| {_fmt(gram_err.max())})")
    if (m := np.abs(np.linalg.det(R) - 1.0) > POSE_TOL).any():
        out.append(f"camera.poses: {frames(m)} with rotation det != +1")


def _is_int(x: Any) -> bool:
    return isinstance(x, Integral) and not isinstance(x, bool)


def _check_meta(meta: Any, out: list[str]) -> None:
    """Required keys and their types; extra meta keys are allowed (free-form provenance)."""
    if not isinstance(meta, Mapping):
        out.append(f"meta: expected a mapping, got {type(meta).__name__}")
        return
    types = {"scene_id": (lambda x: isinstance(x, str), "str"),
             "room_id": (_is_int, "int"),
             "trajectory_id": (lambda x: isinstance(x, str), "str"),
             "seed": (_is_int, "int"),
             "fps": (lambda x: isinstance(x, Real) and not isinstance(x, bool)
                     and bool(np.isfinite(x)) and x > 0, "finite number > 0"),
             "renderer": (lambda x: isinstance(x, Mapping), "mapping"),
             "prompt": (lambda x: isinstance(x, str), "str"),
             "local_prompts": (lambda x: isinstance(x, Mapping), "mapping")}
    for key in REQUIRED_META_KEYS:
        if key not in meta:
            out.append(f"meta.{key}: missing required key")
            continue
        ok, want = types[key]
        if not ok(meta[key]):
            out.append(f"meta.{key}: expected {want}, got {type(meta[key]).__name__} {meta[key]!r:.60}")
    lp = meta.get("local_prompts")
    if isinstance(lp, Mapping):
        for k, v in lp.items():
            if not ((_is_int(k) and k >= 0) or (isinstance(k, str) and k.isdigit())):
                out.append(f"meta.local_prompts: key {k!r} is not an instance id (int >= 0)")
            if not isinstance(v, str):
                out.append(f"meta.local_prompts[{k!r}]: expected str, got {type(v).__name__}")


def check_values(clip: Mapping[str, Any], passes: Iterable[str] | None = None) -> list[str]:
    """The contract's checks of dtype, finiteness and range for the passes present (or
    ``passes``), and finite camera numbers: cheap enough for every read, so a reader never hands
    NaN, inf or out-of-range ground truth to training or scoring (:func:`check_clip` is the full check)."""
    out: list[str] = []
    for name in passes if passes is not None else [p for p in PASSES if p in clip]:
        a = clip[name]
        if _check_structure(name, a, PASSES[name], out):
            _check_values(name, a, PASSES[name], out)
    camera = clip.get("camera")
    if isinstance(camera, Mapping):
        for part in ("K", "poses"):
            value = np.asarray(camera.get(part, np.zeros(0)), dtype=np.float64)
            if not np.isfinite(value).all():
                out.append(f"camera: {part} holds {value.size - np.count_nonzero(np.isfinite(value))} non-finite values")
    return out


def check_clip(clip: Mapping[str, Any], *, require_all: bool = True,
               check_normals_facing: bool = True) -> list[str]:
    """Every way ``clip`` breaks the contract (empty list = valid).

    Collects all problems instead of stopping at the first so one run over a
    dataset shard yields a complete report. With ``require_all=False`` absent
    passes are tolerated (e.g. RGB-only clips), but camera and meta never are.
    """
    if not isinstance(clip, Mapping):
        return [f"clip: expected a mapping, got {type(clip).__name__}"]
    out: list[str] = []
    allowed = (*PASSES, *_NON_PASS_KEYS)
    for key in clip:
        if key not in allowed:
            out.append(f"{key!r}: unknown key (allowed: {', '.join(allowed)})")
    for key in _NON_PASS_KEYS:
        if key not in clip:
            out.append(f"{key}: missing")

    usable: dict[str, np.ndarray] = {}  # passes whose values are safe to inspect
    ref: tuple[str, tuple[int, int, int]] | None = None
    for name, spec in PASSES.items():
        if name not in clip:
            if require_all:
                out.append(f"{name}: missing pass")
            continue
        a = clip[name]
        if not _check_structure(name, a, spec, out):
            continue
        thw = tuple(a.shape[:3])
        if ref is None:
            ref = (name, thw)  # type: ignore[assignment]
        elif thw != ref[1]:
            out.append(f"{name}: (T, H, W) = {thw}, expected {ref[1]} (from {ref[0]})")
            continue
        _check_values(name, a, spec, out)
        usable[name] = a

    thw = ref[1] if ref else None
    K_ok = _check_camera(clip["camera"], thw, out) if "camera" in clip else False
    if "meta" in clip:
        _check_meta(clip["meta"], out)
    if "normal" in usable:
        K = clip["camera"]["K"] if K_ok and check_normals_facing else None
        _check_normals(usable["normal"], usable.get("depth"), K, out)
    return out


def validate(clip: Mapping[str, Any], **kw: Any) -> None:
    """Raise :class:`ClipValidationError` listing every problem :func:`check_clip` finds."""
    problems = check_clip(clip, **kw)
    if problems:
        raise ClipValidationError(problems)
