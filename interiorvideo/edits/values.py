"""Edit parameters checked (finite numbers, ranges, 3-vectors, integers) with errors naming the
parameter, and passes moved between torch tensors and numpy arrays (through the CPU)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

RGB = tuple[float, float, float]
Vec3 = tuple[float, float, float]


def set_field(obj: Any, name: str, value: Any) -> None:
    """Set a field of a frozen dataclass (its __post_init__ normalising a value)."""
    object.__setattr__(obj, name, value)


def opt_float(v: Any, name: str, low: float | None = None, high: float | None = None) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(v):
        raise ValueError(f"{name}={v!r} is not a finite number")
    v = float(v)
    if (low is not None and v < low) or (high is not None and v > high):
        raise ValueError(f"{name}={v!r} is outside [{low if low is not None else '-inf'}, "
                         f"{high if high is not None else 'inf'}]")
    return v


def as_float(v: Any, name: str, low: float | None = None, high: float | None = None) -> float:
    if v is None:
        raise ValueError(f"{name} must be a number, not None")
    return opt_float(v, name, low, high)  # type: ignore[return-value]


def opt_vec3(v: Any, name: str, low: float | None = None, high: float | None = None) -> Vec3 | None:
    if v is None:
        return None
    try:
        items = list(v)
    except TypeError:
        items = []
    if len(items) != 3:
        raise ValueError(f"{name}={v!r} is not 3 numbers")
    return tuple(opt_float(x, name, low, high) for x in items)  # type: ignore[return-value]


def as_int(v: Any, name: str, low: int | None = None) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise ValueError(f"{name}={v!r} is not an integer")
    if low is not None and v < low:
        raise ValueError(f"{name}={v!r} must be >= {low}")
    return int(v)


# -- torch interop (through numpy on the CPU) ------------------------------------------------


def torch_kind(v: Any) -> tuple | None:
    """(dtype, device) of a torch tensor, else None."""
    if type(v).__module__.startswith("torch") and hasattr(v, "detach"):
        return (v.dtype, v.device)
    return None


def to_numpy(v: Any) -> np.ndarray:
    if torch_kind(v):
        import torch

        t = v.detach().cpu()
        return (t.float() if t.dtype == torch.bfloat16 else t).numpy()
    return np.asarray(v)


def from_numpy(a: np.ndarray, kind: tuple) -> Any:
    import torch

    dtype, device = kind
    return torch.from_numpy(np.ascontiguousarray(a)).to(device=device, dtype=dtype)
