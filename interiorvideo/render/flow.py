"""Ground-truth optical flow from depth and cameras (static scenes).

A pixel of frame a is lifted with its z-depth, moved into frame b's camera and projected; the
flow is the pixel displacement. It is *valid* (not occluded) when the point lands in frame b's
image in front of the camera and frame b's own depth there agrees with it (a depth test): a point
hidden behind something else in frame b, or outside its view, has no correspondence.
Pixel centres are at integer + 0.5, as in :func:`interiorvideo.schema.pixel_rays`.
"""

from __future__ import annotations

import numpy as np


def _lift(depth: np.ndarray, K: np.ndarray) -> np.ndarray:
    h, w = depth.shape
    u, v = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    rays = np.stack([u, v, np.ones_like(u)], axis=-1) @ np.linalg.inv(K).T
    return rays * depth[..., None]


def flow_between(depth_a: np.ndarray, depth_b: np.ndarray, K: np.ndarray, pose_a: np.ndarray, pose_b: np.ndarray,
                 rel_tol: float = 0.03, abs_tol: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """Flow (H, W, 2) in pixels (dx, dy) from frame a to frame b, and its validity mask (H, W).

    ``depth_*``: (H, W) metric z-depth, 0 = no surface; poses camera-to-world (OpenCV).
    A correspondence survives the depth test when |z_b(projected) − depth_b(nearest pixel)| ≤
    rel_tol·z + abs_tol.
    """
    depth_a = np.asarray(depth_a, np.float64).reshape(depth_a.shape[:2])
    depth_b = np.asarray(depth_b, np.float64).reshape(depth_b.shape[:2])
    h, w = depth_a.shape
    pts = _lift(depth_a, K).reshape(-1, 3)
    a_to_b = np.linalg.inv(pose_b) @ pose_a
    pb = pts @ a_to_b[:3, :3].T + a_to_b[:3, 3]
    z = pb[:, 2]
    safe_z = np.where(z > 1e-6, z, 1.0)
    proj = pb @ K.T
    ub, vb = proj[:, 0] / safe_z, proj[:, 1] / safe_z  # continuous image coordinates
    u, v = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    flow = np.stack([ub - u.ravel(), vb - v.ravel()], axis=1)
    inside = (z > 1e-6) & (ub >= 0) & (ub < w) & (vb >= 0) & (vb < h) & (depth_a.ravel() > 0)
    col = np.clip(np.floor(ub), 0, w - 1).astype(np.int64)
    row = np.clip(np.floor(vb), 0, h - 1).astype(np.int64)
    seen = depth_b[row, col]
    agree = (seen > 0) & (np.abs(seen - z) <= rel_tol * z + abs_tol)
    valid = inside & agree
    flow[~(depth_a.ravel() > 0)] = 0.0
    return flow.reshape(h, w, 2).astype(np.float32), valid.reshape(h, w)


def optical_flow(depth: np.ndarray, K: np.ndarray, poses: np.ndarray, **tol) -> dict[str, np.ndarray]:
    """Forward (t → t+1) and backward (t+1 → t) flow with validity masks for a clip.

    Returns ``forward``/``backward`` (T−1, H, W, 2) float32 and ``forward_valid``/
    ``backward_valid`` (T−1, H, W) bool. ``backward[t]`` maps frame t+1 to frame t.
    """
    depth = np.asarray(depth)
    if depth.ndim == 4:
        depth = depth[..., 0]
    T = depth.shape[0]
    if T < 2 or len(poses) != T:
        raise ValueError(f"need at least 2 frames and one pose per frame, got {T} frames and {len(poses)} poses")
    out = {k: [] for k in ("forward", "forward_valid", "backward", "backward_valid")}
    for t in range(T - 1):
        f, fv = flow_between(depth[t], depth[t + 1], K, poses[t], poses[t + 1], **tol)
        b, bv = flow_between(depth[t + 1], depth[t], K, poses[t + 1], poses[t], **tol)
        out["forward"].append(f)
        out["forward_valid"].append(fv)
        out["backward"].append(b)
        out["backward_valid"].append(bv)
    return {k: np.stack(v) for k, v in out.items()}
