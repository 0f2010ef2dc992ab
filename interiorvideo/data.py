"""Reading InteriorVideo for training: a ``webdataset.DataPipeline`` (a torch IterableDataset)
of small stages — shard list → node split → worker split → tar → shuffle → decode → clip →
temporal crop → resize/crop → tensors.

Each sample comes out as a dict: one float32 tensor (T, C, H, W) per pass (``instance`` as
int64 (T, 1, H, W)), ``camera`` {K (3, 3) adjusted to the crop, poses (T, 4, 4)}, ``prompt``,
``local_prompts`` {instance id: text}, ``key`` and ``frame_index`` (the frames taken).
"""

from __future__ import annotations

import re
import warnings
from functools import partial
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
import webdataset as wds

from .fileio import read_json
from .schema import PASSES
from .shards import ShardError, decode_sample

NEAREST = {"depth", "instance"}  # resampling must not invent depths or ids between surfaces


def shard_urls(dataset_dir: str | Path, split: str) -> list[str]:
    """The shard files of one split, from the dataset's ``dataset.json``."""
    dataset_dir = Path(dataset_dir)
    index = read_json(dataset_dir / "dataset.json", f"dataset index of {dataset_dir}")
    urls = [str(dataset_dir / "shards" / s["name"]) for s in index["shards"] if s["split"] == split]
    if not urls:
        known = sorted({s["split"] for s in index["shards"]})
        raise ValueError(f"dataset {dataset_dir} has no shards for split {split!r} (splits: {', '.join(known)})")
    return urls


def _shard_of(exn: BaseException) -> str:
    for arg in reversed(getattr(exn, "args", ())):
        if isinstance(arg, str) and re.search(r"\.tar\b", arg):
            return arg.split(" @ ")[-1]
    return "?"


def error_handler(on_error: str):
    """A webdataset handler whose message names the shard: raise, or warn and skip it."""
    if on_error not in ("raise", "warn"):
        raise ValueError(f"on_error must be 'raise' or 'warn', got {on_error!r}")

    def handle(exn: BaseException) -> bool:
        shard = _shard_of(exn)
        if on_error == "raise":
            raise ShardError(f"shard {shard}: {type(exn).__name__}: {exn.args[0] if exn.args else exn}") from exn
        warnings.warn(f"skipping the rest of shard {shard}: {type(exn).__name__}: {exn.args[0] if exn.args else ''}",
                      stacklevel=2)
        return True

    return handle


def _rng(seed: int) -> np.random.Generator:
    """A stream per (seed, DataLoader worker): workers crop differently but reproducibly."""
    info = torch.utils.data.get_worker_info()
    return np.random.default_rng([seed, info.id if info else 0])


def decode_clips(src: Iterable[dict], passes: tuple[str, ...]) -> Iterator[dict]:
    for sample in src:
        clip = decode_sample(sample, passes)
        clip["key"] = sample["__key__"]
        yield clip


def temporal_crop(src: Iterable[dict], frames: int, stride: int, seed: int, random: bool = True) -> Iterator[dict]:
    """``frames`` frames ``stride`` apart from a random (or the first) start."""
    rng = _rng(seed)
    span = (frames - 1) * stride + 1
    for clip in src:
        T = len(clip["camera"]["poses"])
        if T < span:
            raise ValueError(f"clip {clip['key']}: {T} frames, a crop of {frames} frames at stride {stride} needs "
                             f"{span}")
        start = int(rng.integers(0, T - span + 1)) if random else 0
        idx = np.arange(start, start + span, stride)
        out = {k: v[idx] for k, v in clip.items() if k in PASSES}
        out["camera"] = {"K": clip["camera"]["K"], "poses": clip["camera"]["poses"][idx]}
        out.update(meta=clip["meta"], key=clip["key"], frame_index=idx)
        yield out


def _resize(array: np.ndarray, name: str, scale: float) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(array))
    t = t.unsqueeze(-1) if t.ndim == 3 else t  # instance (T, H, W)
    t = t.permute(0, 3, 1, 2)
    H, W = t.shape[-2:]
    size = (max(1, round(H * scale)), max(1, round(W * scale)))
    if size == (H, W):
        return t  # no resampling: the stored values, bit for bit
    if name in NEAREST:
        return F.interpolate(t.double(), size=size, mode="nearest-exact").to(t.dtype)
    out = F.interpolate(t.float(), size=size, mode="bilinear", align_corners=False, antialias=scale < 1)
    if name == "normal":
        norm = out.norm(dim=1, keepdim=True)
        out = torch.where(norm > 0.5, out / norm.clamp_min(1e-6), torch.zeros_like(out))
    return out


def spatial(src: Iterable[dict], size: tuple[int, int] | None, crop: str, seed: int) -> Iterator[dict]:
    """Resize so the image covers ``size`` (H, W) keeping aspect, then crop to it (random or
    centre); K follows (pixel centres at +0.5 scale with the image)."""
    if crop not in ("random", "center"):
        raise ValueError(f"crop must be 'random' or 'center', got {crop!r}")
    rng = _rng(seed + 1)
    for clip in src:
        H, W = clip["rgb" if "rgb" in clip else next(k for k in clip if k in PASSES)].shape[1:3]
        th, tw = size or (H, W)
        scale = max(th / H, tw / W)
        out = {}
        for name in (k for k in clip if k in PASSES):
            out[name] = _resize(clip[name], name, scale)
        h2, w2 = next(iter(out.values())).shape[-2:]
        y0 = int(rng.integers(0, h2 - th + 1)) if crop == "random" else (h2 - th) // 2
        x0 = int(rng.integers(0, w2 - tw + 1)) if crop == "random" else (w2 - tw) // 2
        for name in out:
            out[name] = out[name][..., y0:y0 + th, x0:x0 + tw]
        K = np.array(clip["camera"]["K"], np.float64)
        sy, sx = h2 / H, w2 / W
        K[0] *= sx
        K[1] *= sy
        K[0, 2] -= x0
        K[1, 2] -= y0
        yield {**out, "camera": {"K": K, "poses": clip["camera"]["poses"]},
               **{k: clip[k] for k in ("meta", "key", "frame_index")}}


def to_tensors(src: Iterable[dict]) -> Iterator[dict]:
    for clip in src:
        out = {}
        for name in (k for k in clip if k in PASSES):
            t = clip[name]
            out[name] = t.long() if name == "instance" else t.float()
        meta = clip["meta"]
        out["camera"] = {"K": torch.as_tensor(clip["camera"]["K"], dtype=torch.float32),
                         "poses": torch.as_tensor(np.asarray(clip["camera"]["poses"]), dtype=torch.float32)}
        out.update(prompt=meta.get("prompt", ""), local_prompts={int(k): v for k, v in meta.get("local_prompts",
                                                                                                   {}).items()},
                   key=clip["key"], frame_index=torch.as_tensor(clip["frame_index"]))
        yield out


def _split_by_rank(src: Iterable, rank: int, world_size: int) -> Iterator:
    for i, item in enumerate(src):
        if i % world_size == rank:
            yield item


def interiorvideo_dataset(urls: list[str] | str | None = None, *, dataset_dir: str | Path | None = None,
                          split: str = "train", frames: int = 8, stride: int = 1,
                          size: tuple[int, int] | None = None, crop: str = "random",
                          passes: tuple[str, ...] | None = None, shuffle: int = 0, shardshuffle: bool = False,
                          seed: int = 0, resampled: bool = False, on_error: str = "raise",
                          rank: int | None = None, world_size: int | None = None,
                          random_start: bool = True) -> wds.DataPipeline:
    """The training reader. Give ``urls`` (a list or brace pattern) or ``dataset_dir`` + ``split``.

    Shards are split across nodes (``rank``/``world_size`` if given, else torch.distributed via
    webdataset) and DataLoader workers; ``shuffle`` is a sample buffer; ``resampled`` draws shards
    forever (for step-based training); ``on_error="warn"`` skips a corrupt shard with a warning.
    """
    if urls is None:
        if dataset_dir is None:
            raise ValueError("give shard urls or a dataset_dir")
        urls = shard_urls(dataset_dir, split)
    passes = tuple(passes or PASSES)
    handler = error_handler(on_error)
    stages: list = [wds.ResampledShards(urls, seed=seed) if resampled else wds.SimpleShardList(urls)]
    if rank is not None and world_size is not None:
        stages.append(partial(_split_by_rank, rank=rank, world_size=world_size))
    elif not resampled:
        stages.append(wds.split_by_node)
    if not resampled:
        stages.append(wds.split_by_worker)
    if shardshuffle and not resampled:
        stages.append(wds.shuffle(len(urls) if isinstance(urls, list) else 100, seed=seed))
    stages.append(wds.tarfile_to_samples(handler=handler))
    if shuffle:
        stages.append(wds.shuffle(shuffle, seed=seed))
    stages += [
        wds.decode(handler=handler),
        partial(decode_clips, passes=passes),
        partial(temporal_crop, frames=frames, stride=stride, seed=seed, random=random_start),
        partial(spatial, size=size, crop=crop, seed=seed),
        to_tensors,
    ]
    return wds.DataPipeline(*stages)


def collate(batch: list[dict]) -> dict:
    """Stack tensors; keep strings and prompt dicts as lists."""
    out: dict = {}
    for key in batch[0]:
        if key == "camera":
            out[key] = {k: torch.stack([b[key][k] for b in batch]) for k in batch[0][key]}
        elif isinstance(batch[0][key], torch.Tensor):
            out[key] = torch.stack([b[key] for b in batch])
        else:
            out[key] = [b[key] for b in batch]
    return out
