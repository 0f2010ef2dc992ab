"""MP4 encoding for previews (imageio with the ffmpeg that imageio-ffmpeg bundles: no apt)."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np


def mp4_bytes(frames: np.ndarray, fps: float) -> bytes:
    """H.264 bytes of (T, H, W, 3) uint8 frames; odd sizes are cropped to even (libx264)."""
    frames = np.asarray(frames, np.uint8)
    h, w = frames.shape[1] // 2 * 2, frames.shape[2] // 2 * 2
    return iio.imwrite("<bytes>", frames[:, :h, :w], extension=".mp4", fps=fps, codec="libx264",
                       macro_block_size=1)
