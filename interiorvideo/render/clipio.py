"""Clip folders: one file per member, named as the members of a WebDataset sample
(``<pass>.npy``, ``camera.json``, ``meta.json``), so a shard writer can add its ``KEY.`` prefix
and copy the bytes. ``.npy`` is lossless and keeps float16 HDR for rgb and irradiance; the
shard encoding per pass is chosen by measurement when shards are built.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from ..fileio import atomic_write_bytes, read_json, to_json_bytes
from ..schema import PASSES, validate

CAMERA_MEMBER = "camera.json"
META_MEMBER = "meta.json"


def npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()


def clip_members(clip: dict) -> dict[str, bytes]:
    """Member name → bytes, in the fixed order a shard sample stores them."""
    members = {f"{name}.npy": npy_bytes(clip[name]) for name in PASSES if name in clip}
    cam = clip["camera"]
    members[CAMERA_MEMBER] = to_json_bytes({"K": np.asarray(cam["K"]).tolist(), "poses": np.asarray(cam["poses"]).tolist(),
                                            "convention": "OpenCV camera-to-world, world +Z up, metres"})
    members[META_MEMBER] = to_json_bytes(clip["meta"])
    return members


def write_clip(clip: dict, out_dir: str | Path) -> Path:
    """Validate against the contract, then write every member atomically."""
    validate(clip)
    out_dir = Path(out_dir)
    for name, data in clip_members(clip).items():
        atomic_write_bytes(out_dir / name, data)
    return out_dir


def read_clip(clip_dir: str | Path, passes: tuple[str, ...] | None = None) -> dict:
    clip_dir = Path(clip_dir)
    if not clip_dir.is_dir():
        raise FileNotFoundError(f"clip folder not found: {clip_dir}")
    clip: dict = {}
    for name in passes or tuple(PASSES):
        path = clip_dir / f"{name}.npy"
        if not path.is_file():
            raise FileNotFoundError(f"clip {clip_dir} has no {name} pass ({path.name} missing)")
        try:
            clip[name] = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise ValueError(f"clip {clip_dir}: {path.name} is not a valid .npy file ({exc})") from exc
    cam = read_json(clip_dir / CAMERA_MEMBER, "clip camera")
    clip["camera"] = {"K": np.asarray(cam["K"], np.float64), "poses": np.asarray(cam["poses"], np.float64)}
    clip["meta"] = read_json(clip_dir / META_MEMBER, "clip meta")
    return clip
