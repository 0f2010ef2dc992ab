"""Video previews: choose clips, copy their videos beside the page (``SITE/media/…``).

A clip key is ``TASK/CLIP`` or a bare ``CLIP`` (every task that has that clip). Without keys, up to
``max_clips`` clips that have a ground-truth video are taken round-robin over the tasks (sorted), so the
previews cover different tasks. Videos are copied, not linked, so the site can be moved or archived;
file names in the site are derived from the names (:func:`benchmarks.results.slug`) plus a short hash,
so two names with the same slug cannot collide.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from benchmarks.results import GROUND_TRUTH, SET_LEVEL_CLIP, slug, video_path
from interiorvideo.fileio import atomic_write_bytes

from .load import Results

MEDIA_DIR = "media"


@dataclass(frozen=True)
class Preview:
    """One clip's previews: site-relative paths (POSIX), ``None`` where a video file is absent."""

    task: str
    clip: str
    scene: str | None
    ground_truth: str | None
    methods: tuple[tuple[str, str | None], ...]


def _short(name: str) -> str:
    return f"{slug(name)[:40]}-{hashlib.sha1(name.encode('utf-8')).hexdigest()[:8]}"


def select_clips(results: Results, clips: Sequence[str] | None, max_clips: int) -> list[tuple[str, str]]:
    """The (task, clip) pairs to preview; unknown keys raise ``ValueError`` naming the key."""
    m = results.metrics[results.metrics["clip"] != SET_LEVEL_CLIP]
    pairs = sorted(set(zip(m["task"], m["clip"])))
    if clips:
        chosen: list[tuple[str, str]] = []
        for key in clips:
            task, _, clip = key.partition("/")
            hit = [(task, clip)] if (task, clip) in pairs else [p for p in pairs if p[1] == key]
            if not hit:
                raise ValueError(f"clip {key!r} is not in the results; give TASK/CLIP or CLIP, e.g. "
                                 f"{pairs[0][0]}/{pairs[0][1]}" if pairs else f"clip {key!r}: the results hold no clips")
            chosen.extend(p for p in hit if p not in chosen)
        return chosen
    by_task: dict[str, list[str]] = {}
    for task, clip in pairs:
        if any(video_path(r.folder, task, clip, GROUND_TRUTH).is_file() for r in results.runs):
            by_task.setdefault(task, []).append(clip)
    chosen, depth = [], 0
    while len(chosen) < max_clips and any(depth < len(c) for c in by_task.values()):
        for task in sorted(by_task):
            if depth < len(by_task[task]) and len(chosen) < max_clips:
                chosen.append((task, by_task[task][depth]))
        depth += 1
    return chosen


def _copy(src: Path, site: Path, rel: str) -> str:
    dst, data = site / rel, src.read_bytes()
    if not (dst.is_file() and dst.read_bytes() == data):
        atomic_write_bytes(dst, data)
    return rel


def copy_previews(results: Results, chosen: Sequence[tuple[str, str]], site: Path) -> list[Preview]:
    """Copy ground truth and every method's video of the chosen clips into ``site/media``."""
    m = results.metrics
    previews = []
    for n, (task, clip) in enumerate(chosen):
        rows = m[(m["task"] == task) & (m["clip"] == clip)]
        scene = next((s for s in rows["scene"] if isinstance(s, str)), None)
        base = f"{MEDIA_DIR}/{n:02d}-{_short(task)}-{_short(clip)}"
        gt = next((p for r in results.runs if (p := video_path(r.folder, task, clip, GROUND_TRUTH)).is_file()), None)
        gt_rel = _copy(gt, site, f"{base}/{GROUND_TRUTH}.mp4") if gt else None
        methods = []
        for method in sorted(rows["method"].unique()):
            runs = sorted(set(rows.loc[rows["method"] == method, "run_id"]))
            src = next((p for rid in runs if (p := video_path(results.folder_of(rid), task, clip, method)).is_file()),
                       None)
            methods.append((method, _copy(src, site, f"{base}/m-{_short(method)}.mp4") if src else None))
        previews.append(Preview(task, clip, scene, gt_rel, tuple(methods)))
    return previews
