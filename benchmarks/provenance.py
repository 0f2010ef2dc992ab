"""``run.json``: where a results folder came from — versions, git commit, configuration, seeds,
hardware and timings — so a number in a leaderboard can be traced and re-run."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from . import __version__
from .results import SCHEMA_VERSION

PACKAGES = ("x2video-platform", "numpy", "scipy", "pandas", "pyarrow", "torch", "torchvision", "ray",
            "scikit-image", "lpips", "flip-evaluator", "opencv-python-headless", "diffusers", "open3d-cpu",
            "open3d", "imageio", "imageio-ffmpeg")


def versions() -> dict[str, Any]:
    out: dict[str, Any] = {"python": sys.version.split()[0], "x2v-bench": __version__}
    for pkg in PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return out


def git_info(path: str | Path | None = None) -> dict[str, Any]:
    """Commit and dirty flag of the checkout holding this code (None outside a git checkout)."""
    where = Path(path) if path else Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10)
        if commit.returncode != 0:
            return {"commit": None}
        status = subprocess.run(["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10)
        return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None}


def hardware(ray_resources: dict | None = None) -> dict[str, Any]:
    hw: dict[str, Any] = {"platform": platform.platform(), "machine": platform.machine(),
                          "processor": platform.processor() or None, "cpu_count": os.cpu_count()}
    try:
        hw["memory_bytes"] = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        pass
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), None)
        hw["cpu_model"] = model
    except OSError:
        pass
    if torch.cuda.is_available():
        hw["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    if ray_resources:
        hw["ray_cluster"] = {k: v for k, v in ray_resources.items() if not k.startswith("node:")}
    return hw


def now_utc() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def run_info(run_id: str, config: dict, timings: dict, details: dict | None = None,
             ray_resources: dict | None = None) -> dict[str, Any]:

    return {"run_id": run_id, "schema_version": SCHEMA_VERSION, "created": now_utc(), "versions": versions(),
            "git": git_info(), "config": config, "seeds": {"run": config.get("seed"), "rule": (
                "unit seed = stable_seed(run seed, method-independent task, clip); the same for every call of a unit")},
            "hardware": hardware(ray_resources), "timings": timings, "tasks": details or {}}
