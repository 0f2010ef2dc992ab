"""``build_report``: results folders → ``SITE/index.html``, ``leaderboard.md``, ``leaderboard.parquet``, ``media/``.

The site is self-contained and offline: styles, the table sorter and the plots (SVG data URIs) are
inside ``index.html``; the preview videos are copied into ``SITE/media``. The same inputs and seed give
the same bytes (nothing depends on the time or the machine beyond what ``run.json`` says).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pandas as pd

from benchmarks.results import SET_LEVEL_CLIP
from interiorvideo.fileio import atomic_write_bytes, atomic_writer

from .aggregate import Aggregates, aggregate
from .load import Results, load_results
from .markdown import render_markdown
from .media import MEDIA_DIR, copy_previews, select_clips
from .plots import metric_bars, scene_heatmap, scene_score_matrix, temporal_curves
from .render import method_order, render_page

INDEX, MARKDOWN, PARQUET = "index.html", "leaderboard.md", "leaderboard.parquet"


@dataclass(frozen=True)
class ReportSummary:
    """What :func:`build_report` wrote, how much it aggregated, and how long it took (seconds)."""

    out: Path
    index: Path
    markdown: Path
    parquet: Path
    media: tuple[Path, ...]
    runs: int
    methods: int
    tasks: int
    metrics: int
    clips: int
    rows: int
    missing: int
    previews: int
    seconds: float

    @property
    def paths(self) -> tuple[Path, ...]:
        return (self.index, self.markdown, self.parquet, *self.media)


def temporal_curve_table(results: Results) -> pd.DataFrame:
    """Mean per-frame value over clips, per method × task × temporal metric × frame."""
    pf = results.per_frame
    temporal = sorted(set(results.metrics.loc[results.metrics["area"] == "temporal", "metric"]))
    pf = pf[pf["metric"].isin(temporal) & pf["value"].notna()]
    if pf.empty:
        return pd.DataFrame(columns=["method", "task", "metric", "frame", "value"])
    return (pf.groupby(["method", "task", "metric", "frame"], sort=True, observed=True)["value"].mean()
            .reset_index())


def make_plots(results: Results, agg: Aggregates) -> dict[str, list[dict[str, str]]]:
    methods = method_order(agg)
    t = agg.table
    tasks = sorted(t["task"].unique())
    info = t.groupby("metric")[["area", "higher_is_better"]].first()
    order = {"fidelity": 0, "temporal": 1, "control": 2}
    metrics = sorted(info.index, key=lambda m: (order.get(info.loc[m, "area"], 9), m))
    bars = [{"uri": metric_bars(t, m, methods, tasks), "alt": f"bar chart of {m}",
             "caption": f"{m} ({info.loc[m, 'area']}, {'higher' if info.loc[m, 'higher_is_better'] else 'lower'} "
                        "is better) per task and method"}
            for m in metrics if t.loc[t["metric"] == m, "mean"].notna().any()]
    curves = temporal_curve_table(results)
    temporal = [{"uri": temporal_curves(curves, m, methods, tasks), "alt": f"{m} over frame index",
                 "caption": f"{m}: mean over clips at each frame index, one panel per task"}
                for m in sorted(curves["metric"].unique())]
    heat = []
    for task in tasks:
        mat = scene_score_matrix(agg.scene_means, info, task)
        if mat.size:
            mat = mat.reindex([m for m in methods if m in mat.index])
            heat.append({"uri": scene_heatmap(mat, task), "alt": f"per-scene heatmap of {task}",
                         "caption": f"{task}: per scene and metric, the methods' scene means are min–max normalised "
                                    "(1 = best method on that scene), then averaged over the task's metrics"})
    return {"bars": bars, "temporal": temporal, "heatmaps": heat}


def build_report(results: Sequence[Path], out: Path, *, clips: Sequence[str] | None = None, max_clips: int = 4,
                 seed: int = 0) -> ReportSummary:
    """Merge results folders and write the leaderboard site into ``out``.

    ``clips``: clip keys (``TASK/CLIP`` or ``CLIP``) to preview; default: up to ``max_clips`` clips with a
    ground-truth video, round-robin over tasks. ``seed`` seeds the scene bootstrap. Raises
    :class:`benchmarks.results.ResultsSchemaError` for results of another schema version,
    :class:`leaderboard.load.ResultsConflictError` for results that cannot be merged,
    ``ValueError`` for an unknown clip key. Nothing is written before the inputs have been read.
    """
    t0 = time.perf_counter()
    res = load_results([Path(r) for r in results])
    chosen = select_clips(res, clips, max_clips)
    agg = aggregate(res.metrics, seed=seed)
    plots = make_plots(res, agg)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    previews = copy_previews(res, chosen, out)
    html = render_page(res, agg, plots=plots, previews=previews, seed=seed)
    index = atomic_write_bytes(out / INDEX, html.encode("utf-8"))
    md = atomic_write_bytes(out / MARKDOWN, render_markdown(agg, seed, res.cost).encode("utf-8"))
    parquet = out / PARQUET
    with atomic_writer(parquet) as f:
        agg.table.to_parquet(f, index=False)
    media = tuple(sorted(out / p for v in previews for p in (v.ground_truth, *(m[1] for m in v.methods)) if p))
    m = res.metrics
    return ReportSummary(
        out=out, index=index, markdown=md, parquet=parquet, media=media, runs=len(res.runs),
        methods=int(m["method"].nunique()), tasks=int(m["task"].nunique()), metrics=int(m["metric"].nunique()),
        clips=int(m.loc[m["clip"] != SET_LEVEL_CLIP, ["task", "clip"]].drop_duplicates().shape[0]), rows=len(m), missing=int(m["value"].isna().sum()),
        previews=len(previews), seconds=time.perf_counter() - t0)


__all__ = ["build_report", "ReportSummary", "INDEX", "MARKDOWN", "PARQUET", "MEDIA_DIR"]
