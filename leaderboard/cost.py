"""The cost table of the leaderboard: what each method spends to make a frame, from ``cost.parquet``.

Per method, over the units it ran (every task and clip): the median wall seconds per frame made
(the frames of all of a unit's calls), model calls per frame (total calls over total frames; blank
when the method does not count them), and the largest peak resident memory and peak CUDA memory
of any unit (:mod:`benchmarks.cost` says how they are measured). A peak taken over the process's
lifetime, where the kernel could not reset it, is marked.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from .fmt import num

MIB = float(1 << 20)


def cost_rows(cost: pd.DataFrame, methods: Sequence[str]) -> list[dict[str, Any]]:
    """One row per method that has cost records, in ``methods`` order."""
    rows = []
    for m in methods:
        c = cost[cost["method"] == m]
        if c.empty:
            continue
        spf = float(c["seconds_per_frame"].median())
        frames = float(c["frames"].sum())
        calls = c["model_calls"]
        per_frame = float(calls.sum()) / frames if calls.notna().all() and frames else np.nan
        rss = c["peak_rss_bytes"].dropna()
        cuda = c["cuda_peak_bytes"].dropna()
        rows.append({
            "method": m, "units": len(c), "frames": int(frames),
            "spf": {"text": num(spf, 4 if spf < 1 else 2), "sort": repr(spf)},
            "fps": {"text": num(1.0 / spf if spf > 0 else np.nan, 1), "sort": repr(1.0 / spf) if spf > 0 else ""},
            "calls": {"text": num(per_frame, 2), "sort": repr(per_frame) if np.isfinite(per_frame) else ""},
            "rss": {"text": num(rss.max() / MIB, 0) if len(rss) else "–",
                    "sort": repr(float(rss.max())) if len(rss) else "",
                    "note": "process lifetime peak" if (c["rss_scope"] == "process").any() else ""},
            "cuda": {"text": num(cuda.max() / MIB, 0) if len(cuda) else "–",
                     "sort": repr(float(cuda.max())) if len(cuda) else ""},
        })
    return rows


__all__ = ["cost_rows"]
