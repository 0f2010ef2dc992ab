"""The ``report`` verb of ``x2v-bench``: a thin layer over :func:`leaderboard.build_report` (the
workbench adds it to the ``x2v-bench`` command line, which lives below this package)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from benchmarks.cli import console, fail, message

from .report import build_report


def report(
    results: list[Path] = typer.Argument(..., help="Results folders of x2v-bench run."),
    out: Path = typer.Option(..., help="Site folder (static HTML + Markdown)."),
    clip: Optional[list[str]] = typer.Option(None, "--clip", help="Clips to preview (TASK/CLIP or CLIP)."),
) -> None:
    """Build the leaderboard site from results folders."""
    try:
        summary = build_report(results, out, clips=clip or None)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        fail(message(exc))
    console.print(escape(f"report written: {summary.index} (+ {summary.markdown})"), soft_wrap=True)
