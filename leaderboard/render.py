"""The HTML page: a view model from the aggregates, rendered by the package's Jinja2 template.

Autoescaping is on for everything; the only strings marked safe are the package's own stylesheet
and script. Every name, prompt, path and ``run.json`` value from the results is therefore text on
the page, never markup. A Content-Security-Policy allows only that one inline script (by hash),
inline styles, ``data:`` images and same-origin media: nothing is fetched from anywhere else.
"""

from __future__ import annotations

import base64
import hashlib
import json
from importlib import resources
from typing import Any, Sequence

import jinja2
import numpy as np

from benchmarks.results import AREAS, SET_LEVEL_CLIP

from .aggregate import N_BOOT, Aggregates
from .cost import cost_rows
from .fmt import AREA_TITLES, arrow, decimals_for, num
from .load import Results
from .media import Preview


def _resource(name: str) -> str:
    return resources.files("leaderboard").joinpath("templates", name).read_text(encoding="utf-8")


def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("leaderboard", "templates"),
                              autoescape=True, undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


INFINITE_NOTE = ("an infinite mean: some clip scored ±∞ on this metric (a method's own output can make a "
                 "metric unbounded); not ranked")


def _sort_value(v: float | None) -> str:
    return "" if v is None or not np.isfinite(v) else repr(float(v))


def method_order(agg: Aggregates) -> list[str]:
    """Methods by their overall score (best first; :mod:`leaderboard.aggregate`), then by name."""
    methods = sorted(agg.table["method"].unique())
    overall = agg.balanced.set_index("method")["overall"]
    return sorted(methods, key=lambda m: (-overall.get(m) if np.isfinite(overall.get(m, np.nan)) else np.inf, m))


def areas_present(agg: Aggregates) -> list[str]:
    return [a for a in AREAS if (agg.table["area"] == a).any()]


def overview_rows(agg: Aggregates, methods: Sequence[str]) -> tuple[list[str], list[dict[str, Any]]]:
    areas = [a for a in areas_present(agg) if (agg.area_overall["area"] == a).any()]
    o = agg.area_overall.set_index(["method", "area"])
    best = agg.area_overall.groupby("area")["score"].max()
    bal = agg.balanced.set_index("method")
    rows = []
    for m in methods:
        cells = []
        for a in areas:
            s = float(o.loc[(m, a), "score"]) if (m, a) in o.index else np.nan
            n = int(o.loc[(m, a), "n_tasks"]) if (m, a) in o.index else 0
            cells.append({"text": num(s, 3), "sort": _sort_value(s), "best": bool(np.isfinite(s) and np.isclose(s, best[a])),
                          "title": f"mean over {n} task(s)"})
        b = bal.loc[m] if m in bal.index else None
        taf = float(b["temporal_at_fidelity"]) if b is not None else np.nan
        overall = float(b["overall"]) if b is not None else np.nan
        rows.append({"method": m, "cells": cells,
                     "gated": {"text": num(taf, 3), "sort": _sort_value(taf),
                               "title": f"temporal × fidelity, mean over {int(b['n_tasks']) if b is not None else 0} "
                                        "task(s)"},
                     "mean": {"text": num(overall, 3), "sort": _sort_value(overall)}})
    for key in ("gated", "mean"):
        top = max((float(r[key]["sort"]) for r in rows if r[key]["sort"]), default=None)
        for r in rows:
            r[key]["best"] = top is not None and r[key]["sort"] != "" and np.isclose(float(r[key]["sort"]), top)
    return areas, rows


def task_tables(agg: Aggregates, methods: Sequence[str]) -> list[dict[str, Any]]:
    t = agg.table
    order = {a: i for i, a in enumerate(AREAS)}
    at = agg.area_task.set_index(["method", "task", "area"])
    tables = []
    for n, task in enumerate(sorted(t["task"].unique()), start=1):
        sub = t[t["task"] == task]
        metrics = sorted(sub["metric"].unique(), key=lambda mt: (order[sub.loc[sub["metric"] == mt, "area"].iloc[0]], mt))
        cols = []
        for mt in metrics:
            r = sub[sub["metric"] == mt].iloc[0]
            cols.append({"metric": mt, "area": r["area"], "hib": bool(r["higher_is_better"]),
                         "arrow": arrow(bool(r["higher_is_better"])),
                         "decimals": decimals_for(sub.loc[sub["metric"] == mt, "mean"].tolist())})
        areas = [a for a in AREAS if a in {c["area"] for c in cols}]
        cell = sub.set_index(["method", "metric"])
        rows = []
        for m in methods:
            if not (sub["method"] == m).any():
                continue
            area_cells = []
            for a in areas:
                s = float(at.loc[(m, task, a), "score"]) if (m, task, a) in at.index else np.nan
                area_cells.append({"text": num(s, 3), "sort": _sort_value(s)})
            cells = []
            for c in cols:
                if (m, c["metric"]) not in cell.index:
                    cells.append({"text": "", "ci": "", "rank": "", "sort": "", "best": False, "set_level": False,
                                  "note": "not scored"})
                    continue
                r = cell.loc[(m, c["metric"])]
                d = c["decimals"]
                has = bool(np.isfinite(r["mean"]))
                infinite = bool(np.isinf(r["mean"]))
                note = INFINITE_NOTE if infinite else ""
                if r["n_missing"]:
                    note = f"{r['n_missing']} of {r['n_clips'] + r['n_missing']} clips missing"
                if r["set_level"]:
                    ci = "set-level, no interval"
                else:
                    ci = f"[{num(r['ci_low'], d)}, {num(r['ci_high'], d)}]" if has else ""
                cells.append({
                    "text": num(r["mean"], d) if has or infinite else "missing", "ci": ci,
                    "set_level": bool(r["set_level"]),
                    "rank": str(int(r["rank"])) if has else "",
                    "sort": _sort_value(r["mean"]), "best": bool(r["best"]) if has else False,
                    "note": note,
                    "title": ("one value over all clips" if r["set_level"] else f"{r['n_clips']} clips, "
                              f"{r['n_scenes']} scenes") if has else note,
                })
            rows.append({"method": m, "areas": area_cells, "cells": cells})
        tables.append({"id": f"task-{n}", "name": task, "columns": cols, "areas": areas, "rows": rows})
    return tables


def missing_groups(agg: Aggregates) -> list[dict[str, Any]]:
    groups = []
    for (area, metric, reason), g in agg.missing.groupby(["area", "metric", "missing_reason"], sort=True):
        groups.append({"area": area, "metric": metric, "reason": reason,
                       "entries": [{"method": r.method, "task": r.task, "clips": int(r.clips), "of": int(r.of_clips)}
                                   for r in g.itertuples()]})
    order = {a: i for i, a in enumerate(AREAS)}
    return sorted(groups, key=lambda g: (order.get(g["area"], 9), g["metric"], g["reason"]))


def _pretty(value: Any) -> tuple[str, bool]:
    if isinstance(value, (dict, list)):
        return json.dumps(value, indent=2, ensure_ascii=False, default=str), True
    return ("null" if value is None else str(value)), False


def provenance(results: Results) -> list[dict[str, Any]]:
    out = []
    m = results.metrics
    for run in results.runs:
        rows = m[m["run_id"] == run.run_id]
        items = [(str(k), *_pretty(v)) for k, v in run.info.items()]
        out.append({"run_id": run.run_id, "folder": str(run.folder), "items": items,
                    "methods": sorted(rows["method"].unique()), "tasks": sorted(rows["task"].unique()),
                    "clips": int(rows.loc[rows["clip"] != SET_LEVEL_CLIP, ["task", "clip"]].drop_duplicates().shape[0])})
    return out


def render_page(results: Results, agg: Aggregates, *, plots: dict[str, list[dict[str, str]]],
                previews: Sequence[Preview], seed: int) -> str:
    """The complete, self-contained ``index.html``."""
    methods = method_order(agg)
    areas, overview = overview_rows(agg, methods)
    script = _resource("sorter.js")
    csp_hash = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    m = results.metrics
    clips = m.loc[m["clip"] != SET_LEVEL_CLIP, ["task", "clip"]].drop_duplicates()
    counts = {"runs": len(results.runs), "methods": len(methods), "tasks": int(m["task"].nunique()),
              "metrics": int(m["metric"].nunique()), "clips": len(clips),
              "scenes": int(m["scene"].nunique()), "missing": int(m["value"].isna().sum()), "rows": len(m)}
    return _env().get_template("index.html.j2").render(
        counts=counts, areas=areas, area_titles=AREA_TITLES, overview=overview, tasks=task_tables(agg, methods),
        cost=cost_rows(results.cost, methods),
        plots=plots, previews=previews, missing=missing_groups(agg), runs=provenance(results),
        n_boot=N_BOOT, seed=seed, style=_resource("style.css"), script=script, csp_hash=csp_hash,
        rules=rules_text(),
    )


def rules_text() -> dict[str, str]:
    """The method notes printed on the page, kept next to the code they describe."""
    return {
        "interval": ("Clip values are averaged per scene; the value shown is the mean of the scene means. The 95 % "
                     f"interval is a percentile bootstrap over scenes ({N_BOOT} draws of the scenes with replacement; "
                     "clips and frames are never resampled on their own), seeded, so the page is reproducible. "
                     "Methods and metrics of a task scored on the same scenes share the same draws (paired). "
                     "A set-level metric (such as FVD, one value over all clips of a method and task) is shown as "
                     "is, without an interval."),
        "rank": ("Per task and metric, methods are ordered by mean, best first. The first method leads a tie "
                 "group; each next method joins the group when its interval overlaps the group leader's interval "
                 "(touching counts), otherwise it starts a new group. A group's methods share the competition "
                 "rank 1 + (number of methods in better groups), e.g. 1, 1, 3. Rank 1 — the best value and "
                 "every method tied with it — is shown in bold."),
        "cost": ("Per method, over every unit it ran: the median wall-clock seconds per frame made (all of a "
                 "unit's calls, e.g. an edit's edited and unedited renders), model calls per frame (blank when the "
                 "method does not count them), and the largest peak resident memory and peak CUDA memory of any "
                 "unit, measured in the process that ran it. Times come from the machines the runs used (see "
                 "Provenance): compare methods within one run."),
        "score": ("Per task and metric, each method's mean is min–max normalised over the methods shown: "
                  "(mean − worst) / (best − worst), so 1 is the best method and 0 the worst, whichever way the "
                  "metric points (all 1 when all methods are equal). An area score on a task is the mean of the "
                  "normalised scores of the area's metrics the method has; the overview averages it over tasks. "
                  "A steady video is not a good one when it is blurred, faded or constant, so the temporal score "
                  "counts only as far as the video is faithful: 'temporal × fidelity' multiplies the two area "
                  "scores on each task (0 for the least faithful method, however steady) and averages over tasks; "
                  "'overall' is the unweighted mean of fidelity, temporal × fidelity and controllability, and "
                  "orders the methods. Scores are relative to the methods in this report."),
    }

