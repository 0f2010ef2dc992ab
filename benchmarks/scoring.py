"""Scoring one unit: a method on every call of a posed task instance, each metric fed as the registry declares.

How a metric is fed follows its :class:`~benchmarks.metrics.Metric` card, never its name: ``scope``
"clip" scores the main call's output against the ground truth — or, for a paired metric
(``against``), against the same method's output for that other call; "sweep" scores the outputs of
the task's sweep against its parameter values; "set" stores the clip's features in the unit record
(the set's value is computed when the tables are merged, :mod:`benchmarks.tables`). Context keys a
metric ``needs`` (``mask``, ``flow``) come from the task instance.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from interiorvideo.colour import to_uint8
from interiorvideo.video import mp4_bytes

from .common import BenchmarkError, stable_seed
from .cost import Peak, measure_peak
from .methods import Method, MethodInput
from .methods.inverse import InverseInput, InverseModel
from .metrics import Metric, MetricResult, clip_features, compute, get_metric, to_display
from .metrics.roundtrip import ROUNDTRIP_METRICS
from .tasks import MAIN, TaskInstance, get_task


def task_metrics(task_name: str, selected: Sequence[str] | None, inverse: bool = False
                 ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(per-clip metrics, set-level metrics) of a task, restricted to ``selected`` when given; which is which
    is the registry's ``scope``. ``inverse``: an inverse model is configured, so every task that renders
    given intrinsics (it scores fidelity) also scores the intrinsic round trip."""
    task = get_task(task_name)
    extra = ROUNDTRIP_METRICS if inverse and "psnr" in task.metrics else ()
    names = [n for n in dict.fromkeys([*task.metrics, *extra, *task.set_metrics])
             if selected is None or n in selected]
    return (tuple(n for n in names if get_metric(n).scope != "set"),
            tuple(n for n in names if get_metric(n).scope == "set"))


def error_text(exc: BaseException) -> str:
    """A one-line description of why a unit failed (where, for an unexpected error)."""
    if isinstance(exc, (BenchmarkError, FileNotFoundError, KeyError)):
        return f"{type(exc).__name__}: {exc.args[0] if exc.args else exc}"
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(tb[-1].filename).name}:{tb[-1].lineno})" if tb else ""
    return f"{type(exc).__name__}: {exc}{where}"


def metric_row(name: str, value: float | None, frames: int | None, reason: str | None) -> dict:
    """One row of the metrics table (without its run/method/task/clip/scene keys)."""
    m = get_metric(name)
    return {"metric": name, "area": m.area, "value": value, "higher_is_better": m.higher_is_better,
            "frames": frames, "missing_reason": reason}


def cost_record(seconds: float, calls: int, frames: int, model_calls: int | None, peak: Peak) -> dict:
    """The unit's row of the cost table (without its run/method/task/clip/scene keys)."""
    return {"calls": calls, "frames": frames, "seconds": seconds, "seconds_per_frame": seconds / max(frames, 1),
            "model_calls": model_calls, "peak_rss_bytes": peak.rss_bytes, "rss_scope": peak.rss_scope,
            "cuda_peak_bytes": peak.cuda_bytes}


def round_trip(inverse: InverseModel, inst: TaskInstance, video: np.ndarray, method: str) -> dict:
    """The intrinsics the method was given (scored frames) and those ``inverse`` recovers from its
    displayed video (sRGB in [0, 1], what image decomposers such as RGB↔X's rgb-to-x read)."""
    s = inst.start
    given = {p: a[s:] for p, a in inst.main.intrinsics.items()}
    recovered = inverse.run(InverseInput(np.asarray(video, np.float32), inst.task, inst.clip, method,
                                         {"K": inst.camera["K"], "poses": inst.camera["poses"][s:]}))
    if not isinstance(recovered, dict):
        raise BenchmarkError(f"inverse model {inverse.name!r} returned {type(recovered).__name__}, "
                             "not a dict of passes")
    return {"given": given, "recovered": recovered}


def _check_output(out, method: str, inst: TaskInstance, call: str, shape: tuple[int, ...]) -> None:
    where = f"method {method!r} on task {inst.task} clip {inst.clip} call {call}"
    a = np.asarray(out.frames)
    if a.shape != shape:
        raise BenchmarkError(f"{where}: output shape {a.shape}, expected {shape}")
    if out.space == "linear" and not np.isfinite(a).all():
        raise BenchmarkError(f"{where}: output holds NaN or infinite values")


def _score(m: Metric, inst: TaskInstance, shown: Mapping[str, np.ndarray], gt: np.ndarray,
           mask: np.ndarray | None, common: Mapping[str, Any], roundtrip: dict | None = None) -> MetricResult:
    """One clip- or sweep-scope metric on the displayed outputs of every call."""
    ctx = dict(common)
    if "mask" in m.needs:
        ctx["mask"] = mask
    if "flow" in m.needs:
        if inst.flow is None:
            return MetricResult.missing("needs at least 2 scored frames")
        ctx["flow"] = inst.flow
    if "roundtrip" in m.needs:
        if roundtrip is None:
            return MetricResult.missing("needs an inverse model: x2v-bench run --inverse NAME")
        ctx["roundtrip"] = roundtrip
    if "geometry" in m.needs:
        if inst.geometry is None:
            return MetricResult.missing("needs the clip's depth and cameras")
        ctx["geometry"] = inst.geometry
    if m.scope == "sweep":  # the sweep's calls in parameter order; the response should rise with it
        return compute(m.name, [shown[c] for c, _ in inst.sweep], None, params=[p for _, p in inst.sweep],
                       direction=1, **ctx)
    if m.against is not None and m.against not in shown:
        raise BenchmarkError(f"{m.name} compares with call {m.against!r}, which task {inst.task} does not make")
    return compute(m.name, shown[MAIN], gt if m.against is None else shown[m.against], **ctx)


def score_unit(method: Method, inst: TaskInstance, spec: Mapping[str, Any], want_gt_video: bool = False,
               inverse: InverseModel | None = None) -> dict:
    """Run ``method`` on every call of ``inst`` and score it; a JSON-able record (+ video bytes).
    ``inverse``: the run's inverse model, for the round-trip metrics (its time is not the method's)."""
    t_unit = time.perf_counter()
    metrics, set_metrics = task_metrics(inst.task, spec["metrics"], inverse=inverse is not None)
    rec: dict[str, Any] = {"method": method.name, "task": inst.task, "clip": inst.clip, "scene": inst.scene,
                           "frames": inst.scored_frames, "details": inst.details, "rows": [], "per_frame": [],
                           "seconds": {}, "model_calls": None, "set_features": {}, "set_missing": {}, "videos": {}}
    if inst.skip_reason:
        rec["rows"] = [metric_row(n, None, inst.scored_frames, inst.skip_reason) for n in metrics]
        rec["set_missing"] = {n: inst.skip_reason for n in set_metrics}
        return rec
    exposure, s = float(spec["exposure"]), inst.start
    seed = stable_seed(spec["seed"], inst.task, inst.clip)
    shown, method_seconds, calls, frames_made = {}, 0.0, 0, 0
    with measure_peak() as peak:
        for name, call in inst.calls.items():
            inp = MethodInput(task=inst.task, clip=inst.clip, call=name, intrinsics=call.intrinsics,
                              prompt=call.prompt, seed=seed, fps=inst.fps, camera=inst.camera, frames=inst.frames,
                              local_prompts=call.local_prompts, reference=call.reference,
                              ground_truth=call.ground_truth if method.needs_ground_truth else None)
            t0 = time.perf_counter()
            out = method.run(inp)
            elapsed = time.perf_counter() - t0
            method_seconds += out.seconds if out.seconds is not None else elapsed
            calls = None if calls is None or out.model_calls is None else calls + out.model_calls
            _check_output(out, method.name, inst, name, call.ground_truth.shape)
            shown[name] = to_display(np.asarray(out.frames)[s:], exposure, out.space)
            frames_made += len(call.ground_truth)
    rec["seconds"]["method"] = method_seconds
    rec["model_calls"] = calls
    rec["cost"] = cost_record(method_seconds, len(inst.calls), frames_made, calls, peak)
    gt = to_display(inst.main.ground_truth[s:], exposure, "linear")
    mask = inst.mask[s:] if inst.mask is not None else None
    common = {"space": "display", "lpips_weights": spec["lpips_weights"], "i3d": spec["i3d"]}
    roundtrip = None
    if inverse is not None and any(n in ROUNDTRIP_METRICS for n in metrics):
        t0 = time.perf_counter()
        roundtrip = round_trip(inverse, inst, shown[MAIN], method.name)
        rec["seconds"]["inverse"] = time.perf_counter() - t0
    timings: dict[str, float] = {}
    for n in metrics:
        t0 = time.perf_counter()
        m = get_metric(n)
        try:
            r = _score(m, inst, shown, gt, mask, common, roundtrip)
        except Exception as exc:  # a metric that cannot score this input is recorded, not dropped
            r = MetricResult.missing(f"{n} failed: {type(exc).__name__}: {exc}")
        timings[n] = time.perf_counter() - t0
        rec["rows"].append(metric_row(n, r.value, inst.scored_frames, r.missing_reason))
        if r.per_frame is not None and m.per_frame != "none":
            rec["per_frame"] += [{"metric": n, "frame": s + i, "value": (v if np.isfinite(v) else None)}
                                 for i, v in enumerate(r.per_frame)]
    for n in set_metrics:
        t0 = time.perf_counter()
        try:
            rec["set_features"][n], reason = clip_features(n, shown[MAIN], gt, **common)
        except Exception as exc:  # a broken weights file, clips too short for the network
            rec["set_features"][n], reason = None, f"{n} features failed: {type(exc).__name__}: {exc}"
        if reason is not None:
            rec["set_missing"][n] = reason
        timings[n] = time.perf_counter() - t0
    rec["seconds"]["metrics"] = timings
    if spec["videos"]:
        rec["videos"]["pred"] = mp4_bytes(to_uint8(shown[MAIN]), inst.fps)
        if want_gt_video:
            rec["videos"]["gt"] = mp4_bytes(to_uint8(gt), inst.fps)
    rec["seconds"]["unit"] = time.perf_counter() - t_unit
    return rec


__all__ = ["cost_record", "error_text", "metric_row", "score_unit", "task_metrics"]
