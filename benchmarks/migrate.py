"""Bring a results folder of an older contract version up to :data:`benchmarks.results.SCHEMA_VERSION`.

Version 1 → 2: the metrics and per-frame tables keep their columns, so they are read with the
version-1 check, validated against the current schema and rewritten with the new version number;
an empty ``cost.parquet`` is added and ``run.json`` records ``schema_version`` 2 and
``migrated_from`` 1. Nothing is recomputed: the metrics added in version 2 (long-range drift,
revisit) and the cost figures stay absent from such results until the benchmark runs again.
Every file is written under a temporary name and renamed; run.json last, so an interrupted
migration leaves a folder that is still readable as version 1 or migrated again.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from interiorvideo.fileio import atomic_write_json

from .common import BenchmarkError
from .results import (COST_FILE, COST_SCHEMA, METRICS_FILE, METRICS_SCHEMA, PER_FRAME_FILE, PER_FRAME_SCHEMA, RUN_FILE,
                      SCHEMA_VERSION, VERSION_KEY, ResultsSchemaError, empty_frame, with_nullable_ints, write_table)

MIGRATABLE = (1,)


def _version(path: Path) -> int:
    try:
        meta = pq.ParquetFile(path).schema_arrow.metadata or {}
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise ResultsSchemaError(f"{path}: not a readable Parquet file ({exc})") from exc
    raw = meta.get(VERSION_KEY)
    if raw is None or not raw.decode().isdigit():
        raise ResultsSchemaError(f"{path}: no {VERSION_KEY.decode()} in its metadata; not an x2v-bench results table")
    return int(raw.decode())


def migrate_results(folder: str | Path) -> int:
    """Migrate ``folder`` in place; returns the version it had (SCHEMA_VERSION: nothing to do)."""
    folder = Path(folder)
    metrics_path = folder / METRICS_FILE
    if not metrics_path.is_file():
        raise BenchmarkError(f"{folder}: no {METRICS_FILE}; not an x2v-bench results folder")
    version = _version(metrics_path)
    if version == SCHEMA_VERSION:
        return version
    if version not in MIGRATABLE:
        raise BenchmarkError(f"{metrics_path}: results schema version {version} cannot be migrated to "
                             f"{SCHEMA_VERSION} (migratable: {MIGRATABLE}); run the benchmark again")
    run_path = folder / RUN_FILE
    info = json.loads(run_path.read_text(encoding="utf-8")) if run_path.is_file() else {}
    tables = {METRICS_FILE: METRICS_SCHEMA, PER_FRAME_FILE: PER_FRAME_SCHEMA}
    frames = {}
    for name, schema in tables.items():
        path = folder / name
        if not path.is_file():
            continue
        if _version(path) != version:
            raise ResultsSchemaError(f"{path}: version {_version(path)}, but {metrics_path} has {version}")
        frames[name] = pq.read_table(path).to_pandas()
    for name, frame in frames.items():  # all validated (inside write_table) before run.json changes
        write_table(frame, folder / name, tables[name])
    if not (folder / COST_FILE).is_file():
        write_table(with_nullable_ints(empty_frame(COST_SCHEMA), COST_FILE), folder / COST_FILE, COST_SCHEMA)
    atomic_write_json(run_path, {**info, "schema_version": SCHEMA_VERSION, "migrated_from": version})
    return version


__all__ = ["migrate_results"]
