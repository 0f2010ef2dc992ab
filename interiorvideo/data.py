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

import warnings
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import torch
import webdataset as wds
from webdataset.shardlists import expand_urls
from webdataset.utils import pytorch_worker_info

from .data_stages import (
    _SALT_SAMPLES,
    NEAREST,
    ON_ERROR,
    ShardWarning,
    _check_on_error,
    _check_passes,
    _check_size,
    _int_arg,
    _shard_source,
    _spatial,
    _split_by_rank,
    _stream_seed,
    _temporal_crop,
    clip_rng,
    decode_clips,
    read_shards,
    resize_pass,
    spatial,
    split_by_rank,
    temporal_crop,
    to_tensors,
)
from .dataset import Dataset

__all__ = ["InteriorVideoDataset", "PassInfo", "PerPass", "ShardWarning", "collate", "clip_rng", "decode_clips",
           "read_shards", "resize_pass", "spatial", "split_by_rank", "temporal_crop", "to_tensors", "NEAREST",
           "ON_ERROR"]

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
        verify: check the split's shards against the sha256 in ``dataset.json`` now (needs
            ``dataset_dir``; one read of each shard). Values are always checked: a clip with NaN,
            inf or out-of-range values raises a ShardError naming shard, clip and pass.

    ``num_clips`` is the split's clip count when read from ``dataset_dir`` (else None);
    ``set_epoch(e)`` sets the epoch of the next pass.
    """

    def __init__(self, urls: Sequence[str] | str | None = None, *, dataset_dir: str | Path | Dataset | None = None,
                 split: str = "train", frames: int | None, stride: int = 1, temporal: str = "random",
                 short: str = "raise", size: int | Sequence[int] | None = None, crop: str = "random",
                 passes: Iterable[str] | str | None = None, shuffle: int = 0, shardshuffle: bool = False,
                 seed: int = 0, resampled: bool = False, on_error: str = "raise", rank: int | None = None,
                 world_size: int | None = None, verify: bool = False):
        self.num_clips: int | None = None
        if urls is None:
            if dataset_dir is None:
                raise ValueError("give shard urls, or dataset_dir and split")
            ds = dataset_dir if isinstance(dataset_dir, Dataset) else Dataset.open(dataset_dir)
            urls, self.num_clips = ds.shard_urls(split), ds.num_clips(split)
            if verify:
                ds.verify_shards(ds.shards_of(split))
        elif dataset_dir is not None:
            raise ValueError("give either urls or dataset_dir, not both")
        elif verify:
            raise ValueError("verify needs dataset_dir: shard urls alone carry no checksums")
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
