"""Read and merge x2v-bench results folders (the contract of :mod:`benchmarks.results`).

A results folder holds ``metrics.parquet``, ``per_frame.parquet``, ``cost.parquet``, ``run.json`` and
``videos/``.
:func:`load_results` reads several, checks each one's schema version (Parquet metadata *and*
``run.json``), and merges them. It refuses, with an error naming the folders:

* a table or ``run.json`` of another schema version (:class:`~benchmarks.results.ResultsSchemaError`);
* the same run id in two folders (the same results given twice would double-count);
* the same (method, task, clip, metric) scored by two runs (which value to report would be a guess).

Nothing here computes a metric: values are carried as the benchmark wrote them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from benchmarks.results import (COST_FILE, COST_SCHEMA, METRICS_FILE, METRICS_SCHEMA, MIGRATION, PER_FRAME_FILE,
                                PER_FRAME_SCHEMA, RUN_FILE, SCHEMA_VERSION, ResultsSchemaError, empty_frame, read_table)

KEY = ["method", "task", "clip", "metric"]


class ResultsConflictError(ValueError):
    """Results folders that cannot be merged (duplicate run ids, one value scored twice)."""


@dataclass(frozen=True)
class Run:
    """One results folder: its run id, where it was read from, and its ``run.json`` as written."""

    run_id: str
    folder: Path
    info: dict[str, Any]


@dataclass
class Results:
    """Merged results: the long metrics, per-frame and cost tables, and the runs they came from."""

    metrics: pd.DataFrame
    per_frame: pd.DataFrame
    runs: list[Run] = field(default_factory=list)
    cost: pd.DataFrame = field(default_factory=lambda: empty_frame(COST_SCHEMA))

    def folder_of(self, run_id: str) -> Path:
        return next(r.folder for r in self.runs if r.run_id == run_id)


def _optional_table(path: Path, schema) -> pd.DataFrame:
    return read_table(path, schema) if path.exists() else empty_frame(schema)


def _read_run_json(folder: Path) -> dict[str, Any]:
    path = folder / RUN_FILE
    if not path.is_file():
        raise ResultsSchemaError(f"{path}: missing; every results folder needs its run.json (provenance)")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsSchemaError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(info, dict):
        raise ResultsSchemaError(f"{path}: expected a JSON object, found {type(info).__name__}")
    version = info.get("schema_version")
    if version is not None and str(version) != str(SCHEMA_VERSION):
        note = MIGRATION.get(int(version)) if str(version).isdigit() else None
        raise ResultsSchemaError(f"{path}: results schema version {version}, this leaderboard reads version "
                                 f"{SCHEMA_VERSION}; " + (note or "re-run the benchmark with this version"))
    return info


def read_folder(folder: str | Path) -> tuple[Run, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One results folder: its run, metrics, per-frame and cost tables (the last two empty when absent)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"results folder not found: {folder}")
    info = _read_run_json(folder)
    metrics = read_table(folder / METRICS_FILE, METRICS_SCHEMA)
    per_frame = _optional_table(folder / PER_FRAME_FILE, PER_FRAME_SCHEMA)
    cost = _optional_table(folder / COST_FILE, COST_SCHEMA)
    ids = sorted(set(metrics["run_id"].unique()) | set(per_frame["run_id"].unique()) | set(cost["run_id"].unique()))
    run_id = info.get("run_id")
    if run_id is None:
        if len(ids) != 1:
            raise ResultsSchemaError(f"{folder / RUN_FILE}: no run_id, and the tables hold {len(ids)} run ids {ids}")
        run_id = ids[0]
    run_id = str(run_id)
    stray = [i for i in ids if i != run_id]
    if stray:
        raise ResultsSchemaError(f"{folder}: tables hold run id(s) {stray} but run.json says run_id {run_id!r}")
    return Run(run_id, folder, info), metrics, per_frame, cost


COMPARABLE = ("dataset_fingerprint", "split", "exposure")  # run.json config keys merged runs must share


def _check_comparable(runs: Sequence[Run], run: Run) -> None:
    """Runs scored on other data, another split or another display mapping cannot share a ranking."""
    cfg = (run.info or {}).get("config") or {}
    for other in runs:
        ocfg = (other.info or {}).get("config") or {}
        diff = [k for k in COMPARABLE if k in cfg and k in ocfg and cfg[k] != ocfg[k]]
        if diff:
            raise ResultsConflictError(
                f"{run.folder} and {other.folder} differ in {', '.join(diff)} "
                f"({'; '.join(f'{k}: {ocfg[k]!r} vs {cfg[k]!r}' for k in diff)}); their scores are not comparable")


def load_results(folders: Sequence[str | Path]) -> Results:
    """Read and merge results folders, in the given order (see the module docstring for what is refused)."""
    if not folders:
        raise ValueError("no results folder given")
    runs: list[Run] = []
    metrics, per_frame, costs = [], [], []
    for folder in folders:
        run, m, pf, cost = read_folder(folder)
        clash = next((r for r in runs if r.run_id == run.run_id), None)
        if clash is not None:
            raise ResultsConflictError(f"run id {run.run_id!r} appears in both {clash.folder} and {run.folder}; "
                                       "give each results folder once")
        _check_comparable(runs, run)
        runs.append(run)
        metrics.append(m)
        per_frame.append(pf)
        costs.append(cost)
    merged = pd.concat(metrics, ignore_index=True)
    dup = merged.duplicated(KEY, keep=False)
    if dup.any():
        rows = merged.loc[dup, KEY + ["run_id"]].sort_values(KEY + ["run_id"])
        first = rows.iloc[0]
        where = sorted(set(rows.loc[(rows[KEY] == first[KEY]).all(axis=1), "run_id"]))
        raise ResultsConflictError(
            f"{int(dup.sum())} metric rows are scored more than once, e.g. method {first['method']!r} task "
            f"{first['task']!r} clip {first['clip']!r} metric {first['metric']!r} in run(s) {where} "
            f"({', '.join(str(r.folder) for r in runs if r.run_id in where)}); merge only disjoint results")
    frames = [pf for pf in per_frame if len(pf)]
    pf_all = pd.concat(frames, ignore_index=True) if frames else per_frame[0]
    for col in ("higher_is_better", "area"):
        per_metric = merged.groupby("metric")[col].nunique()
        bad = per_metric[per_metric > 1]
        if len(bad):
            raise ResultsConflictError(f"metric(s) {sorted(bad.index)} have more than one {col} across the results")
    filled = [c for c in costs if len(c)]
    cost_all = pd.concat(filled, ignore_index=True) if filled else costs[0]
    return Results(merged, pf_all, runs, cost_all)
