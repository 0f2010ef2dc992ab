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
Scope = Literal["clip", "sweep", "set"]
SCOPES: tuple[str, ...] = ("clip", "sweep", "set")


@dataclass(frozen=True)
class Metric:
    """A registered metric.

    ``inputs="display"``: ``fn(pred, gt, **ctx)`` receives both clips tone-mapped to sRGB in [0, 1]
    (see :mod:`benchmarks.metrics.display`); ``inputs="raw"``: it receives them as given.
    ``needs``: context keys the caller must pass. ``needs_weights``: which pretrained weights the
    metric loads and how to supply them (None for weight-free metrics).

    What a metric scores (``scope``):

    - ``"clip"``: one prediction against its reference, ``fn(pred, reference, **ctx)``.
    - ``"sweep"``: the outputs of a control sweep, ``fn(clips, None, params=values, **ctx)``, one clip per
      swept parameter value.
    - ``"set"``: all clips of a method × task at once. ``features(pred, gt, **ctx)`` gives each clip's
      JSON-able features (display inputs, computed with the clip); ``fn(features, **ctx)`` scores the list.
      Score it with :func:`clip_features` and :func:`compute_set`, not :func:`compute`.

    ``against``: a *paired* metric's reference is the same method's output for this other call of the
    task (leakage: ``"base"``, the unedited input), not the ground truth. ``check(**ctx)``: validates
    the configuration before a run (e.g. that a weights file exists), raising :class:`MetricUnavailable`.
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
    scope: Scope = "clip"
    against: str | None = None
    features: Callable[..., Any] | None = field(default=None, repr=False)
    check: Callable[..., None] | None = field(default=None, repr=False)


METRICS: dict[str, Metric] = {}


def register(name: str, *, area: Area, higher_is_better: bool, description: str, needs_weights: str | None = None,
             needs: Sequence[str] = (), inputs: Inputs = "display", per_frame: str = "frame", scope: Scope = "clip",
             against: str | None = None, features: Callable[..., Any] | None = None,
             check: Callable[..., None] | None = None) -> Callable[[MetricFn], MetricFn]:
    """Decorator adding ``fn`` to :data:`METRICS` under ``name`` (the fields of :class:`Metric`)."""
    if area not in AREAS:
        raise ValueError(f"area must be one of {AREAS}, got {area!r}")
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
    if (scope == "set") != (features is not None):
        raise ValueError(f"metric {name!r}: a set-level metric (and only one) gives per-clip features")

    def deco(fn: MetricFn) -> MetricFn:
        if name in METRICS:
            raise ValueError(f"metric {name!r} registered twice")
        METRICS[name] = Metric(name, area, higher_is_better, description, fn, needs_weights=needs_weights,
                               needs=tuple(needs), inputs=inputs, per_frame="none" if scope == "set" else per_frame,
                               scope=scope, against=against, features=features, check=check)
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
    """Run metric ``name`` on a prediction and its reference (a clip- or sweep-scope metric).

    Common context: ``space`` ("linear": HDR radiance, the default; "display": sRGB in [0, 1]) and
    ``exposure`` (the fixed exposure shared by both clips, default 1.0). Each metric documents
    the other keys it reads.
    """
    metric = get_metric(name)
    if metric.scope == "set":
        raise ValueError(f"metric {name!r} scores a set of clips: use clip_features and compute_set")
    missing = [k for k in metric.needs if ctx.get(k) is None]
    if missing:
        raise ValueError(f"metric {name!r} needs context {', '.join(missing)}")
    pred_in, gt_in = _display_pair(pred, gt, ctx) if metric.inputs == "display" else (pred, gt)
    try:
        return metric.fn(pred_in, gt_in, **ctx)
    except MetricUnavailable as e:
        return MetricResult.missing(str(e))


def _set_metric(name: str) -> Metric:
    metric = get_metric(name)
    if metric.scope != "set":
        raise ValueError(f"metric {name!r} scores one clip, not a set: use compute")
    return metric


def clip_features(name: str, pred: Any, gt: Any, **ctx: Any) -> tuple[Any, str | None]:
    """One clip's features for the set-level metric ``name``: ``(features, None)``, or ``(None, why)`` when
    the metric cannot run (its weights missing)."""
    metric = _set_metric(name)
    try:
        return metric.features(*_display_pair(pred, gt, ctx), **ctx), None
    except MetricUnavailable as e:
        return None, str(e)


def compute_set(name: str, features: Sequence[Any], **ctx: Any) -> MetricResult:
    """The set-level metric ``name`` over the features of every clip (see :func:`clip_features`)."""
    metric = _set_metric(name)
    try:
        return metric.fn(list(features), **ctx)
    except MetricUnavailable as e:
        return MetricResult.missing(str(e))


def check_metrics(names: Iterable[str], **ctx: Any) -> None:
    """Run the up-front configuration checks of these metrics; raises :class:`MetricUnavailable`."""
    for n in dict.fromkeys(names):
        metric = get_metric(n)
        if metric.check is not None:
            metric.check(**ctx)
