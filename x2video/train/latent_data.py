"""Training clips read from a latent cache (:mod:`x2video.latent_cache`) instead of pixels.

The stages mirror :class:`interiorvideo.data.InteriorVideoDataset` one for one and draw from the
same seeds: the same shard shuffle (seed, epoch), node and worker split, sample shuffle buffer
(seed, epoch, rank, worker), and temporal crop (seed, epoch, clip key). A cache holds the same
clips in the same shard order as the dataset, so a run on latents meets the clips, windows and
crops a run on pixels would, and their losses agree to float rounding (tested). The spatial crop
is cut on the latent grid (offsets in multiples of the VAE's downsampling, ids cut alongside);
when the stored frames already have the crop's size it is the identity, as it is for pixels.

A sample is ``latents`` float32 (T, 23, h, w) (rgb latent + the conditioning's raw channels,
before scale factors), ``instance`` int64 (T, 1, H, W), ``prompt``, ``local_prompts``, ``key``
and ``frame_index``; :func:`interiorvideo.data.collate` batches it.
"""

from __future__ import annotations

import io
import json
from functools import partial
from typing import Iterable, Iterator

import numpy as np
import torch
import webdataset as wds

from interiorvideo.data import InteriorVideoDataset, PerPass, _shuffle_samples
from interiorvideo.data_stages import (
    _SALT_SPATIAL,
    _SALT_TEMPORAL,
    _describe,
    _fail,
    _int_arg,
    _read_shards,
    _shard_source,
    _split_by_rank,
    clip_rng,
)
from interiorvideo.shards import ShardError

from ..latent_cache import MEMBERS, RAW_CHANNELS, LatentCache


def _decode(src: Iterable[dict]) -> Iterator[dict]:
    for sample in src:
        url, key = sample.get("__url__", "?"), sample.get("__key__", "?")
        try:
            missing = [m for m in MEMBERS if m not in sample]
            if missing:
                raise ShardError(f"member(s) {', '.join(missing)} missing")
            latents = np.load(io.BytesIO(sample["latents.npy"]), allow_pickle=False)
            instance = np.load(io.BytesIO(sample["instance.npz"]), allow_pickle=False)["data"]
            meta = json.loads(sample["meta.json"])
            if latents.ndim != 4 or latents.shape[1] != RAW_CHANNELS or latents.dtype != np.float32:
                raise ShardError(f"latents {latents.dtype} {latents.shape}, expected float32 (T, {RAW_CHANNELS}, h, w)")
            if instance.ndim != 3 or instance.shape[0] != latents.shape[0]:
                raise ShardError(f"instance {instance.shape} does not match latents {latents.shape}")
        except Exception as exn:
            _fail("raise", f"latent cache shard {url}: sample {key} cannot be decoded ({_describe(exn)})", exn)
        if not np.isfinite(latents).all():
            raise ShardError(f"latent cache shard {url} clip {key}: latents hold NaN or inf; re-run `x2v cache-latents`")
        yield {"key": key, "url": url, "latents": latents, "instance": instance, "meta": meta}


def _temporal(src: Iterable[dict], frames: int, seed: int = 0, epoch: int = 0) -> Iterator[dict]:
    """``frames`` consecutive frames from a random start (the pixel reader's draw); shorter clips
    are skipped, as training's pixel reader skips them."""
    for clip in src:
        T = clip["latents"].shape[0]
        if T < frames:
            continue
        s0 = int(clip_rng(seed, epoch, clip["key"], _SALT_TEMPORAL).integers(0, T - frames + 1))
        idx = np.arange(s0, s0 + frames)
        yield {**clip, "latents": clip["latents"][idx], "instance": clip["instance"][idx], "frame_index": idx}


def _crop(src: Iterable[dict], latent_hw: tuple[int, int], factor: int, seed: int = 0,
          epoch: int = 0) -> Iterator[dict]:
    """A random crop on the latent grid; instance ids are cut at the same place in pixels."""
    th, tw = latent_hw
    for clip in src:
        h, w = clip["latents"].shape[-2:]
        rng = clip_rng(seed, epoch, clip["key"], _SALT_SPATIAL)
        y0, x0 = int(rng.integers(0, h - th + 1)), int(rng.integers(0, w - tw + 1))
        ids = clip["instance"][:, y0 * factor:(y0 + th) * factor, x0 * factor:(x0 + tw) * factor]
        yield {**clip, "latents": clip["latents"][:, :, y0:y0 + th, x0:x0 + tw], "instance": ids}


def _tensors(src: Iterable[dict]) -> Iterator[dict]:
    for clip in src:
        meta = clip["meta"]
        yield {"latents": torch.from_numpy(np.ascontiguousarray(clip["latents"])),
               "instance": torch.from_numpy(np.ascontiguousarray(clip["instance"])).long().unsqueeze(1),
               "prompt": str(meta.get("prompt", "")),
               "local_prompts": {int(k): str(v) for k, v in meta.get("local_prompts", {}).items()},
               "key": clip["key"], "frame_index": torch.as_tensor(clip["frame_index"], dtype=torch.int64)}


class LatentClipDataset(InteriorVideoDataset):
    """Training windows from a latent cache; the pass, epoch and split machinery is
    InteriorVideoDataset's (inherited), the stages are the cache's."""

    def __init__(self, cache: LatentCache, *, split: str = "train", frames: int, shuffle: int = 0,
                 shardshuffle: bool = False, seed: int = 0, rank: int = 0, world_size: int = 1):
        self.urls = cache.shard_urls(split)
        self.num_clips = sum(s["clips"] for s in cache.shards_of(split))
        self.seed = _int_arg("seed", seed, 0)
        self.rank, self.world_size = _int_arg("rank", rank, 0), _int_arg("world_size", world_size, 1)
        self.resampled, self.epoch, self.passes = False, 0, ()
        f = cache.downsample
        latent_hw = (cache.size[0] // f, cache.size[1] // f)
        stages = [PerPass(_shard_source, ("seed", "epoch", "rank", "worker"), urls=self.urls,
                          shuffle=bool(shardshuffle), resampled=False),
                  PerPass(_split_by_rank, ("rank", "world_size")),
                  wds.split_by_worker,
                  partial(_read_shards, passes=None)]
        if shuffle:
            stages.append(PerPass(_shuffle_samples, ("seed", "epoch", "rank", "worker"), bufsize=shuffle))
        stages += [_decode, PerPass(_temporal, ("seed", "epoch"), frames=_int_arg("frames", frames, 1)),
                   PerPass(_crop, ("seed", "epoch"), latent_hw=latent_hw, factor=f), _tensors]
        wds.DataPipeline.__init__(self, *stages)
