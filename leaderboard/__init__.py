"""Leaderboard reports: x2v-bench Parquet results → a self-contained HTML page, Markdown, Parquet, plots.

``build_report(results, out)`` is the entry point (``x2v-bench report RESULTS... --out SITE``, whose
command is :mod:`.cli`). Modules: ``load`` (merge folders, schema checks), ``aggregate``
(scene-bootstrap intervals, ranks with ties, area scores), ``plots`` (SVG plots), ``media`` (video
previews), ``render`` (the page), ``markdown``, ``report``. It never recomputes a metric.
"""

from .report import ReportSummary, build_report

__all__ = ["ReportSummary", "build_report"]
