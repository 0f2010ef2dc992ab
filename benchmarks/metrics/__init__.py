"""x2v-bench metrics: a registry of named metrics for fidelity, temporal consistency and controllability.

    from benchmarks.metrics import METRICS, compute
    r = compute("psnr", pred, gt)                 # pred, gt: (T, H, W, 3) linear HDR
    r = compute("warp_error", pred, gt, flow=optical_flow(depth, K, poses))
    r.value, r.per_frame, r.missing_reason
    f = [clip_features("fvd", p, g, i3d=PATH)[0] for p, g in clips]   # set-level: features per clip,
    r = compute_set("fvd", f)                                          # then one value over all of them

Image metrics see both clips through one fixed display mapping (Reinhard at ``exposure``, then
sRGB; :mod:`benchmarks.metrics.display`). Metrics whose weights or packages are absent return
``value=None`` with a ``missing_reason`` saying what to install.
"""

from __future__ import annotations

from . import control, fidelity, fvd, longrange, roundtrip, temporal  # noqa: F401  (importing registers the metrics)
from .display import to_display
from .registry import (
                       AREAS,
                       METRICS,
                       Metric,
                       MetricResult,
                       MetricUnavailable,
                       check_metrics,
                       clip_features,
                       compute,
                       compute_set,
                       get_metric,
)

__all__ = ["AREAS", "METRICS", "Metric", "MetricResult", "MetricUnavailable", "check_metrics", "clip_features",
           "compute", "compute_set", "get_metric", "to_display"]
