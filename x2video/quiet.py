"""Command-line runs show their own progress bars; diffusers' and transformers' per-load bars and
dtype notices would bury them, so the CLIs turn those down (library use is left alone)."""

from __future__ import annotations

import diffusers.utils.logging as dlog
import transformers.utils.logging as tlog


def quiet_libraries() -> None:
    dlog.set_verbosity_error()
    dlog.disable_progress_bar()
    tlog.set_verbosity_error()
    tlog.disable_progress_bar()
