"""Flow helpers for the temporal metrics: backward warping with ground-truth flow, and estimated flow.

Ground-truth flow follows :func:`interiorvideo.render.flow.optical_flow`: ``forward[t]`` (H, W, 2)
is the displacement (dx, dy) in pixels taking a pixel of frame t to its position in frame t+1,
and ``forward_valid[t]`` marks the frame-t pixels that are visible in frame t+1 (in view and
passing the depth test). So frame t+1 is warped *back* onto frame t's pixel grid by sampling it at
``p + forward[t](p)``; the comparison counts only ``forward_valid[t]`` pixels. (``backward[t]``
maps frame t+1 to frame t: it is the flow for warping frame t forward onto frame t+1.)
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from scipy.ndimage import map_coordinates

# TecoGAN's tOF settings for cv2.calcOpticalFlowFarneback:
# pyr_scale, levels, winsize, iterations, poly_n, poly_sigma, flags.
FARNEBACK_PARAMS = (0.5, 3, 15, 3, 5, 1.2, 0)


def warp_back(next_frame: np.ndarray, forward_flow: np.ndarray) -> np.ndarray:
    """Frame t+1 (H, W, C) resampled on frame t's grid: ``out(p) = next_frame(p + forward_flow(p))``, bilinear.

    Displacements are the same whether pixel centres sit at integers or at integer + 0.5, so the
    flow applies directly to array indices. Samples outside the image repeat the border (such
    pixels are outside ``forward_valid`` anyway).
    """
    h, w = next_frame.shape[:2]
    ys, xs = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    coords = np.stack([ys + forward_flow[..., 1], xs + forward_flow[..., 0]])
    return np.stack([map_coordinates(next_frame[..., c], coords, order=1, mode="nearest")
                     for c in range(next_frame.shape[-1])], axis=-1)


def forward_flow(flow: Any, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """``(forward, forward_valid)`` from the dict :func:`optical_flow` returns, checked against the clip shape."""
    try:
        fwd, valid = np.asarray(flow["forward"], np.float64), np.asarray(flow["forward_valid"], bool)
    except (KeyError, TypeError):
        raise ValueError("flow must be the dict of interiorvideo.render.flow.optical_flow "
                         "(keys 'forward' and 'forward_valid')") from None
    t, h, w = shape[:3]
    if fwd.shape != (t - 1, h, w, 2) or valid.shape != (t - 1, h, w):
        raise ValueError(f"flow shapes {fwd.shape}/{valid.shape} do not fit a clip of shape {shape}")
    return fwd, valid


def farneback(prev_u8: np.ndarray, next_u8: np.ndarray) -> np.ndarray:
    """OpenCV Farnebäck flow (H, W, 2) from one 8-bit RGB frame to the next (grey, TecoGAN's settings)."""
    a = cv2.cvtColor(np.ascontiguousarray(prev_u8), cv2.COLOR_RGB2GRAY)
    b = cv2.cvtColor(np.ascontiguousarray(next_u8), cv2.COLOR_RGB2GRAY)
    return cv2.calcOpticalFlowFarneback(a, b, None, *FARNEBACK_PARAMS)
