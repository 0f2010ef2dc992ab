"""Intrinsic sequences from a folder of per-frame images, so people can render with their own
engine's G-buffers, and from an InteriorVideo dataset clip.

Folder layout (any subset of the passes; every pass present must have the same frames)::

    FOLDER/albedo/0000.png ...      base colour, sRGB-encoded 8/16-bit PNG (or linear .exr / .npy)
    FOLDER/normal/0000.png ...      camera-space normals, OpenCV camera (x right, y down, z forward),
                                    PNG as n * 0.5 + 0.5 (or .exr / .npy with values in [−1, 1])
    FOLDER/roughness/0000.png ...   grayscale PNG in [0, 1] (or .exr / .npy)
    FOLDER/metallic/0000.png ...    grayscale PNG in [0, 1] (or .exr / .npy)
    FOLDER/irradiance/0000.exr ...  linear HDR irradiance (rgb = albedo · irradiance on a Lambertian
                                    surface): .exr or .npy (PNG is refused: it cannot hold HDR)

Frames are the files of each pass sorted by name. ``.npy`` files hold (H, W, C) float arrays.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import OpenEXR
from PIL import Image

from interiorvideo.colour import srgb_to_linear
from interiorvideo.dataset import Dataset

from .sampling import PASS_CHANNELS

SUFFIXES = (".png", ".exr", ".npy")


def _read_exr(path: Path) -> np.ndarray:
    with OpenEXR.File(str(path)) as f:
        channels = f.channels()
        if "RGB" in channels:
            return np.asarray(channels["RGB"].pixels, dtype=np.float32)
        if "RGBA" in channels:
            return np.asarray(channels["RGBA"].pixels, dtype=np.float32)[..., :3]
        for name in ("Y", "R", "V"):
            if name in channels:
                return np.asarray(channels[name].pixels, dtype=np.float32)[..., None]
        raise ValueError(f"{path}: no RGB, RGBA, Y, R or V channel (has {', '.join(channels)})")


def _read_png(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        a = np.asarray(im)
    if a.dtype == np.uint8:
        x = a.astype(np.float32) / 255.0
    elif a.dtype in (np.uint16, np.int32):
        x = a.astype(np.float32) / 65535.0
    else:
        raise ValueError(f"{path}: unsupported PNG sample type {a.dtype}")
    return x[..., None] if x.ndim == 2 else x[..., :3]


def read_frame(name: str, path: Path) -> np.ndarray:
    """One frame of pass ``name`` as (H, W, C) float32 in the clip contract's units."""
    suffix = path.suffix.lower()
    if suffix == ".npy":
        x = np.load(path, allow_pickle=False).astype(np.float32)
        x = x[..., None] if x.ndim == 2 else x
    elif suffix == ".exr":
        x = _read_exr(path)
    elif suffix == ".png":
        if name == "irradiance":
            raise ValueError(f"{path}: irradiance must be HDR (.exr or .npy), not PNG")
        x = _read_png(path)
        if name == "albedo":
            x = srgb_to_linear(x).astype(np.float32)
        elif name == "normal":
            x = x * 2.0 - 1.0
    else:
        raise ValueError(f"{path}: unsupported file type (use {', '.join(SUFFIXES)})")
    want = PASS_CHANNELS[name]
    if x.shape[-1] == 3 and want == 1:
        x = x[..., :1]
    elif x.shape[-1] == 1 and want == 3 and name == "albedo":
        x = np.repeat(x, 3, axis=-1)  # a grey albedo map
    if x.shape[-1] != want:
        raise ValueError(f"{path}: {x.shape[-1]} channel(s), {name} needs {want}")
    if name == "normal":
        norm = np.linalg.norm(x, axis=-1, keepdims=True)
        x = np.where(norm > 0.5, x / np.maximum(norm, 1e-8), 0.0).astype(np.float32)
    return x


def read_intrinsics_folder(folder: str | Path) -> dict[str, np.ndarray]:
    """Pass name → (T, H, W, C) float32 from the documented folder layout."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"intrinsics folder not found: {root}")
    out: dict[str, np.ndarray] = {}
    counts = {}
    for name in PASS_CHANNELS:
        sub = root / name
        if not sub.is_dir():
            continue
        files = sorted(p for p in sub.iterdir() if p.suffix.lower() in SUFFIXES)
        if not files:
            raise ValueError(f"{sub}: no frames ({', '.join(SUFFIXES)} files)")
        frames = [read_frame(name, p) for p in files]
        sizes = {f.shape[:2] for f in frames}
        if len(sizes) > 1:
            raise ValueError(f"{sub}: frames differ in size {sorted(sizes)}")
        out[name] = np.stack(frames)
        counts[name] = len(files)
    if not out:
        raise ValueError(f"{root}: no intrinsic pass folders; expected some of {', '.join(PASS_CHANNELS)} "
                         f"(see `x2v sample --help`)")
    if len(set(counts.values())) > 1:
        raise ValueError(f"{root}: passes have different frame counts: "
                         + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return out


def read_dataset_clip(data: str | Path | Dataset, key: str) -> dict:
    """A whole clip (schema layout numpy arrays + camera + meta) of an InteriorVideo dataset."""
    return (data if isinstance(data, Dataset) else Dataset.open(data)).read_clip(key)
