"""InteriorVideo samples in WebDataset shards: one sample per clip, one member per pass.

Members are ``KEY.<pass>.<ext>`` with standard extensions, so a plain
``webdataset.WebDataset(url).decode()`` reads them without a custom decoder (``.npy`` → array,
``.npz`` → ``{"data": array}``, ``.json`` → dict), and ``ray.data.read_webdataset`` too.
Encodings were chosen by measurement (docs/performance.md, ``perf/bench_encoding.py``):
deflated ``.npz`` for the ground-truth passes (piecewise-constant normals, ids and materials shrink
25-600×), raw float16 ``.npy`` for the Monte-Carlo HDR passes (noise does not compress: −25 %
bytes for 14× slower decoding). All of it is lossless.

Shards are written by webdataset's ``TarWriter`` with a fixed mtime, owner and member order into
a temporary file that is renamed when complete: same clips, same bytes; a reader never sees a
half-written shard.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path
from typing import Iterable

import numpy as np
import webdataset as wds

from .fileio import atomic_writer, to_json_bytes
from .schema import PASSES

SHARD_FORMAT_VERSION = 1
ENCODING: dict[str, str] = {
    "rgb": "npy", "irradiance": "npy",
    "albedo": "npz", "normal": "npz", "roughness": "npz", "metallic": "npz", "depth": "npz", "instance": "npz",
}
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")


class ShardError(ValueError):
    """A shard or sample that cannot be read; the message names it."""


def check_key(key: str) -> str:
    """WebDataset splits member names at the first dot, and Ray's datasink rejects dotted keys."""
    if not KEY_PATTERN.match(key):
        raise ValueError(f"sample key {key!r} must be letters, digits, '_' or '-' (no dots, no slashes)")
    return key


def encode_array(array: np.ndarray, ext: str) -> bytes:
    buf = io.BytesIO()
    if ext == "npy":
        np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    elif ext == "npz":
        np.savez_compressed(buf, data=np.ascontiguousarray(array))
    else:
        raise ValueError(f"unknown array encoding {ext!r}")
    return buf.getvalue()


def member_names() -> list[str]:
    """Member suffixes in the fixed order samples store them."""
    return [f"{p}.{ENCODING[p]}" for p in PASSES] + ["camera.json", "meta.json"]


def encode_sample(key: str, clip: dict) -> dict:
    """A WebDataset sample dict (``__key__`` + member suffix → bytes) for a clip."""
    sample: dict = {"__key__": check_key(key)}
    for name in PASSES:
        if name not in clip:
            raise ValueError(f"clip {key}: missing pass {name!r}")
        sample[f"{name}.{ENCODING[name]}"] = encode_array(clip[name], ENCODING[name])
    cam = clip["camera"]
    sample["camera.json"] = to_json_bytes({"K": np.asarray(cam["K"]).tolist(),
                                           "poses": np.asarray(cam["poses"]).tolist()})
    sample["meta.json"] = to_json_bytes({**clip["meta"], "key": key})
    return sample


def decode_sample(sample: dict, passes: Iterable[str] | None = None) -> dict:
    """Clip dict from a sample as ``webdataset.decode()`` (or raw bytes) leaves it."""
    key = sample.get("__key__", "?")
    clip: dict = {}
    for name in passes or PASSES:
        member = f"{name}.{ENCODING[name]}"
        if member not in sample:
            raise ShardError(f"sample {key}: member {member!r} missing")
        value = sample[member]
        try:
            if isinstance(value, (bytes, bytearray)):
                value = np.load(io.BytesIO(value), allow_pickle=False)
            if not isinstance(value, np.ndarray):  # npz: NpzFile or the dict webdataset returns
                value = value["data"]
            clip[name] = np.asarray(value)
        except Exception as exc:  # numpy raises several types for corrupt data
            raise ShardError(f"sample {key}: member {member!r} cannot be decoded ({exc})") from exc
    for member, field in (("camera.json", "camera"), ("meta.json", "meta")):
        if member not in sample:
            raise ShardError(f"sample {key}: member {member!r} missing")
        value = sample[member]
        if isinstance(value, (bytes, bytearray)):

            value = json.loads(value)
        clip[field] = value
    clip["camera"] = {"K": np.asarray(clip["camera"]["K"], np.float64),
                      "poses": np.asarray(clip["camera"]["poses"], np.float64)}
    return clip


def write_shard(path: str | Path, samples: Iterable[dict]) -> str:
    """Write samples to ``path`` deterministically and atomically; returns the sha256."""
    with atomic_writer(path) as f:
        writer = wds.TarWriter(f, user="interiorvideo", group="interiorvideo", mode=0o644, mtime=0.0, encoder=False)
        for sample in samples:
            ordered = {"__key__": sample["__key__"]}
            ordered.update({m: sample[m] for m in member_names()})
            writer.write(ordered)
        writer.close()
    return sha256_file(path)


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_shard(path: str | Path) -> list[dict]:
    """Raw samples (member bytes) of one shard, in order; a truncated or corrupt tar raises a
    ShardError naming the shard."""
    path = Path(path)
    if not path.is_file():
        raise ShardError(f"shard not found: {path}")
    try:
        ds = wds.WebDataset(str(path), shardshuffle=False, empty_check=False)
        return [dict(s) for s in ds]
    except Exception as exc:  # tarfile raises ReadError/EOFError, webdataset wraps some
        raise ShardError(f"shard {path} is corrupt or truncated ({type(exc).__name__}: {exc})") from exc
