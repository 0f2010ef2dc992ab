"""Reading InteriorVideo for training: a torch ``IterableDataset`` made of small webdataset stages.

One pass over the data (an *epoch*) runs these stages, each a generator over the previous one::

    shard urls ── shard shuffle (seed, epoch) ── split by node ── split by DataLoader worker
        (or, with ``resampled=True``: an endless stream of shuffled rounds over all shards, drawn
         independently by every node and worker)
      → read_shards    tar → raw samples, keeping only the members of the wanted passes;
                       an unreadable / truncated shard raises a ShardError naming it, or is
                       skipped with a ShardWarning naming it (``on_error="warn"``)
      → sample shuffle buffer (of raw, still-compressed samples)
      → decode_clips   schema-layout numpy clip (``shards.decode_sample``), a pass subset if asked
      → temporal_crop  ``frames`` frames ``stride`` apart
      → spatial        resize keeping the aspect ratio so the image covers ``size``, crop to it;
                       K follows
      → to_tensors     the training sample (below)

The stages are public (``read_shards``, ``decode_clips``, ``temporal_crop``, ``spatial``,
``to_tensors``) and curried in webdataset's style, so ``wds.DataPipeline(wds.SimpleShardList(urls),
read_shards(), decode_clips(), temporal_crop(8), to_tensors())`` builds a reader of one's own.

A training sample is a dict:

* one float32 tensor (T, C, H, W) per pass (C = 3 for rgb, albedo, normal, irradiance; 1 for
  roughness, metallic, depth) and ``instance`` as int64 (T, 1, H, W);
* ``camera``: {``K``: float32 (3, 3) for the resized and cropped image, ``poses``: float32
  (T, 4, 4) camera-to-world (OpenCV, see ``schema.CAMERA_CONVENTION``)};
* ``prompt`` (str), ``local_prompts`` ({instance id (int): text}, all of the clip's),
  ``instances`` (int64 (N,), the non-zero instance ids visible in the crop; only when the
  instance pass is read), ``fps`` (float), ``meta`` (the clip's whole meta dict),
  ``key`` (str), ``frame_index`` (int64 (T,), the frames the crop took).

Batch them with :func:`collate` (``DataLoader(ds, batch_size=B, collate_fn=collate)``); torch's
``default_collate`` fails on the per-clip ``local_prompts`` dicts and ``instances`` lists.

Randomness. Crops draw from a generator seeded by (seed, epoch, clip key), so a clip's crop does
not depend on worker count, node split or shuffle order; shard shuffling uses (seed, epoch), the
same on every node and worker, before splitting; the sample buffer and resampling use (seed,
epoch, rank, worker). Same seed and epoch → same crops and same order. The epoch counts passes:
each new iteration of the dataset object starts the next epoch, and ``set_epoch(e)`` sets the one
the next pass uses. DataLoader workers iterate copies of the dataset: with
``persistent_workers=False`` (the default) call ``dataset.set_epoch(e)`` before each epoch, or
every epoch repeats epoch 0's crops and order.

Splitting. Shards (not samples) are split, first over nodes (``rank``/``world_size`` if given,
else ``wds.split_by_node``: torch.distributed, or the RANK/WORLD_SIZE variables), then over
DataLoader workers (``wds.split_by_worker``): one epoch reads every clip exactly once overall.
Nodes then see different numbers of clips unless the shards divide evenly; for DDP, which needs
equal batch counts, prefer ``resampled=True`` with ``.with_epoch(n)`` (n samples per worker).
"""

from __future__ import annotations

import hashlib
import random
import warnings
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
import webdataset as wds
from webdataset.filters import pipelinefilter
from webdataset.shardlists import expand_urls
from webdataset.utils import pytorch_worker_info

from .dataset import Dataset
from .schema import PASSES, clip_shape
from .shards import ENCODING, ShardError, decode_sample

#: Passes resampled by nearest neighbour: interpolating would invent depths between surfaces
#: (and between a surface and "no surface", depth 0) and instance ids that are not there.
NEAREST = frozenset({"depth", "instance"})
ON_ERROR = ("raise", "warn")
_SALT_TEMPORAL, _SALT_SPATIAL, _SALT_SHARDS, _SALT_SAMPLES = 1, 2, 3, 4


class ShardWarning(UserWarning):
    """A shard or sample skipped under ``on_error="warn"``; the message names the shard."""


# ----------------------------------------------------------------------------- helpers

def _check_passes(passes: Iterable[str] | str | None) -> tuple[str, ...]:
    if passes is None:
        return tuple(PASSES)
    wanted = {passes} if isinstance(passes, str) else set(passes)
    unknown = sorted(wanted - set(PASSES))
    if unknown:
        raise ValueError(f"unknown pass(es) {unknown}; passes are {', '.join(PASSES)}")
    if not wanted:
        raise ValueError("passes is empty; give None for all passes")
    return tuple(p for p in PASSES if p in wanted)  # PASSES order


def _check_on_error(on_error: str) -> str:
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be one of {ON_ERROR}, got {on_error!r}")
    return on_error


def _fail(on_error: str, message: str, exn: BaseException) -> None:
    """Raise a ShardError with ``message`` or warn with it (the caller then skips)."""
    if on_error == "raise":
        raise ShardError(message) from exn
    warnings.warn(message, ShardWarning, stacklevel=3)


def _describe(exn: BaseException) -> str:
    """``Type: message`` without what webdataset appends (`` @ <file object>``, extra args)."""
    if isinstance(exn, OSError) and exn.strerror:
        msg = exn.strerror
    else:
        msg = str(exn.args[0]) if exn.args else str(exn)
    return f"{type(exn).__name__}: {msg.split(' @ ')[0]}"


def _key_hash(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "little")


def clip_rng(seed: int, epoch: int, key: str, salt: int) -> np.random.Generator:
    """The generator one clip's crop draws from: independent of order, worker and node."""
    return np.random.default_rng([seed, epoch, _key_hash(key), salt])


def _stream_seed(*parts: int) -> int:
    return int(np.random.SeedSequence(list(parts)).generate_state(1)[0])


def _int_arg(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _check_size(size: int | Sequence[int] | None) -> tuple[int, int] | None:
    if size is None:
        return None
    hw = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    if len(hw) != 2:
        raise ValueError(f"size must be an int or (height, width), got {size!r}")
    return _int_arg("size height", hw[0], 1), _int_arg("size width", hw[1], 1)


# ----------------------------------------------------------------------------- shard stages

def _shard_source(urls: Sequence[str], shuffle: bool = False, resampled: bool = False, seed: int = 0,
                  epoch: int = 0, rank: int = 0, worker: int = 0) -> Iterator[dict]:
    """``{"url": ...}`` per shard. Shuffling uses (seed, epoch) only, so every node and worker
    permutes alike and the splits that follow stay a partition. ``resampled``: endless rounds,
    each a fresh permutation of all shards, drawn per (seed, epoch, rank, worker)."""
    urls = list(urls)
    if not urls:
        return
    if not resampled:
        if shuffle:
            random.Random(_stream_seed(seed, epoch, _SALT_SHARDS)).shuffle(urls)
        for url in urls:
            yield {"url": url}
        return
    rng = random.Random(_stream_seed(seed, epoch, rank, worker, _SALT_SHARDS))
    while True:
        rng.shuffle(urls)
        for url in urls:
            yield {"url": url}


def _split_by_rank(src: Iterable, rank: int = 0, world_size: int = 1) -> Iterator:
    """Every ``world_size``-th item from ``rank`` (``wds.split_by_node`` with explicit values)."""
    for i, item in enumerate(src):
        if i % world_size == rank:
            yield item


class _MemberFilter:
    """select_files predicate: keep camera, meta and the members of the wanted passes."""

    def __init__(self, passes: Sequence[str]):
        self.members = frozenset([f"{p}.{ENCODING[p]}" for p in passes] + ["camera.json", "meta.json"])

    def __call__(self, fname: str) -> bool:
        base = fname.rsplit("/", 1)[-1]
        return "." not in base or base.split(".", 1)[1] in self.members


def _read_shards(src: Iterable[dict | str], passes: Iterable[str] | None = None,
                 on_error: str = "raise") -> Iterator[dict]:
    """Raw samples (``__key__``, ``__url__``, member bytes) of each shard in turn.

    Each shard is read on its own by webdataset's tar reader with errors re-raised, so an error
    is caught here knowing the shard: a sample is only yielded once the next one has begun, so a
    truncated shard never yields a partial sample. ``on_error="warn"``: warn naming the shard,
    skip the rest of it (samples already yielded from it stay yielded) and go on.
    """
    _check_on_error(on_error)
    select = _MemberFilter(_check_passes(passes)) if passes is not None else None
    for item in src:
        url = item["url"] if isinstance(item, dict) else str(item)
        n = 0
        try:
            for sample in wds.tarfile_samples([{"url": url}], select_files=select):
                n += 1
                yield sample
        except Exception as exn:  # gopen: OSError; tarfile: ReadError / EOFError; webdataset: ValueError
            _fail(on_error, f"shard {url} cannot be read ({_describe(exn)})"
                  + (f"; skipped the rest of it after {n} sample(s)" if on_error == "warn" else ""), exn)


def _check_decoded(clip: dict, passes: Sequence[str]) -> None:
    T, H, W = clip_shape(clip)
    for name in passes:
        a = clip[name]
        spec = PASSES[name]
        want = (T, H, W) if spec.channels is None else (T, H, W, spec.channels)
        if a.shape != want:
            raise ShardError(f"pass {name!r} has shape {a.shape}, expected {want}")
    K, poses = clip["camera"]["K"], clip["camera"]["poses"]
    if K.shape != (3, 3) or poses.shape != (T, 4, 4):
        raise ShardError(f"camera K {K.shape} / poses {poses.shape}, expected (3, 3) / ({T}, 4, 4)")
    if not isinstance(clip["meta"], dict):
        raise ShardError("meta.json is not an object")


def _decode_clips(src: Iterable[dict], passes: Iterable[str] | None = None, on_error: str = "raise") -> Iterator[dict]:
    """Schema-layout clips ({pass: numpy array, camera, meta} + ``key``, ``url``) from raw samples."""
    passes = _check_passes(passes)
    _check_on_error(on_error)
    for sample in src:
        url, key = sample.get("__url__", "?"), sample.get("__key__", "?")
        try:
            clip = decode_sample(sample, passes)
            _check_decoded(clip, passes)
        except Exception as exn:
            _fail(on_error, f"shard {url}: sample {key} cannot be decoded ({_describe(exn)})", exn)
            continue
        clip["key"], clip["url"] = key, url
        yield clip


# ----------------------------------------------------------------------------- clip stages

def _temporal_crop(src: Iterable[dict], frames: int | None, stride: int = 1, start: str = "random",
                   short: str = "raise", seed: int = 0, epoch: int = 0) -> Iterator[dict]:
    """``frames`` frames ``stride`` apart (``None``: as many as the clip holds).

    ``start``: "random" (per clip from (seed, epoch, key)), "first" or "center". A clip shorter
    than ``(frames - 1) * stride + 1`` raises a ValueError naming it, or is skipped (``short="skip"``).
    Adds ``frame_index`` (the frames taken) and slices the passes and poses.
    """
    if frames is not None:
        frames = _int_arg("frames", frames, 1)
    stride = _int_arg("stride", stride, 1)
    if start not in ("random", "first", "center"):
        raise ValueError(f"temporal crop start must be 'random', 'first' or 'center', got {start!r}")
    if short not in ("raise", "skip"):
        raise ValueError(f"short must be 'raise' or 'skip', got {short!r}")
    for clip in src:
        T = len(clip["camera"]["poses"])
        n = frames if frames is not None else (T - 1) // stride + 1
        span = (n - 1) * stride + 1
        if T < span:
            if short == "skip":
                continue
            raise ValueError(f"clip {clip.get('key', '?')} (shard {clip.get('url', '?')}) has {T} frames; a crop of "
                             f"{n} frames at stride {stride} needs {span} (use fewer frames, a smaller stride, "
                             "or short='skip')")
        if start == "random":
            s0 = int(clip_rng(seed, epoch, clip.get("key", ""), _SALT_TEMPORAL).integers(0, T - span + 1))
        else:
            s0 = 0 if start == "first" else (T - span) // 2
        idx = np.arange(s0, s0 + span, stride)
        out = {k: v for k, v in clip.items() if k not in PASSES and k != "camera"}
        out.update({k: clip[k][idx] for k in clip if k in PASSES})
        out["camera"] = {"K": clip["camera"]["K"], "poses": clip["camera"]["poses"][idx]}
        out["frame_index"] = idx if "frame_index" not in clip else np.asarray(clip["frame_index"])[idx]
        yield out


def resize_pass(array: np.ndarray, name: str, size: tuple[int, int]) -> np.ndarray:
    """One pass (T, H, W[, C]) resampled to ``size`` (H', W'), pixel centres aligned.

    Bilinear (antialiased when shrinking) for continuous passes, float32 out; nearest for depth
    and instance, dtype kept; normals bilinear then renormalised, zero exactly where the nearest
    sample has no surface (so normal == 0 iff depth == 0 still holds).
    """
    t = torch.from_numpy(np.ascontiguousarray(array))
    x = (t.unsqueeze(-1) if t.ndim == 3 else t).permute(0, 3, 1, 2)
    H, W = x.shape[-2:]
    if (H, W) == tuple(size):
        return array
    if name in NEAREST:
        # float64 holds every int32 id exactly; "nearest-exact" samples at pixel centres.
        y = F.interpolate(x.double(), size=size, mode="nearest-exact").to(x.dtype)
    else:
        shrink = size[0] < H or size[1] < W
        y = F.interpolate(x.float(), size=size, mode="bilinear", align_corners=False, antialias=shrink)
        if name == "normal":
            near = F.interpolate(x.float(), size=size, mode="nearest-exact")
            surface = near.abs().sum(dim=1, keepdim=True) > 0
            norm = y.norm(dim=1, keepdim=True)
            y = torch.where(surface & (norm > 1e-3), y / norm.clamp_min(1e-3), near)
    y = y.permute(0, 2, 3, 1)
    return (y[..., 0] if t.ndim == 3 else y).numpy()


def _spatial(src: Iterable[dict], size: int | Sequence[int] | None = None, crop: str = "center", seed: int = 0,
             epoch: int = 0) -> Iterator[dict]:
    """Resize keeping the aspect ratio so the image covers ``size`` (H, W), then crop to it.

    ``crop``: "center" or "random" (per clip from (seed, epoch, key)). K follows: pixel (u, v)
    covers [u, u+1) so with centres at +0.5 a resize scales the continuous image coordinates,
    ``K' = diag(sx, sy, 1) K``, and a crop at (x0, y0) shifts the principal point by (-x0, -y0).
    ``size=None``: unchanged.
    """
    target = _check_size(size)
    if crop not in ("random", "center"):
        raise ValueError(f"crop must be 'random' or 'center', got {crop!r}")
    for clip in src:
        if target is None:
            yield clip
            continue
        _, H, W = clip_shape(clip)
        th, tw = target
        scale = max(th / H, tw / W)
        h2, w2 = max(th, round(H * scale)), max(tw, round(W * scale))
        if crop == "random":
            rng = clip_rng(seed, epoch, clip.get("key", ""), _SALT_SPATIAL)
            y0, x0 = int(rng.integers(0, h2 - th + 1)), int(rng.integers(0, w2 - tw + 1))
        else:
            y0, x0 = (h2 - th) // 2, (w2 - tw) // 2
        out = dict(clip)
        for name in (k for k in clip if k in PASSES):
            out[name] = resize_pass(clip[name], name, (h2, w2))[:, y0:y0 + th, x0:x0 + tw]
        K = np.array(clip["camera"]["K"], dtype=np.float64)
        K[0] *= w2 / W
        K[1] *= h2 / H
        K[0, 2] -= x0
        K[1, 2] -= y0
        out["camera"] = {"K": K, "poses": clip["camera"]["poses"]}
        yield out


def _to_tensors(src: Iterable[dict]) -> Iterator[dict]:
    """The training sample (see the module docstring) from a schema-layout clip."""
    for clip in src:
        out: dict[str, Any] = {}
        T = len(clip["camera"]["poses"])
        for name in PASSES:
            if name not in clip:
                continue
            t = torch.from_numpy(np.ascontiguousarray(clip[name]))
            t = (t.unsqueeze(-1) if t.ndim == 3 else t).permute(0, 3, 1, 2)
            out[name] = (t.long() if name == "instance" else t.float()).contiguous()
        out["camera"] = {"K": torch.tensor(np.asarray(clip["camera"]["K"]), dtype=torch.float32),
                         "poses": torch.tensor(np.asarray(clip["camera"]["poses"]), dtype=torch.float32)}
        meta = clip.get("meta", {})
        out["prompt"] = str(meta.get("prompt", ""))
        out["local_prompts"] = {int(k): str(v) for k, v in meta.get("local_prompts", {}).items()}
        if "instance" in out:
            ids = torch.unique(out["instance"])
            out["instances"] = ids[ids != 0]
        out["fps"] = float(meta.get("fps", 0.0))
        out["meta"] = meta
        out["key"] = clip.get("key", meta.get("key", "?"))
        out["frame_index"] = torch.as_tensor(np.asarray(clip.get("frame_index", np.arange(T))), dtype=torch.int64)
        yield out


read_shards = pipelinefilter(_read_shards)
decode_clips = pipelinefilter(_decode_clips)
temporal_crop = pipelinefilter(_temporal_crop)
spatial = pipelinefilter(_spatial)
to_tensors = pipelinefilter(_to_tensors)
split_by_rank = pipelinefilter(_split_by_rank)


# ----------------------------------------------------------------------------- the dataset

@dataclass(frozen=True)
class PassInfo:
    """Where and when one pass over the data runs."""

    seed: int
    epoch: int
    rank: int
    world_size: int
    worker: int
    num_workers: int


class PerPass:
    """A pipeline stage bound anew for each pass: ``fn(src, **kw, **{f: PassInfo.f for f in uses})``."""

    def __init__(self, fn: Callable, uses: Sequence[str], **kw: Any):
        self.fn, self.uses, self.kw = fn, tuple(uses), kw

    def bind(self, info: PassInfo) -> Callable:
        return partial(self.fn, **self.kw, **{f: getattr(info, f) for f in self.uses})

    def __repr__(self) -> str:
        return f"PerPass({self.fn.__name__.lstrip('_')}, uses={self.uses})"


class InteriorVideoDataset(wds.DataPipeline):
    """The training reader (a ``wds.DataPipeline``, so a torch IterableDataset).

    Args:
        urls: shard paths/URLs (a list, or a string with webdataset brace patterns); or leave it
            out and give ``dataset_dir`` (a folder or an opened :class:`~interiorvideo.dataset.Dataset`)
            + ``split`` to take the split's shards from its index.
        frames: frames per sample (required; ``None`` = whole clips, which only batch if equal).
        stride: take every ``stride``-th frame.
        temporal: where the temporal crop starts: "random", "first" or "center".
        short: a clip shorter than the crop: "raise" (ValueError naming it) or "skip".
        size: None (native), an int (square) or (H, W): resize to cover it, keeping aspect.
        crop: "random" or "center" spatial crop after the resize.
        passes: pass names to read (None = all); unread members are not even kept in memory.
        shuffle: sample shuffle buffer size (0 = none); it holds raw (compressed) samples.
        shardshuffle: shuffle the shard order every epoch (before the node/worker split).
        seed: root of all randomness; see the module docstring.
        resampled: endless shard stream for step-based training (every node and worker draws its
            own shuffled rounds, no split); bound an epoch with ``.with_epoch(n)``.
        on_error: "raise": an unreadable shard or sample raises a ShardError naming the shard;
            "warn": a ShardWarning naming it, and the rest goes on.
        rank, world_size: node split override (both or neither); default: torch.distributed or
            the RANK / WORLD_SIZE variables via ``wds.split_by_node``.

    ``num_clips`` is the split's clip count when read from ``dataset_dir`` (else None);
    ``set_epoch(e)`` sets the epoch of the next pass.
    """

    def __init__(self, urls: Sequence[str] | str | None = None, *, dataset_dir: str | Path | Dataset | None = None,
                 split: str = "train", frames: int | None, stride: int = 1, temporal: str = "random",
                 short: str = "raise", size: int | Sequence[int] | None = None, crop: str = "random",
                 passes: Iterable[str] | str | None = None, shuffle: int = 0, shardshuffle: bool = False,
                 seed: int = 0, resampled: bool = False, on_error: str = "raise", rank: int | None = None,
                 world_size: int | None = None):
        self.num_clips: int | None = None
        if urls is None:
            if dataset_dir is None:
                raise ValueError("give shard urls, or dataset_dir and split")
            ds = dataset_dir if isinstance(dataset_dir, Dataset) else Dataset.open(dataset_dir)
            urls, self.num_clips = ds.shard_urls(split), ds.num_clips(split)
        elif dataset_dir is not None:
            raise ValueError("give either urls or dataset_dir, not both")
        urls = list(expand_urls(urls)) if isinstance(urls, str) else [str(u) for u in urls]
        if not urls:
            raise ValueError("no shard urls given")
        self.urls = urls
        self.passes = _check_passes(passes)
        self.seed = _int_arg("seed", seed, 0)
        shuffle = _int_arg("shuffle", shuffle, 0)
        _check_on_error(on_error)
        _check_size(size)
        if (rank is None) != (world_size is None):
            raise ValueError("give rank and world_size together (or neither)")
        if world_size is not None:
            world_size = _int_arg("world_size", world_size, 1)
            rank = _int_arg("rank", rank, 0)
            if rank >= world_size:
                raise ValueError(f"rank {rank} must be < world_size {world_size}")
        self.rank, self.world_size, self.resampled = rank, world_size, bool(resampled)
        self.epoch = 0
        # Argument checks of the clip stages run now, not in the first worker.
        for stage, kw in ((_temporal_crop, dict(frames=frames, stride=stride, start=temporal, short=short)),
                          (_spatial, dict(size=size, crop=crop))):
            next(stage(iter(()), **kw), None)

        stages: list = [PerPass(_shard_source, ("seed", "epoch", "rank", "worker"), urls=urls,
                                shuffle=bool(shardshuffle), resampled=self.resampled)]
        if not self.resampled:
            stages.append(wds.split_by_node if rank is None else PerPass(_split_by_rank, ("rank", "world_size")))
            stages.append(wds.split_by_worker)
        stages.append(read_shards(passes=self.passes, on_error=on_error))
        if shuffle:
            stages.append(PerPass(_shuffle_samples, ("seed", "epoch", "rank", "worker"), bufsize=shuffle))
        stages += [
            decode_clips(passes=self.passes, on_error=on_error),
            PerPass(_temporal_crop, ("seed", "epoch"), frames=frames, stride=stride, start=temporal, short=short),
            PerPass(_spatial, ("seed", "epoch"), size=size, crop=crop),
            to_tensors(),
        ]
        super().__init__(*stages)

    def set_epoch(self, epoch: int) -> None:
        """The epoch the next pass uses (later passes count on from it)."""
        self.epoch = _int_arg("epoch", epoch, 0)

    def pass_info(self) -> PassInfo:
        """The PassInfo the next pass would get here (this process, this DataLoader worker)."""
        rank, world_size, worker, num_workers = pytorch_worker_info()
        if self.rank is not None:
            rank, world_size = self.rank, self.world_size
        return PassInfo(self.seed, self.epoch, rank, world_size, worker, num_workers)

    def iterator1(self) -> Iterator[dict]:
        """One pass: bind the per-pass stages to (seed, epoch, rank, worker) and chain them."""
        info = self.pass_info()
        self.epoch += 1
        if not self.resampled and info.world_size > len(self.urls) and info.worker == 0:
            warnings.warn(f"{len(self.urls)} shard(s) for {info.world_size} nodes: rank {info.rank} may get no data",
                          stacklevel=2)
        src: Any = None
        for i, stage in enumerate(self.pipeline):
            if isinstance(stage, PerPass):
                stage = stage.bind(info)
            src = self.invoke(stage) if i == 0 else self.invoke(stage, src)
        return src


def _shuffle_samples(src: Iterable, bufsize: int, seed: int = 0, epoch: int = 0, rank: int = 0,
                     worker: int = 0) -> Iterator:
    """webdataset's shuffle buffer, filled completely before the first pick, seeded per pass and stream."""
    return wds.shuffle(bufsize, initial=bufsize, seed=_stream_seed(seed, epoch, rank, worker, _SALT_SAMPLES))(src)


# ----------------------------------------------------------------------------- batching

def _stack(name: str, values: list[torch.Tensor]) -> torch.Tensor:
    shapes = {tuple(v.shape) for v in values}
    if len(shapes) > 1:
        raise ValueError(f"cannot batch {name!r}: shapes differ {sorted(shapes)} (use a fixed frames and size)")
    return torch.stack(values)


def collate(batch: Sequence[dict]) -> dict:
    """Batch training samples: tensors stacked (B, ...) (camera too), ``fps`` a float tensor (B,),
    ``instances`` a list of (N_i,) tensors, strings and dicts (``prompt``, ``local_prompts``,
    ``meta``, ``key``) lists."""
    if not batch:
        raise ValueError("cannot collate an empty batch")
    out: dict[str, Any] = {}
    for key in batch[0]:
        values = [b[key] for b in batch]
        if key == "camera":
            out[key] = {k: _stack(f"camera.{k}", [v[k] for v in values]) for k in values[0]}
        elif key == "instances":
            out[key] = values
        elif isinstance(values[0], torch.Tensor):
            out[key] = _stack(key, values)
        elif key == "fps":
            out[key] = torch.tensor(values, dtype=torch.float32)
        else:
            out[key] = values
    return out
