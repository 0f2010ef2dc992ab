"""``external``: outputs of other systems (DiffusionRenderer, SVD+ControlNet, …) enter the benchmark as
folders of frames.

Layout of an external folder ``ROOT`` (names as :func:`benchmarks.results.slug` writes them; clip
keys and task names are already safe)::

    ROOT/<task>/<clip>/            frames of the unit's main call
    ROOT/<task>/<clip>/<call>/     frames of its other calls: ``base`` (the unedited input) for
                                   edit-light and local-prompt; ``dim`` (the light at ×0.25) for
                                   edit-light

and in each of those folders either

* one image per frame, the frame index as the name's trailing digits (``00000.png``,
  ``frame_00001.png``…, indices 0..T-1, all frames, the reference task's frame 0 included):
  ``.png``/``.jpg`` are display sRGB (8 or 16 bit), ``.npy`` is an (H, W, 3) float linear HDR
  frame; one kind per folder; or
* ``frames.npy``: the whole clip (T, H, W, 3), float = linear HDR, uint8 = display sRGB.

Frames must have the clip's size. Display frames are scored through the same display mapping as
everything else (the ground truth is tone-mapped to display sRGB at the run's exposure).

What each call's inputs are (intrinsics, prompts, masks, reference) is written by
``x2v-bench export`` (:func:`export_inputs`) in the same layout, so an external system can read
``inputs.npz``/``inputs.json`` from one folder and write its frames into the matching one.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

import cv2
import imageio.v3 as iio
import numpy as np

from interiorvideo.fileio import atomic_write_bytes, atomic_write_json, digest

from ..common import BenchmarkError
from ..results import slug
from .base import Method, MethodInput, MethodOutput

MAIN = "main"
IMAGE_EXTS = (".png", ".jpg", ".jpeg")
CLIP_FILE = "frames.npy"
LAYOUT_HINT = ("expected ROOT/<task>/<clip>/ (main call) or ROOT/<task>/<clip>/<call>/ holding 00000.png … "
               "(or .npy HDR frames) or frames.npy; see `x2v-bench list methods` and benchmarks.methods.external")


def call_dir(root: str | Path, task: str, clip: str, call: str = MAIN) -> Path:
    d = Path(root) / slug(task) / slug(clip)
    return d if call == MAIN else d / slug(call)


def _frame_files(folder: Path) -> dict[int, Path]:
    out: dict[int, Path] = {}
    for p in folder.iterdir():
        if not p.is_file() or p.name == CLIP_FILE or p.suffix.lower() not in (*IMAGE_EXTS, ".npy"):
            continue
        m = re.search(r"(\d+)$", p.stem)
        if m is None:
            continue
        i = int(m.group(1))
        if i in out:
            raise BenchmarkError(f"external frames: {out[i].name} and {p.name} in {folder} both claim frame {i}")
        out[i] = p
    return out


def _read_image(path: Path) -> np.ndarray:
    """An 8- or 16-bit display image as RGB. PNGs go through OpenCV, which keeps 16 bits per
    channel (Pillow, behind imageio, reads a 16-bit RGB PNG as 8-bit)."""
    try:
        if path.suffix.lower() == ".png":
            a = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            if a is None:
                raise ValueError("OpenCV cannot decode it")
            if a.ndim == 3:
                a = a[..., [2, 1, 0, 3][: a.shape[-1]]]  # BGR(A) → RGB(A)
        else:
            a = np.asarray(iio.imread(path))
    except Exception as exc:  # imageio and OpenCV raise many types for unreadable files
        raise BenchmarkError(f"external frame {path}: not a readable image ({exc})") from None
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=-1)
    if a.ndim != 3 or a.shape[-1] not in (3, 4):
        raise BenchmarkError(f"external frame {path}: shape {a.shape}, expected an RGB image")
    a = a[..., :3]
    if a.dtype == np.uint16:
        return (a / 65535.0).astype(np.float32)
    if a.dtype != np.uint8:
        raise BenchmarkError(f"external frame {path}: {a.dtype} pixels, expected 8- or 16-bit")
    return a


def _load_array(path: Path) -> tuple[np.ndarray, str]:
    """A ``.npy`` of frames and its space: float = linear HDR (finite, ≥ 0), uint8 = display sRGB;
    anything else (pickles, integers, booleans) is refused naming the file."""
    try:
        a = np.load(path, allow_pickle=False)
    except Exception as exc:  # a pickle, a truncated or foreign file
        raise BenchmarkError(f"external frames: {path} is not a plain .npy array ({exc})") from None
    if a.dtype == np.uint8:
        return a, "display"
    if a.dtype.kind != "f":
        raise BenchmarkError(f"external frames: {path} holds {a.dtype} values; expected float (linear HDR "
                             "radiance) or uint8 (display sRGB)")
    a = a.astype(np.float32)
    if not np.isfinite(a).all():
        raise BenchmarkError(f"external frames: {path} holds NaN or infinite values")
    if (a < 0).any():
        raise BenchmarkError(f"external frames: {path} holds negative radiance (min {a.min():.4g}); linear HDR "
                             "frames are ≥ 0")
    return a, "linear"


def load_frames(folder: str | Path, frames: int, size: tuple[int, int] | None = None) -> tuple[np.ndarray, str]:
    """(T, H, W, 3) frames and their space ("linear" or "display") from one call folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BenchmarkError(f"external frames: folder {folder} not found; {LAYOUT_HINT}")
    whole = folder / CLIP_FILE
    if whole.is_file():
        a, space = _load_array(whole)
        if a.ndim != 4 or a.shape[-1] != 3 or a.shape[0] != frames:
            raise BenchmarkError(f"external frames: {whole} has shape {a.shape}, expected ({frames}, H, W, 3)")
    else:
        files = _frame_files(folder)
        missing = [i for i in range(frames) if i not in files]
        if missing:
            shown = ", ".join(str(i) for i in missing[:10]) + (" …" if len(missing) > 10 else "")
            raise BenchmarkError(f"external frames: {folder} lacks frame(s) {shown} of 0..{frames - 1} "
                                 f"({len(files)} frame files found); {LAYOUT_HINT}")
        extra = sorted(i for i in files if i >= frames)
        if extra:
            raise BenchmarkError(f"external frames: {folder} has frame(s) {extra[:10]} beyond the clip's {frames}")
        kinds = {files[i].suffix.lower() in IMAGE_EXTS for i in range(frames)}
        if len(kinds) > 1:
            raise BenchmarkError(f"external frames: {folder} mixes images and .npy frames; use one kind")
        if kinds == {True}:
            imgs = [_read_image(files[i]) for i in range(frames)]
            space = "display"
        else:
            loaded = [_load_array(files[i]) for i in range(frames)]
            if {sp for _, sp in loaded} != {"linear"}:
                raise BenchmarkError(f"external frames: {folder}: per-frame .npy files are linear HDR floats "
                                     "(uint8 display frames go in PNGs or one frames.npy)")
            imgs = [im for im, _ in loaded]
            space = "linear"
        shapes = {im.shape for im in imgs}
        if len(shapes) > 1:
            raise BenchmarkError(f"external frames: {folder} has frames of different sizes {sorted(shapes)}")
        a = np.stack(imgs)
    if a.ndim != 4 or a.shape[-1] != 3:
        raise BenchmarkError(f"external frames: {folder} gives shape {a.shape}, expected (T, H, W, 3)")
    if size is not None and a.shape[1:3] != tuple(size):
        raise BenchmarkError(f"external frames: {folder} has {a.shape[2]}x{a.shape[1]} frames, the clip is "
                             f"{size[1]}x{size[0]}; write frames at the clip's size")
    return a, space


class External(Method):
    name = "external"
    description = "Another system's frames from a folder (ROOT/<task>/<clip>[/<call>]/NNNNN.png): --external NAME=DIR"

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else None
        self._fp: dict | None = None

    @classmethod
    def from_options(cls, name: str, options: Mapping[str, Any]) -> "External":
        root = options.get("root")
        if root is None:
            raise BenchmarkError(f"method {name!r} reads another system's frames and needs their folder: "
                                 f"--external {name}=DIR ({LAYOUT_HINT})")
        root = Path(root)
        if not root.is_dir():
            raise BenchmarkError(f"method {name!r}: external folder {root} not found")
        obj = cls(root)
        obj.name = name
        return obj

    def fingerprint(self) -> dict:
        """The folder and every file's size and mtime: changed frames are scored again on resume."""
        if self._fp is None:
            listing = []
            for dirpath, _, names in os.walk(self.root):
                for n in sorted(names):
                    st = os.stat(os.path.join(dirpath, n))
                    listing.append((os.path.relpath(os.path.join(dirpath, n), self.root), st.st_size, st.st_mtime_ns))
            self._fp = {"root": str(self.root.resolve()), "files": digest(sorted(listing))}
        return self._fp

    def check(self, units: Sequence[tuple[str, str, tuple[str, ...]]]) -> None:
        """Every task of the run has its folder (a wrong ROOT fails before anything runs); a missing
        clip or call folder fails that unit alone, with the folder named."""
        missing = sorted({Path(self.root) / slug(t) for t, _, _ in units} - {p for p in self.root.iterdir()})
        if missing:
            shown = ", ".join(str(p) for p in missing)
            raise BenchmarkError(f"method {self.name!r}: no folder for task(s) under {self.root}: {shown}; "
                                 f"{LAYOUT_HINT}")

    def run(self, inp: MethodInput) -> MethodOutput:
        shape = next(iter(inp.intrinsics.values())).shape[1:3] if inp.intrinsics else None
        frames, space = load_frames(call_dir(self.root, inp.task, inp.clip, inp.call), inp.frames, shape)
        return MethodOutput(frames, space)


def export_inputs(instances, out: str | Path) -> list[Path]:
    """Write what each call of each task instance gives a method, in the external layout:
    ``inputs.npz`` (intrinsic passes, ``reference`` when given, ``local_mask_<i>`` masks) and
    ``inputs.json`` (prompt, local prompt texts, frames, size, fps, camera, details)."""

    written = []
    for inst in instances:
        for name, call in inst.calls.items():
            d = call_dir(out, inst.task, inst.clip, name)
            arrays = dict(call.intrinsics)
            if call.reference is not None:
                arrays["reference"] = call.reference
            for i, (mask, _) in enumerate(call.local_prompts):
                arrays[f"local_mask_{i}"] = np.asarray(mask, bool)
            buf = io.BytesIO()
            np.savez_compressed(buf, **arrays)
            atomic_write_bytes(d / "inputs.npz", buf.getvalue())
            T, H, W = inst.frames, *next(iter(call.intrinsics.values())).shape[1:3]
            atomic_write_json(d / "inputs.json", {
                "task": inst.task, "clip": inst.clip, "call": name, "frames": T, "height": H, "width": W,
                "fps": inst.fps, "channels": sorted(call.intrinsics), "prompt": call.prompt,
                "local_prompts": [{"mask": f"local_mask_{i}", "text": t}
                                  for i, (_, t) in enumerate(call.local_prompts)],
                "reference": "reference" if call.reference is not None else None,
                "camera": {"K": np.asarray(inst.camera["K"]).tolist(),
                           "poses": np.asarray(inst.camera["poses"]).tolist()},
                "details": inst.details, "skip_reason": inst.skip_reason,
                "write": f"{T} frames 00000.png … {T - 1:05d}.png (display sRGB) or .npy (linear HDR) "
                         f"into this folder",
            })
            written.append(d)
    return written
