"""The training reader's stages, each a generator over the one before (webdataset style): shard
sources and splits, tar reading with member filtering, decoding, temporal and spatial crops with K
following, tensors. :mod:`interiorvideo.data` chains them into ``InteriorVideoDataset``; the curried
public forms (``read_shards``, ``decode_clips``, ``temporal_crop``, ``spatial``, ``to_tensors``)
build readers of one's own. Randomness is described in :mod:`interiorvideo.data`."""

from __future__ import annotations

import hashlib
import random
import warnings
from typing import Any, Iterable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
import webdataset as wds
from webdataset.filters import pipelinefilter

from .schema import PASSES, check_values, clip_shape
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
        problems = check_values(clip, passes)
        if problems:  # NaN, inf or out-of-range values never reach training
            _fail(on_error, f"shard {url} clip {key}: {problems[0]} (`interiorvideo validate` lists every problem)",
                  ShardError(problems[0]))
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


def cover_size(height: int, width: int, target: tuple[int, int]) -> tuple[int, int]:
    """The size (H', W') a (height, width) image is resized to, keeping its aspect ratio, so that
    it covers ``target``; the spatial crop then cuts ``target`` out of it (the latent cache of
    :mod:`x2video` stores frames at this size, so its crops cut the same images)."""
    th, tw = target
    scale = max(th / height, tw / width)
    return max(th, round(height * scale)), max(tw, round(width * scale))


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
        h2, w2 = cover_size(H, W, target)
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


