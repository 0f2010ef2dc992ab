"""The metric registry: every metric is a small named object, looked up by name (as in lm-evaluation-harness).

A metric that cannot run (its weights or its package missing) still answers: ``value=None`` with
a ``missing_reason`` saying what to install, so a results table shows the gap instead of
silently dropping the column.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Literal, Sequence

import numpy as np

from .display import as_video, to_display

Area = Literal["fidelity", "temporal", "control"]
Inputs = Literal["display", "raw"]
AREAS: tuple[str, ...] = ("fidelity", "temporal", "control")


class MetricUnavailable(RuntimeError):
    """Raised inside a metric when a package or weight file it needs is absent; becomes ``missing_reason``."""


@dataclass(frozen=True)
class MetricResult:
    """One metric on one clip: the clip value, the per-frame (or per-frame-pair) values, or why it is missing."""

    value: float | None
    per_frame: list[float] | None = None
    missing_reason: str | None = None

    @property
    def available(self) -> bool:
        return self.missing_reason is None

    @classmethod
    def from_frames(cls, values: Iterable[float], empty_reason: str = "no frame had a defined value") -> "MetricResult":
        """Clip value = mean of the finite per-frame values; NaN marks frames where the metric is undefined."""
        per_frame = [float(v) for v in values]
        finite = [v for v in per_frame if math.isfinite(v)]
        if not finite:
            return cls(None, per_frame, empty_reason)
        return cls(float(np.mean(finite)), per_frame, None)

    @classmethod
    def missing(cls, reason: str) -> "MetricResult":
        return cls(None, None, reason)


MetricFn = Callable[..., MetricResult]


@dataclass(frozen=True)
class Metric:
    """A registered metric.

    ``inputs="display"``: ``fn(pred, gt, **ctx)`` receives both clips tone-mapped to sRGB in [0, 1]
    (see :mod:`benchmarks.metrics.display`); ``inputs="raw"``: it receives them as given.
    ``needs``: context keys the caller must pass. ``needs_weights``: which pretrained weights the
    metric loads and how to supply them (None for weight-free metrics).
    """

    name: str
    area: Area
    higher_is_better: bool
    description: str
    fn: MetricFn = field(repr=False)
    needs_weights: str | None = None
    needs: tuple[str, ...] = ()
    inputs: Inputs = "display"
    per_frame: str = "frame"  # "frame", "pair" (T-1 consecutive pairs) or "none"


METRICS: dict[str, Metric] = {}


def register(name: str, *, area: Area, higher_is_better: bool, description: str, needs_weights: str | None = None,
             needs: Sequence[str] = (), inputs: Inputs = "display",
             per_frame: str = "frame") -> Callable[[MetricFn], MetricFn]:
    """Decorator adding ``fn`` to :data:`METRICS` under ``name``."""
    if area not in AREAS:
        raise ValueError(f"area must be one of {AREAS}, got {area!r}")

    def deco(fn: MetricFn) -> MetricFn:
        if name in METRICS:
            raise ValueError(f"metric {name!r} registered twice")
        METRICS[name] = Metric(name, area, higher_is_better, description, fn, needs_weights, tuple(needs), inputs,
                               per_frame)
        return fn

    return deco


def get_metric(name: str) -> Metric:
    try:
        return METRICS[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; known: {', '.join(sorted(METRICS))}") from None


def _display_pair(pred: Any, gt: Any, ctx: dict) -> tuple[np.ndarray, np.ndarray]:
    """Both clips through the same fixed display mapping (``space``/``exposure`` from the context)."""
    pred, gt = as_video(pred), as_video(gt)
    if pred.shape != gt.shape:
        raise ValueError(f"prediction {pred.shape} and ground truth {gt.shape} differ in shape")
    space, exposure = ctx.get("space", "linear"), float(ctx.get("exposure", 1.0))
    return to_display(pred, exposure, space), to_display(gt, exposure, space)


def compute(name: str, pred: Any, gt: Any, **ctx: Any) -> MetricResult:
    """Run metric ``name`` on a prediction and its reference.

    Common context: ``space`` ("linear": HDR radiance, the default; "display": sRGB in [0, 1]) and
    ``exposure`` (the fixed exposure shared by both clips, default 1.0). Each metric documents
    the other keys it reads.
    """
    metric = get_metric(name)
    missing = [k for k in metric.needs if ctx.get(k) is None]
    if missing:
        raise ValueError(f"metric {name!r} needs context {', '.join(missing)}")
    pred_in, gt_in = _display_pair(pred, gt, ctx) if metric.inputs == "display" else (pred, gt)
    try:
        return metric.fn(pred_in, gt_in, **ctx)
    except MetricUnavailable as e:
        return MetricResult.missing(str(e))


def compute_many(names: Iterable[str] | None, pred: Any, gt: Any, **ctx: Any) -> dict[str, MetricResult]:
    """Several metrics on one clip pair (all display-input metrics when ``names`` is None)."""
    chosen = list(names) if names is not None else [m.name for m in METRICS.values()
                                                    if m.inputs == "display" and not (set(m.needs) - set(ctx))]
    shown: tuple[np.ndarray, np.ndarray] | None = None  # tone-map once for all display metrics
    out = {}
    for n in chosen:
        if get_metric(n).inputs == "display":
            if shown is None:
                shown = _display_pair(pred, gt, ctx)
            out[n] = compute(n, *shown, **{**ctx, "space": "display"})
        else:
            out[n] = compute(n, pred, gt, **ctx)
    return out
