"""Synthetic x2v-bench results folders, for the leaderboard's tests and perf/bench_report.py (a
test fixture, not part of the distribution).

Values are made up (no metric is computed): each method has a quality level, each scene a difficulty,
each clip some noise, so rankings and intervals look like a real evaluation's. Written through
:func:`benchmarks.results.write_table`, so they follow the results contract exactly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from benchmarks.results import (GROUND_TRUTH, METRICS_FILE, METRICS_SCHEMA, PER_FRAME_FILE, PER_FRAME_SCHEMA,
                                RUN_FILE, SCHEMA_VERSION, video_path, write_table)

# name: (area, higher_is_better, typical value, spread, per-unit-quality effect)
METRICS = {
    "psnr": ("fidelity", True, 24.0, 2.0, 4.0), "ssim": ("fidelity", True, 0.80, 0.05, 0.10),
    "lpips": ("fidelity", False, 0.25, 0.04, -0.10), "flip": ("fidelity", False, 0.20, 0.03, -0.08),
    "warp_error": ("temporal", False, 0.030, 0.006, -0.012), "tof": ("temporal", False, 1.5, 0.3, -0.6),
    "tlpips": ("temporal", False, 0.10, 0.02, -0.04), "flicker": ("temporal", False, 0.020, 0.004, -0.008),
    "delta_e_edit": ("control", False, 6.0, 1.0, -3.0), "leakage": ("control", False, 0.10, 0.02, -0.05),
    "monotonicity": ("control", True, 0.70, 0.08, 0.20),
}
PER_FRAME_AREAS = ("fidelity", "temporal")


def synthetic_frames(methods: Sequence[str], tasks: Sequence[str], clips: int, clips_per_scene: int = 4,
                     frames: int = 16, run_id: str = "synthetic-run", seed: int = 0,
                     missing: dict[str, str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Metrics and per-frame tables. Control metrics only on tasks whose name contains ``edit``.

    ``missing``: method → reason; that method's ``lpips`` is null everywhere with that reason.
    """
    rng = np.random.default_rng(seed)
    missing = missing or {}
    quality = np.linspace(1.0, 0.0, len(methods)) if len(methods) > 1 else np.ones(1)
    clip_ids = np.array([f"clip{c:04d}" for c in range(clips)])
    scene_ids = np.array([f"scene{c // clips_per_scene:03d}" for c in range(clips)])
    n_scenes = -(-clips // clips_per_scene)
    m_rows, f_rows = [], []
    for task in tasks:
        names = [m for m, spec in METRICS.items() if spec[0] != "control" or "edit" in task]
        for name in names:
            area, hib, base, spread, effect = METRICS[name]
            scene_eff = rng.normal(0, spread, n_scenes)[np.arange(clips) // clips_per_scene]
            for mi, method in enumerate(methods):
                v = base + effect * quality[mi] + scene_eff + rng.normal(0, spread * 0.5, clips)
                reason = missing.get(method) if name == "lpips" else None
                m_rows.append(pd.DataFrame({
                    "run_id": run_id, "method": method, "task": task, "clip": clip_ids, "scene": scene_ids,
                    "metric": name, "area": area, "value": np.nan if reason else v, "higher_is_better": hib,
                    "frames": frames, "missing_reason": reason}))
                if area in PER_FRAME_AREAS and not reason and frames:
                    t = np.arange(frames)
                    drift = (spread * 0.3 * t / max(frames - 1, 1))[None, :] * (1 if hib else 1)
                    pf = v[:, None] + drift + rng.normal(0, spread * 0.2, (clips, frames))
                    f_rows.append(pd.DataFrame({
                        "run_id": run_id, "method": method, "task": task, "clip": np.repeat(clip_ids, frames),
                        "scene": np.repeat(scene_ids, frames), "metric": name,
                        "frame": np.tile(t, clips).astype(np.int32), "value": pf.ravel()}))
    metrics = pd.concat(m_rows, ignore_index=True)
    metrics["missing_reason"] = metrics["missing_reason"].astype(object).where(metrics["missing_reason"].notna(), None)
    per_frame = (pd.concat(f_rows, ignore_index=True) if f_rows
                 else pd.DataFrame({f.name: pd.Series(dtype=f.type.to_pandas_dtype()) for f in PER_FRAME_SCHEMA}))
    return metrics, per_frame


def tiny_mp4(colour: Sequence[int], frames: int = 8, size: tuple[int, int] = (64, 48)) -> bytes:
    """A small solid-colour clip with a moving bar (libx264 via imageio-ffmpeg)."""
    import imageio.v3 as iio

    w, h = size
    v = np.empty((frames, h, w, 3), np.uint8)
    v[:] = np.asarray(colour, np.uint8)
    for i in range(frames):
        x = (i * w) // frames
        v[i, :, x:x + max(w // 8, 2)] = 255
    return iio.imwrite("<bytes>", v, extension=".mp4", fps=8)


def write_results(folder: str | Path, metrics: pd.DataFrame, per_frame: pd.DataFrame | None = None,
                  run: dict | None = None, videos: Sequence[tuple[str, str]] = (), video_bytes: bytes | None = None,
                  schema_version: int = SCHEMA_VERSION) -> Path:
    """Write a results folder; ``videos``: (task, clip) pairs that get a ground truth and one clip per method
    (``video_bytes`` for all, else a distinct tiny mp4 per method)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_table(metrics, folder / METRICS_FILE, METRICS_SCHEMA)
    if per_frame is not None:
        write_table(per_frame, folder / PER_FRAME_FILE, PER_FRAME_SCHEMA)
    run_id = str(metrics["run_id"].iloc[0])
    info = {"run_id": run_id, "schema_version": schema_version}
    info.update(run or {})
    (folder / RUN_FILE).write_text(json.dumps(info, indent=2, ensure_ascii=False), encoding="utf-8")
    methods = sorted(metrics["method"].unique())
    for task, clip in videos:
        for i, method in enumerate([GROUND_TRUTH, *methods]):
            path = video_path(folder, task, clip, method)
            path.parent.mkdir(parents=True, exist_ok=True)
            colour = (40 + (37 * i) % 200, 90 + (53 * i) % 150, 160 - (29 * i) % 120)
            path.write_bytes(video_bytes if video_bytes is not None else tiny_mp4(colour))
    return folder


def write_synthetic(folder: str | Path, methods: Sequence[str], tasks: Sequence[str], clips: int, *,
                    clips_per_scene: int = 4, frames: int = 16, run_id: str = "synthetic-run", seed: int = 0,
                    missing: dict[str, str] | None = None, videos: Sequence[tuple[str, str]] = (),
                    video_bytes: bytes | None = None) -> Path:
    """A complete synthetic results folder (see :func:`synthetic_frames`)."""
    metrics, per_frame = synthetic_frames(methods, tasks, clips, clips_per_scene, frames, run_id, seed, missing)
    run = {"versions": {"x2v-bench": "0.1.0"}, "git": {"commit": "0" * 40},
           "config": {"methods": list(methods), "tasks": list(tasks), "split": "test", "seed": seed},
           "hardware": {"cpu": "synthetic"}, "timings": {"total_s": 0.0}}
    return write_results(folder, metrics, per_frame, run, videos, video_bytes)
