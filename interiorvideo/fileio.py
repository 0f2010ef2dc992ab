"""Atomic file writes, the platform's one way to write a file: a reader never sees a
half-written file, and a failed write never clobbers what was there. Also stable digests of
JSON-able values, for cache keys.

Files go through boltons' ``AtomicSaver`` (a part file in the same folder, flushed and fsynced,
then renamed over the target); each writer gets its own part-file name, so two processes
writing the same path never share one. Folders (checkpoints, model exports) are written under a
temporary name beside the target and renamed when complete (:func:`atomic_directory`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator

from boltons.fileutils import AtomicSaver


HOME_VAR = "X2V_HOME"


def platform_home() -> Path:
    """The platform's own folder (weights it installs, crash logs): ``$X2V_HOME``, by default
    ``~/.cache/x2video``."""
    home = os.environ.get(HOME_VAR)
    return Path(home) if home else Path.home() / ".cache" / "x2video"


def _part_name(path: Path) -> str:
    return f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"


@contextmanager
def atomic_writer(path: str | os.PathLike) -> Iterator[IO[bytes]]:
    """A binary file object whose bytes replace ``path`` only when the block ends without error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with AtomicSaver(str(path), part_file=_part_name(path), file_perms=0o644) as f:
        yield f


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    with atomic_writer(path) as f:
        f.write(data)
    return Path(path)


@contextmanager
def atomic_directory(path: str | os.PathLike, replace: bool = False) -> Iterator[Path]:
    """A fresh temporary folder beside ``path``, renamed to ``path`` when the block ends without
    error (removed otherwise). An existing ``path`` is kept unless ``replace``: then it is moved
    aside first and deleted only after the new folder is in place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(_part_name(path))
    tmp.mkdir()
    try:
        yield tmp
        if path.exists():
            if not replace:
                raise FileExistsError(f"{path} already exists")
            old = path.with_name(_part_name(path))
            path.rename(old)
            try:
                tmp.rename(path)
            except BaseException:
                old.rename(path)
                raise
            shutil.rmtree(old)
        else:
            tmp.rename(path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def to_json_bytes(obj: Any) -> bytes:
    """Deterministic JSON: sorted keys, fixed separators, trailing newline."""
    return (json.dumps(obj, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_bytes(path, to_json_bytes(obj))


def canonical_json(obj: Any) -> str:
    """Compact JSON with sorted keys (non-JSON values as ``str``): equal values, equal text."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def digest(obj: Any, n: int = 16) -> str:
    """A short stable hex digest (SHA-256) of a JSON-able object."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:n]


def read_json(path: str | os.PathLike, what: str = "JSON file") -> Any:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {path}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{what} {path} is not valid JSON: {exc}") from exc
