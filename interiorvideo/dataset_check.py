"""Checking a built dataset folder end to end: shard checksums against ``dataset.json``, every
sample against the clip contract, recorded offsets, the manifest against the shards and the
index's scene sources, and the split by scene. Each problem names its shard and clip; nothing is repaired or re-blessed."""

from __future__ import annotations

from typing import Callable

import pyarrow.parquet as pq

from .dataset import (
    DATASET_JSON,
    MANIFEST,
    MANIFEST_SCHEMA,
    SHARDS_DIR,
    Dataset,
    shard_offsets,
)
from .schema import check_clip
from .shards import ShardError, decode_sample, member_names, read_shard, sha256_file


def validate_dataset(ds: Dataset, progress: Callable[[int, int], None] | None = None) -> list[str]:
    """Every problem found, as one line each (empty: the dataset is sound)."""
    cfg = ds.config
    problems: list[str] = []
    listed = {s.name for s in ds.shards}
    for extra in sorted(p.name for p in (ds.root / SHARDS_DIR).glob("*.tar") if p.name not in listed):
        problems.append(f"shard {extra}: on disk but not in {DATASET_JSON}")
    seen_keys: dict[str, str] = {}
    members = member_names()
    scene_split: dict[int, str] = {}
    for i, entry in enumerate(ds.shards):
        name, path = entry.name, ds.shard_path(entry)
        if progress:
            progress(i, len(ds.shards))
        if not path.is_file():
            problems.append(f"shard {name}: missing")
            continue
        if sha256_file(path) != entry.sha256:
            problems.append(f"shard {name}: sha256 differs from {DATASET_JSON} (corrupt or modified)")
        try:
            samples = read_shard(path)
            offsets = shard_offsets(path) if entry.offsets is not None else None
        except (ShardError, OSError, ValueError) as exc:
            problems.append(f"shard {name}: {exc}")
            continue
        keys = [s["__key__"] for s in samples]
        if keys != list(entry.keys):
            problems.append(f"shard {name}: holds clips {keys}, index lists {list(entry.keys)}")
        if offsets is not None and [offsets.get(k) for k in entry.keys] != list(entry.offsets):
            problems.append(f"shard {name}: clip offsets differ from {DATASET_JSON}")
        for sample in samples:
            key = sample["__key__"]
            if key in seen_keys:
                problems.append(f"shard {name} clip {key}: duplicated (also in {seen_keys[key]})")
            seen_keys[key] = name
            extra = sorted(m for m in sample if not m.startswith("__") and m not in members)
            if extra:
                problems.append(f"shard {name} clip {key}: unknown members {extra} (the contract's are {members})")
            try:
                clip = decode_sample(sample)
            except ShardError as exc:
                problems.append(f"shard {name} clip {key}: {exc}")
                continue
            problems += [f"shard {name} clip {key}: {p}" for p in check_clip(clip)]
            shape = clip["rgb"].shape
            if shape[:3] != (cfg["frames"], cfg["height"], cfg["width"]):
                problems.append(f"shard {name} clip {key}: frames x height x width {shape[:3]}, config asks "
                                f"{(cfg['frames'], cfg['height'], cfg['width'])}")
            meta = clip["meta"]
            if meta.get("key") != key or meta.get("split") != entry.split:
                problems.append(f"shard {name} clip {key}: meta names key {meta.get('key')!r} / split "
                                f"{meta.get('split')!r}")
            scene = meta.get("scene_index")
            if scene_split.setdefault(scene, entry.split) != entry.split:
                problems.append(f"shard {name} clip {key}: scene {scene} appears in splits "
                                f"{scene_split[scene]} and {entry.split}")
    return problems + _check_manifest(ds, seen_keys)


def _check_manifest(ds: Dataset, shard_of: dict[str, str]) -> list[str]:
    path = ds.root / MANIFEST
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
    problems += [f"{MANIFEST}: clip {key} (shard {shard_of[key]}) has no row" for key in sorted(set(shard_of) - set(keys))]
    sources = {s.get("index"): s for s in ds.index.get("sources", []) if isinstance(s, dict)}
    for r in rows if sources else ():  # an index written before sources were recorded has none
        s = sources.get(r["scene_index"], {})
        listed = (s.get("source"), s.get("kind"), s.get("sha256"))
        if listed != (r["source"], r["source_kind"], r["source_sha256"]):
            problems.append(f"{MANIFEST}: clip {r['key']} names scene source {(r['source'], r['source_kind'])} with "
                            f"sha256 {r['source_sha256']}, {DATASET_JSON} lists {listed} for scene {r['scene_index']}")
    for split, n in ds.index["counts"].items():
        if sum(1 for r in rows if r["split"] == split) != n:
            problems.append(f"{MANIFEST}: split {split} has a different clip count than {DATASET_JSON} ({n})")
    return problems
