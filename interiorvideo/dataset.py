"""The InteriorVideo dataset folder, opened once: its index, splits, shards, clip keys,
fingerprint, and single clips found by their byte offset in a shard.

A built dataset folder holds::

    dataset.json       format version, build config, counts and scenes per split, per shard
                       {name, split, clips, sha256, bytes, keys, offsets}, and per scene its source
                       {index, kind, source, name, seed, sha256, files, split, clips}; written last,
                       so its presence means the build finished
    manifest.parquet   one row per clip (:data:`MANIFEST_SCHEMA`)
    shards/*.tar       WebDataset shards (:mod:`interiorvideo.shards`)

This module is the one reader of that folder; ``pipelines`` writes it and every other package
(the training reader, x2v-bench, the CLIs) opens a :class:`Dataset` and passes it down.
"""

from __future__ import annotations

import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from .fileio import digest, read_json
from .schema import check_values
from .shards import SHARD_FORMAT_VERSION, ShardError, decode_sample, read_shard, sha256_file

DATASET_JSON = "dataset.json"
MANIFEST = "manifest.parquet"
SHARDS_DIR = "shards"
SPLITS = ("train", "val", "test")
MANIFEST_SCHEMA = pa.schema([
    ("key", pa.string()), ("split", pa.string()), ("shard", pa.string()), ("scene", pa.string()),
    ("scene_index", pa.int32()), ("scene_seed", pa.int64()), ("room", pa.int32()), ("room_kind", pa.string()),
    ("clip", pa.int32()), ("trajectory_seed", pa.int64()), ("frames", pa.int32()), ("width", pa.int32()),
    ("height", pa.int32()), ("fps", pa.float32()), ("prompt", pa.string()), ("local_prompts", pa.string()),
    ("mean_luminance", pa.float32()), ("mean_irradiance", pa.float32()), ("mean_depth", pa.float32()),
    ("sky_fraction", pa.float32()), ("instances_visible", pa.int32()), ("path_length_m", pa.float32()),
    # The clip's scene source: the path as given to the build (``generate_scene(<seed>)`` for a generated
    # apartment), its kind (generated | folder | file), and the sha256 over the files it was read from
    # (null for a generated scene; ``scene_seed`` is null for a user scene).
    ("source", pa.string()), ("source_kind", pa.string()), ("source_sha256", pa.string()),
])


class DatasetError(ValueError):
    """A dataset folder that cannot be used as asked (no index, another format, no such split or
    clip); the message names the folder and what is missing."""


@dataclass(frozen=True)
class ShardEntry:
    """One shard as ``dataset.json`` lists it."""

    name: str
    split: str
    clips: int
    sha256: str
    bytes: int
    keys: tuple[str, ...]
    offsets: tuple[int, ...] | None  # byte offset of each clip's first tar header (None: not recorded)


def shard_offsets(path: str | Path) -> dict[str, int]:
    """Byte offset of each sample's first tar member in a shard (headers only are read)."""
    offsets: dict[str, int] = {}
    with tarfile.open(path, "r:") as tar:
        for member in tar:
            offsets.setdefault(member.name.split(".", 1)[0], member.offset)
    return offsets


class Dataset:
    """A built dataset folder. ``Dataset.open(root)`` reads and checks ``dataset.json`` once."""

    def __init__(self, root: Path, index: dict):
        self.root = root
        self.index = index
        self.shards = tuple(_entry(root, s) for s in index["shards"])
        self._where = {k: (s, i) for s in self.shards for i, k in enumerate(s.keys)}
        self._verified: set[str] = set()

    @classmethod
    def open(cls, root: str | Path) -> "Dataset":
        root = Path(root)
        if not root.is_dir():
            raise DatasetError(f"dataset folder not found: {root}")
        path = root / DATASET_JSON
        if not path.is_file():
            raise DatasetError(f"{root} has no {DATASET_JSON}: not an InteriorVideo dataset folder, or its build "
                               "did not finish (dataset.json is written last; re-run the build to resume)")
        try:
            index = read_json(path, "dataset index")
        except ValueError as exc:
            raise DatasetError(str(exc)) from None
        if not isinstance(index, dict):
            raise DatasetError(f"{path}: expected a JSON object, got {type(index).__name__}")
        if index.get("format_version") != SHARD_FORMAT_VERSION:
            raise DatasetError(f"{path}: format version {index.get('format_version')!r}, this code reads "
                               f"{SHARD_FORMAT_VERSION}")
        shards = index.get("shards")
        if not isinstance(shards, list) or not all(isinstance(s, dict) for s in shards):
            raise DatasetError(f"{path}: has no valid 'shards' list")
        for field in ("config", "counts"):
            if not isinstance(index.get(field), dict):
                raise DatasetError(f"{path}: has no {field!r} object")
        return cls(root, index)

    # -- what it holds ------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return str(self.index.get("name", self.root.name))

    @property
    def config(self) -> dict:
        return self.index["config"]

    def shards_of(self, split: str) -> list[ShardEntry]:
        """The shards of one split, in index order; a clear error when it has none."""
        entries = [s for s in self.shards if s.split == split]
        if not entries:
            have = ", ".join(sorted({s.split for s in self.shards})) or "none"
            raise DatasetError(f"dataset {self.root} has no shards for split {split!r} (splits with shards: {have})")
        return entries

    def shard_path(self, entry: ShardEntry) -> Path:
        return self.root / SHARDS_DIR / entry.name

    def shard_urls(self, split: str) -> list[str]:
        return [str(self.shard_path(s)) for s in self.shards_of(split)]

    def keys(self, split: str) -> list[str]:
        """The clip keys of one split, sorted."""
        return sorted(k for s in self.shards_of(split) for k in s.keys)

    def num_clips(self, split: str) -> int:
        return sum(s.clips for s in self.shards_of(split))

    @property
    def fingerprint(self) -> str:
        """Digest of shard names, checksums and build config: results of another build never mix."""
        return digest({"shards": [(s.name, s.sha256) for s in self.shards], "config": self.config})

    def info(self) -> list[dict]:
        """Per split: clips, scenes, shards, bytes, frames."""
        out = []
        scenes = self.index.get("scenes", {})
        for split in SPLITS:
            shards = [s for s in self.shards if s.split == split]
            n = int(self.index["counts"].get(split, 0))
            out.append({"split": split, "clips": n, "scenes": len(scenes.get(split, [])), "shards": len(shards),
                        "bytes": sum(s.bytes for s in shards), "frames": n * int(self.config.get("frames", 0))})
        return out

    def prompts(self, split: str) -> list[str]:
        """The distinct global and local prompts of a split's clips, sorted (from the manifest;
        empty when the folder has none): what a text encoder must see to train on the split."""
        path = self.root / MANIFEST
        if not path.is_file():
            return []
        table = pq.read_table(path, columns=["split", "prompt", "local_prompts"]).to_pylist()
        out: set[str] = set()
        for row in table:
            if row["split"] == split:
                out.add(str(row["prompt"] or ""))
                out.update(str(v) for v in json.loads(row["local_prompts"] or "{}").values())
        return sorted(out)

    # -- one clip ----------------------------------------------------------------------------
    def locate(self, key: str) -> tuple[ShardEntry, int]:
        """The shard holding ``key`` and the clip's position in it."""
        if key not in self._where:
            raise DatasetError(f"dataset {self.root} has no clip {key!r}")
        return self._where[key]

    def read_sample(self, key: str) -> dict:
        """The raw sample (member suffix → bytes) of one clip: read from its offset, not the whole shard."""
        entry, i = self.locate(key)
        path = self.shard_path(entry)
        if entry.offsets is None:  # an index written before offsets were recorded
            for sample in read_shard(path):
                if sample["__key__"] == key:
                    return sample
            raise ShardError(f"shard {path} does not hold clip {key} that {DATASET_JSON} lists")
        return _sample_at(path, entry.offsets[i], key)

    def read_clip(self, key: str, passes: Iterable[str] | None = None) -> dict:
        """One clip decoded (schema layout), found by its offset in its shard; values the contract
        forbids (NaN, inf, out of range) raise a ShardError naming shard, clip and pass."""
        passes = list(passes) if passes is not None else None  # read twice below: a generator would be spent
        clip = decode_sample(self.read_sample(key), passes)
        problems = check_values(clip, passes)
        if problems:
            raise ShardError(f"shard {self.locate(key)[0].name} clip {key}: {problems[0]} "
                             f"(`interiorvideo validate {self.root}` lists every problem)")
        return clip

    def shards_holding(self, keys: Iterable[str]) -> list[ShardEntry]:
        """The shards that hold ``keys``, in index order."""
        names = {self.locate(k)[0].name for k in keys}
        return [s for s in self.shards if s.name in names]

    def verify_shards(self, entries: Iterable[ShardEntry] | None = None,
                      progress: Callable[[int, int], None] | None = None) -> None:
        """Check shards (default: all) against the sha256 ``dataset.json`` lists, once per shard
        per opened Dataset; a shard whose bytes differ raises a ShardError naming it."""
        todo = [e for e in (self.shards if entries is None else entries) if e.name not in self._verified]
        for i, entry in enumerate(todo):
            if progress:
                progress(i, len(todo))
            path = self.shard_path(entry)
            if not path.is_file():
                raise ShardError(f"shard {path}: missing ({DATASET_JSON} lists it)")
            if sha256_file(path) != entry.sha256:
                raise ShardError(f"shard {path}: bytes differ from the sha256 {DATASET_JSON} lists (corrupt or "
                                 f"modified since the build); re-run the build command to rebuild it")
            self._verified.add(entry.name)


def _entry(root: Path, s: dict) -> ShardEntry:
    try:
        keys = tuple(str(k) for k in s["keys"])
        offsets = s.get("offsets")
        if offsets is not None and len(offsets) != len(keys):
            raise ValueError("offsets and keys differ in length")
        return ShardEntry(str(s["name"]), str(s["split"]), int(s["clips"]), str(s["sha256"]), int(s["bytes"]), keys,
                          tuple(int(o) for o in offsets) if offsets is not None else None)
    except (KeyError, TypeError, ValueError) as exc:
        raise DatasetError(f"{root / DATASET_JSON}: shard entry {s.get('name', '?')!r} is malformed ({exc})") from None


def _sample_at(path: Path, offset: int, key: str) -> dict:
    sample: dict = {"__key__": key}
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            with tarfile.open(fileobj=f, mode="r|") as tar:
                for member in tar:
                    base, _, suffix = member.name.partition(".")
                    if base != key:
                        break
                    sample[suffix] = tar.extractfile(member).read()
    except (OSError, tarfile.TarError) as exc:
        raise ShardError(f"shard {path} is corrupt or truncated at clip {key} ({type(exc).__name__}: {exc})") from exc
    if len(sample) == 1:
        raise ShardError(f"shard {path}: no clip {key} at byte {offset} ({DATASET_JSON} and the shard disagree)")
    return sample
