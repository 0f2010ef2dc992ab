"""Tone-mapped previews of a clip's passes side by side, as a video a person can watch.

HDR passes share one exposure for the whole clip (from its log-average luminance), so the
preview itself does not flicker; depth uses a fixed colour map over the clip's range; instance
ids get stable pseudo-random colours.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import colormaps

from ..colour import hdr_to_display, linear_to_srgb, to_uint8
from ..fileio import atomic_write_bytes
from ..video import mp4_bytes

TILES = ("rgb", "albedo", "normal", "irradiance", "roughness", "metallic", "depth", "instance")


def tonemap(hdr: np.ndarray, key: float = 0.18) -> np.ndarray:
    """Reinhard with one exposure for the whole array, then sRGB → uint8."""
    lum = hdr[..., :3].astype(np.float64) @ np.array([0.2126, 0.7152, 0.0722])
    lum = lum[lum > 0]
    scale = key / np.exp(np.mean(np.log(lum + 1e-6))) if lum.size else 1.0
    return to_uint8(hdr_to_display(hdr, exposure=scale))


def pass_images(clip: dict) -> dict[str, np.ndarray]:
    """(T, H, W, 3) uint8 per pass."""
    out = {}
    if "rgb" in clip:
        out["rgb"] = tonemap(clip["rgb"])
    if "irradiance" in clip:
        out["irradiance"] = tonemap(clip["irradiance"])
    if "albedo" in clip:
        out["albedo"] = to_uint8(linear_to_srgb(clip["albedo"]))
    if "normal" in clip:
        n = clip["normal"]
        out["normal"] = np.where((np.abs(n).sum(-1, keepdims=True) > 0), to_uint8(n * 0.5 + 0.5), 0).astype(np.uint8)
    for name in ("roughness", "metallic"):
        if name in clip:
            out[name] = np.repeat(to_uint8(clip[name]), 3, axis=-1)
    if "depth" in clip:
        d = clip["depth"][..., 0]
        hi = float(d.max()) if d.size and d.max() > 0 else 1.0
        rgb = colormaps["viridis"](np.clip(d / hi, 0, 1))[..., :3]
        out["depth"] = np.where(d[..., None] > 0, to_uint8(rgb), 0).astype(np.uint8)
    if "instance" in clip:
        ids = clip["instance"].astype(np.uint64)
        h = (ids * np.uint64(2654435761)) % np.uint64(1 << 24)
        rgb = np.stack([(h >> np.uint64(s)) & np.uint64(255) for s in (0, 8, 16)], axis=-1).astype(np.uint8)
        out["instance"] = np.where(ids[..., None] > 0, rgb, 0).astype(np.uint8)
    return out


def preview_grid(clip: dict, columns: int = 4) -> np.ndarray:
    imgs = pass_images(clip)
    tiles = [imgs[name] for name in TILES if name in imgs]
    T, H, W, _ = tiles[0].shape
    while len(tiles) % columns:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.concatenate(tiles[i:i + columns], axis=2) for i in range(0, len(tiles), columns)]
    return np.concatenate(rows, axis=1)


def preview_bytes(clip: dict, fps: float | None = None) -> bytes:
    """The preview video (passes side by side) as mp4 bytes."""
    return mp4_bytes(preview_grid(clip), fps or float(clip.get("meta", {}).get("fps", 24.0)))


def write_preview(clip: dict, path: str | Path, fps: float | None = None) -> Path:
    return atomic_write_bytes(path, preview_bytes(clip, fps))
