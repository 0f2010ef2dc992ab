"""What a method costs on one unit: wall time, model calls, peak memory — the figures users of
video renderers ask for first, recorded beside the scores (``cost.parquet``, :mod:`benchmarks.results`).

Peak resident memory is the kernel's own high-water mark of the process running the method
(``VmHWM`` in ``/proc/self/status``), reset before the unit's calls by writing ``5`` to
``/proc/self/clear_refs`` (Linux ≥ 4.0), so it is the peak *during* the unit. Where the reset is
not possible the process's lifetime peak (``getrusage``) is recorded instead, and ``rss_scope``
says ``process``. CUDA memory is ``torch.cuda.max_memory_allocated`` after
``reset_peak_memory_stats``, when CUDA is in use; otherwise null.
"""

from __future__ import annotations

import re
import resource
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import torch

_STATUS, _CLEAR = Path("/proc/self/status"), Path("/proc/self/clear_refs")


def _high_water_mark() -> int | None:
    try:
        m = re.search(r"VmHWM:\s+(\d+) kB", _STATUS.read_text())
    except OSError:
        return None
    return int(m.group(1)) * 1024 if m else None


def _reset_high_water_mark() -> bool:
    try:
        _CLEAR.write_text("5")
    except OSError:
        return False
    return True


def _lifetime_peak() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # bytes on macOS, KiB on Linux


@dataclass
class Peak:
    """Filled in when the :func:`measure_peak` block ends."""

    seconds: float = 0.0
    rss_bytes: int | None = None
    rss_scope: str = "unit"  # "unit": peak during the block; "process": the process's lifetime peak
    cuda_bytes: int | None = None


@contextmanager
def measure_peak() -> Iterator[Peak]:
    """Wall time and peak memory (RSS, CUDA) of the block."""
    peak = Peak()
    scoped = _reset_high_water_mark() and _high_water_mark() is not None
    cuda = torch.cuda.is_available() and torch.cuda.is_initialized()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    try:
        yield peak
    finally:
        peak.seconds = time.perf_counter() - t0
        peak.rss_bytes, peak.rss_scope = (_high_water_mark(), "unit") if scoped else (_lifetime_peak(), "process")
        if torch.cuda.is_available() and torch.cuda.is_initialized():  # the block may have started CUDA
            peak.cuda_bytes = int(torch.cuda.max_memory_allocated())


__all__ = ["Peak", "measure_peak"]
