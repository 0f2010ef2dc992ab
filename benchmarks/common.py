"""Small helpers the benchmark modules share: the benchmark's error type and stable seeds."""

from __future__ import annotations

import hashlib
from typing import Any

from interiorvideo.fileio import canonical_json


class BenchmarkError(ValueError):
    """Bad input to x2v-bench (an unknown name, a missing split, a missing file); the message names it."""


def stable_seed(*parts: Any) -> int:
    """A 31-bit seed from any JSON-able parts, equal on every machine and Python (no ``hash()``)."""
    return int.from_bytes(hashlib.sha256(canonical_json(list(parts)).encode()).digest()[:4], "little") & 0x7FFFFFFF
