"""``x2v demo``: the main job end to end on one machine, no downloads, no GPU.

    build a small InteriorVideo with Ray → train the tiny X2Video → x2v-bench with every baseline
    on the test split → the leaderboard

Every stage resumes: the build skips finished clips, training continues from its last
checkpoint (and returns at once when it has reached its step count), the benchmark skips
finished units, and the report is rebuilt from the results. The benchmark and the report run
as the ``x2v-bench`` command in a child process: ``x2video`` does not import ``benchmarks``
(DESIGN.md's package boundaries), it calls it the way a user would.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

BASELINES = ("gt", "pbr-composite", "x2video", "x2video-perframe", "x2video-autoregressive", "x2video-independent")


@dataclass(frozen=True)
class DemoConfig:
    """Sizes chosen so the whole demo fits in about 15 minutes on 2 CPU cores (docs/performance.md)."""

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
    from interiorvideo.dataset import Dataset

    keys = Dataset.open(data).keys(split)
    by_scene: dict[str, list[str]] = {}
    for k in keys:
        by_scene.setdefault(k.split("r")[0], []).append(k)
    order = [k for i in range(max((len(v) for v in by_scene.values()), default=0))
             for v in by_scene.values() if i < len(v) for k in [v[i]]]
    return order[:n]


def _bench_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "benchmarks.cli", *args]


def _run_child(cmd: list[str]) -> None:
    """Run an x2v-bench step with its own progress output; a failure is one clear error."""
    proc = subprocess.run(cmd)
    if proc.returncode != 0:
        raise RuntimeError(f"`{' '.join(cmd[2:])}` failed with exit code {proc.returncode} (its output is above)")


def run_demo(out: str | Path, config: DemoConfig | None = None, log: Callable[[str], None] = print) -> DemoResult:
    from pipelines import BuildConfig, build_dataset

    from .train import TrainConfig, train

    cfg = config or DemoConfig()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "demo_config.json").write_text(json.dumps(asdict(cfg), indent=2))
    data, run, results, site = out / "data", out / "model", out / "results", out / "site"
    seconds: dict[str, float] = {}
    log_file = out / "demo.log"

    build = BuildConfig(scenes=cfg.scenes, rooms_per_scene=cfg.rooms_per_scene, clips_per_room=cfg.clips_per_room,
                        frames=cfg.frames, width=cfg.size, height=cfg.size, samples=cfg.samples, seed=cfg.seed,
                        shard_size=4, split_fractions=cfg.split)
    _stage("1/4 build InteriorVideo (Ray)", log, seconds, lambda: build_dataset(data, build, workers=cfg.workers),
           log_file)

    tcfg = TrainConfig(data=str(data), out=str(run), max_steps=cfg.train_steps, vae_steps=cfg.vae_steps,
                       batch_size=cfg.batch_size, lr=cfg.lr, size=cfg.size, checkpoint_every=max(1, cfg.train_steps // 4),
                       log_every=10, seed=cfg.seed)
    _stage("2/4 train the tiny X2Video", log, seconds, lambda: train(tcfg, log=log), log_file)

    bench = ["run", "--data", str(data), "--split", "test", "--out", str(results), "--methods", ",".join(cfg.methods),
             "--checkpoint", str(run), "--steps", str(cfg.sample_steps), "--seed", str(cfg.seed)]
    for key in spread_clips(data, "test", cfg.max_clips):
        bench += ["--clip", key]
    if cfg.tasks:
        bench += ["--tasks", ",".join(cfg.tasks)]
    if cfg.workers:
        bench += ["--workers", str(cfg.workers)]
    _stage("3/4 x2v-bench run", log, seconds, lambda: _run_child(_bench_command(*bench)), log_file)
    _stage("4/4 leaderboard", log, seconds, lambda: _run_child(_bench_command("report", str(results), "--out", str(site))),
           log_file)
    (out / "demo_timings.json").write_text(json.dumps(seconds, indent=2))
    return DemoResult(out, site / "index.html", seconds)
