"""``x2v demo``: the main job end to end on one machine, no downloads, no GPU.

    build a small InteriorVideo with Ray → train the tiny X2Video → x2v-bench with every baseline
    on the test split → the leaderboard

Every stage resumes: the build skips finished clips, training continues from its last
checkpoint (and returns at once when it has reached its step count), the benchmark skips
finished units, and the report is rebuilt from the results. Each stage is the library call its
command makes (``build_dataset``, ``train``, ``run_benchmark``, ``build_report``), in this process.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from benchmarks.runner import RunConfig, run_benchmark
from benchmarks.tasks import TASKS
from interiorvideo.dataset import Dataset
from interiorvideo.fileio import atomic_write_json
from leaderboard.report import build_report
from pipelines import BuildConfig, build_dataset
from x2video.pipeline import saved_window
from x2video.train import TrainConfig, train

BASELINES = ("gt", "pbr-composite", "x2video", "x2video-perframe", "x2video-autoregressive", "x2video-independent")


@dataclass(frozen=True)
class DemoConfig:
    """Sizes chosen so the whole demo takes 12–25 minutes on 2 CPU cores, by machine (docs/performance.md)."""

    scenes: int = 16
    rooms_per_scene: int = 2
    clips_per_room: int = 1
    frames: int = 16  # 4 windows of the tiny model, for the `long` task
    size: int = 64
    samples: int = 16
    split: tuple[float, float, float] = (0.75, 0.125, 0.125)  # by scene: 12 train, 2 val, 2 test
    vae_steps: int = 500
    train_steps: int = 1000  # measured: the whole demo at 600 steps took 7.8 min on 2 cores
    batch_size: int = 4
    lr: float = 1e-3
    sample_steps: int = 8
    max_clips: int = 2  # test clips the benchmark scores, one per test scene first
    methods: tuple[str, ...] = BASELINES
    tasks: tuple[str, ...] = ()  # () = every registered task
    seed: int = 0
    workers: int | None = None

    @classmethod
    def quick(cls) -> "DemoConfig":
        """Minutes, for tests and a first look: tiny images, few steps."""
        return cls(scenes=4, rooms_per_scene=1, clips_per_room=2, frames=16, size=32, samples=4, vae_steps=30,
                   train_steps=30, batch_size=2, sample_steps=2, max_clips=1, split=(0.5, 0.25, 0.25))


@dataclass
class DemoResult:
    out: Path
    report: Path
    seconds: dict[str, float] = field(default_factory=dict)


class DemoStageError(RuntimeError):
    """A stage failed; the message names the stage, the log and how to resume."""


def _stage(name: str, log: Callable[[str], None], seconds: dict[str, float], fn: Callable[[], object],
           log_file: Path) -> object:
    """Run one stage; every line goes to the console and to ``log_file``, and a failure appends its
    traceback there and becomes one error that says where to look and how to resume."""
    def both(line: str) -> None:
        log(line)
        with log_file.open("a", encoding="utf-8") as f:
            f.write(line + "\n")

    both(f"── {name}")
    t = time.perf_counter()
    try:
        result = fn()
    except Exception as exc:
        with log_file.open("a", encoding="utf-8") as f:
            f.write(f"stage {name} failed:\n{traceback.format_exc()}\n")
        raise DemoStageError(f"stage {name} failed: {exc} — the traceback is in {log_file}; once the cause is "
                             "fixed, re-run the same command: finished stages and their parts are reused") from exc
    seconds[name] = round(time.perf_counter() - t, 1)
    both(f"   {name} done in {seconds[name]:.0f} s")
    return result


def spread_clips(data: Path, split: str, n: int) -> list[str]:
    """Up to ``n`` clip keys of a split, one per scene before a second from any scene, so the
    leaderboard's intervals (bootstrapped over scenes) have several scenes to draw from."""
    keys = Dataset.open(data).keys(split)
    by_scene: dict[str, list[str]] = {}
    for k in keys:
        by_scene.setdefault(k.split("r")[0], []).append(k)
    order = [k for i in range(max((len(v) for v in by_scene.values()), default=0))
             for v in by_scene.values() if i < len(v) for k in [v[i]]]
    return order[:n]


def _benchmark(cfg: "DemoConfig", data: Path, run: Path, results: Path, log: Callable[[str], None]) -> None:
    """Every baseline on every task of the test split; a failed unit fails the stage."""
    window = saved_window(run)
    bench = RunConfig(data=data, out=results, methods=list(cfg.methods), tasks=list(cfg.tasks or TASKS),
                      split="test", clips=spread_clips(data, "test", cfg.max_clips), seed=cfg.seed,
                      options={"steps": cfg.sample_steps, "dtype": "float32", "checkpoint": str(run)},
                      task_options={"long": {"window": window}} if window else {}, workers=cfg.workers)
    step = max(1, len(bench.methods) * len(bench.tasks) // 4)

    def progress(done: int, total: int, label: str) -> None:
        if done == total or done % step == 0:
            log(f"   units {done}/{total} · {label}")

    report = run_benchmark(bench, progress=progress)
    if report.failed:
        raise RuntimeError(f"{len(report.failed)} benchmark units failed: "
                           + "; ".join(f"{u}: {e}" for u, e in sorted(report.failed.items())[:3]))
    log(f"   {report.units_total} units ({report.computed} computed, {report.reused} reused) → {results}")


def run_demo(out: str | Path, config: DemoConfig | None = None, log: Callable[[str], None] = print) -> DemoResult:
    cfg = config or DemoConfig()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "demo_config.json", asdict(cfg))
    data, run, results, site = out / "data", out / "model", out / "results", out / "site"
    seconds: dict[str, float] = {}
    log_file = out / "demo.log"

    build = BuildConfig(generated=cfg.scenes, rooms_per_scene=cfg.rooms_per_scene, clips_per_room=cfg.clips_per_room,
                        frames=cfg.frames, width=cfg.size, height=cfg.size, samples=cfg.samples, seed=cfg.seed,
                        shard_size=4, split_fractions=cfg.split)
    _stage("1/4 build InteriorVideo (Ray)", log, seconds, lambda: build_dataset(data, build, workers=cfg.workers),
           log_file)
    tcfg = TrainConfig(data=str(data), out=str(run), max_steps=cfg.train_steps, vae_steps=cfg.vae_steps,
                       batch_size=cfg.batch_size, lr=cfg.lr, size=cfg.size, checkpoint_every=max(1, cfg.train_steps // 4),
                       log_every=10, seed=cfg.seed, latents="build")  # encode each clip once, not every step
    _stage("2/4 train the tiny X2Video", log, seconds, lambda: train(tcfg, log=log), log_file)
    _stage("3/4 x2v-bench run", log, seconds, lambda: _benchmark(cfg, data, run, results, log), log_file)
    _stage("4/4 leaderboard", log, seconds, lambda: build_report([results], site), log_file)
    atomic_write_json(out / "demo_timings.json", seconds)
    return DemoResult(out, site / "index.html", seconds)
