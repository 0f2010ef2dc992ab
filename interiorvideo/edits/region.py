"""Where an intrinsic edit applies: an instance id, an explicit boolean mask, or the whole frame."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .values import as_int, set_field, to_numpy


@dataclass(frozen=True, eq=False)
class Region:
    """Where an edit applies: an instance id, an explicit boolean mask ((T, H, W), or (H, W)
    broadcast over frames), or — neither given — the whole frame."""

    instance: int | None = None
    mask: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.instance is not None and self.mask is not None:
            raise ValueError("a region is an instance id or a mask, not both")
        if self.instance is not None:
            set_field(self, "instance", as_int(self.instance, "instance", low=0))
        if self.mask is not None:
            m = to_numpy(self.mask)
            if m.ndim not in (2, 3) or m.dtype.kind not in "bui":
                raise ValueError(f"region mask must be a boolean (H, W) or (T, H, W) array, "
                                 f"got {m.dtype} of shape {m.shape}")
            m = np.array(m, dtype=bool, copy=True)
            m.flags.writeable = False
            set_field(self, "mask", m)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Region):
            return NotImplemented
        if (self.mask is None) != (other.mask is None):
            return False
        same_mask = self.mask is None or (self.mask.shape == other.mask.shape
                                          and bool(np.array_equal(self.mask, other.mask)))
        return self.instance == other.instance and same_mask

    def __hash__(self) -> int:
        m = self.mask
        return hash((self.instance, None if m is None else (m.shape, m.tobytes())))

    def __repr__(self) -> str:
        if self.instance is not None:
            return f"Region(instance={self.instance})"
        if self.mask is not None:
            return f"Region(mask={self.mask.shape}, {int(self.mask.sum())} px)"
        return "Region(whole frame)"

    def resolve(self, thw: tuple[int, int, int], instance: np.ndarray | None) -> np.ndarray | None:
        """The (T, H, W) boolean selection, or None for the whole frame."""
        if self.instance is not None:
            return _instance_mask(self.instance, thw, instance)
        if self.mask is not None:
            if self.mask.shape == thw[1:]:
                return np.broadcast_to(self.mask, thw)
            if self.mask.shape == thw:
                return self.mask
            raise ValueError(f"region mask of shape {self.mask.shape} does not fit passes of "
                             f"(T, H, W) = {thw}: expected {thw[1:]} or {thw}")
        return None


WHOLE = Region()


def _instance_mask(iid: int, thw: tuple[int, int, int], instance: np.ndarray | None) -> np.ndarray:
    if instance is None:
        raise ValueError(f"region instance={iid} needs the instance pass: pass it as "
                         f"passes['instance'] or apply_edits(..., instance=...)")
    if instance.shape != thw:
        raise ValueError(f"instance pass of shape {instance.shape} does not match passes of "
                         f"(T, H, W) = {thw}")
    sel = instance == iid
    if not sel.any():
        present = np.unique(instance)
        shown = ", ".join(str(int(i)) for i in present[:20]) + (" ..." if present.size > 20 else "")
        raise ValueError(f"region instance={iid}: id {iid} does not appear in the instance pass "
                         f"(ids present: {shown})")
    return sel
