"""Controllability: colour error of an edit inside its mask, leakage outside it, monotonicity over a sweep.

Colour differences are CIEDE2000 (scikit-image) on CIELAB (D65) of the display sRGB frames.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
from scipy.stats import spearmanr
from skimage.color import deltaE_ciede2000, rgb2lab

from .display import as_video, luma, to_display
from .registry import MetricResult, register


def ciede2000(lab_a: np.ndarray, lab_b: np.ndarray) -> np.ndarray:
    """ΔE2000 between CIELAB arrays (…, 3) (scikit-image's implementation of Sharma et al. 2005)."""
    return deltaE_ciede2000(np.asarray(lab_a, np.float64), np.asarray(lab_b, np.float64))


def delta_e_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel ΔE2000 (T, H, W) between two display sRGB clips."""
    return ciede2000(rgb2lab(a, channel_axis=-1), rgb2lab(b, channel_axis=-1))


def frame_masks(mask: Any, shape: tuple[int, ...]) -> np.ndarray:
    """The edit mask as (T, H, W) bool; an (H, W) mask applies to every frame."""
    m = np.asarray(mask).astype(bool)
    if m.ndim == 4 and m.shape[-1] == 1:
        m = m[..., 0]
    if m.ndim == 2:
        m = np.broadcast_to(m, shape[:3])
    if m.shape != tuple(shape[:3]):
        raise ValueError(f"mask shape {m.shape} does not fit a clip of shape {shape}")
    return m


def _masked_means(values: np.ndarray, masks: np.ndarray) -> list[float]:
    return [float(v[m].mean()) if m.any() else float("nan") for v, m in zip(values, masks)]


@register("delta_e_edit", area="control", higher_is_better=False, needs=("mask",),
          description="Mean CIEDE2000 inside the edit mask between the edited prediction and the edit's ground truth")
def delta_e_edit(pred: np.ndarray, gt: np.ndarray, mask: Any, **_) -> MetricResult:
    """``gt``: the ground-truth render of the edit; ``mask``: the edited region. Empty-mask frames are NaN."""
    return MetricResult.from_frames(_masked_means(delta_e_map(pred, gt), frame_masks(mask, pred.shape)),
                                    "the edit mask is empty in every frame")


@register("leakage", area="control", higher_is_better=False, needs=("mask",), against="base",
          description="Mean CIEDE2000 outside the edit mask between the edited and the unedited prediction")
def leakage(pred: np.ndarray, gt: np.ndarray, mask: Any, **_) -> MetricResult:
    """``pred``: the method's output with the edit; ``gt``: the same method's output without it.
    Anything that changes outside the mask leaked; 0 when only the masked region changed."""
    return MetricResult.from_frames(_masked_means(delta_e_map(pred, gt), ~frame_masks(mask, pred.shape)),
                                    "the edit mask covers every pixel")


def mean_luma(display_clip: np.ndarray, mask: Any = None) -> float:
    """Default sweep measurement: mean display luma, inside ``mask`` when given."""
    y = luma(display_clip)
    return float(y[frame_masks(mask, display_clip.shape)].mean()) if mask is not None else float(y.mean())


@register("monotonicity", area="control", higher_is_better=True, needs=("params",), inputs="raw", per_frame="none",
          scope="sweep",
          description="Spearman rho between a swept control parameter and the measured response "
                      "(times the expected direction)")
def monotonicity(pred: Sequence[Any], gt: Any, params: Sequence[float], measure: Callable[..., float] | None = None,
                 mask: Any = None, direction: int = 1, exposure: float = 1.0, space: str = "linear",
                 **_) -> MetricResult:
    """``pred``: either the measured responses (N numbers) or the N predicted clips of the sweep, one per
    value in ``params``; clips are tone-mapped and measured with ``measure(display_clip)`` (default:
    mean luma inside ``mask``). ``direction``: +1 when the response should rise with the parameter,
    −1 when it should fall. ``gt`` is unused (None). 1 = perfectly monotone in the expected direction;
    a response that does not change at all scores 0 (Spearman's rho itself is undefined there).
    """
    try:
        measured = np.asarray(pred, np.float64)
        if measured.ndim != 1:
            raise ValueError
    except (ValueError, TypeError):
        measure = measure or (lambda clip: mean_luma(clip, mask))
        measured = np.array([measure(to_display(as_video(c), exposure, space)) for c in pred], np.float64)
    params = np.asarray(params, np.float64)
    if measured.shape != params.shape or len(params) < 3:
        raise ValueError(f"need one response per parameter value and at least 3 of them, got {measured.shape} "
                         f"responses for {params.shape} parameters")
    if np.ptp(params) == 0:
        raise ValueError("the swept parameter is constant")
    if np.ptp(measured) == 0:  # rho is undefined; a control with no effect has no monotone relation
        return MetricResult(0.0, None, None)
    rho = spearmanr(params, measured).statistic
    return MetricResult(float(np.sign(direction) * rho), None, None)
