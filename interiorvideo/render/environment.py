"""Every sky kind as one equirectangular float32 radiance table, the only thing the renderer (and
the Mitsuba export) looks at when a ray leaves the scene.

The table's layout is Mitsuba 3's ``envmap`` (measured with its ``eval``): texel column i is
azimuth φ = 2π(i + ½)/W, row j is polar angle θ = πj/(H − 1) (row 0 the zenith, the last row
the nadir), and lookups are bilinear, wrapping in φ and clamped in θ. A world direction (Z-up) is
(sin θ sin φ, sin θ cos φ, cos θ): φ = 0 looks along +Y, φ = 90° along +X. A ``map`` sky's
``rotation_deg`` turns the map counter-clockwise about +Z (seen from above), applied at lookup
time (``u_offset``) rather than by resampling, so a user's texels are used as they are.
Analytic skies (gradient, physical) are sampled at the texel directions; a physical sky's
ground (below the horizon) is a grey Lambertian ground of albedo 0.3 lit by that sky.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..scene.model import Sky
from ..scene.sky import GROUND_ALBEDO, gradient_radiance, physical_radiance, read_envmap
from . import kernels

RESOLUTION = 512  # columns of an analytic sky's table (0.7° per texel); rows = RESOLUTION / 2 + 1


@dataclass(frozen=True)
class Environment:
    table: np.ndarray  # (H, W, 3) float32 radiance
    u_offset: float  # added to u = φ / 2π before the lookup (rotation_deg / 360)

    @property
    def is_black(self) -> bool:
        return not bool(self.table.any())


def texel_directions(width: int, height: int) -> np.ndarray:
    """World directions (H, W, 3) of the texel centres of a (height, width) table."""
    phi = 2.0 * np.pi * (np.arange(width) + 0.5) / width
    theta = np.pi * np.arange(height) / (height - 1)
    st = np.sin(theta)[:, None]
    return np.stack([st * np.sin(phi)[None, :], st * np.cos(phi)[None, :],
                     np.broadcast_to(np.cos(theta)[:, None], (height, width))], axis=-1)


def environment(sky: Sky, resolution: int = RESOLUTION) -> Environment:
    """Tabulate ``sky`` (once per renderer: SceneData holds the result)."""
    if sky.kind == "map":
        img = read_envmap(sky.map_path, sky.map_sha256)
        return Environment(np.ascontiguousarray(img * np.float32(sky.intensity), np.float32),
                           float(sky.rotation_deg) / 360.0)
    w, h = int(resolution), int(resolution) // 2 + 1
    dirs = texel_directions(w, h)
    flat = dirs.reshape(-1, 3)
    if sky.kind == "gradient":
        table = gradient_radiance(sky, flat).reshape(h, w, 3)
    else:
        table = np.zeros((h, w, 3))
        up = dirs[..., 2] >= 0.0
        up[(h - 1) // 2] = True  # the horizon row (z = ±1e-17 from rounding) belongs to the sky
        table[up] = physical_radiance(sky, flat[up.ravel()])
        table[~up] = GROUND_ALBEDO * horizontal_irradiance(table, up) / np.pi
    return Environment(np.ascontiguousarray(table, np.float32), 0.0)


def horizontal_irradiance(table: np.ndarray, up: np.ndarray) -> np.ndarray:
    """E = ∫ L cos θ dω over the upper hemisphere of a table (midpoint rule on its texel grid)."""
    h, w = table.shape[:2]
    theta = np.pi * np.arange(h) / (h - 1)
    d_omega = (2.0 * np.pi / w) * (np.pi / (h - 1)) * np.sin(theta)
    weight = np.where(up, (np.cos(theta) * d_omega)[:, None], 0.0)
    return np.einsum("hw,hwc->c", weight, table)


def lookup(env: Environment, directions: np.ndarray) -> np.ndarray:
    """Radiance (N, 3) float32 along unit ``directions`` (N, 3): the kernels' bilinear lookup."""
    dirs = np.ascontiguousarray(directions, np.float64).reshape(-1, 3)
    out = np.empty((len(dirs), 3), np.float32)
    if len(dirs):
        kernels.env_radiance(dirs, env.table, np.float64(env.u_offset), out)
    return out
