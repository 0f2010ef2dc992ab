"""The intrinsic round trip: an inverse model (:mod:`benchmarks.methods.inverse`) estimates the
intrinsics back from a method's video; these metrics score them against the intrinsics the
method was given. A method that ignores its conditioning — or renders something an inverse
renderer cannot read back — scores badly without any re-rendered ground truth.

Context ``roundtrip``: ``{"given": pass → (T, H, W, C), "recovered": pass → (T, H, W, C)}`` of the
scored frames. A pass the method was not given (``render-partial``) or the inverse model does not
estimate is missing with the reason. Surfaces only: pixels whose given normal is zero (no surface)
are left out of every pass.

* ``roundtrip_albedo`` — PSNR (dB) of the recovered albedo, values in [0, 1];
* ``roundtrip_normal`` — mean angle (degrees) between recovered and given normals;
* ``roundtrip_roughness`` / ``roundtrip_metallic`` — mean absolute error;
* ``roundtrip_irradiance`` — relative mean absolute error after the best single scale (an inverse
  renderer cannot know the exposure: irradiance is recovered up to a factor).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .fidelity import capped_psnr
from .registry import MetricResult, register

ROUNDTRIP_METRICS = ("roundtrip_albedo", "roundtrip_normal", "roundtrip_roughness", "roundtrip_metallic",
                     "roundtrip_irradiance")


def _pair(roundtrip: Any, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | str:
    """(given, recovered, surface mask (T, H, W)) of one pass, or why it cannot be scored."""
    given, recovered = roundtrip["given"], roundtrip["recovered"]
    if name not in given:
        return f"the method was not given {name} on this task"
    if name not in recovered:
        return f"the inverse model does not estimate {name}"
    g, r = np.asarray(given[name], np.float64), np.asarray(recovered[name], np.float64)
    if r.shape != g.shape:
        raise ValueError(f"inverse model returned {name} of shape {r.shape}, expected {g.shape}")
    if not np.isfinite(r).all():
        raise ValueError(f"inverse model returned NaN or infinite {name}")
    normal = given.get("normal")
    surface = (np.abs(np.asarray(normal)).sum(-1) > 0) if normal is not None else np.ones(g.shape[:3], bool)
    return g, r, surface


def _per_frame(name: str, roundtrip: Any, score) -> MetricResult:
    got = _pair(roundtrip, name)
    if isinstance(got, str):
        return MetricResult.missing(got)
    g, r, surface = got
    vals = [score(g[t][surface[t]], r[t][surface[t]]) if surface[t].any() else float("nan") for t in range(len(g))]
    return MetricResult.from_frames(vals, f"no frame shows a surface to compare {name} on")


def _psnr(g: np.ndarray, r: np.ndarray) -> float:
    return capped_psnr(g, np.clip(r, 0.0, 1.0))


def _angle_deg(g: np.ndarray, r: np.ndarray) -> float:
    rn = r / np.maximum(np.linalg.norm(r, axis=-1, keepdims=True), 1e-12)
    gn = g / np.maximum(np.linalg.norm(g, axis=-1, keepdims=True), 1e-12)
    return float(np.degrees(np.arccos(np.clip((rn * gn).sum(-1), -1.0, 1.0))).mean())


def _mae(g: np.ndarray, r: np.ndarray) -> float:
    return float(np.mean(np.abs(r - g)))


def _scaled_relative_mae(g: np.ndarray, r: np.ndarray) -> float:
    s = float((g * r).sum() / max((r * r).sum(), 1e-12))  # least-squares scale
    return float(np.mean(np.abs(s * r - g)) / max(np.mean(np.abs(g)), 1e-12))


_CARDS = {
    "roundtrip_albedo": ("albedo", True, _psnr, "PSNR (dB) of the albedo an inverse model recovers from the video "
                                                "against the albedo given"),
    "roundtrip_normal": ("normal", False, _angle_deg, "mean angle (°) between recovered and given normals"),
    "roundtrip_roughness": ("roughness", False, _mae, "mean absolute error of recovered roughness"),
    "roundtrip_metallic": ("metallic", False, _mae, "mean absolute error of recovered metallic"),
    "roundtrip_irradiance": ("irradiance", False, _scaled_relative_mae,
                             "relative mean absolute error of recovered irradiance after the best single scale"),
}


def _metric(pass_name: str, score):
    def fn(pred: np.ndarray, gt: np.ndarray, roundtrip: dict, **_) -> MetricResult:
        return _per_frame(pass_name, roundtrip, score)
    return fn


for _name, (_pass, _hib, _score, _describe) in _CARDS.items():
    register(_name, area="control", higher_is_better=_hib, needs=("roundtrip",), inputs="raw",
             description=_describe + " (needs --inverse)")(_metric(_pass, _score))


__all__ = ["ROUNDTRIP_METRICS"]
