"""Checking a built dataset: checksums, every sample against the clip contract, the manifest
against the shards, and the split by scene. Each problem names its shard and clip."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pyarrow.parquet as pq

from interiorvideo.fileio import read_json
from interiorvideo.schema import check_clip
from interiorvideo.shards import SHARD_FORMAT_VERSION, ShardError, decode_sample, read_shard, sha256_file

from .index import DATASET_JSON, MANIFEST, MANIFEST_SCHEMA
from .plan import SPLITS


def load_index(out_dir: str | Path) -> dict:
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise FileNotFoundError(f"dataset folder not found: {out_dir}")
    path = out_dir / DATASET_JSON
    if not path.is_file():
        raise FileNotFoundError(f"{out_dir} has no {DATASET_JSON}: the build did not finish (re-run it to resume)")
    index = read_json(path, "dataset index")
    if index.get("format_version") != SHARD_FORMAT_VERSION:
        raise ValueError(f"{path}: format version {index.get('format_version')!r}, this code reads "
                         f"{SHARD_FORMAT_VERSION}")
    return index


def validate_dataset(out_dir: str | Path, progress: Callable[[int, int], None] | None = None) -> list[str]:
    out_dir = Path(out_dir)
    index = load_index(out_dir)
    cfg = index["config"]
    problems: list[str] = []
    listed = {s["name"] for s in index["shards"]}
    for extra in sorted(p.name for p in (out_dir / "shards").glob("*.tar") if p.name not in listed):
        problems.append(f"shard {extra}: on disk but not in {DATASET_JSON}")
    seen_keys: dict[str, str] = {}
    scene_split: dict[int, str] = {}
    for i, entry in enumerate(index["shards"]):
        name = entry["name"]
        path = out_dir / "shards" / name
        if progress:
            progress(i, len(index["shards"]))
        if not path.is_file():
            problems.append(f"shard {name}: missing")
            continue
        if sha256_file(path) != entry["sha256"]:
            problems.append(f"shard {name}: sha256 differs from {DATASET_JSON} (corrupt or modified)")
        try:
            samples = read_shard(path)
        except ShardError as exc:
            problems.append(f"shard {name}: {exc}")
            continue
        keys = [s["__key__"] for s in samples]
        if keys != entry["keys"]:
            problems.append(f"shard {name}: holds clips {keys}, index lists {entry['keys']}")
        for sample in samples:
            key = sample["__key__"]
            if key in seen_keys:
                problems.append(f"shard {name} clip {key}: duplicated (also in {seen_keys[key]})")
            seen_keys[key] = name
            try:
                clip = decode_sample(sample)
            except ShardError as exc:
                problems.append(f"shard {name} clip {key}: {exc}")
                continue
            for p in check_clip(clip):
                problems.append(f"shard {name} clip {key}: {p}")
            shape = clip["rgb"].shape
            if shape[:3] != (cfg["frames"], cfg["height"], cfg["width"]):
                problems.append(f"shard {name} clip {key}: frames x height x width {shape[:3]}, config asks "
                                f"{(cfg['frames'], cfg['height'], cfg['width'])}")
            meta = clip["meta"]
            if meta.get("key") != key or meta.get("split") != entry["split"]:
                problems.append(f"shard {name} clip {key}: meta names key {meta.get('key')!r} / split "
                                f"{meta.get('split')!r}")
            scene = meta.get("scene_index")
            if scene_split.setdefault(scene, entry["split"]) != entry["split"]:
                problems.append(f"shard {name} clip {key}: scene {scene} appears in splits "
                                f"{scene_split[scene]} and {entry['split']}")
    problems += _check_manifest(out_dir, index, seen_keys)
    return problems


def _check_manifest(out_dir: Path, index: dict, shard_of: dict[str, str]) -> list[str]:
    path = out_dir / MANIFEST
    if not path.is_file():
        return [f"{MANIFEST}: missing"]
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid and OSError for corrupt files
        return [f"{MANIFEST}: unreadable ({exc})"]
    if not table.schema.equals(MANIFEST_SCHEMA, check_metadata=False):
        return [f"{MANIFEST}: schema differs from the expected one"]
    problems = []
    rows = table.to_pylist()
    keys = [r["key"] for r in rows]
    if len(set(keys)) != len(keys):
        problems.append(f"{MANIFEST}: duplicated keys")
    for r in rows:
        shard = shard_of.get(r["key"])
        if shard is None:
            problems.append(f"{MANIFEST}: clip {r['key']} is in no shard")
        elif shard != f"{r['shard']}.tar":
            problems.append(f"{MANIFEST}: clip {r['key']} listed in shard {r['shard']}, found in {shard}")
    for key in sorted(set(shard_of) - set(keys)):
        problems.append(f"{MANIFEST}: clip {key} (shard {shard_of[key]}) has no row")
    counts = index["counts"]
    for split, n in counts.items():
        if sum(1 for r in rows if r["split"] == split) != n:
            problems.append(f"{MANIFEST}: split {split} has a different clip count than {DATASET_JSON} ({n})")
    return problems


def dataset_info(out_dir: str | Path) -> list[dict]:
    """Per split: clips, scenes, shards, bytes, frames."""
    index = load_index(out_dir)
    out = []
    for split in SPLITS:
        n = index["counts"].get(split, 0)
        shards = [s for s in index["shards"] if s["split"] == split]
        out.append({"split": split, "clips": n, "scenes": len(index["scenes"][split]), "shards": len(shards),
                    "bytes": sum(s["bytes"] for s in shards), "frames": n * index["config"]["frames"]})
    return out


def find_clip(out_dir: str | Path, key: str) -> dict:
    """Decode one clip of the dataset by key (via dataset.json's shard lists)."""
    out_dir = Path(out_dir)
    index = load_index(out_dir)
    for entry in index["shards"]:
        if key in entry["keys"]:
            for sample in read_shard(out_dir / "shards" / entry["name"]):
                if sample["__key__"] == key:
                    return decode_sample(sample)
    raise KeyError(f"dataset {out_dir} has no clip {key!r}")
