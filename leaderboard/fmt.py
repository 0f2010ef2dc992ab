"""Number formatting shared by the page and the Markdown: one number of decimals per metric column."""

from __future__ import annotations

import math
from typing import Iterable

AREA_TITLES = {"fidelity": "Fidelity", "temporal": "Temporal consistency", "control": "Controllability"}


def decimals_for(values: Iterable[float]) -> int:
    """Decimals giving ~4 significant digits on the column's largest magnitude (0 … 6)."""
    finite = [abs(v) for v in values if v is not None and math.isfinite(v)]
    top = max(finite, default=0.0)
    if top == 0:
        return 3
    return int(min(6, max(0, 3 - math.floor(math.log10(top)))))


def num(v: float | None, decimals: int) -> str:
    """The value at ``decimals``; "∞"/"−∞" for infinities (not "–", which means no value)."""
    if v is None or math.isnan(v):
        return "–"
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    return f"{v:.{decimals}f}"


def arrow(higher_is_better: bool) -> str:
    return "↑" if higher_is_better else "↓"
