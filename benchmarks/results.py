"""The results contract of x2v-bench: two long-format Parquet tables and their schema version.

``metrics.parquet``   one row per (run, method, task, clip, metric): the clip value (null when the
                      metric is missing, with ``missing_reason``), whether higher is better, the
                      metric's area and the number of frames scored. A set-level metric (FVD) has
                      one row per (run, method, task, metric) whose clip is :data:`SET_LEVEL_CLIP`:
                      its value scores all clips at once, ``frames`` counts them all.
``per_frame.parquet`` one row per (run, method, task, clip, metric, frame): per-frame (or
                      per-frame-pair) values, for plots of error over time.
``cost.parquet``      one row per (run, method, task, clip) that ran: the method's calls, frames
                      made (over all calls), seconds, seconds per frame, model calls, peak resident
                      memory (``rss_scope``: "unit" = during the unit's calls, "process" = the
                      process's lifetime peak where the kernel cannot reset it) and peak CUDA
                      memory (null off GPU) — :mod:`benchmarks.cost`.

``run.json``          provenance: run_id, schema_version, versions, git commit, config (methods,
                      tasks, split, data, seeds), hardware, timings.
``videos/<task>/<clip>/<method>.mp4``  outputs a report shows (see :func:`video_path`); the
                      ground truth of a task/clip is ``GROUND_TRUTH`` (``ground_truth.mp4``).

Every table carries ``x2v_results_schema_version`` in the Parquet metadata. Readers (the leaderboard)
reject another version with a clear error; writers validate before writing and write atomically.

Version history (the migration note is :data:`MIGRATION`):
  1 — metrics and per-frame tables.
  2 — adds ``cost.parquet`` and the metrics ``drift_8``/``drift_32``/``drift_128`` and ``revisit``
      (and the ``revisit`` task); the two version-1 tables' columns are unchanged.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from interiorvideo.fileio import atomic_writer

SCHEMA_VERSION = 2
MIGRATION = {1: "results of version 1 have no cost table and no long-range metrics: run `x2v-bench run` again "
                "with the same options and --out (the unit records of version 1 are recomputed, since they "
                "lack the cost figures), or `x2v-bench migrate RESULTS` to relabel the two tables as version 2 "
                "with an empty cost table (the new metrics then stay absent from those results)"}
VERSION_KEY = b"x2v_results_schema_version"

METRICS_SCHEMA = pa.schema([
    ("run_id", pa.string()), ("method", pa.string()), ("task", pa.string()), ("clip", pa.string()),
    ("scene", pa.string()), ("metric", pa.string()), ("area", pa.string()), ("value", pa.float64()),
    ("higher_is_better", pa.bool_()), ("frames", pa.int32()), ("missing_reason", pa.string()),
])
PER_FRAME_SCHEMA = pa.schema([
    ("run_id", pa.string()), ("method", pa.string()), ("task", pa.string()), ("clip", pa.string()),
    ("scene", pa.string()), ("metric", pa.string()), ("frame", pa.int32()), ("value", pa.float64()),
])
COST_SCHEMA = pa.schema([
    ("run_id", pa.string()), ("method", pa.string()), ("task", pa.string()), ("clip", pa.string()),
    ("scene", pa.string()), ("calls", pa.int32()), ("frames", pa.int32()), ("seconds", pa.float64()),
    ("seconds_per_frame", pa.float64()), ("model_calls", pa.int64()), ("peak_rss_bytes", pa.int64()),
    ("rss_scope", pa.string()), ("cuda_peak_bytes", pa.int64()),
])
TABLES = {"metrics.parquet": METRICS_SCHEMA, "per_frame.parquet": PER_FRAME_SCHEMA, "cost.parquet": COST_SCHEMA}
AREAS = ("fidelity", "temporal", "control")


METRICS_FILE, PER_FRAME_FILE, COST_FILE = "metrics.parquet", "per_frame.parquet", "cost.parquet"
RUN_FILE, VIDEOS_DIR = "run.json", "videos"
GROUND_TRUTH = "ground_truth"
SET_LEVEL_CLIP = "*"  # the clip column of a set-level metric's rows


def slug(name: str) -> str:
    """A file-name-safe form of a method / task / clip name (names themselves stay as data)."""
    out = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip(".")
    return out or "_"


def video_path(results: str | Path, task: str, clip: str, method: str) -> Path:
    """Where the output video of ``method`` (or ``GROUND_TRUTH``) for one task and clip lives."""
    return Path(results) / VIDEOS_DIR / slug(task) / slug(clip) / f"{slug(method)}.mp4"


class ResultsSchemaError(ValueError):
    """A results table that does not follow this contract (names the file and the problem)."""


def _with_version(schema: pa.Schema) -> pa.Schema:
    return schema.with_metadata({VERSION_KEY: str(SCHEMA_VERSION).encode()})


def to_table(frame: pd.DataFrame, schema: pa.Schema, name: str = "results") -> pa.Table:
    """A validated Arrow table: exactly the schema's columns, types cast safely, no nulls in keys."""
    missing = [f.name for f in schema if f.name not in frame.columns]
    extra = [c for c in frame.columns if c not in schema.names]
    if missing or extra:
        raise ResultsSchemaError(f"{name}: columns do not match the results schema v{SCHEMA_VERSION}"
                                 + (f"; missing {missing}" if missing else "") + (f"; unexpected {extra}" if extra else ""))
    try:
        table = pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False, safe=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
        raise ResultsSchemaError(f"{name}: values do not fit the results schema v{SCHEMA_VERSION}: {exc}") from exc
    for key in ("run_id", "method", "task", "clip", "metric"):
        if key in schema.names and table.column(key).null_count:
            raise ResultsSchemaError(f"{name}: column {key!r} has empty values")
    if "area" in schema.names:
        bad = set(table.column("area").to_pylist()) - set(AREAS)
        if bad:
            raise ResultsSchemaError(f"{name}: unknown area(s) {sorted(bad)}; expected one of {AREAS}")
    return table.replace_schema_metadata(_with_version(schema).metadata)


#: Integer columns that may hold nulls (pandas' nullable Int64 keeps them integers through Arrow).
NULLABLE_INT = {"cost.parquet": ("model_calls", "peak_rss_bytes", "cuda_peak_bytes")}


def empty_frame(schema: pa.Schema) -> pd.DataFrame:
    """A frame with the schema's columns and no rows (a table that a run or a migration leaves empty)."""
    return pd.DataFrame({f.name: pd.Series(dtype=f.type.to_pandas_dtype()) for f in schema})


def with_nullable_ints(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    for col in NULLABLE_INT.get(name, ()):
        frame[col] = frame[col].astype("Int64")
    return frame


def write_table(frame: pd.DataFrame, path: str | Path, schema: pa.Schema) -> Path:
    """Validate, then write under a temporary name and rename (nothing half-written)."""
    path = Path(path)
    table = to_table(frame, schema, str(path))
    with atomic_writer(path) as f:
        pq.write_table(table, f)
    return path


def read_table(path: str | Path, schema: pa.Schema) -> pd.DataFrame:
    """Read and check a results table: its schema version and its columns."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"results table not found: {path}")
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ResultsSchemaError(f"{path}: not a readable Parquet file ({exc})") from exc
    meta = pf.schema_arrow.metadata or {}
    version = meta.get(VERSION_KEY)
    if version is None:
        raise ResultsSchemaError(f"{path}: no {VERSION_KEY.decode()} in its metadata; not an x2v-bench results table")
    if version.decode() != str(SCHEMA_VERSION):
        note = MIGRATION.get(int(version)) if version.decode().isdigit() else None
        raise ResultsSchemaError(f"{path}: results schema version {version.decode()}, this x2v-bench reads version "
                                 f"{SCHEMA_VERSION}; " + (note or "re-run the benchmark with this version"))
    table = pf.read()
    names = set(table.schema.names)
    if names != set(schema.names):
        raise ResultsSchemaError(f"{path}: columns {sorted(names)} differ from the schema's {sorted(schema.names)}")
    return to_table(table.to_pandas(), schema, str(path)).to_pandas()
