"""The x2v-bench runner: methods × tasks × clips → Parquet results, Ray-parallel over clips, resumable.

A *unit* is one method on one task of one clip. Units of the same task and clip are grouped (the
task is posed once: clip decoded, edit ground truth rendered or read from the cache, flow computed)
and the groups run as Ray tasks — a local Ray by default (``workers`` CPUs), an existing cluster
with ``address`` (the dataset folder, and the cache folder, must then be readable at the same
paths on the workers, e.g. a shared filesystem). ``workers=0`` runs everything in this process.
Methods with ``in_process = True`` (the X2Video adapters: one model load, one GPU) always run in the
driver process, interleaved with the Ray tasks.

Resuming: each finished unit is written atomically to ``RESULTS/.units/<method>/<task>/<clip>.json``
with a fingerprint of everything that determines it (method fingerprint, task options, metrics,
seeds, exposure, weights, dataset checksum). A run skips units whose file exists with the same
fingerprint. At the end the units of *this* configuration are merged into ``metrics.parquet`` and
``per_frame.parquet`` (via :func:`benchmarks.results.write_table`, rows sorted by method, task,
clip, metric[, frame]) and ``run.json``; the run id is a digest of the configuration, so a resumed
run writes exactly the tables an uninterrupted one would. A unit that fails (e.g. an external
folder lacks frames) is reported, is *not* written (a later run retries it), and appears in the
tables with ``value`` null and the error as ``missing_reason``.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from interiorvideo.colour import to_uint8
from interiorvideo.dataset import Dataset
from interiorvideo.fileio import digest

from . import fvd as fvd_mod
from .common import BenchmarkError, dataset_fingerprint, dataset_name, split_clips, stable_seed
from .methods import Method, MethodInput, make_method
from .results import (GROUND_TRUTH, METRICS_FILE, METRICS_SCHEMA, PER_FRAME_FILE, PER_FRAME_SCHEMA, RUN_FILE,
                      slug, video_path, write_table)
from .tasks import MAIN, BASE, TaskContext, TaskInstance, get_task

UNITS_DIR, CACHE_DIR = ".units", ".cache"
#: Context-only metrics: how the runner feeds them (see score_unit).
_PAIRED = {"leakage": BASE}


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

_CLIPS: OrderedDict = OrderedDict()
_METHODS: dict[str, Method] = {}


def load_clip(data: str | Path, key: str) -> dict:
    k = (str(data), key)
    if k not in _CLIPS:
        _CLIPS[k] = Dataset.open(data).read_clip(key)
        while len(_CLIPS) > 2:
            _CLIPS.popitem(last=False)
    return _CLIPS[k]


def _method_options(spec: Mapping[str, Any], name: str) -> dict:
    return {**spec["options"], **spec["method_options"].get(name, {})}


def _worker_method(spec: Mapping[str, Any], name: str) -> Method:
    key = digest([name, _method_options(spec, name), spec["external"].get(name)])
    if key not in _METHODS:
        _METHODS[key] = make_method(name, _method_options(spec, name), spec["external"])
    return _METHODS[key]


# -- one unit ------------------------------------------------------------------------------------------


def task_metrics(task_name: str, selected: Sequence[str] | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(per-clip metrics, set-level metrics) of a task, restricted to ``selected`` when given."""
    task = get_task(task_name)
    keep = (lambda n: n in selected) if selected is not None else (lambda n: True)
    return tuple(n for n in task.metrics if keep(n)), tuple(n for n in task.set_metrics if keep(n))


def _display(frames: np.ndarray, space: str, exposure: float) -> np.ndarray:
    from .metrics import to_display

    return to_display(frames, exposure, space)


def _check_output(out, method: str, inst: TaskInstance, call: str, shape: tuple[int, ...]) -> None:
    where = f"method {method!r} on task {inst.task} clip {inst.clip} call {call}"
    a = np.asarray(out.frames)
    if a.shape != shape:
        raise BenchmarkError(f"{where}: output shape {a.shape}, expected {shape}")
    if out.space == "linear" and not np.isfinite(a).all():
        raise BenchmarkError(f"{where}: output holds NaN or infinite values")


def _missing_rows(metrics: Sequence[str], frames: int, reason: str) -> list[dict]:
    from .metrics import get_metric

    return [{"metric": n, "area": get_metric(n).area, "value": None, "higher_is_better": get_metric(n).higher_is_better,
             "frames": frames, "missing_reason": reason} for n in metrics]


def score_unit(method: Method, inst: TaskInstance, spec: Mapping[str, Any], want_gt_video: bool = False) -> dict:
    """Run ``method`` on every call of ``inst`` and score it; a JSON-able record (+ video bytes)."""
    from .metrics import MetricResult, compute, get_metric

    t_unit = time.perf_counter()
    metrics, set_metrics = task_metrics(inst.task, spec["metrics"])
    rec: dict[str, Any] = {"method": method.name, "task": inst.task, "clip": inst.clip, "scene": inst.scene,
                           "frames": inst.scored_frames, "details": inst.details, "rows": [], "per_frame": [],
                           "seconds": {}, "model_calls": None, "features": None, "features_missing": None,
                           "videos": {}}
    if inst.skip_reason:
        rec["rows"] = _missing_rows(metrics, inst.scored_frames, inst.skip_reason)
        rec["features_missing"] = inst.skip_reason
        return rec
    exposure, s = float(spec["exposure"]), inst.start
    seed = stable_seed(spec["seed"], inst.task, inst.clip)
    shown, method_seconds, calls = {}, 0.0, 0
    for name, call in inst.calls.items():
        inp = MethodInput(task=inst.task, clip=inst.clip, call=name, intrinsics=call.intrinsics, prompt=call.prompt,
                          seed=seed, fps=inst.fps, camera=inst.camera, frames=inst.frames,
                          local_prompts=call.local_prompts, reference=call.reference,
                          ground_truth=call.ground_truth if method.needs_ground_truth else None)
        t0 = time.perf_counter()
        out = method.run(inp)
        elapsed = time.perf_counter() - t0
        method_seconds += out.seconds if out.seconds is not None else elapsed
        calls = None if calls is None or out.model_calls is None else calls + out.model_calls
        _check_output(out, method.name, inst, name, call.ground_truth.shape)
        shown[name] = _display(np.asarray(out.frames)[s:], out.space, exposure)
    rec["seconds"]["method"] = method_seconds
    rec["model_calls"] = calls
    gt = _display(inst.main.ground_truth[s:], "linear", exposure)
    pred = shown[MAIN]
    mask = inst.mask[s:] if inst.mask is not None else None
    common = {"space": "display", "lpips_weights": spec["lpips_weights"]}
    timings: dict[str, float] = {}
    for n in metrics:
        t0 = time.perf_counter()
        try:
            if n in _PAIRED:
                r = compute(n, pred, shown[_PAIRED[n]], mask=mask, **common)
            elif n == "monotonicity":
                r = compute(n, [shown[c] for c, _ in inst.sweep], None, params=[p for _, p in inst.sweep],
                            direction=1, **common)
            elif n == "delta_e_edit":
                r = compute(n, pred, gt, mask=mask, **common)
            elif "flow" in get_metric(n).needs:
                r = (compute(n, pred, gt, flow=inst.flow, **common) if inst.flow is not None
                     else MetricResult.missing("needs at least 2 scored frames"))
            else:
                r = compute(n, pred, gt, **common)
        except Exception as exc:  # a metric that cannot score this input is recorded, not dropped
            r = MetricResult.missing(f"{n} failed: {type(exc).__name__}: {exc}")
        timings[n] = time.perf_counter() - t0
        m = get_metric(n)
        rec["rows"].append({"metric": n, "area": m.area, "value": r.value, "higher_is_better": m.higher_is_better,
                            "frames": inst.scored_frames, "missing_reason": r.missing_reason})
        if r.per_frame is not None and m.per_frame != "none":
            rec["per_frame"] += [{"metric": n, "frame": s + i, "value": (v if np.isfinite(v) else None)}
                                 for i, v in enumerate(r.per_frame)]
    rec["seconds"]["metrics"] = timings
    if set_metrics:
        t0 = time.perf_counter()
        try:
            path = fvd_mod.resolve_i3d(spec["i3d"])
            if path is None:
                rec["features_missing"] = fvd_mod.INSTALL_HINT
            else:
                rec["features"] = {"pred": fvd_mod.i3d_features(pred, path).tolist(),
                                   "gt": fvd_mod.i3d_features(gt, path).tolist()}
        except Exception as exc:  # a missing/broken I3D or clips too short for it
            rec["features_missing"] = f"I3D features failed: {type(exc).__name__}: {exc}"
        rec["seconds"]["i3d"] = time.perf_counter() - t0
    if spec["videos"]:
        from interiorvideo.video import mp4_bytes

        rec["videos"]["pred"] = mp4_bytes(to_uint8(pred), inst.fps)
        if want_gt_video:
            rec["videos"]["gt"] = mp4_bytes(to_uint8(gt), inst.fps)
    rec["seconds"]["unit"] = time.perf_counter() - t_unit
    return rec


def run_group(spec: Mapping[str, Any], task: str, clip: str, methods: Sequence[Method]) -> list[dict]:
    """Pose ``task`` on ``clip`` once and score every method on it; a failure of one method is its record's
    ``error``; a failure to pose the task is every record's error."""
    t0 = time.perf_counter()
    try:
        data = load_clip(spec["data"], clip)
        need_flow = any("flow" in _needs(n) for n in task_metrics(task, spec["metrics"])[0])
        ctx = TaskContext(seed=spec["seed"], cache=Path(spec["cache"]) if spec["cache"] else None,
                          options=spec["task_options"].get(task, {}), need_flow=need_flow)
        inst = get_task(task).prepare(data, clip, ctx)
    except Exception as exc:
        err = _error(exc)
        return [{"method": m.name, "task": task, "clip": clip, "error": err} for m in methods]
    prepare = time.perf_counter() - t0
    out = []
    for i, m in enumerate(methods):
        try:
            rec = score_unit(m, inst, spec, want_gt_video=(i == 0))
            rec["seconds"]["prepare"] = prepare
            rec["error"] = None
        except Exception as exc:
            rec = {"method": m.name, "task": task, "clip": clip, "error": _error(exc)}
        out.append(rec)
    return out


def _needs(metric: str) -> tuple[str, ...]:
    from .metrics import get_metric

    return get_metric(metric).needs


def _error(exc: BaseException) -> str:
    if isinstance(exc, (BenchmarkError, FileNotFoundError, KeyError)):
        return f"{type(exc).__name__}: {exc.args[0] if exc.args else exc}"
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(tb[-1].filename).name}:{tb[-1].lineno})" if tb else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _remote_group(spec: Mapping[str, Any], task: str, clip: str, names: Sequence[str]) -> list[dict]:
    """The Ray task: methods are built (and cached) in the worker from their names and options."""
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    methods = []
    for n in names:
        try:
            methods.append(_worker_method(spec, n))
        except Exception as exc:
            return [{"method": x, "task": task, "clip": clip, "error": _error(exc)} for x in names]
    return run_group(spec, task, clip, methods)


# -- the run -----------------------------------------------------------------------------------------


def unit_path(out: Path, method: str, task: str, clip: str) -> Path:
    return Path(out) / UNITS_DIR / slug(method) / slug(task) / f"{slug(clip)}.json"


def _read_unit(path: Path, fingerprint: str) -> dict | None:
    if not path.is_file():
        return None
    try:
        rec = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return rec if rec.get("fingerprint") == fingerprint else None


def _write_unit(out: Path, rec: dict, fingerprint: str) -> None:
    from interiorvideo.fileio import atomic_write_bytes, atomic_write_json

    videos = rec.pop("videos", {}) or {}
    pred_path = video_path(out, rec["task"], rec["clip"], rec["method"])
    if videos.get("pred") is not None:
        atomic_write_bytes(pred_path, videos["pred"])
    else:
        pred_path.unlink(missing_ok=True)  # never leave another configuration's video beside these metrics
    if videos.get("gt") is not None:
        atomic_write_bytes(video_path(out, rec["task"], rec["clip"], GROUND_TRUTH), videos["gt"])
    rec["fingerprint"] = fingerprint
    atomic_write_json(unit_path(out, rec["method"], rec["task"], rec["clip"]), rec)


def _init_ray(address: str | None, workers: int | None):
    import ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    started = False
    if not ray.is_initialized():
        try:
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(num_cpus=workers or os.cpu_count(), include_dashboard=False, log_to_driver=False,
                         object_store_memory=512 * 1024 * 1024)
        except Exception as exc:  # ConnectionError, RuntimeError, TimeoutError…
            where = f"the Ray cluster at {address}" if address else "a local Ray instance"
            raise BenchmarkError(f"could not start or reach {where}: {type(exc).__name__}: {exc}") from exc
        started = True
    return ray, started


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
            "external": {k: str(v) for k, v in cfg.external.items()}, "cache": str(cache), "videos": bool(cfg.videos)}


def _validate(cfg: RunConfig) -> tuple[list[str], list[str], list[str], dict[str, Method]]:
    from .metrics import METRICS

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
        known = {*METRICS, fvd_mod.NAME}
        bad = [m for m in cfg.metrics if m not in known]
        if bad:
            raise BenchmarkError(f"unknown metric(s) {bad}; known metrics: {', '.join(sorted(known))}")
    instances = {}
    for m in methods:
        opts = {**cfg.options, **cfg.method_options.get(m, {})}
        instances[m] = make_method(m, opts, cfg.external)
    keys = split_clips(cfg.data, cfg.split)
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


def run_benchmark(cfg: RunConfig, progress: Callable[[int, int, str], None] | None = None) -> RunReport:
    """Run (or resume) a benchmark; ``progress(done, total, label)`` after each unit."""
    t_start = time.perf_counter()
    out = Path(cfg.out)
    try:
        fvd_mod.resolve_i3d(cfg.i3d)
    except fvd_mod.I3DUnavailable as exc:
        raise BenchmarkError(str(exc)) from None
    methods, tasks, clips, instances = _validate(cfg)
    out.mkdir(parents=True, exist_ok=True)
    cache = (Path(cfg.cache) if cfg.cache else out / CACHE_DIR).resolve()  # workers may have another cwd
    spec = _spec(cfg, cache)
    data_fp = dataset_fingerprint(cfg.data)
    method_fp = {m: {"class": type(instances[m]).__name__, **instances[m].fingerprint()} for m in methods}
    common_fp = {"seed": spec["seed"], "exposure": spec["exposure"], "lpips_weights": spec["lpips_weights"],
                 "i3d": spec["i3d"], "data": data_fp, "videos": bool(spec["videos"])}
    unit_fp = {(m, t): digest({"method": method_fp[m], "task": t, "task_options": spec["task_options"].get(t, {}),
                               "metrics": task_metrics(t, spec["metrics"]), **common_fp}, 32)
               for m in methods for t in tasks}
    config_json = {"data": spec["data"], "dataset": dataset_name(cfg.data), "dataset_fingerprint": data_fp,
                   "split": cfg.split, "clips": clips, "methods": method_fp,
                   "tasks": {t: {**get_task(t).defaults, **spec["task_options"].get(t, {})} for t in tasks},
                   "metrics": spec["metrics"], "seed": spec["seed"], "exposure": spec["exposure"],
                   "lpips_weights": spec["lpips_weights"], "i3d": spec["i3d"]}
    run_id = f"{slug(dataset_name(cfg.data))}-{slug(cfg.split)}-{digest(config_json, 12)}"

    units = [(m, t, c) for m in methods for t in tasks for c in clips]
    report = RunReport(out, run_id, len(units))
    done: dict[tuple[str, str, str], dict] = {}
    for u in units:
        rec = _read_unit(unit_path(out, *u), unit_fp[(u[0], u[1])])
        if rec is not None:
            done[u] = rec
    report.reused = len(done)
    n_done = len(done)
    if progress:
        progress(n_done, len(units), "reused" if done else "starting")
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
    ray_queue = [(c, t, g["ray"]) for (c, t), g in sorted(groups.items()) if g["ray"]]
    local_queue = [(c, t, g["local"]) for (c, t), g in sorted(groups.items()) if g["local"]]

    def accept(records: list[dict]) -> None:
        nonlocal n_done
        for rec in records:
            u = (rec["method"], rec["task"], rec["clip"])
            if rec.get("error"):
                report.failed["/".join(u)] = rec["error"]
            else:
                _write_unit(out, rec, unit_fp[(u[0], u[1])])
                done[u] = rec
                report.computed += 1
            n_done += 1
            if progress:
                progress(n_done, len(units), "/".join(u))

    ray, started = (None, False)
    ray_resources = None
    try:
        if ray_queue:
            ray, started = _init_ray(cfg.address, cfg.workers)
            ray_resources = dict(ray.cluster_resources())
            remote = ray.remote(num_cpus=1, max_retries=1)(_remote_group)
            spec_ref = ray.put(spec)
            cap = max(2, 2 * int(ray_resources.get("CPU", 1)))
            inflight: dict = {}
            queue = list(ray_queue)
            while queue or inflight or local_queue:
                while queue and len(inflight) < cap:
                    c, t, names = queue.pop(0)
                    inflight[remote.remote(spec_ref, t, c, names)] = (c, t, names)
                if local_queue:
                    c, t, names = local_queue.pop(0)
                    accept(run_group(spec, t, c, [instances[n] for n in names]))
                if not inflight:
                    continue
                ready, _ = ray.wait(list(inflight), num_returns=1, timeout=0 if local_queue else None)
                for ref in ready:
                    c, t, names = inflight.pop(ref)
                    try:
                        records = ray.get(ref)
                    except Exception as exc:  # the task died (worker crash) after its retry
                        records = [{"method": n, "task": t, "clip": c, "error": _error(exc)} for n in names]
                    accept(records)
        for c, t, names in local_queue:
            accept(run_group(spec, t, c, [instances[n] for n in names]))
    finally:
        if started and not cfg.address:
            ray.shutdown()

    merge_units(out, run_id, units, done, report.failed, cfg)
    report.seconds = time.perf_counter() - t_start
    _write_run_json(out, run_id, config_json, units, done, report, ray_resources, cfg)
    return report


def merge_units(out: Path, run_id: str, units: Sequence[tuple[str, str, str]], done: Mapping[tuple, dict],
                failed: Mapping[str, str], cfg: RunConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The two tables of this run from its unit records (failed units as missing rows, FVD per method × task)."""
    from .metrics import get_metric

    rows, frames = [], []
    sets: dict[tuple[str, str], list[dict]] = {}
    metrics_sel = list(cfg.metrics) if cfg.metrics is not None else None
    for u in units:
        m, t, c = u
        rec = done.get(u)
        if rec is None:
            reason = f"unit failed: {failed.get('/'.join(u), 'not run (interrupted)')}"
            recs = [{"metric": n, "area": get_metric(n).area, "value": None,
                     "higher_is_better": get_metric(n).higher_is_better, "frames": None, "missing_reason": reason}
                    for n in task_metrics(t, metrics_sel)[0]]
            scene = None
            sets.setdefault((m, t), []).append({"features": None, "features_missing": reason, "frames": 0})
        else:
            recs, scene = rec["rows"], rec.get("scene")
            frames += [{"run_id": run_id, "method": m, "task": t, "clip": c, "scene": scene, **f}
                       for f in rec["per_frame"]]
            sets.setdefault((m, t), []).append(rec)
        rows += [{"run_id": run_id, "method": m, "task": t, "clip": c, "scene": scene, **r} for r in recs]
    for (m, t), recs in sets.items():
        if fvd_mod.NAME not in task_metrics(t, metrics_sel)[1]:
            continue
        missing = next((r["features_missing"] for r in recs if r.get("features") is None), None)
        total = int(sum(r.get("frames") or 0 for r in recs))
        value, reason = None, missing
        if missing is None:
            try:
                value = fvd_mod.frechet_distance(np.array([r["features"]["pred"] for r in recs]),
                                                 np.array([r["features"]["gt"] for r in recs]))
            except ValueError as exc:
                reason = str(exc)
        rows.append({"run_id": run_id, "method": m, "task": t, "clip": fvd_mod.ALL_CLIPS, "scene": None,
                     "metric": fvd_mod.NAME, "area": fvd_mod.AREA, "value": value,
                     "higher_is_better": fvd_mod.HIGHER_IS_BETTER, "frames": total, "missing_reason": reason})
    metrics = pd.DataFrame(rows, columns=METRICS_SCHEMA.names)
    metrics = metrics.sort_values(["method", "task", "clip", "metric"], kind="stable").reset_index(drop=True)
    per_frame = pd.DataFrame(frames, columns=PER_FRAME_SCHEMA.names)
    per_frame = per_frame.sort_values(["method", "task", "clip", "metric", "frame"], kind="stable")
    per_frame = per_frame.reset_index(drop=True)
    metrics["value"] = metrics["value"].astype("float64")
    per_frame["value"] = per_frame["value"].astype("float64")
    write_table(metrics, out / METRICS_FILE, METRICS_SCHEMA)
    write_table(per_frame, out / PER_FRAME_FILE, PER_FRAME_SCHEMA)
    return metrics, per_frame


def _write_run_json(out: Path, run_id: str, config: dict, units, done: Mapping[tuple, dict], report: RunReport,
                    ray_resources: dict | None, cfg: RunConfig) -> None:
    from interiorvideo.fileio import atomic_write_json

    from .provenance import run_info

    per_cell: dict[str, list[float]] = {}
    method_s: dict[str, float] = {}
    metric_s: dict[str, float] = {}
    details: dict[str, dict] = {}
    for (m, t, c), rec in sorted(done.items()):
        sec = rec.get("seconds", {})
        per_cell.setdefault(f"{m}/{t}", []).append(float(sec.get("unit", 0.0)) + float(sec.get("prepare", 0.0)))
        method_s[m] = method_s.get(m, 0.0) + float(sec.get("method", 0.0))
        for n, v in (sec.get("metrics") or {}).items():
            metric_s[n] = metric_s.get(n, 0.0) + float(v)
        if rec.get("details"):
            details.setdefault(t, {}).setdefault(c, rec["details"])
    timings = {"wall_seconds": round(report.seconds, 3),
               "units": {"total": report.units_total, "computed": report.computed, "reused": report.reused,
                         "failed": len(report.failed)},
               "unit_seconds_mean": {k: float(np.mean(v)) for k, v in sorted(per_cell.items())},
               "method_seconds": method_s, "metric_seconds": metric_s}
    config = {**config, "address": cfg.address, "workers": cfg.workers, "cache": str(cfg.cache) if cfg.cache else None,
              "failed": dict(report.failed)}
    atomic_write_json(out / RUN_FILE, run_info(run_id, config, timings, details, ray_resources))


__all__ = ["RunConfig", "RunReport", "load_clip", "merge_units", "run_benchmark", "run_group", "score_unit",
           "unit_path"]
