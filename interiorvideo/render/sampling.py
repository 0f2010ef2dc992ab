"""Sample streams that do not flicker.

Every shading point draws its S samples from one scrambled Sobol point set (scipy's), shifted by
a Cranley–Patterson rotation hashed from the point's *world position* (quantised) and instance.
A surface point therefore sees the same samples in every frame: residual noise sticks to the
surface like a texture instead of boiling from frame to frame, and a different render seed gives
an independent estimate (which is how the noise level is measured).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import qmc

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    x = (x + np.uint64(0x9E3779B97F4A7C15)) & _MASK
    x = ((x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK
    x = ((x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK
    return x ^ (x >> np.uint64(31))


def point_hash(points: np.ndarray, instance: np.ndarray, cell: float, seed: int) -> np.ndarray:
    """A 64-bit hash per point from its quantised world position, instance id and the seed."""
    q = np.floor(np.asarray(points, np.float64) / cell).astype(np.int64).view(np.uint64)
    with np.errstate(over="ignore"):
        h = _splitmix64(np.full(len(q), np.uint64(seed & 0xFFFFFFFF) * np.uint64(0x100000001B3), np.uint64))
        for col in (q[:, 0], q[:, 1], q[:, 2], np.asarray(instance, np.int64).view(np.uint64)):
            h = _splitmix64(h ^ col)
    return h


def rotations(hashes: np.ndarray, dims: int) -> np.ndarray:
    """(N, dims) uniform offsets in [0, 1) derived from per-point hashes."""
    out = np.empty((len(hashes), dims), np.float32)
    h = hashes.copy()
    with np.errstate(over="ignore"):
        for d in range(dims):
            h = _splitmix64(h + np.uint64(d + 1))
            out[:, d] = (h >> np.uint64(40)).astype(np.float32) / np.float32(1 << 24)
    return out


def sobol_table(samples: int, dims: int, seed: int) -> np.ndarray:
    """(samples, dims) scrambled Sobol points (balanced when ``samples`` is a power of two)."""
    engine = qmc.Sobol(d=dims, scramble=True, rng=np.random.default_rng(seed))
    m = int(np.ceil(np.log2(max(samples, 1))))
    return engine.random_base2(m)[:samples].astype(np.float32)
