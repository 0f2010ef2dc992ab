"""The dataset's index: ``manifest.parquet`` (one row per clip, with its scene source) and
``dataset.json`` (format, config, counts per split, sha256 of every shard, every scene's source).
Written last, atomically, so their presence means the build finished."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from interiorvideo.dataset import DATASET_JSON, MANIFEST, MANIFEST_SCHEMA, SPLITS, shard_offsets
from interiorvideo.fileio import atomic_write_bytes, atomic_write_json, read_json
from interiorvideo.shards import SHARD_FORMAT_VERSION, member_names

from .plan import Plan


def manifest_table(plan: Plan, stats_dir: Path) -> pa.Table:
    rows = []
    sources = {s.index: s for s in plan.scenes}
    for job in sorted(plan.jobs, key=lambda j: (j.split, j.key)):
        info = read_json(stats_dir / f"{job.key}.json", f"statistics of clip {job.key}")
        meta, st = info["meta"], info["stats"]
        rows.append({
            "key": job.key, "split": job.split, "shard": job.shard, "scene": meta["scene_id"],
            "scene_index": job.scene_index, "scene_seed": job.scene_seed, "room": job.room_id,
            "room_kind": meta.get("room_kind", ""), "clip": job.clip_index, "trajectory_seed": job.trajectory_seed,
            "frames": plan.config.frames, "width": plan.config.width, "height": plan.config.height,
            "fps": plan.config.fps, "prompt": meta["prompt"],
            "local_prompts": json.dumps(meta["local_prompts"], sort_keys=True), **st,
            **sources[job.scene_index].manifest_columns(),
        })
    return pa.Table.from_pylist(rows, schema=MANIFEST_SCHEMA)


def write_index(out_dir: Path, plan: Plan, paths: dict[str, Path]) -> None:
    table = manifest_table(plan, paths["stats"])
    buf = io.BytesIO()
    pq.write_table(table, buf)
    atomic_write_bytes(out_dir / MANIFEST, buf.getvalue())
    shards = []
    for name, jobs in sorted(plan.shards().items()):
        path = paths["shards"] / f"{name}.tar"
        offsets = shard_offsets(path)
        sha = read_json(paths["checksums"] / f"{name}.json", f"checksum record of shard {name}")["sha256"]
        shards.append({"name": path.name, "split": jobs[0].split, "clips": len(jobs), "sha256": sha,
                       "bytes": path.stat().st_size, "keys": [j.key for j in jobs],
                       "offsets": [offsets[j.key] for j in jobs]})
    counts = {split: sum(1 for j in plan.jobs if j.split == split) for split in SPLITS}
    scenes = {split: sorted({j.scene_index for j in plan.jobs if j.split == split}) for split in SPLITS}
    split_of = {j.scene_index: j.split for j in plan.jobs}
    clips_of = {s.index: sum(1 for j in plan.jobs if j.scene_index == s.index) for s in plan.scenes}
    sources = [{k: v for k, v in s.to_dict().items() if k not in ("frozen", "frozen_sha256")}
               | {"split": split_of.get(s.index), "clips": clips_of[s.index]} for s in plan.scenes]
    atomic_write_json(out_dir / DATASET_JSON, {
        "format_version": SHARD_FORMAT_VERSION, "name": "InteriorVideo", "config": plan.config.to_dict(),
        "counts": counts, "scenes": scenes, "members": member_names(), "shards": shards,
        "skipped_rooms": plan.skipped_rooms, "sources": sources,
        "scenes_without_clips": plan.scenes_without_clips(),
    })
