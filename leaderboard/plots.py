"""Plots of the leaderboard as self-contained SVG data URIs (matplotlib, no pyplot, no global state).

* :func:`metric_bars` — one metric: bars per task and method, whiskers = the 95 % scene-bootstrap interval;
* :func:`temporal_curves` — one temporal metric: mean per-frame value over frame index, a panel per task;
* :func:`scene_heatmap` — one task: methods × scenes, the per-scene normalised score (1 = best method
  on that scene), averaged over the task's metrics.

SVGs are embedded as ``data:image/svg+xml;base64`` images: no external file or URL, and a browser
never runs scripts inside an image. Output is byte-deterministic (fixed hash salt, no date).
Text from data goes through :func:`label`, which stops matplotlib reading ``$…$`` as mathtext.
"""

from __future__ import annotations

import base64
import io
from typing import Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

RC = {"svg.hashsalt": "x2v-leaderboard", "svg.fonttype": "none", "font.size": 8, "axes.titlesize": 9,
      "font.family": "DejaVu Sans", "axes.spines.top": False, "axes.spines.right": False}
MAX_LABEL = 40


def label(text: object) -> str:
    """A data string as literal matplotlib text: ``$`` escaped (no mathtext), long names shortened."""
    s = str(text)
    if len(s) > MAX_LABEL:
        s = s[: MAX_LABEL - 1] + "…"
    return s.replace("$", r"\$")


def colours(methods: Sequence[str]) -> dict[str, tuple]:
    cmap = matplotlib.colormaps["tab10" if len(methods) <= 10 else "tab20"]
    return {m: cmap(i % cmap.N) for i, m in enumerate(methods)}


def to_data_uri(fig: Figure) -> str:
    buf = io.BytesIO()
    with matplotlib.rc_context(RC):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(w: float, h: float) -> Figure:
    with matplotlib.rc_context(RC):
        return Figure(figsize=(w, h))


def _margins(fig: Figure, left: float, right: float, bottom: float, top: float, **space: float) -> None:
    """Fixed margins in inches (cheaper than a layout engine, which doubles the drawing time)."""
    w, h = fig.get_size_inches()
    lo_x, lo_y = min(left / w, 0.8), min(bottom / h, 0.8)
    fig.subplots_adjust(left=lo_x, right=max(1 - right / w, lo_x + 0.1),
                        bottom=lo_y, top=max(1 - top / h, lo_y + 0.1), **space)


def _text_in(texts: Sequence[str], pt: float) -> float:
    """Rough width in inches of the longest label at a font size (DejaVu Sans averages ~0.6 em)."""
    return max((len(t) for t in texts), default=0) * pt * 0.6 / 72


def metric_bars(table: pd.DataFrame, metric: str, methods: Sequence[str], tasks: Sequence[str]) -> str:
    """Bars of one metric's mean per task (groups) and method (colours) with CI whiskers."""
    sub = table[(table["metric"] == metric) & table["mean"].notna()]
    tasks = [t for t in tasks if (sub["task"] == t).any()]
    col = colours(methods)
    with matplotlib.rc_context(RC):
        legend_in = 0.5 + _text_in([label(m) for m in methods], 7)
        rotate = len(tasks) > 4
        bottom_in = 0.45 + (0.36 * _text_in([label(t) for t in tasks], 8) if rotate else 0)
        fig = _figure(min(1.2 + 0.09 * len(methods) * len(tasks), 8) + legend_in, 2.4 + bottom_in)
        _margins(fig, 0.75, legend_in, bottom_in, 0.3)
        ax = fig.add_subplot()
        width = 0.8 / max(len(methods), 1)
        cell = sub.set_index(["task", "method"])
        for j, m in enumerate(methods):
            xs, ys, lo, hi = [], [], [], []
            for i, t in enumerate(tasks):
                if (t, m) in cell.index:
                    r = cell.loc[(t, m)]
                    xs.append(i - 0.4 + width * (j + 0.5))
                    ys.append(r["mean"])
                    lo.append(0.0 if np.isnan(r["ci_low"]) else r["mean"] - r["ci_low"])  # set-level: no whisker
                    hi.append(0.0 if np.isnan(r["ci_high"]) else r["ci_high"] - r["mean"])
            if xs:
                ax.bar(xs, ys, width=width, color=col[m], label=label(m),
                       yerr=[lo, hi], error_kw={"elinewidth": 0.8, "capsize": 1.5, "ecolor": "#222"})
        hib = bool(sub["higher_is_better"].iloc[0]) if len(sub) else True
        ax.set_xticks(range(len(tasks)), [label(t) for t in tasks], rotation=20 if rotate else 0,
                      ha="right" if rotate else "center")
        ax.set_ylabel(label(f"{metric} ({'higher' if hib else 'lower'} is better)"))
        ax.set_title(label(metric))
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=7)
        return to_data_uri(fig)


def temporal_curves(curves: pd.DataFrame, metric: str, methods: Sequence[str], tasks: Sequence[str]) -> str:
    """Mean per-frame value of one metric against frame index; ``curves``: method, task, metric, frame, value."""
    sub = curves[curves["metric"] == metric]
    tasks = [t for t in tasks if (sub["task"] == t).any()]
    col = colours(methods)
    ncols = min(4, max(len(tasks), 1))
    nrows = max(1, -(-len(tasks) // ncols))
    with matplotlib.rc_context(RC):
        legend_in = 0.5 + _text_in([label(m) for m in methods], 7)
        fig = _figure(2.4 * ncols + 0.7 + legend_in, 1.9 * nrows + 0.2)
        _margins(fig, 0.7, legend_in, 0.45, 0.3, wspace=0.35, hspace=0.6)
        axes = fig.subplots(nrows, ncols, squeeze=False, sharey=False)
        by = {k: g for k, g in sub.groupby(["task", "method"], sort=False)}
        for n, t in enumerate(tasks):
            ax = axes[n // ncols][n % ncols]
            for m in methods:
                g = by.get((t, m))
                if g is not None:
                    ax.plot(g["frame"].to_numpy(), g["value"].to_numpy(), color=col[m], lw=1.0, label=label(m))
            ax.set_title(label(t))
            ax.set_xlabel("frame")
        for n in range(len(tasks), nrows * ncols):
            axes[n // ncols][n % ncols].set_visible(False)
        axes[0][0].set_ylabel(label(metric))
        handles, labels = axes[0][0].get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="upper right", frameon=False, fontsize=7)
        return to_data_uri(fig)


def scene_heatmap(matrix: pd.DataFrame, task: str) -> str:
    """Heatmap of a methods × scenes matrix of scores in [0, 1] (NaN = no value)."""
    n_m, n_s = matrix.shape
    with matplotlib.rc_context(RC):
        left_in = 0.25 + _text_in([label(m) for m in matrix.index], 8)
        bottom_in = 0.45 + _text_in([label(s) for s in matrix.columns], 6)
        fig = _figure(left_in + min(max(2.5, 0.6 + 0.12 * n_s), 9) + 0.8, bottom_in + 0.4 + 0.2 * n_m)
        _margins(fig, left_in, 0.8, bottom_in, 0.3)
        ax = fig.add_subplot()
        data = np.ma.masked_invalid(matrix.to_numpy(dtype=float))
        im = ax.imshow(data, aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
        ax.set_yticks(range(n_m), [label(m) for m in matrix.index])
        step = max(1, -(-n_s // 40))
        ax.set_xticks(range(0, n_s, step), [label(s) for s in matrix.columns[::step]], rotation=90, fontsize=6)
        ax.set_xlabel("scene")
        ax.set_title(label(task))
        fig.colorbar(im, ax=ax, fraction=0.03, pad=0.01, label="score")
        return to_data_uri(fig)


def scene_score_matrix(scene_means: pd.DataFrame, info: pd.DataFrame, task: str) -> pd.DataFrame:
    """Per scene and metric, min–max normalise methods' scene means (1 = best), then average over metrics.

    ``info``: metric → higher_is_better. Returns methods × scenes (sorted), NaN where no value.
    """
    sub = scene_means[scene_means["task"] == task]
    if sub.empty:
        return pd.DataFrame()
    hib = sub["metric"].map(info["higher_is_better"]).astype(bool).to_numpy()
    signed = np.where(hib, sub["value"].to_numpy(), -sub["value"].to_numpy())
    sub = sub.assign(signed=signed)
    g = sub.groupby(["metric", "scene"])["signed"]
    lo, hi = g.transform("min"), g.transform("max")
    rng = (hi - lo).to_numpy()
    score = np.where(rng > 0, (sub["signed"].to_numpy() - lo.to_numpy()) / np.where(rng > 0, rng, 1), 1.0)
    sub = sub.assign(score=score)
    return sub.pivot_table(index="method", columns="scene", values="score", aggfunc="mean").sort_index()
