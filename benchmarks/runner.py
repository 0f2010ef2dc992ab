"""The x2v-bench runner: methods × tasks × clips → Parquet results, Ray-parallel over clips, resumable.

A *unit* is one method on one task of one clip. Units of the same task and clip are grouped (the
task is posed once: clip decoded, edit ground truth rendered or read from the cache, flow computed)
and the groups run as Ray tasks — a local Ray by default (``workers`` CPUs), an existing cluster
with ``address`` (the dataset folder, and the cache folder, must then be readable at the same
paths on the workers, e.g. a shared filesystem). ``workers=0`` runs everything in this process.
Methods with ``in_process = True`` (the X2Video adapters: one model load, one GPU) always run in the
driver process, interleaved with the Ray tasks.

How a unit is scored is :mod:`benchmarks.scoring`; the Ray plumbing is :mod:`pipelines.ray_pool`.

Resuming: each finished unit is written atomically to the unit store (:mod:`benchmarks.units`) with
a fingerprint of everything that determines it (method fingerprint, task options, metrics, seeds,
exposure, weights, dataset checksum). A run skips units whose file exists with the same
fingerprint. At the end the units of *this* configuration are merged into ``metrics.parquet``,
``per_frame.parquet`` and ``run.json`` (:mod:`benchmarks.tables`); the run id is a digest of the
configuration, so a resumed run writes exactly the tables an uninterrupted one would. A unit that
fails (e.g. an external folder lacks frames) is reported, is *not* written (a later run retries
it), and appears in the tables with ``value`` null and the error as ``missing_reason``.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import ray
import torch

from interiorvideo.dataset import Dataset, DatasetError
from interiorvideo.fileio import digest
from interiorvideo.shards import ShardError
from pipelines.ray_pool import RayUnavailable, map_unordered, ray_session

from .common import BenchmarkError
from .methods import Method, make_method
from .methods.inverse import InverseModel, make_inverse
from .metrics import METRICS, MetricUnavailable, check_metrics
from .results import slug
from .scoring import error_text, score_unit, task_metrics
from .tables import merge_units, write_run_json
from .tasks import TaskContext, get_task
from .units import UNIT_FORMAT, read_unit, unit_path, write_unit

CACHE_DIR = ".cache"


@dataclass
class RunConfig:
    """Everything that defines a run (``x2v-bench run`` maps its options onto this)."""

    data: Path
    out: Path
    methods: Sequence[str] = ("gt", "pbr-composite")
    tasks: Sequence[str] = ("render",)
    split: str = "test"
    clips: Sequence[str] | None = None  # keys to keep (default: the whole split)
    limit: int | None = None  # first N clips of the split
    seed: int = 0
    metrics: Sequence[str] | None = None  # restrict every task to these metrics (default: each task's own)
    options: Mapping[str, Any] = field(default_factory=dict)  # options for every method (checkpoint, steps…)
    method_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # per method name
    external: Mapping[str, str | Path] = field(default_factory=dict)  # NAME → folder (External adapters)
    task_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # e.g. {"long": {"window": 8}}
    exposure: float = 1.0
    lpips_weights: str | None = None
    i3d: str | None = None
    address: str | None = None
    workers: int | None = None  # local Ray CPUs (default: all); 0 = no Ray
    cache: Path | None = None  # edit ground-truth renders (default RESULTS/.cache)
    videos: bool = True
    verify_data: bool = True  # check the clips' shards against dataset.json's sha256 before any unit
    inverse: str | None = None  # an inverse model (benchmarks.methods.inverse) for the intrinsic round trip
    inverse_options: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class RunReport:
    out: Path
    run_id: str
    units_total: int
    computed: int = 0
    reused: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # "method/task/clip" → error
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


# -- per-process caches (Ray workers live across tasks) ----------------------------------------------

_METHODS: dict[str, Method] = {}
_INVERSE: dict[str, InverseModel] = {}


@functools.lru_cache(maxsize=4)
def _dataset(root: str) -> Dataset:
    return Dataset.open(root)


@functools.lru_cache(maxsize=2)  # a group's methods share the clip; groups of one clip run in a row
def load_clip(data: str, key: str) -> dict:
    """One clip, read at its offset in its shard (the dataset index is read once per process)."""
    return _dataset(str(data)).read_clip(key)


def _method_options(spec: Mapping[str, Any], name: str) -> dict:
    return {**spec["options"], **spec["method_options"].get(name, {})}


def _worker_method(spec: Mapping[str, Any], name: str) -> Method:
    key = digest([name, _method_options(spec, name), spec["external"].get(name)])
    if key not in _METHODS:
        _METHODS[key] = make_method(name, _method_options(spec, name), spec["external"])
    return _METHODS[key]


def _worker_inverse(spec: Mapping[str, Any]) -> InverseModel | None:
    """The run's inverse model, built once per process (None when the run has none)."""
    if spec.get("inverse") is None:
        return None
    key = digest(spec["inverse"])
    if key not in _INVERSE:
        _INVERSE[key] = make_inverse(spec["inverse"]["name"], spec["inverse"]["options"])
    return _INVERSE[key]


# -- one group: a task posed on a clip, every method scored on it -------------------------------


def run_group(spec: Mapping[str, Any], task: str, clip: str, methods: Sequence[Method]) -> list[dict]:
    """Pose ``task`` on ``clip`` once and score every method on it; a failure of one method is its record's
    ``error``; a failure to pose the task is every record's error."""
    t0 = time.perf_counter()
    data = load_clip(spec["data"], clip)  # damaged ground truth stops the run: it is no method's failure
    try:
        inverse = _worker_inverse(spec)
        need_flow = any("flow" in METRICS[n].needs
                        for n in task_metrics(task, spec["metrics"], inverse=inverse is not None)[0])
        ctx = TaskContext(seed=spec["seed"], cache=Path(spec["cache"]) if spec["cache"] else None,
                          options=spec["task_options"].get(task, {}), need_flow=need_flow)
        inst = get_task(task).prepare(data, clip, ctx)
    except Exception as exc:
        err = error_text(exc)
        return [{"method": m.name, "task": task, "clip": clip, "error": err} for m in methods]
    prepare = time.perf_counter() - t0
    out = []
    for i, m in enumerate(methods):
        try:
            rec = score_unit(m, inst, spec, want_gt_video=(i == 0), inverse=inverse)
            rec["seconds"]["prepare"] = prepare
            rec["error"] = None
        except Exception as exc:
            rec = {"method": m.name, "task": task, "clip": clip, "error": error_text(exc)}
        out.append(rec)
    return out


def _remote_group(spec: Mapping[str, Any], task: str, clip: str, names: Sequence[str]) -> list[dict]:
    """The Ray task: methods are built (and cached) in the worker from their names and options."""
    torch.set_num_threads(1)
    methods = []
    for n in names:
        try:
            methods.append(_worker_method(spec, n))
        except Exception as exc:
            return [{"method": x, "task": task, "clip": clip, "error": error_text(exc)} for x in names]
    return run_group(spec, task, clip, methods)


# -- the run -----------------------------------------------------------------------------------------


def _spec(cfg: RunConfig, cache: Path) -> dict:
    """The picklable, JSON-able part of the configuration the workers need (no in-memory objects)."""
    drop = {"pipeline"}
    return {"data": str(Path(cfg.data).resolve()), "seed": int(cfg.seed), "exposure": float(cfg.exposure),
            "metrics": list(cfg.metrics) if cfg.metrics is not None else None,
            "lpips_weights": str(Path(cfg.lpips_weights).resolve()) if cfg.lpips_weights else None,
            "i3d": str(Path(cfg.i3d).resolve()) if cfg.i3d else None,
            "task_options": {k: dict(v) for k, v in cfg.task_options.items()},
            "options": {k: v for k, v in cfg.options.items() if k not in drop},
            "method_options": {m: {k: v for k, v in o.items() if k not in drop} for m, o in cfg.method_options.items()},
            "external": {k: str(v) for k, v in cfg.external.items()}, "cache": str(cache), "videos": bool(cfg.videos),
            "inverse": {"name": cfg.inverse, "options": dict(cfg.inverse_options)} if cfg.inverse else None}


def _split_keys(ds: Dataset, split: str) -> list[str]:
    try:
        return ds.keys(split)
    except DatasetError:
        have = ", ".join(f"{s} ({n} clips)" for s, n in sorted(ds.index["counts"].items()) if n) or "none"
        raise BenchmarkError(f"dataset {ds.root} has no clips in split {split!r}; splits with clips: {have}") from None


def _validate(cfg: RunConfig, ds: Dataset) -> tuple[list[str], list[str], list[str], dict[str, Method]]:
    if not (math.isfinite(cfg.exposure) and cfg.exposure > 0):
        raise BenchmarkError(f"--exposure must be a positive finite number, got {cfg.exposure}")
    tasks = list(dict.fromkeys(cfg.tasks))
    if not tasks:
        raise BenchmarkError("no task given (--tasks)")
    for t in tasks:
        get_task(t)
    for t in cfg.task_options:
        get_task(t)
    methods = list(dict.fromkeys([*cfg.methods, *cfg.external]))
    if not methods:
        raise BenchmarkError("no method given (--methods)")
    if cfg.metrics is not None:
        bad = [m for m in cfg.metrics if m not in METRICS]
        if bad:
            raise BenchmarkError(f"unknown metric(s) {bad}; known metrics: {', '.join(sorted(METRICS))}")
    try:  # e.g. a named I3D file that does not exist, before anything runs
        check_metrics([n for t in tasks for part in task_metrics(t, cfg.metrics, inverse=cfg.inverse is not None)
                       for n in part],
                      lpips_weights=cfg.lpips_weights, i3d=cfg.i3d)
    except MetricUnavailable as exc:
        raise BenchmarkError(str(exc)) from None
    if cfg.inverse is not None:
        make_inverse(cfg.inverse, cfg.inverse_options)  # an unknown or broken inverse model, before any unit
    instances = {}
    for m in methods:
        opts = {**cfg.options, **cfg.method_options.get(m, {})}
        instances[m] = make_method(m, opts, cfg.external)
    keys = _split_keys(ds, cfg.split)
    if cfg.clips:
        unknown = [c for c in cfg.clips if c not in keys]
        if unknown:
            raise BenchmarkError(f"clip(s) {unknown} are not in split {cfg.split!r} of {cfg.data} "
                                 f"(it has {', '.join(keys[:8])}{' …' if len(keys) > 8 else ''})")
        keys = [k for k in keys if k in set(cfg.clips)]
    if cfg.limit is not None:
        keys = keys[:max(int(cfg.limit), 0)]
    if not keys:
        raise BenchmarkError("no clip to run on")
    return methods, tasks, keys, instances


def _schedule(cfg: RunConfig, spec: dict, groups: Mapping[tuple[str, str], Mapping[str, list[str]]],
              instances: Mapping[str, Method], accept: Callable[[list[dict]], None]) -> dict | None:
    """Run every group: the "ray" methods of a group as one Ray task, the "local" ones in this process
    (between the Ray results); returns the Ray cluster's resources (None when Ray was not needed)."""
    ray_queue = [(t, c, g["ray"]) for (c, t), g in sorted(groups.items()) if g["ray"]]
    local = [(t, c, g["local"]) for (c, t), g in sorted(groups.items()) if g["local"]]
    jobs = (lambda t=t, c=c, names=names: accept(run_group(spec, t, c, [instances[n] for n in names]))
            for t, c, names in local)
    if not ray_queue:
        for job in jobs:
            job()
        return None
    try:
        with ray_session(cfg.address, cfg.workers) as resources:
            remote = ray.remote(num_cpus=1, max_retries=1)(_remote_group)
            spec_ref = ray.put(spec)
            for (_, t, c, names), records, exc in map_unordered(remote, ((spec_ref, *g) for g in ray_queue),
                                                                between=jobs):
                if isinstance(exc, ShardError):  # damaged ground truth (RayTaskError subclasses the cause)
                    raise BenchmarkError(str(exc)) from None
                if exc is not None:  # the task died (worker crash) after its retry
                    records = [{"method": n, "task": t, "clip": c, "error": error_text(exc)} for n in names]
                accept(records)
    except RayUnavailable as exc:
        raise BenchmarkError(str(exc)) from exc
    return resources


def run_benchmark(cfg: RunConfig, progress: Callable[[int, int, str], None] | None = None) -> RunReport:
    """Run (or resume) a benchmark; ``progress(done, total, label)`` after each unit."""
    t_start = time.perf_counter()
    out = Path(cfg.out)
    try:
        ds = Dataset.open(cfg.data)
    except DatasetError as exc:
        raise BenchmarkError(str(exc)) from None
    if out.exists() and not out.is_dir():
        raise BenchmarkError(f"--out {out} is a file, not a results folder")
    methods, tasks, clips, instances = _validate(cfg, ds)
    if cfg.verify_data:
        try:
            ds.verify_shards(ds.shards_holding(clips))
        except ShardError as exc:
            raise BenchmarkError(f"{exc}; scores against it would be wrong (--no-verify skips this check)") from None
    out.mkdir(parents=True, exist_ok=True)
    cache = (Path(cfg.cache) if cfg.cache else out / CACHE_DIR).resolve()  # workers may have another cwd
    spec = _spec(cfg, cache)
    data_fp = ds.fingerprint
    method_fp = {m: {"class": type(instances[m]).__name__, **instances[m].fingerprint()} for m in methods}
    inverse = _worker_inverse(spec)
    inverse_fp = ({"name": cfg.inverse, "class": type(inverse).__name__, **inverse.fingerprint()}
                  if inverse is not None else None)
    common_fp = {"seed": spec["seed"], "exposure": spec["exposure"], "lpips_weights": spec["lpips_weights"],
                 "i3d": spec["i3d"], "data": data_fp, "videos": bool(spec["videos"]), "unit_format": UNIT_FORMAT,
                 **({"inverse": inverse_fp} if inverse_fp else {})}
    unit_fp = {(m, t): digest({"method": method_fp[m], "task": t, "task_options": spec["task_options"].get(t, {}),
                               "metrics": task_metrics(t, spec["metrics"], inverse=inverse is not None),
                               **common_fp}, 32)
               for m in methods for t in tasks}
    config_json = {"data": spec["data"], "dataset": ds.name, "dataset_fingerprint": data_fp,
                   "split": cfg.split, "clips": clips, "methods": method_fp,
                   "tasks": {t: {**get_task(t).defaults, **spec["task_options"].get(t, {})} for t in tasks},
                   "metrics": spec["metrics"], "seed": spec["seed"], "exposure": spec["exposure"],
                   "lpips_weights": spec["lpips_weights"], "i3d": spec["i3d"],
                   **({"inverse": inverse_fp} if inverse_fp else {})}
    run_id = f"{slug(ds.name)}-{slug(cfg.split)}-{digest(config_json, 12)}"

    units = [(m, t, c) for m in methods for t in tasks for c in clips]
    report = RunReport(out, run_id, len(units))
    done: dict[tuple[str, str, str], dict] = {}
    for u in units:
        rec = read_unit(unit_path(out, *u), unit_fp[(u[0], u[1])])
        if rec is not None:
            done[u] = rec
    report.reused = len(done)
    if progress:
        progress(len(done), len(units), "reused" if done else "starting")
    pending = [u for u in units if u not in done]
    for m in methods:
        mine = sorted({(t, c) for (mm, t, c) in pending if mm == m})
        if mine:
            instances[m].check([(t, c, get_task(t).calls) for t, c in mine])

    # Groups: (clip, task) → methods, split by where they run.
    groups: dict[tuple[str, str], dict[str, list[str]]] = {}
    for m, t, c in pending:
        where = "local" if (cfg.workers == 0 or instances[m].in_process) else "ray"
        groups.setdefault((c, t), {"local": [], "ray": []})[where].append(m)

    def accept(records: list[dict]) -> None:
        for rec in records:
            u = (rec["method"], rec["task"], rec["clip"])
            if rec.get("error"):
                report.failed["/".join(u)] = rec["error"]
            else:
                write_unit(out, rec, unit_fp[(u[0], u[1])])
                done[u] = rec
                report.computed += 1
            if progress:
                progress(report.reused + report.computed + len(report.failed), len(units), "/".join(u))

    try:
        ray_resources = _schedule(cfg, spec, groups, instances, accept)
    except (ShardError, DatasetError, OSError) as exc:  # a clip that cannot be read, or breaks the contract
        raise BenchmarkError(f"{exc}; the run stops (finished units are kept)") from None
    merge_units(out, run_id, units, done, report.failed, cfg.metrics, inverse=cfg.inverse is not None)
    report.seconds = time.perf_counter() - t_start
    config_json.update(address=cfg.address, workers=cfg.workers, cache=str(cfg.cache) if cfg.cache else None,
                       failed=dict(report.failed))
    write_run_json(out, run_id, config_json, done, {"total": report.units_total, "computed": report.computed,
                                                    "reused": report.reused, "failed": len(report.failed)},
                   report.seconds, ray_resources)
    return report


__all__ = ["RunConfig", "RunReport", "load_clip", "run_benchmark", "run_group"]
