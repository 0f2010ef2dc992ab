"""The unit store of a results folder: one JSON file per finished unit (method × task × clip), reused on resume.

``RESULTS/.units/<method>/<task>/<clip>.json`` holds the unit's record (rows, per-frame values, the
set-level metrics' per-clip features, timings) and the fingerprint of everything that determined it;
a record is reused only under the same fingerprint. The unit's video is written beside the other
outputs (:func:`benchmarks.results.video_path`) before its record, and every write is atomic, so a
killed run leaves whole units or none.
"""

from __future__ import annotations

import json
from pathlib import Path

from interiorvideo.fileio import atomic_write_bytes, atomic_write_json

from .results import GROUND_TRUTH, slug, video_path

UNITS_DIR = ".units"
#: Layout of a unit record; part of every fingerprint, so records of another layout are recomputed.
UNIT_FORMAT = 3


def unit_path(out: str | Path, method: str, task: str, clip: str) -> Path:
    return Path(out) / UNITS_DIR / slug(method) / slug(task) / f"{slug(clip)}.json"


def read_unit(path: Path, fingerprint: str) -> dict | None:
    """The record at ``path`` when it exists, parses and carries ``fingerprint``; else None."""
    if not path.is_file():
        return None
    try:
        rec = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return rec if rec.get("fingerprint") == fingerprint else None


def write_unit(out: Path, rec: dict, fingerprint: str) -> None:
    """Write a finished unit: its videos (taken out of ``rec``), then its record with ``fingerprint``."""
    videos = rec.pop("videos", {}) or {}
    pred_path = video_path(out, rec["task"], rec["clip"], rec["method"])
    if videos.get("pred") is not None:
        atomic_write_bytes(pred_path, videos["pred"])
    else:
        pred_path.unlink(missing_ok=True)  # never leave another configuration's video beside these metrics
    if videos.get("gt") is not None:
        atomic_write_bytes(video_path(out, rec["task"], rec["clip"], GROUND_TRUTH), videos["gt"])
    rec["fingerprint"] = fingerprint
    atomic_write_json(unit_path(out, rec["method"], rec["task"], rec["clip"]), rec)


__all__ = ["UNITS_DIR", "UNIT_FORMAT", "read_unit", "unit_path", "write_unit"]
