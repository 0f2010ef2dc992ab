"""Colour: the sRGB transfer curve, Reinhard tone mapping and the fixed display mapping, once.

The renderer (textures, previews), the importers, the model (its VAE sees display images) and the
benchmark (every image metric) all use these functions, so "display image" means one thing.

* :func:`linear_to_srgb` / :func:`srgb_to_linear`: the IEC 61966-2-1 sRGB curve (values clamped
  to [0, 1] first).
* :func:`reinhard` / :func:`reinhard_inverse`: ``x / (1 + x)`` and its inverse ``y / (1 - y)``.
* :func:`hdr_to_display`: linear HDR radiance → display sRGB in [0, 1): Reinhard at a *fixed*
  ``exposure`` (no per-clip auto-exposure, so absolute brightness stays meaningful), then sRGB.
  :func:`display_to_hdr` inverts it (display values clamped just below 1 to stay finite).
* :func:`to_uint8`: display values → 8-bit, rounded to nearest.

Every function takes numpy arrays (anything ``np.asarray`` takes, computed in float64) or torch
tensors (computed in the tensor's own dtype and device, and returned as tensors); torch is only
touched when a tensor is given, so this module does not import it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DISPLAY_EPS = 1e-4  # display_to_hdr clamps display values to 1 - DISPLAY_EPS: the inverse stays finite


def _xp(x: Any) -> tuple[Any, Any]:
    """(array namespace, array): torch and the tensor itself for a torch tensor, else numpy and
    the input as a float64 array."""
    if type(x).__module__.startswith("torch") and hasattr(x, "detach"):
        import torch

        return torch, x
    return np, np.asarray(x, dtype=np.float64)


def linear_to_srgb(linear: Any) -> Any:
    """Linear [0, 1] → sRGB-encoded [0, 1] (IEC 61966-2-1)."""
    xp, x = _xp(linear)
    x = xp.clip(x, 0.0, 1.0)
    # the power branch sees no zeros, so a torch gradient through it stays finite
    return xp.where(x <= 0.0031308, 12.92 * x, 1.055 * xp.clip(x, 1e-12, None) ** (1 / 2.4) - 0.055)


def srgb_to_linear(srgb: Any) -> Any:
    """sRGB-encoded [0, 1] → linear [0, 1] (IEC 61966-2-1)."""
    xp, x = _xp(srgb)
    x = xp.clip(x, 0.0, 1.0)
    return xp.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def reinhard(x: Any) -> Any:
    """Reinhard's global operator ``x / (1 + x)``: [0, inf) → [0, 1)."""
    _, x = _xp(x)
    return x / (1.0 + x)


def reinhard_inverse(y: Any) -> Any:
    """Inverse of :func:`reinhard`: ``y / (1 - y)`` for y in [0, 1)."""
    _, y = _xp(y)
    return y / (1.0 - y)


def hdr_to_display(hdr: Any, exposure: float = 1.0) -> Any:
    """Linear HDR radiance (negative values count as 0) → display sRGB in [0, 1): Reinhard of
    ``exposure · radiance``, then the sRGB curve."""
    xp, x = _xp(hdr)
    return linear_to_srgb(reinhard(xp.clip(x, 0.0, None) * exposure))


def display_to_hdr(display: Any) -> Any:
    """Inverse of :func:`hdr_to_display` at exposure 1 (display values are clamped to
    [0, 1 - DISPLAY_EPS])."""
    xp, _ = _xp(display)
    return reinhard_inverse(xp.clip(srgb_to_linear(display), 0.0, 1.0 - DISPLAY_EPS))


def to_uint8(display: Any) -> np.ndarray:
    """Display values in [0, 1] → uint8, rounded to nearest, computed in the input's float dtype
    (a tensor must be on the CPU)."""
    return (np.clip(np.asarray(display), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
