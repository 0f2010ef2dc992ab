"""``x2v-bench``: run evaluations and build reports. The verbs arrive with their issues."""

from __future__ import annotations

import typer

from . import __version__

app = typer.Typer(help="x2v-bench: fidelity, temporal consistency and controllability of video renderers.",
                  no_args_is_help=True, add_completion=False)


@app.callback()
def _root() -> None:
    """x2v-bench command line."""


@app.command()
def version() -> None:
    """Print the installed version."""
    typer.echo(f"x2v-bench {__version__}")
