"""``leaderboard.md``: the overview and one table per task, to paste into a README or a paper.

Cells read ``mean (low–high)`` with the 95 % scene-bootstrap interval; rank-1 values (best, or
tied with it) are bold. Names are escaped so that a name cannot break the table or become markup.
"""

from __future__ import annotations

import re

from .aggregate import N_BOOT, Aggregates
from .cost import cost_rows
from .fmt import AREA_TITLES
from .render import method_order, overview_rows, task_tables

_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def md_text(s: object) -> str:
    """Markdown-safe inline text: specials backslash-escaped, ``<``/``&`` as entities, no line breaks."""
    s = " ".join(str(s).split())
    s = s.replace("&", "&amp;").replace("<", "&lt;")
    return _SPECIAL.sub(r"\\\1", s)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _cost_lines(cost, methods) -> list[str]:
    rows = cost_rows(cost, methods) if cost is not None else []
    if not rows:
        return []
    lines = ["", "## Cost", "", _row(["Method", "s / frame", "model calls / frame", "peak RSS MiB", "peak CUDA MiB",
                                      "units"]), _row(["---"] + ["---:"] * 5)]
    for r in rows:
        lines.append(_row([md_text(r["method"]), r["spf"]["text"], r["calls"]["text"], r["rss"]["text"],
                           r["cuda"]["text"], str(r["units"])]))
    return lines


def render_markdown(agg: Aggregates, seed: int, cost=None) -> str:
    methods = method_order(agg)
    areas, overview = overview_rows(agg, methods)
    lines = ["# x2v-bench leaderboard", "",
             f"Mean over scenes with its 95 % bootstrap interval over scenes ({N_BOOT} draws, seed {seed}); "
             "**bold** = rank 1 (best, or tied with the best by overlapping intervals). "
             "Area scores: per task and metric, min–max normalised over the methods (1 = best), "
             "averaged over the area's metrics, then over tasks. Temporal × fidelity: the product of the two "
             "area scores per task (a steady but unfaithful video gets no temporal credit), averaged over tasks; "
             "overall: the mean of fidelity, temporal × fidelity and controllability.", "", "## Overview by area", ""]
    lines.append(_row(["Method"] + [AREA_TITLES[a] for a in areas] + ["Temporal × fidelity", "Overall"]))
    lines.append(_row(["---"] + ["---:"] * (len(areas) + 2)))
    for r in overview:
        cells = [f"**{c['text']}**" if c["best"] else c["text"] for c in r["cells"]]
        for key in ("gated", "mean"):
            cells.append(f"**{r[key]['text']}**" if r[key].get("best") else r[key]["text"])
        lines.append(_row([md_text(r["method"])] + cells))
    lines += _cost_lines(cost, methods)
    for t in task_tables(agg, methods):
        lines += ["", f"## {md_text(t['name'])}", ""]
        lines.append(_row(["Method"] + [f"{md_text(c['metric'])} {c['arrow']}" for c in t["columns"]]))
        lines.append(_row(["---"] + ["---:"] * len(t["columns"])))
        for r in t["rows"]:
            cells = []
            for c in r["cells"]:
                if not c["sort"]:
                    cells.append("–")
                    continue
                v = f"**{c['text']}**" if c["best"] else c["text"]
                cells.append(v if c["set_level"] else f"{v} ({c['ci'].strip('[]').replace(', ', '–')})")
            lines.append(_row([md_text(r["method"])] + cells))
    miss = agg.missing
    if len(miss):
        lines += ["", "## Missing metrics", ""]
        for (metric, reason), g in miss.groupby(["metric", "missing_reason"], sort=True):
            who = ", ".join(f"{md_text(x.method)} on {md_text(x.task)} ({x.clips}/{x.of_clips} clips)"
                            for x in g.itertuples())
            lines.append(f"- {md_text(metric)}: {md_text(reason)} — {who}")
    return "\n".join(lines) + "\n"
