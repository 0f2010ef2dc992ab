"""The ``x2v sample`` job as a library function: gather intrinsics (dataset clip or folder), apply
edits, build local prompts, sample, and write the outputs atomically."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from PIL import Image

from interiorvideo.colour import display_to_hdr
from interiorvideo.edits.intrinsic import apply_edits
from interiorvideo.edits.serialise import parse_edits
from interiorvideo.fileio import atomic_write_bytes
from interiorvideo.video import mp4_bytes

from .intrinsics_io import read_dataset_clip, read_frame, read_intrinsics_folder
from .pipeline import load_pipeline
from .sampling import PASS_CHANNELS, GuidanceConfig, VideoSample, resolve_neighbours, sample_video
from .schedule import plan_sampling


@dataclass
class SampleJob:
    checkpoint: str
    out: str
    data: str | None = None
    clip: str | None = None
    intrinsics: str | None = None
    frames: int | None = None
    channels: Sequence[str] | None = None  # subset of the five; default all present
    mode: str = "recursive"
    perframe: bool = False
    reference: str | None = None
    prompt: str | None = None  # default: the clip's global prompt (dataset) or ""
    local_prompts: Sequence[str] = ()  # "MASK:TEXT", MASK = instance=ID or a mask .png / .npy
    edits: Sequence[str] = ()
    steps: int = 20
    batch_windows: int = 4  # windows of one sampling stage per UNet call
    window: int | None = None  # frames per window; None: the model's
    temporal_neighbours: int | str = "model"  # the temporal heads' band: an int ≥ 1, "all" or "model"
    seed: int = 0
    guidance: GuidanceConfig | None = None  # None: the model's default
    fps: float = 12.0


@dataclass
class SampleOutputs:
    video: Path
    hdr: Path
    frames_dir: Path
    sample: VideoSample


def _load_inputs(job: SampleJob) -> tuple[dict[str, np.ndarray], np.ndarray | None, str, float]:
    if (job.data is None) == (job.intrinsics is None):
        raise ValueError("give either --data with --clip, or --intrinsics FOLDER")
    if job.data is not None:
        if not job.clip:
            raise ValueError("--data needs --clip KEY (see `interiorvideo info --data DIR`)")
        clip = read_dataset_clip(job.data, job.clip)
        passes = {k: clip[k] for k in PASS_CHANNELS if k in clip}
        return passes, clip.get("instance"), clip["meta"].get("prompt", ""), float(clip["meta"].get("fps", job.fps))
    return read_intrinsics_folder(job.intrinsics), None, "", job.fps


def _local_prompts(specs: Sequence[str], instance: np.ndarray | None, thw: tuple[int, int, int]):
    out = []
    for spec in specs:
        where, sep, text = spec.partition(":")
        if not sep or not text.strip():
            raise ValueError(f"--local-prompt {spec!r}: expected MASK:TEXT (MASK = instance=ID, or a mask .png/.npy)")
        if where.startswith("instance="):
            if instance is None:
                raise ValueError(f"--local-prompt {spec!r}: instance masks need --data/--clip (the clip's instance pass)")
            iid = int(where.split("=", 1)[1])
            mask = instance == iid
            if not mask.any():
                raise ValueError(f"--local-prompt {spec!r}: instance {iid} does not appear in the clip")
        else:
            path = Path(where)
            if not path.is_file():
                raise FileNotFoundError(f"--local-prompt {spec!r}: mask file not found: {path}")
            m = np.load(path, allow_pickle=False) if path.suffix == ".npy" else np.asarray(Image.open(path).convert("L")) > 127
            mask = np.broadcast_to(m.astype(bool), thw) if m.ndim == 2 else m.astype(bool)
            if mask.shape != thw:
                raise ValueError(f"--local-prompt {spec!r}: mask shape {m.shape} does not match the video {thw}")
        out.append((mask, text.strip()))
    return out


def _reference(path: str, hw: tuple[int, int]) -> np.ndarray:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"--reference image not found: {p}")
    if p.suffix.lower() in (".exr", ".npy"):
        img = read_frame("irradiance", p)  # linear HDR, 3 channels
    else:
        with Image.open(p) as im:
            display = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
        # An 8-bit image is a display image: invert the model's own display mapping (the frames
        # `x2v sample` writes map back to exactly the radiance they came from).
        img = display_to_hdr(torch.from_numpy(display)).numpy().astype(np.float32)
    if img.shape[:2] != hw:
        raise ValueError(f"--reference {p}: size {img.shape[1]}x{img.shape[0]} differs from the intrinsics' "
                         f"{hw[1]}x{hw[0]}")
    return img


def _png(frame: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, format="PNG")
    return buf.getvalue()


def run_sample(job: SampleJob, progress: Callable[[int, int], None] | None = None) -> SampleOutputs:
    try:  # a bad setting fails before the inputs are read
        resolve_neighbours(job.temporal_neighbours, None)
    except ValueError as exc:
        raise ValueError(f"--temporal-neighbours: {exc}") from None
    passes, instance, clip_prompt, fps = _load_inputs(job)
    T = next(iter(passes.values())).shape[0]
    frames = job.frames or T
    if frames < 1 or frames > T:
        raise ValueError(f"--frames {frames}: the input has {T} frames")
    passes = {k: v[:frames] for k, v in passes.items()}
    instance = None if instance is None else instance[:frames]
    if job.channels is not None:
        unknown = sorted(set(job.channels) - set(PASS_CHANNELS))
        if unknown:
            raise ValueError(f"--channels: unknown {unknown}; choose from {', '.join(PASS_CHANNELS)}")
        missing = sorted(set(job.channels) - set(passes))
        if missing:
            raise ValueError(f"--channels: the input has no {missing} (it has {', '.join(passes)})")
        passes = {k: v for k, v in passes.items() if k in job.channels}
    if job.edits:
        passes = apply_edits(passes, parse_edits(list(job.edits)), instance=instance)
    thw = next(iter(passes.values())).shape[:3]
    local = _local_prompts(job.local_prompts, instance, thw)
    reference = _reference(job.reference, thw[1:]) if job.reference else None
    if job.window is not None:  # a window the plan refuses fails before the model loads
        try:
            plan_sampling(thw[0], job.window, "independent" if job.perframe else job.mode,
                          reserved=0 if job.perframe or reference is None else 1)
        except ValueError as exc:
            raise ValueError(f"--window {job.window}: {exc}") from None
    pipe = load_pipeline(job.checkpoint)
    sample = sample_video(pipe, passes, mode=job.mode, perframe=job.perframe,
                          prompt=clip_prompt if job.prompt is None else job.prompt, local_prompts=local,
                          reference=reference, steps=job.steps, batch_windows=job.batch_windows, seed=job.seed,
                          window=job.window, temporal_neighbours=job.temporal_neighbours,
                          guidance=job.guidance,
                          progress=progress)
    out = Path(job.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    hdr_path = out.with_suffix(".hdr.npy")
    buf = io.BytesIO()
    np.save(buf, sample.hdr)
    atomic_write_bytes(hdr_path, buf.getvalue())
    frames_dir = out.with_name(out.stem + "_frames")
    frames_dir.mkdir(exist_ok=True)
    for i, frame in enumerate(sample.display):
        atomic_write_bytes(frames_dir / f"{i:04d}.png", _png(frame))
    for stale in frames_dir.glob("[0-9][0-9][0-9][0-9].png"):  # frames of an earlier, longer video
        if int(stale.stem) >= len(sample.display):
            stale.unlink()
    atomic_write_bytes(out, mp4_bytes(sample.display, fps))
    return SampleOutputs(out, hdr_path, frames_dir, sample)
