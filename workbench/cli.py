"""The three command lines as installed (``pyproject.toml``'s entry points): each package's own
app, plus the verbs that chain packages, which no package below could hold without importing
one above it."""

from __future__ import annotations

import os
import sys
import time
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Callable, Optional

import typer

from benchmarks.cli import app as bench_base
from interiorvideo.cli import app as interiorvideo_base
from interiorvideo.fileio import atomic_write_bytes, platform_home
from leaderboard.cli import report
from pipelines.cli import build
from x2video.cli import app as x2v_base

from .demo import DemoConfig, DemoStageError, run_demo


def demo(
    out: Path = typer.Option(Path("runs/demo"), help="Demo folder: data/, model/, results/, site/. Re-run to resume."),
    quick: bool = typer.Option(False, help="A few minutes with tiny sizes (what the tests run), instead of 12–25 minutes."),
    train_steps: Optional[int] = typer.Option(None, help="Override the UNet training steps."),
    workers: Optional[int] = typer.Option(None, help="Local Ray CPUs (default: all cores)."),
    seed: int = typer.Option(0, help="Seed of the whole demo."),
) -> None:
    """The main job end to end: build a small InteriorVideo with Ray, train the tiny X2Video, run
    x2v-bench with every baseline on the test split, write the leaderboard."""
    cfg = DemoConfig.quick() if quick else DemoConfig()
    cfg = replace(cfg, seed=seed, workers=workers, **({"train_steps": train_steps} if train_steps else {}))
    try:
        result = run_demo(out, cfg, log=lambda m: typer.echo(m, err=True))
    except (ValueError, FileNotFoundError, DemoStageError) as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None
    typer.echo(f"demo finished in {sum(result.seconds.values()) / 60:.1f} min; leaderboard: {result.report}")


def extended(base: typer.Typer, *commands: Callable) -> typer.Typer:
    """A new app with ``base``'s help, callback and commands, then ``commands``."""
    app = typer.Typer(help=base.info.help, no_args_is_help=True, add_completion=False)
    app.registered_callback = base.registered_callback
    app.registered_commands = list(base.registered_commands)
    for command in commands:
        app.command()(command)
    return app


def guarded(app: typer.Typer, name: str) -> Callable[[], None]:
    """The installed command: ``app``, where an exception no command turned into its one-line
    error (a bug, not bad input) prints one line naming the log that holds its traceback, and
    exits 1 (bad input exits 2)."""

    def main() -> None:
        try:
            app()
        except Exception as exc:  # noqa: BLE001 — the last resort: everything expected is handled below
            log = crash_log(name, exc)
            typer.secho(f"error: unexpected {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} — "
                        f"the traceback is in {log}; please report it with that file", err=True, fg=typer.colors.RED)
            raise SystemExit(1) from None

    return main


def crash_log(name: str, exc: BaseException) -> Path:
    """Write the traceback and the command line to ``$X2V_HOME/logs/NAME-<time>-<pid>.log``."""
    path = platform_home() / "logs" / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    text = f"{' '.join(sys.argv)}\n\n" + "".join(traceback.format_exception(exc))
    return atomic_write_bytes(path, text.encode())


interiorvideo_app = extended(interiorvideo_base, build)
x2v_app = extended(x2v_base, demo)
bench_app = extended(bench_base, report)
interiorvideo_main = guarded(interiorvideo_app, "interiorvideo")
x2v_main = guarded(x2v_app, "x2v")
bench_main = guarded(bench_app, "x2v-bench")
