"""The display images every benchmark metric sees: fixed-exposure Reinhard, then sRGB.

Predictions and ground truth are linear HDR radiance. Image metrics (PSNR, SSIM, LPIPS, ꟻLIP,
ΔE2000) are defined on display images, so both clips go through the *same fixed* mapping —
``srgb(x / (1 + x))`` with ``x = exposure · radiance`` — and never a per-clip auto-exposure
(``interiorvideo.render.preview.tonemap`` picks its exposure from each clip, which would hide a
global brightness error). ``exposure = 1`` is the default: the renderer's units put indoor
irradiance near 1, and the X2Video model uses the same mapping (both call
:func:`interiorvideo.colour.hdr_to_display`).
Values stay float64 in [0, 1) (no 8-bit rounding) unless a metric says otherwise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from interiorvideo.colour import hdr_to_display

REC709_LUMA = np.array([0.2126, 0.7152, 0.0722])


def as_video(x: Any) -> np.ndarray:
    """(T, H, W, 3) array; a single (H, W, 3) image becomes a one-frame clip."""
    a = np.asarray(x)
    if a.ndim == 3:
        a = a[None]
    if a.ndim != 4 or a.shape[-1] != 3:
        raise ValueError(f"expected a (T, H, W, 3) video or an (H, W, 3) image, got shape {a.shape}")
    return a


def to_display(video: np.ndarray, exposure: float = 1.0, space: str = "linear") -> np.ndarray:
    """Display sRGB float64 in [0, 1]. ``space="display"``: the input already is sRGB ([0, 1] floats or uint8)."""
    if space == "linear":
        return hdr_to_display(video, exposure)
    if space == "display":
        a = np.asarray(video)
        a = a / 255.0 if a.dtype == np.uint8 else a.astype(np.float64)
        return np.clip(a, 0.0, 1.0)
    raise ValueError(f"space must be 'linear' or 'display', got {space!r}")


def luma(display: np.ndarray) -> np.ndarray:
    """Rec. 709 luma Y' of display sRGB values (…, 3) → (…)."""
    return np.asarray(display, np.float64) @ REC709_LUMA
