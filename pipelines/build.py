"""The InteriorVideo build: plan → render (Ray tasks) → shards → manifest + dataset.json.

Resumable at any point: each finished clip is kept as a one-sample tar under ``.work/`` (written
to a temporary name, then renamed); a shard is assembled — deterministically, again through a
temporary name — once all its clips exist, and its clip files are then removed. Re-running the
same command after a kill skips finished shards and clips, so the result has no lost or
duplicated clip and the same bytes as an uninterrupted build. With ``address`` the same code
submits to an existing Ray cluster (the output folder must then be on a filesystem the driver
writes; workers only return bytes, and a user scene reaches them through Ray's object store).
User scene sources are checked before anything is written, hashed and frozen under
``.work/scenes/`` when the plan is made, and checked again on every re-run (:mod:`.sources`).
"""

from __future__ import annotations

import fcntl
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import ray

from interiorvideo.dataset import DATASET_JSON, MANIFEST
from interiorvideo.fileio import atomic_write_json, read_json
from interiorvideo.shards import SHARD_FORMAT_VERSION, read_shard, sha256_file, write_shard

from .index import write_index
from .plan import WORK_DIR, BuildConfig, ClipJob, Plan, frozen_dir, make_plan
from .ray_pool import map_unordered, ray_session
from .sources import SceneSource, check_sources, check_unchanged, read_frozen
from .worker import render_job

PLAN_NAME = "plan.json"


@dataclass
class BuildReport:
    out_dir: Path
    clips_total: int
    clips_rendered: int = 0
    clips_reused: int = 0
    shards_written: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    skipped_rooms: list[str] = field(default_factory=list)
    scenes_without_clips: list[str] = field(default_factory=list)  # scenes (sources) that gave no clip
    source_notes: list[str] = field(default_factory=list)  # what the importer assumed, per user source
    damaged: list[str] = field(default_factory=list)  # finished files whose bytes changed: named, rebuilt

    @property
    def ok(self) -> bool:
        return not self.failed


def _paths(out_dir: Path) -> dict[str, Path]:
    return {"shards": out_dir / "shards", "samples": out_dir / WORK_DIR / "samples",
            "stats": out_dir / WORK_DIR / "stats", "checksums": out_dir / WORK_DIR / "checksums",
            "scenes": frozen_dir(out_dir)}


def load_or_write_plan(out_dir: Path, config: BuildConfig) -> Plan:
    """The plan of this folder: written on the first run; a later run must ask for the same, and
    every user scene source must still have the files it had then (:func:`.sources.check_unchanged`)."""
    path = out_dir / PLAN_NAME
    if path.exists():
        stored = read_json(path, "build plan")
        if stored.get("config") != config.to_dict():
            diff = {k: (stored.get("config", {}).get(k), v) for k, v in config.to_dict().items()
                    if stored.get("config", {}).get(k) != v}
            raise ValueError(f"{out_dir} holds a build with another configuration (stored vs asked: {diff}); "
                             f"use another --out or the same options to resume")
        jobs = [ClipJob(**j) for j in stored["jobs"]]
        scenes = [SceneSource.from_dict(d) for d in stored["scenes"]]
        check_unchanged(scenes)
        return Plan(config, jobs, stored.get("skipped_rooms", []), scenes)
    plan = make_plan(config, out_dir)
    if not plan.jobs:
        raise ValueError("the plan has no clips: no room of any scene admits a valid trajectory ("
                         + "; ".join(plan.skipped_rooms or plan.scenes_without_clips()) + ")")
    atomic_write_json(path, {"format_version": SHARD_FORMAT_VERSION, "config": config.to_dict(),
                             "jobs": [j.to_dict() for j in plan.jobs], "skipped_rooms": plan.skipped_rooms,
                             "scenes": [s.to_dict() for s in plan.scenes]})
    return plan


@contextmanager
def _exclusive(out_dir: Path):
    """One build per folder at a time (an OS lock: released even if the build is killed)."""
    with open(out_dir / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValueError(f"another build is running in {out_dir}") from None
        yield


def _remove_stale_temporaries(paths: dict[str, Path]) -> int:
    """A killed build can leave the temporary file of a shard or clip it was writing; the
    finished files are never affected (they appear only by rename)."""
    stale = [p for folder in paths.values() for p in folder.glob(".*.tmp")]
    for p in stale:
        if p.is_dir():  # a frozen scene folder being written
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
    return len(stale)


def _assemble_ready_shards(plan: Plan, paths: dict[str, Path]) -> int:
    """Write every shard whose clips are all rendered; returns how many were written. Its sha256
    is recorded (``.work/checksums/``) before its clip files go, so a later run can tell a shard
    whose bytes changed from one it wrote."""
    written = 0
    for shard, jobs in plan.shards().items():
        target = paths["shards"] / f"{shard}.tar"
        if target.exists():
            continue
        files = [paths["samples"] / f"{j.key}.tar" for j in jobs]
        if not all(f.exists() for f in files):
            continue
        samples = [read_shard(f)[0] for f in files]
        sha = write_shard(target, samples)
        atomic_write_json(paths["checksums"] / f"{shard}.json", {"sha256": sha, "bytes": target.stat().st_size})
        for f in files:
            f.unlink()
        written += 1
    return written


def recorded_shard_sha256(paths: dict[str, Path], shard: str) -> str | None:
    """The sha256 this build recorded when it wrote ``shard`` (None: no record)."""
    record = paths["checksums"] / f"{shard}.json"
    return str(read_json(record, f"checksum record of shard {shard}")["sha256"]) if record.exists() else None


def _verify_finished(plan: Plan, paths: dict[str, Path], out_dir: Path) -> list[str]:
    """Check every finished shard and kept clip file against the sha256 recorded when it was
    written — never recompute and re-bless. A file whose bytes changed is removed, so its clips
    are rendered again (deterministically: the same bytes as before); returns one line per file.
    A shard without a record (written by a build before records were kept) is checked against
    ``dataset.json`` when there is one."""
    listed = {}
    index_path = out_dir / DATASET_JSON
    if index_path.exists():
        try:
            listed = {e["name"]: e["sha256"] for e in read_json(index_path, "dataset index").get("shards", [])}
        except (ValueError, KeyError, TypeError, AttributeError):
            listed = {}  # an unreadable index is rewritten at the end; the records still decide
    damaged = []
    for shard, jobs in plan.shards().items():
        target = paths["shards"] / f"{shard}.tar"
        if not target.exists():
            continue
        recorded = recorded_shard_sha256(paths, shard)
        want = recorded or listed.get(target.name)
        if want is None:
            if all((paths["samples"] / f"{j.key}.tar").exists() for j in jobs):
                target.unlink()  # killed between the shard's rename and its record: assemble it again
                continue
            damaged.append(f"shard {target.name}: no recorded sha256 to check it against; its {len(jobs)} clips "
                           "are rendered again")
        elif (have := sha256_file(target)) != want:
            damaged.append(f"shard {target.name}: bytes changed since it was written (sha256 {want[:12]}… recorded, "
                           f"{have[:12]}… on disk); its {len(jobs)} clips are rendered again")
        else:
            if recorded is None:  # checked against dataset.json: keep that as its record
                atomic_write_json(paths["checksums"] / f"{shard}.json", {"sha256": want, "bytes": target.stat().st_size})
            continue
        target.unlink()
        (paths["checksums"] / f"{shard}.json").unlink(missing_ok=True)
    for job in plan.jobs:
        sample, stats = paths["samples"] / f"{job.key}.tar", paths["stats"] / f"{job.key}.json"
        if not (sample.exists() and stats.exists()):
            continue
        want = read_json(stats, f"statistics of clip {job.key}").get("sample_sha256")
        if want is not None and sha256_file(sample) != want:
            damaged.append(f"clip file {sample.name}: bytes changed since it was rendered; rendered again")
            sample.unlink()
    return damaged


BUILD_FILES = {".lock", "shards", WORK_DIR, PLAN_NAME, DATASET_JSON, MANIFEST}


def check_out_dir(out_dir: Path) -> None:
    """A build writes into a new folder, an empty one, or its own earlier build (to resume);
    refused before anything is written: a file, or a folder holding anything else."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"--out {out_dir} is a file, not a folder: give a new or empty folder for the dataset")
    if out_dir.is_dir() and not (out_dir / PLAN_NAME).exists():
        other = sorted(p.name for p in out_dir.iterdir() if p.name not in BUILD_FILES)
        if other:
            raise ValueError(f"--out {out_dir} is a folder that holds other files ({', '.join(other[:3])}"
                             f"{', …' if len(other) > 3 else ''}) and no build: give a new or empty folder")


GPU_SHARE = 0.125  # --backend mitsuba with cuda_ad_rgb: up to 8 clip tasks per GPU


def _task_memory(config: BuildConfig) -> int:
    """A generous per-task memory request so a cluster packs tasks without swapping."""
    per_frame = config.width * config.height * 400
    return int(800e6 + config.frames * per_frame + 32 * 8192 * 300)


def build_dataset(out_dir: str | Path, config: BuildConfig, address: str | None = None, workers: int | None = None,
                  max_retries: int = 2, progress: Callable[[int, int, float], None] | None = None,
                  keep_ray: bool = False) -> BuildReport:
    """Build (or resume) the dataset in ``out_dir``; ``progress(done, total, clips_per_s)``.

    A missing or unusable scene source raises a :class:`~.sources.SourceError` naming it before
    anything is written. With ``backend="mitsuba"`` an unset variant becomes this machine's
    default (recorded in the plan), and on a local build a variant that cannot start raises
    before anything is written."""
    check_sources(config.scenes)
    check_out_dir(Path(out_dir))
    if config.backend == "mitsuba":
        from interiorvideo.render.mitsuba_backend import default_variant, start_variant

        if config.mitsuba_variant is None:
            config = replace(config, mitsuba_variant=default_variant())
        if address is None:
            start_variant(config.mitsuba_variant)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with _exclusive(out_dir):
        return _build(out_dir, config, address, workers, max_retries, progress, keep_ray)


def _build(out_dir: Path, config: BuildConfig, address: str | None, workers: int | None, max_retries: int,
           progress: Callable[[int, int, float], None] | None, keep_ray: bool) -> BuildReport:
    t0 = time.perf_counter()
    paths = _paths(out_dir)
    for p in paths.values():
        p.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries({**paths, "root": out_dir})
    plan = load_or_write_plan(out_dir, config)
    report = BuildReport(out_dir, len(plan.jobs), skipped_rooms=plan.skipped_rooms,
                         scenes_without_clips=plan.scenes_without_clips(),
                         source_notes=[f"{s.label}: {n}" for s in plan.scenes for n in s.notes])
    report.damaged = _verify_finished(plan, paths, out_dir)
    report.shards_written += _assemble_ready_shards(plan, paths)

    done_shards = {p.stem for p in paths["shards"].glob("*.tar")}
    todo = [j for j in plan.jobs if not (paths["stats"] / f"{j.key}.json").exists()
            or (j.shard not in done_shards and not (paths["samples"] / f"{j.key}.tar").exists())]
    report.clips_reused = len(plan.jobs) - len(todo)
    if progress:
        progress(report.clips_reused, report.clips_total, 0.0)
    if todo:
        with ray_session(address, workers, keep=keep_ray):
            # Mitsuba's CUDA variant: tasks share the GPUs (a fraction each, so Ray lets them see one).
            gpu = {"num_gpus": GPU_SHARE} if (config.mitsuba_variant or "").startswith("cuda") else {}
            task = ray.remote(num_cpus=1, memory=_task_memory(config), max_retries=max_retries,
                              retry_exceptions=True, **gpu)(render_job)
            # A user scene is loaded once from its frozen copy and shared through the object store.
            by_index = {s.index: s for s in plan.scenes}
            user = sorted({j.scene_index for j in todo if j.source_kind != "generated"})
            refs = {i: ray.put(read_frozen(by_index[i], out_dir)) for i in user}
            meta = {i: {"path": by_index[i].source, "kind": by_index[i].kind, "sha256": by_index[i].sha256}
                    for i in user}
            t_start = time.perf_counter()
            inputs = ((j, config, 1, refs.get(j.scene_index), meta.get(j.scene_index)) for j in todo)
            for (job, *_), result, exc in map_unordered(task, inputs):
                if exc is not None:  # the task failed after its retries
                    report.failed[job.key] = f"{type(exc).__name__}: {str(exc).splitlines()[-1] if str(exc) else ''}"
                else:
                    # The clip's tar first, then its statistics with the tar's sha256: the statistics
                    # appearing mark it done, and a later run checks the tar against them.
                    sha = write_shard(paths["samples"] / f"{job.key}.tar", [result["sample"]])
                    atomic_write_json(paths["stats"] / f"{job.key}.json", {"stats": result["stats"],
                                                                           "meta": result["meta"], "sample_sha256": sha})
                    report.clips_rendered += 1
                    report.shards_written += _assemble_ready_shards(plan, paths)
                if progress:
                    elapsed = time.perf_counter() - t_start
                    progress(report.clips_reused + report.clips_rendered + len(report.failed), report.clips_total,
                             report.clips_rendered / max(elapsed, 1e-9))
    if report.ok:
        write_index(out_dir, plan, paths)
    report.seconds = time.perf_counter() - t0
    return report
