"""Aggregation of clip values into the leaderboard: means, scene-bootstrap intervals, ranks, area scores.

**Mean and interval.** Per method × task × metric, the clip values (missing ones left out) are
first averaged per *scene*; the reported mean is the mean of these scene means (each scene weighs
the same, however many clips it has). The 95 % interval is a percentile bootstrap over scenes:
:data:`N_BOOT` times, as many scenes as there are are drawn with replacement and their scene means
averaged; the interval is the 2.5th and 97.5th percentile of these draws. Clips, and frames within
clips, are never resampled on their own: they are not independent samples of the renderer's quality.
A clip without a scene counts as a scene of its own.

The draws come from a NumPy ``Generator`` seeded by ``seed`` and a stable hash (SHA-256) of the
task and its sorted scene list, so the intervals are deterministic, do not depend on which other
methods or runs are in the report, and every method and metric of a task scored on the same
scenes shares the same resampled scene sets (a paired bootstrap).

**Ranking** (per task × metric, the rule printed on the page). Methods are ordered by mean, best
first (largest when higher is better, else smallest; equal means by method name). The first
method leads a tie group; each next method joins the current group when its interval overlaps
the *group leader's* interval (closed intervals: touching counts), else it leads a new group.
Every method of a group gets the group's competition rank: one plus the number of methods in
better groups (ranks 1, 1, 3, …). Rank 1 — the best value and everything tied with it — is bold.
Methods with no value for the metric get no rank.

**Area scores.** Per task × metric, each method's mean is min–max normalised over the methods that
have a value: ``(mean − worst) / (best − worst)``, so 1 = best method, 0 = worst (when all
methods have the same mean, all get 1). A method's score in an area (fidelity, temporal
consistency, controllability) on a task is the mean of its normalised scores over that area's
metrics it has; its overall area score is the mean over the tasks that have metrics in the area.
The scores are relative to the methods in the report: adding a method can change them.

**Temporal at fidelity and the overall score.** Temporal consistency alone can be gamed: a blurred,
faded or constant video is steady. So the temporal score counts only as far as the video is
faithful: on each task, *temporal × fidelity* is the product of the two area scores (a method that
is worst on fidelity there gets 0, however steady it is); its overall value is the mean over the
tasks that have both areas. A method's **overall** score is the unweighted mean of its overall
fidelity, temporal × fidelity and controllability scores (those it has). The page and the
Markdown rank methods by it and never show a temporal score without the fidelity beside it.

**Set-level metrics** (FVD): a row whose clip is :data:`SET_LEVEL_CLIP` scores all clips of a method ×
task at once. Its value is reported as is, with no interval (there is nothing to resample), and it is
ranked by value alone (ties only on equal values).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from benchmarks.results import AREAS, SET_LEVEL_CLIP

N_BOOT = 1000
CI_LEVEL = 0.95
CELL = ["method", "task", "metric"]


@dataclass(frozen=True)
class Aggregates:
    """What the page, the Markdown and the Parquet output are made of."""

    table: pd.DataFrame        # one row per method × task × metric (see :func:`aggregate`)
    scene_means: pd.DataFrame  # method, task, metric, scene, value (mean over the scene's clips)
    area_task: pd.DataFrame    # method, task, area, score, n_metrics
    area_overall: pd.DataFrame # method, area, score, n_tasks
    balanced: pd.DataFrame     # method, temporal_at_fidelity, n_tasks, overall, n_areas (see the module docstring)
    missing: pd.DataFrame      # metric, missing_reason, method, task, clips: the missing values, grouped


def _seed_for(seed: int, task: str, scenes: tuple[str, ...]) -> int:
    h = hashlib.sha256("\x1f".join([str(seed), task, *scenes]).encode("utf-8")).digest()
    return int.from_bytes(h[:8], "little")


def bootstrap_means(values: np.ndarray, rng: np.random.Generator, n_boot: int = N_BOOT) -> np.ndarray:
    """Bootstrap draws of the mean of each row of ``values`` (k × n scenes), one shared resampling.

    Returns a k × n_boot array: draw b averages, for every row, the scenes picked by draw b
    (``n`` scenes with replacement). Vectorised as a count matrix times the values.
    """
    k, n = values.shape
    idx = rng.integers(0, n, size=(n_boot, n))
    counts = np.bincount((idx + n * np.arange(n_boot)[:, None]).ravel(), minlength=n_boot * n)
    return values @ counts.reshape(n_boot, n).T.astype(np.float64) / n


def scene_means(metrics: pd.DataFrame) -> pd.DataFrame:
    """Mean of the available clip values per method × task × metric × scene."""
    m = metrics.loc[metrics["value"].notna() & (metrics["clip"] != SET_LEVEL_CLIP),
                    CELL + ["scene", "clip", "value"]].copy()
    m["scene"] = m["scene"].where(m["scene"].notna(), "clip:" + m["clip"].astype(str))
    return m.groupby(CELL + ["scene"], sort=True, observed=True)["value"].mean().reset_index()


def bootstrap_table(sm: pd.DataFrame, seed: int = 0, n_boot: int = N_BOOT, level: float = CI_LEVEL) -> pd.DataFrame:
    """Mean of scene means and the percentile-bootstrap interval per method × task × metric."""
    cols = CELL + ["mean", "ci_low", "ci_high", "n_scenes"]
    if sm.empty:
        return pd.DataFrame({c: pd.Series(dtype=float if c.startswith(("mean", "ci")) else object) for c in cols})
    q = [100 * (1 - level) / 2, 100 * (1 + level) / 2]
    out = []
    # Cells sharing a task and a scene list are bootstrapped together with one set of draws.
    scenes_of = sm.groupby(CELL, sort=True)["scene"].agg(tuple)
    groups: dict[tuple[str, tuple[str, ...]], list[tuple[str, str, str]]] = {}
    for cell, scenes in scenes_of.items():
        groups.setdefault((cell[1], scenes), []).append(cell)
    values = sm.set_index(CELL + ["scene"])["value"]
    by_cell = {cell: grp for cell, grp in values.groupby(level=[0, 1, 2], sort=False)}
    for (task, scenes), cells in sorted(groups.items()):
        v = np.stack([by_cell[c].to_numpy() for c in cells])  # rows in scene order (sm is sorted)
        rng = np.random.Generator(np.random.PCG64(_seed_for(seed, task, scenes)))
        draws = bootstrap_means(v, rng, n_boot)
        lo, hi = np.percentile(draws, q, axis=1)
        mean = v.mean(axis=1)
        # Guard against rounding putting the mean a hair outside a degenerate interval.
        lo, hi = np.minimum(lo, mean), np.maximum(hi, mean)
        for i, c in enumerate(cells):
            out.append((*c, mean[i], lo[i], hi[i], len(scenes)))
    return pd.DataFrame(out, columns=cols).sort_values(CELL, ignore_index=True)


def rank_with_ties(mean: np.ndarray, lo: np.ndarray, hi: np.ndarray, higher_is_better: bool,
                   names: list[str] | None = None) -> np.ndarray:
    """Competition ranks with ties by interval overlap with the tie group's leader (module docstring).

    NaN means get rank NaN; a NaN interval (set-level metric) counts as the point [mean, mean].
    ``names`` breaks exact ties in the order (deterministic output).
    """
    mean, lo, hi = (np.asarray(a, dtype=float) for a in (mean, lo, hi))
    lo, hi = np.where(np.isnan(lo), mean, lo), np.where(np.isnan(hi), mean, hi)
    names = names if names is not None else [str(i) for i in range(len(mean))]
    ranks = np.full(len(mean), np.nan)
    valid = [i for i in range(len(mean)) if np.isfinite(mean[i])]
    order = sorted(valid, key=lambda i: (-mean[i] if higher_is_better else mean[i], names[i]))
    leader, rank = None, 0
    for pos, i in enumerate(order):
        if leader is None or not (lo[i] <= hi[leader] and lo[leader] <= hi[i]):
            leader, rank = i, pos + 1
        ranks[i] = rank
    return ranks


def normalised_scores(mean: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """Min–max over methods, 1 = best, 0 = worst; all equal → all 1; NaN stays NaN."""
    mean = np.asarray(mean, dtype=float)
    if not np.isfinite(mean).any():
        return mean.copy()
    best = np.nanmax(mean) if higher_is_better else np.nanmin(mean)
    worst = np.nanmin(mean) if higher_is_better else np.nanmax(mean)
    if best == worst:
        return np.where(np.isfinite(mean), 1.0, np.nan)
    return (mean - worst) / (best - worst)


def _missing_summary(metrics: pd.DataFrame) -> pd.DataFrame:
    miss = metrics.loc[metrics["value"].isna()].copy()
    miss["missing_reason"] = miss["missing_reason"].fillna("no reason given")
    cols = ["area", "metric", "missing_reason", "method", "task"]
    if miss.empty:
        return pd.DataFrame(columns=cols + ["clips", "of_clips"])
    g = miss.groupby(cols, sort=True).size().rename("clips").reset_index()
    total = metrics.groupby(CELL).size().rename("of_clips").reset_index()
    return g.merge(total, on=CELL, how="left")


def aggregate(metrics: pd.DataFrame, seed: int = 0, n_boot: int = N_BOOT) -> Aggregates:
    """The leaderboard table and area scores from a merged metrics table.

    ``table`` columns: method, task, metric, area, higher_is_better, mean, ci_low, ci_high,
    n_clips (clips with a value), n_missing (clips without), n_scenes, set_level (a set-level value,
    no interval), rank, best (rank == 1), score (normalised, 1 = best). Cells where every clip is missing keep NaN mean / rank / score.
    """
    info = metrics.groupby("metric", sort=True)[["area", "higher_is_better"]].first()
    counts = (metrics.assign(has=metrics["value"].notna())
              .groupby(CELL, sort=True)["has"].agg(n_clips="sum", total="size").reset_index())
    counts["n_missing"] = counts["total"] - counts["n_clips"]
    sm = scene_means(metrics)
    boot = bootstrap_table(sm, seed=seed, n_boot=n_boot)
    t = counts.drop(columns="total").merge(boot, on=CELL, how="left")
    set_rows = metrics[(metrics["clip"] == SET_LEVEL_CLIP) & metrics["value"].notna()]
    set_mean = set_rows.groupby(CELL)["value"].mean()
    t["set_level"] = False
    if len(set_mean):
        idx = pd.MultiIndex.from_frame(t[CELL])
        is_set = idx.isin(set_mean.index) & t["mean"].isna().to_numpy()
        t.loc[is_set, "mean"] = set_mean.reindex(idx[is_set]).to_numpy()
        t.loc[is_set, "set_level"] = True
    t["n_scenes"] = t["n_scenes"].fillna(0).astype(int)
    t = t.join(info, on="metric")
    t["higher_is_better"] = t["higher_is_better"].astype(bool)
    t["rank"] = np.nan
    t["score"] = np.nan
    for (task, metric), idx in t.groupby(["task", "metric"], sort=True).groups.items():
        sub = t.loc[idx]
        hib = bool(sub["higher_is_better"].iloc[0])
        t.loc[idx, "rank"] = rank_with_ties(sub["mean"].to_numpy(), sub["ci_low"].to_numpy(),
                                            sub["ci_high"].to_numpy(), hib, sub["method"].tolist())
        t.loc[idx, "score"] = normalised_scores(sub["mean"].to_numpy(), hib)
    t["best"] = t["rank"] == 1
    t["rank"] = t["rank"].astype("Int64")
    t["n_clips"] = t["n_clips"].astype(int)
    t["n_missing"] = t["n_missing"].astype(int)
    t = t[["method", "task", "metric", "area", "higher_is_better", "mean", "ci_low", "ci_high", "n_clips",
           "n_missing", "n_scenes", "set_level", "rank", "best", "score"]].sort_values(CELL, ignore_index=True)

    scored = t.dropna(subset=["score"])
    area_task = (scored.groupby(["method", "task", "area"], sort=True)["score"]
                 .agg(score="mean", n_metrics="size").reset_index())
    area_overall = (area_task.groupby(["method", "area"], sort=True)["score"]
                    .agg(score="mean", n_tasks="size").reset_index())
    order = {a: i for i, a in enumerate(AREAS)}
    area_task = area_task.sort_values(["method", "task", "area"], key=lambda s: s.map(order) if s.name == "area" else s,
                                      ignore_index=True)
    area_overall = area_overall.sort_values(["method", "area"], key=lambda s: s.map(order) if s.name == "area" else s,
                                            ignore_index=True)
    return Aggregates(t, sm, area_task, area_overall, balanced_scores(area_task, area_overall),
                      _missing_summary(metrics))


def balanced_scores(area_task: pd.DataFrame, area_overall: pd.DataFrame) -> pd.DataFrame:
    """Temporal × fidelity per task averaged over tasks, and the overall score (module docstring)."""
    wide = area_task.pivot_table(index=["method", "task"], columns="area", values="score", aggfunc="first")
    methods = sorted(set(area_overall["method"]))
    gated = pd.Series(dtype=float)
    if {"fidelity", "temporal"} <= set(wide.columns):
        gated = (wide["temporal"] * wide["fidelity"]).dropna()
    per_method = gated.groupby(level="method").agg(["mean", "size"]) if len(gated) else None
    overall = area_overall.set_index(["method", "area"])["score"]
    rows = []
    for m in methods:
        taf = float(per_method.loc[m, "mean"]) if per_method is not None and m in per_method.index else np.nan
        n = int(per_method.loc[m, "size"]) if per_method is not None and m in per_method.index else 0
        parts = [overall.get((m, "fidelity"), np.nan), taf, overall.get((m, "control"), np.nan)]
        parts = [float(p) for p in parts if np.isfinite(p)]
        rows.append((m, taf, n, float(np.mean(parts)) if parts else np.nan, len(parts)))
    return pd.DataFrame(rows, columns=["method", "temporal_at_fidelity", "n_tasks", "overall", "n_areas"])
