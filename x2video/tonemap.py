"""The invertible display mapping between linear HDR radiance and the [0, 1] images the VAE sees.

RGB↔X's VAE works on sRGB images; rendered radiance is linear HDR. A *fixed* mapping (no
per-clip auto-exposure) keeps absolute brightness meaningful, which the model needs to follow
the irradiance it is given: Reinhard ``x / (1 + x)`` then the sRGB transfer curve. Both steps are
invertible, so generated display frames map back to linear HDR.
"""

from __future__ import annotations

import torch

_EPS = 1e-4  # keeps the inverse finite at display value 1


def linear_to_srgb(x: torch.Tensor) -> torch.Tensor:
    x = x.clamp(0.0, 1.0)
    return torch.where(x <= 0.0031308, 12.92 * x, 1.055 * x.clamp_min(1e-12) ** (1 / 2.4) - 0.055)


def srgb_to_linear(x: torch.Tensor) -> torch.Tensor:
    x = x.clamp(0.0, 1.0)
    return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def hdr_to_display(hdr: torch.Tensor) -> torch.Tensor:
    """Linear HDR (≥ 0) → display values in [0, 1)."""
    x = hdr.clamp_min(0.0)
    return linear_to_srgb(x / (1.0 + x))


def display_to_hdr(display: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`hdr_to_display` (display values are clamped just below 1)."""
    y = srgb_to_linear(display).clamp(0.0, 1.0 - _EPS)
    return y / (1.0 - y)
