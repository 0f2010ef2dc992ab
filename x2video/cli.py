"""``x2v``: train and sample X2Video. The verbs arrive with their issues (model, sampling, demo)."""

from __future__ import annotations

import typer

from . import __version__

app = typer.Typer(help="X2Video: neural video rendering from intrinsic channels.", no_args_is_help=True,
                  add_completion=False)


@app.callback()
def _root() -> None:
    """X2Video command line."""


@app.command()
def version() -> None:
    """Print the installed version."""
    typer.echo(f"x2v {__version__}")
