"""Long-range consistency: does a surface point keep its colour when the camera sees it again many
frames later? Neighbour-frame metrics (warping error, flicker) miss slow drift and the seams
between sampling windows; these metrics compare frames far apart in time.

For a frame pair (a, b), every pixel of frame a is lifted with the ground-truth depth, moved into
camera b and kept when frame b's depth agrees there (:func:`interiorvideo.render.flow.flow_between`:
the point is visible in both). Frame b is sampled at the corresponding positions (bilinear) and

    drift(a, b) = mean over those pixels and channels of |(pred_a − pred_b) − (gt_a − gt_b)|

on display values in [0, 1]. Subtracting the ground truth's own change removes what the scene
really does between the two views (specular highlights moving, interpolation across edges), so
the ground truth scores exactly 0 and a video whose brightness drifts by c per frame scores g·c at
gap g. A constant or blurred video is not consistent by this measure: it lacks the true changes.

* ``drift_<g>`` (g in :data:`DRIFT_GAPS`): pairs (t, t + g) — at most :data:`MAX_PAIRS` starts,
  evenly spaced; per-frame values at the start frame t.
* ``revisit``: pairs where the camera comes back to an earlier viewpoint — for each frame a, the
  frame b ≥ a + :data:`REVISIT_MIN_GAP` whose camera is nearest to a's, when it is within
  :data:`REVISIT_POSITION_M` and :data:`REVISIT_ANGLE_DEG` (the ``revisit`` task's there-and-back
  clips, or any looping trajectory).

``geometry`` context: ``{"depth": (T, H, W[, 1]), "K": (3, 3), "poses": (T, 4, 4)}`` of the
scored frames (:attr:`benchmarks.tasks.TaskInstance.geometry`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .registry import MetricResult, register
from .warp import warp_back

DRIFT_GAPS: tuple[int, ...] = (8, 32, 128)
MAX_PAIRS = 32
REVISIT_MIN_GAP = 4
REVISIT_POSITION_M = 0.05
REVISIT_ANGLE_DEG = 5.0


def _geometry(geometry: Any, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    try:
        depth, K, poses = np.asarray(geometry["depth"]), np.asarray(geometry["K"]), np.asarray(geometry["poses"])
    except (KeyError, TypeError):
        raise ValueError("geometry must be a dict with 'depth', 'K' and 'poses' of the scored frames") from None
    depth = depth[..., 0] if depth.ndim == 4 else depth
    if depth.shape != tuple(shape[:3]) or poses.shape != (shape[0], 4, 4) or K.shape != (3, 3):
        raise ValueError(f"geometry shapes depth {depth.shape}, poses {poses.shape}, K {K.shape} do not fit a clip "
                         f"of shape {shape}")
    return depth, K, poses


def pair_drift(pred: np.ndarray, gt: np.ndarray, depth: np.ndarray, K: np.ndarray, poses: np.ndarray,
               a: int, b: int) -> float:
    """The drift of one frame pair (module docstring); NaN when no pixel of frame a is seen in frame b."""
    from interiorvideo.render.flow import flow_between  # here: interiorvideo.render loads open3d (seconds)

    flow, valid = flow_between(depth[a], depth[b], K, poses[a], poses[b])
    if not valid.any():
        return float("nan")
    change_pred = pred[a] - warp_back(pred[b], flow)
    change_gt = gt[a] - warp_back(gt[b], flow)
    return float(np.mean(np.abs(change_pred - change_gt)[valid]))


def gap_starts(frames: int, gap: int, max_pairs: int = MAX_PAIRS) -> list[int]:
    """Start frames of the (t, t + gap) pairs scored: all of them, or ``max_pairs`` evenly spaced."""
    n = frames - gap
    if n <= max_pairs:
        return list(range(max(n, 0)))
    return sorted({int(round(i * (n - 1) / (max_pairs - 1))) for i in range(max_pairs)})


def _drift_at_gap(gap: int):
    def fn(pred: np.ndarray, gt: np.ndarray, geometry: dict, **_) -> MetricResult:
        depth, K, poses = _geometry(geometry, pred.shape)
        T = len(pred)
        if T <= gap:
            return MetricResult.missing(f"the clip has {T} scored frames; a gap of {gap} needs at least {gap + 1}")
        per = [float("nan")] * (T - gap)
        for t in gap_starts(T, gap):
            per[t] = pair_drift(pred, gt, depth, K, poses, t, t + gap)
        return MetricResult.from_frames(per, f"no surface point is seen in both frames of any pair {gap} apart")
    return fn


for _gap in DRIFT_GAPS:
    _describe = (f"long-range drift: mean |Δpred − Δgt| of display colour over surface points seen in frames t and "
                 f"t+{_gap} (ground-truth depth and cameras; visibility by depth test)")
    register(f"drift_{_gap}", area="temporal", higher_is_better=False, needs=("geometry",),
             description=_describe)(_drift_at_gap(_gap))


def rotation_angle_deg(r_a: np.ndarray, r_b: np.ndarray) -> float:
    cos = (np.trace(r_a.T @ r_b) - 1.0) / 2.0
    return math.degrees(math.acos(float(np.clip(cos, -1.0, 1.0))))


def revisit_pairs(poses: np.ndarray, min_gap: int = REVISIT_MIN_GAP, max_position: float = REVISIT_POSITION_M,
                  max_angle: float = REVISIT_ANGLE_DEG) -> list[tuple[int, int]]:
    """(a, b) with b ≥ a + ``min_gap`` and camera b the nearest of those to camera a, within the tolerances."""
    poses = np.asarray(poses, np.float64)
    centres = poses[:, :3, 3]
    pairs = []
    for a in range(len(poses)):
        later = np.arange(a + min_gap, len(poses))
        if not len(later):
            break
        dist = np.linalg.norm(centres[later] - centres[a], axis=1)
        for b in later[np.argsort(dist, kind="stable")]:
            if np.linalg.norm(centres[b] - centres[a]) > max_position:
                break
            if rotation_angle_deg(poses[a, :3, :3], poses[b, :3, :3]) <= max_angle:
                pairs.append((a, int(b)))
                break
    return pairs


@register("revisit", area="temporal", higher_is_better=False, needs=("geometry",),
          description=f"drift where the camera returns to an earlier viewpoint (within "
                      f"{REVISIT_POSITION_M * 100:.0f} cm and {REVISIT_ANGLE_DEG:.0f}°, ≥ {REVISIT_MIN_GAP} frames "
                      f"later): mean |Δpred − Δgt| of the surface points seen in both")
def revisit(pred: np.ndarray, gt: np.ndarray, geometry: dict, **_) -> MetricResult:
    depth, K, poses = _geometry(geometry, pred.shape)
    pairs = revisit_pairs(poses)
    if not pairs:
        return MetricResult.missing("the camera never returns to an earlier viewpoint (see the revisit task)")
    per = [float("nan")] * len(pred)
    for a, b in pairs:
        per[a] = pair_drift(pred, gt, depth, K, poses, a, b)
    return MetricResult.from_frames(per, "no surface point is seen again at a revisited viewpoint")


__all__ = ["DRIFT_GAPS", "gap_starts", "pair_drift", "revisit_pairs"]
