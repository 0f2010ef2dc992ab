"""Temporal consistency: warping error on ground-truth flow, tOF and tLPIPS (TecoGAN), flicker.

Every value here is per consecutive frame pair (t, t+1): ``per_frame`` has T−1 entries.
"""

from __future__ import annotations

import numpy as np

from interiorvideo.colour import to_uint8

from .display import luma
from .lpips_offline import INSTALL_HINT, lpips_distance
from .registry import MetricResult, register
from .warp import farneback, forward_flow, warp_back


def _pairs(video: np.ndarray) -> None:
    if len(video) < 2:
        raise ValueError(f"temporal metrics need at least 2 frames, got {len(video)}")


@register("warp_error", area="temporal", higher_is_better=False, needs=("flow",), per_frame="pair",
          description="MSE between prediction frame t and frame t+1 warped back with ground-truth flow, "
                      "over non-occluded pixels (Lai et al. 2018)")
def warp_error(pred: np.ndarray, gt: np.ndarray, flow: dict, **_) -> MetricResult:
    """Mean over valid pixels and channels of ``(pred_t − warp(pred_{t+1}))²`` on display values.

    ``flow``: the dict of :func:`interiorvideo.render.flow.optical_flow` for the ground-truth
    cameras (``forward``/``forward_valid``). The prediction alone is scored (``gt`` only fixes the
    shape): run it on the ground truth to see the floor set by view-dependent shading.
    A pair without valid pixels is NaN and left out of the clip mean.
    """
    _pairs(pred)
    fwd, valid = forward_flow(flow, pred.shape)
    vals = []
    for t in range(len(pred) - 1):
        m = valid[t]
        if not m.any():
            vals.append(float("nan"))
            continue
        diff = pred[t] - warp_back(pred[t + 1], fwd[t])
        vals.append(float(np.mean(diff[m] ** 2)))
    return MetricResult.from_frames(vals, "no frame pair has a non-occluded pixel")


@register("tof", area="temporal", higher_is_better=False, per_frame="pair",
          description="tOF (TecoGAN): mean endpoint distance between Farnebäck flows estimated on the "
                      "prediction and on the ground truth, 8-bit display grey frames")
def tof(pred: np.ndarray, gt: np.ndarray, **_) -> MetricResult:
    """Both flows come from the same estimator (OpenCV Farnebäck with TecoGAN's parameters), so its
    own errors largely cancel and ground truth scores 0; TecoGAN's 8×8 border crop is not applied."""
    _pairs(pred)
    p8, g8 = to_uint8(pred), to_uint8(gt)
    vals = [float(np.mean(np.linalg.norm(farneback(p8[t], p8[t + 1]) - farneback(g8[t], g8[t + 1]), axis=-1)))
            for t in range(len(pred) - 1)]
    return MetricResult.from_frames(vals)


@register("tlpips", area="temporal", higher_is_better=False, per_frame="pair",
          description="tLPIPS (TecoGAN tLP): |LPIPS(pred_t, pred_t+1) − LPIPS(gt_t, gt_t+1)|, AlexNet v0.1 "
                      "(not ×100)", needs_weights=f"AlexNet ImageNet backbone from a local file: {INSTALL_HINT}")
def tlpips(pred: np.ndarray, gt: np.ndarray, lpips_weights: str | None = None, lpips_net: str = "alex",
           **_) -> MetricResult:
    _pairs(pred)
    dp = lpips_distance(pred[:-1], pred[1:], lpips_net, lpips_weights)
    dg = lpips_distance(gt[:-1], gt[1:], lpips_net, lpips_weights)
    return MetricResult.from_frames(np.abs(dp - dg))


@register("flicker", area="temporal", higher_is_better=False, per_frame="pair",
          description="|Δ mean luma of prediction − Δ mean luma of ground truth| between consecutive frames "
                      "(Rec. 709 luma of display sRGB)")
def flicker(pred: np.ndarray, gt: np.ndarray, **_) -> MetricResult:
    """Global brightness pumping the ground truth does not have; camera-motion changes cancel."""
    _pairs(pred)
    mp, mg = luma(pred).mean(axis=(1, 2)), luma(gt).mean(axis=(1, 2))
    return MetricResult.from_frames(np.abs(np.diff(mp) - np.diff(mg)))
