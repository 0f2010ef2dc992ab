"""Small helpers the benchmark modules share: stable seeds and digests, the dataset's clips by split."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from interiorvideo.dataset import Dataset, DatasetError
from interiorvideo.fileio import canonical_json


class BenchmarkError(ValueError):
    """Bad input to x2v-bench (an unknown name, a missing split, a missing file); the message names it."""


def stable_seed(*parts: Any) -> int:
    """A 31-bit seed from any JSON-able parts, equal on every machine and Python (no ``hash()``)."""
    return int.from_bytes(hashlib.sha256(canonical_json(list(parts)).encode()).digest()[:4], "little") & 0x7FFFFFFF


def split_clips(data: str | Path | Dataset, split: str) -> list[str]:
    """The clip keys of one split of a built dataset, sorted; a clear error for a missing split."""
    ds = data if isinstance(data, Dataset) else Dataset.open(data)
    try:
        return ds.keys(split)
    except DatasetError:
        counts = ds.index["counts"]
        have = ", ".join(f"{s} ({n} clips)" for s, n in sorted(counts.items()) if n) or "none"
        raise BenchmarkError(f"dataset {ds.root} has no clips in split {split!r}; splits with clips: {have}") from None


def dataset_fingerprint(data: str | Path | Dataset) -> str:
    """Digest of the dataset's index (shard names and checksums): results of another build never mix."""
    return (data if isinstance(data, Dataset) else Dataset.open(data)).fingerprint


def dataset_name(data: str | Path | Dataset) -> str:
    return (data if isinstance(data, Dataset) else Dataset.open(data)).name
