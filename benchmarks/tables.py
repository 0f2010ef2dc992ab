"""The results of a run from its unit records: ``metrics.parquet``, ``per_frame.parquet``, ``cost.parquet``
and ``run.json``.

Rows are sorted by method, task, clip, metric[, frame] and written through the results contract
(:func:`benchmarks.results.write_table`), so a resumed run writes exactly the tables an uninterrupted
one would. A unit that failed or did not run appears with ``value`` null and the reason. Each
set-level metric of the registry (``scope="set"``, e.g. FVD) gets one row per method × task, clip
:data:`benchmarks.results.SET_LEVEL_CLIP`, computed here from the clips' stored features.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from interiorvideo.fileio import atomic_write_json

from .metrics import compute_set
from .provenance import run_info
from .results import (COST_FILE, COST_SCHEMA, METRICS_FILE, METRICS_SCHEMA, PER_FRAME_FILE, PER_FRAME_SCHEMA, RUN_FILE,
                      SET_LEVEL_CLIP, with_nullable_ints, write_table)
from .scoring import metric_row, task_metrics

Unit = tuple[str, str, str]  # method, task, clip


def _set_row(name: str, recs: Sequence[dict]) -> dict:
    """The set-level metric ``name`` over the records of one method × task (a failed unit makes it missing)."""
    features = [(r.get("set_features") or {}).get(name) for r in recs]
    missing = next(((r.get("set_missing") or {}).get(name) or f"{name}: no features stored"
                    for r, f in zip(recs, features) if f is None), None)
    frames = int(sum(r.get("frames") or 0 for r in recs))
    if missing is not None:
        return metric_row(name, None, frames, missing)
    r = compute_set(name, features)
    return metric_row(name, r.value, frames, r.missing_reason)


def merge_units(out: Path, run_id: str, units: Sequence[Unit], done: Mapping[Unit, dict], failed: Mapping[str, str],
                metrics: Sequence[str] | None, inverse: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Write the tables of this run from its unit records (``metrics``: the run's metric selection)."""
    rows, frames, costs = [], [], []
    sets: dict[tuple[str, str], list[dict]] = {}
    for u in units:
        m, t, c = u
        rec = done.get(u)
        if rec is None:
            reason = f"unit failed: {failed.get('/'.join(u), 'not run (interrupted)')}"
            per_clip, set_level = task_metrics(t, metrics, inverse)
            recs, scene = [metric_row(n, None, None, reason) for n in per_clip], None
            sets.setdefault((m, t), []).append({"set_missing": {n: reason for n in set_level}, "frames": 0})
        else:
            recs, scene = rec["rows"], rec.get("scene")
            frames += [{"run_id": run_id, "method": m, "task": t, "clip": c, "scene": scene, **f}
                       for f in rec["per_frame"]]
            sets.setdefault((m, t), []).append(rec)
            if rec.get("cost") is not None:  # a unit whose task did not apply ran nothing
                costs.append({"run_id": run_id, "method": m, "task": t, "clip": c, "scene": scene, **rec["cost"]})
        rows += [{"run_id": run_id, "method": m, "task": t, "clip": c, "scene": scene, **r} for r in recs]
    for (m, t), recs in sets.items():
        rows += [{"run_id": run_id, "method": m, "task": t, "clip": SET_LEVEL_CLIP, "scene": None, **_set_row(n, recs)}
                 for n in task_metrics(t, metrics, inverse)[1]]
    table = pd.DataFrame(rows, columns=METRICS_SCHEMA.names)
    table = table.sort_values(["method", "task", "clip", "metric"], kind="stable").reset_index(drop=True)
    per_frame = pd.DataFrame(frames, columns=PER_FRAME_SCHEMA.names)
    per_frame = per_frame.sort_values(["method", "task", "clip", "metric", "frame"], kind="stable")
    per_frame = per_frame.reset_index(drop=True)
    table["value"] = table["value"].astype("float64")
    per_frame["value"] = per_frame["value"].astype("float64")
    cost = pd.DataFrame(costs, columns=COST_SCHEMA.names).sort_values(["method", "task", "clip"], kind="stable")
    cost = with_nullable_ints(cost.reset_index(drop=True), COST_FILE)
    write_table(table, out / METRICS_FILE, METRICS_SCHEMA)
    write_table(per_frame, out / PER_FRAME_FILE, PER_FRAME_SCHEMA)
    write_table(cost, out / COST_FILE, COST_SCHEMA)
    return table, per_frame


def write_run_json(out: Path, run_id: str, config: Mapping[str, Any], done: Mapping[Unit, dict],
                   units: Mapping[str, int], wall_seconds: float, ray_resources: dict | None) -> None:
    """``run.json``: provenance, the configuration, per-task details and timings (``units``: the counts)."""
    per_cell: dict[str, list[float]] = {}
    method_s: dict[str, float] = {}
    metric_s: dict[str, float] = {}
    details: dict[str, dict] = {}
    for (m, t, c), rec in sorted(done.items()):
        sec = rec.get("seconds", {})
        per_cell.setdefault(f"{m}/{t}", []).append(float(sec.get("unit", 0.0)) + float(sec.get("prepare", 0.0)))
        method_s[m] = method_s.get(m, 0.0) + float(sec.get("method", 0.0))
        for n, v in (sec.get("metrics") or {}).items():
            metric_s[n] = metric_s.get(n, 0.0) + float(v)
        if rec.get("details"):
            details.setdefault(t, {}).setdefault(c, rec["details"])
    timings = {"wall_seconds": round(wall_seconds, 3), "units": dict(units),
               "unit_seconds_mean": {k: float(np.mean(v)) for k, v in sorted(per_cell.items())},
               "method_seconds": method_s, "metric_seconds": metric_s}
    atomic_write_json(out / RUN_FILE, run_info(run_id, dict(config), timings, details, ray_resources))


__all__ = ["merge_units", "write_run_json"]
