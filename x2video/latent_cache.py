"""The latent cache: every clip's VAE latents computed once, beside the dataset, so a training
step runs the denoiser instead of re-encoding five passes of every window frame (two thirds of an
sd21 step on an H100, docs/performance.md).

A cache holds, per clip and frame, what :func:`x2video.train.loss.training_loss` would otherwise
compute from pixels: the rgb latent (the VAE's posterior mode, before its scale factor) and the
conditioning's scale-free channels (:meth:`IntrinsicConditioner.encode_raw`: four latents and the
resized irradiance), 23 channels, float32; plus the instance ids (for local-prompt masks) and the
clip's prompts. Frames are stored resized to *cover* the training crop
(:func:`interiorvideo.data_stages.cover_size`), uncropped, so the reader crops latents and ids
together; when the dataset's frames already have the crop's size (the usual case: build at the
training size) a cached step sees exactly the numbers a pixel step would.

A cache is keyed by what makes its numbers: the VAE's weights (sha256 over its state dict), the
crop size and the dtype the VAE ran in. Layout::

    DATA/latents/<vae sha256[:16]>-<H>x<W>-<dtype>/
        cache.json          key, latent size, per shard: name, split, clips, keys, sha256 and the
                            source shard's sha256 (written last: a cache without it is unfinished)
        <shard name>        one tar per dataset shard, same clips in the same order
        .work/<shard>.json  per-shard records, so an interrupted build resumes

A cache whose source shards no longer match ``dataset.json`` (the dataset was rebuilt) is not
used; a cache shard whose bytes differ from its record is re-encoded on the next build and
refused by :meth:`LatentCache.verify`.
"""

from __future__ import annotations

import hashlib
import io
import json
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import torch
import webdataset as wds

from interiorvideo.data_stages import cover_size, resize_pass
from interiorvideo.dataset import Dataset, ShardEntry
from interiorvideo.fileio import atomic_write_json, atomic_writer, read_json, to_json_bytes
from interiorvideo.schema import check_values
from interiorvideo.shards import ShardError, decode_sample, read_shard, sha256_file

from .conditioning import CHANNELS, ConditioningConfig, IntrinsicConditioner
from .vae import downsample_factor, pass_to_vae

CACHE_FORMAT_VERSION = 1
LATENTS_DIR = "latents"
CACHE_JSON = "cache.json"
CACHE_PASSES = ("rgb",) + CHANNELS + ("instance",)
RAW_CHANNELS = 4 + 19  # rgb latent + IntrinsicConditioner.encode_raw
MEMBERS = ("latents.npy", "instance.npz", "meta.json")
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class LatentCacheError(ValueError):
    """A cache that cannot be built or read as asked; the message names it."""


def vae_fingerprint(vae: torch.nn.Module) -> str:
    """sha256 over the VAE's state dict as loaded (names, dtypes, shapes, bytes): two VAEs share
    a cache only if they compute the same latents. Take it before casting the VAE to a training
    dtype (the cache key names that dtype separately)."""
    h = hashlib.sha256()
    for name, tensor in sorted(vae.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


@dataclass(frozen=True)
class CacheKey:
    vae_sha256: str
    size: tuple[int, int]  # the training crop (H, W)
    dtype: str  # the dtype the VAE ran in: float32, bfloat16 or float16

    @property
    def folder(self) -> str:
        return f"{self.vae_sha256[:16]}-{self.size[0]}x{self.size[1]}-{self.dtype}"

    def as_dict(self) -> dict:
        return {"vae_sha256": self.vae_sha256, "size": list(self.size), "dtype": self.dtype}


def cache_key(vae: torch.nn.Module, size: int | Sequence[int], dtype: torch.dtype | str) -> CacheKey:
    hw = (int(size), int(size)) if isinstance(size, (int, np.integer)) else (int(size[0]), int(size[1]))
    name = dtype if isinstance(dtype, str) else {v: k for k, v in DTYPES.items()}.get(dtype)
    if name not in DTYPES:
        raise LatentCacheError(f"latent cache dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    f = downsample_factor(vae)
    if hw[0] % f or hw[1] % f:
        raise LatentCacheError(f"crop size {hw[1]}x{hw[0]} is not a multiple of the VAE's downsampling {f}")
    return CacheKey(vae_fingerprint(vae), hw, name)


# ----------------------------------------------------------------------------- encoding

@torch.no_grad()
def encode_clip(vae, clip: dict, size: tuple[int, int], dtype: torch.dtype, device: torch.device,
                batch_frames: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """One schema-layout clip → (latents (T, 23, h, w) float32, instance (T, H', W') int32) at the
    cover size of ``size``; the same arithmetic as the training step's pixel route."""
    T, H, W = clip["rgb"].shape[:3]
    hw = cover_size(H, W, size)
    conditioner = IntrinsicConditioner(vae, ConditioningConfig())
    tensors = {}
    for name in ("rgb",) + CHANNELS:
        a = resize_pass(clip[name], name, hw)
        t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
        tensors[name] = (t.unsqueeze(-1) if t.ndim == 3 else t).permute(0, 3, 1, 2)
    autocast = torch.autocast(device.type, dtype=dtype) if dtype != torch.float32 else nullcontext()
    out = []
    with autocast:
        for i in range(0, T, batch_frames):
            part = {k: v[i:i + batch_frames].to(device) for k, v in tensors.items()}
            rgb = vae.encode(pass_to_vae("rgb", part["rgb"])).latent_dist.mode()
            cond = conditioner.encode_raw({c: part[c] for c in CHANNELS})
            out.append(torch.cat([rgb.float(), cond.float()], dim=1).cpu())
    instance = resize_pass(clip["instance"], "instance", hw).astype(np.int32)
    return torch.cat(out).numpy(), instance


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()


def _npz(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, data=np.ascontiguousarray(array))
    return buf.getvalue()


def _cache_sample(key: str, latents: np.ndarray, instance: np.ndarray, meta: dict) -> dict:
    return {"__key__": key, "latents.npy": _npy(latents), "instance.npz": _npz(instance),
            "meta.json": to_json_bytes({"key": key, "prompt": meta.get("prompt", ""),
                                        "local_prompts": meta.get("local_prompts", {})})}


def _write_tar(path: Path, samples: Iterable[dict]) -> str:
    """Deterministic bytes (fixed owner, mtime, member order), written under a temporary name."""
    with atomic_writer(path) as f:
        writer = wds.TarWriter(f, user="x2video", group="x2video", mode=0o644, mtime=0.0, encoder=False)
        for sample in samples:
            writer.write({"__key__": sample["__key__"], **{m: sample[m] for m in MEMBERS}})
        writer.close()
    return sha256_file(path)


# ----------------------------------------------------------------------------- the cache folder

@dataclass
class LatentCache:
    """A finished cache folder, opened from its ``cache.json``."""

    root: Path
    index: dict

    @property
    def stored_hw(self) -> tuple[int, int]:
        """The latent size of the stored (uncropped, cover-sized) frames."""
        return tuple(self.index["stored_hw"])

    @property
    def size(self) -> tuple[int, int]:
        """The training crop in pixels."""
        return tuple(self.index["key"]["size"])

    @property
    def downsample(self) -> int:
        return int(self.index["downsample"])

    def shards_of(self, split: str) -> list[dict]:
        entries = [s for s in self.index["shards"] if s["split"] == split]
        if not entries:
            raise LatentCacheError(f"latent cache {self.root} holds no {split!r} shards")
        return entries

    def shard_urls(self, split: str) -> list[str]:
        return [str(self.root / s["name"]) for s in self.shards_of(split)]

    def verify(self, split: str | None = None) -> None:
        """Every cache shard (of ``split``) against the sha256 ``cache.json`` records."""
        for s in self.index["shards"] if split is None else self.shards_of(split):
            path = self.root / s["name"]
            if not path.is_file():
                raise ShardError(f"latent cache shard {path}: missing ({CACHE_JSON} lists it)")
            if sha256_file(path) != s["sha256"]:
                raise ShardError(f"latent cache shard {path}: bytes differ from the sha256 {CACHE_JSON} records; "
                                 "re-run `x2v cache-latents` to re-encode it")


def cache_folder(data: Dataset, key: CacheKey) -> Path:
    return data.root / LATENTS_DIR / key.folder


def open_cache(data: Dataset, key: CacheKey, splits: Sequence[str] = ("train",)) -> LatentCache | None:
    """The finished cache of ``key`` for ``data``, if one exists and was made from the shards
    ``dataset.json`` lists now (a rebuilt dataset makes old caches stale); else None."""
    path = cache_folder(data, key) / CACHE_JSON
    if not path.is_file():
        return None
    index = read_json(path, "latent cache index")
    if index.get("format_version") != CACHE_FORMAT_VERSION or index.get("key") != key.as_dict():
        return None
    recorded = {s["name"]: s["source_sha256"] for s in index.get("shards", [])}
    for split in splits:
        for entry in data.shards_of(split):
            if recorded.get(entry.name) != entry.sha256:
                return None
    return LatentCache(path.parent, index)


def _record_path(folder: Path, entry: ShardEntry) -> Path:
    return folder / ".work" / f"{entry.name}.json"


def _finished_record(folder: Path, entry: ShardEntry) -> dict | None:
    """The record of a cache shard that is complete and intact, else None."""
    rec_path = _record_path(folder, entry)
    if not rec_path.is_file():
        return None
    try:
        rec = json.loads(rec_path.read_text())
    except ValueError:  # a damaged record: the shard is encoded again, never trusted
        return None
    shard = folder / entry.name
    if rec.get("source_sha256") != entry.sha256 or not shard.is_file() or sha256_file(shard) != rec.get("sha256"):
        return None
    return rec


def encode_shard(vae, data: Dataset, entry: ShardEntry, folder: Path, key: CacheKey, device: torch.device,
                 dtype: torch.dtype, batch_frames: int, tick: Callable[[], None] = lambda: None) -> dict:
    """Encode one dataset shard into its cache shard and record it."""
    samples = []
    latent_hw = None
    for raw in read_shard(data.shard_path(entry)):
        clip = decode_sample(raw, CACHE_PASSES)
        problems = check_values(clip, CACHE_PASSES)
        if problems:
            raise ShardError(f"shard {data.shard_path(entry)} clip {raw['__key__']}: {problems[0]}")
        latents, instance = encode_clip(vae, clip, key.size, dtype, device, batch_frames)
        latent_hw = latents.shape[-2:]
        samples.append(_cache_sample(raw["__key__"], latents, instance, clip["meta"]))
        tick()
    sha = _write_tar(folder / entry.name, samples)
    rec = {"name": entry.name, "split": entry.split, "clips": len(samples), "keys": [s["__key__"] for s in samples],
           "sha256": sha, "source_sha256": entry.sha256, "latent_hw": list(latent_hw or (0, 0))}
    atomic_write_json(_record_path(folder, entry), rec)
    return rec


def build_cache(vae, data: Dataset, key: CacheKey, device: torch.device | str = "cpu",
                splits: Sequence[str] = ("train",), rank: int = 0, world_size: int = 1, batch_frames: int = 8, barrier: Callable[[], None] = lambda: None,
                progress: Callable[[int, int], None] | None = None,
                log: Callable[[str], None] = print) -> LatentCache | None:
    """Encode the clips of ``splits`` (this process: every ``world_size``-th shard from ``rank``),
    skipping shards whose records match; the main process (rank 0) then writes ``cache.json``
    after ``barrier()``. Returns the finished cache on rank 0, None elsewhere."""
    device = torch.device(device)
    folder = cache_folder(data, key)
    entries = [e for split in splits for e in data.shards_of(split)]
    mine = entries[rank::world_size]
    todo, kept = [], 0
    for entry in mine:
        if _finished_record(folder, entry) is not None:
            kept += 1
        else:
            if (folder / entry.name).is_file():
                log(f"re-encoding latent cache shard {folder / entry.name}: it does not match its record")
            todo.append(entry)
    total, done = sum(e.clips for e in todo), 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total)

    vae = vae.to(device, DTYPES[key.dtype]).eval()  # as training holds it: weights in the dtype, autocast
    for entry in todo:
        encode_shard(vae, data, entry, folder, key, device, DTYPES[key.dtype], batch_frames, tick)
    barrier()
    if rank != 0:
        return None
    records = []
    for entry in entries:
        rec = _finished_record(folder, entry)
        if rec is None:
            raise LatentCacheError(f"latent cache shard {folder / entry.name} was not finished by its process")
        records.append(rec)
    hws = {tuple(r["latent_hw"]) for r in records}
    if len(hws) != 1:
        raise LatentCacheError(f"{data.root}: clips of different sizes give latents of sizes {sorted(hws)}; "
                               "one cache needs one frame size")
    index = {"format_version": CACHE_FORMAT_VERSION, "key": key.as_dict(),
             "stored_hw": list(hws.pop()), "downsample": downsample_factor(vae), "channels": RAW_CHANNELS,
             "shards": [{k: r[k] for k in ("name", "split", "clips", "keys", "sha256", "source_sha256")}
                        for r in records]}
    atomic_write_json(folder / CACHE_JSON, index)  # last: marks the cache finished
    log(f"latent cache {folder}: {sum(r['clips'] for r in records)} clips in {len(records)} shards "
        f"({kept} shard(s) already encoded)")
    return LatentCache(folder, index)


def cache_latents(data: str | Path, init: str | Path, size: int, dtype: str = "auto",
                  splits: Sequence[str] = ("train",), batch_frames: int = 8,
                  progress: Callable[[int, int], None] | None = None,
                  log: Callable[[str], None] = print) -> LatentCache | None:
    """``x2v cache-latents``: the VAE of ``init`` (:func:`x2video.components.load_vae`) over the
    dataset, in this process's share of an ``accelerate launch`` (or alone). ``dtype`` "auto" is
    what ``x2v train --mixed-precision auto`` holds the VAE in: bfloat16 on CUDA, else float32.
    Every input is checked before any encoding."""
    from accelerate import PartialState

    from .components import load_vae

    if dtype == "auto":
        dtype = "bfloat16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "float32"
    state = PartialState()
    dataset = Dataset.open(data)
    for split in splits:
        dataset.shards_of(split)
    vae = load_vae(init)
    key = cache_key(vae, size, dtype)
    return build_cache(vae, dataset, key, state.device, splits=splits, rank=state.process_index,
                       world_size=state.num_processes, batch_frames=batch_frames, barrier=state.wait_for_everyone,
                       progress=progress if state.is_main_process else None,
                       log=log if state.is_main_process else (lambda m: None))
