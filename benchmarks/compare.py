"""``x2v-bench compare GT PRED``: score two images or videos directly with the metric registry.

Inputs: ``.npy`` ((H, W, 3) or (T, H, W, 3); float = linear HDR radiance, uint8 = display sRGB),
images (``.png``/``.jpg``, display sRGB), videos (``.mp4``/``.gif``/``.webm``/``.avi``/``.mov``,
display sRGB), or a folder of frames (trailing digits order them). Two linear inputs are scored
through the metrics' fixed display mapping at ``exposure``; when either is display sRGB, the
linear one is mapped with that same mapping first.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

import imageio.v3 as iio
import numpy as np

from .metrics import METRICS, MetricResult, compute, get_metric, to_display

VIDEO_EXTS = (".mp4", ".gif", ".webm", ".avi", ".mov", ".mkv")
IMAGE_EXTS = (".png", ".jpg", ".jpeg")


def _image(path: Path) -> np.ndarray:
    a = np.asarray(iio.imread(path))
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=-1)
    a = a[..., :3]
    return (a / 65535.0).astype(np.float32) if a.dtype == np.uint16 else a


def load_media(path: str | Path) -> tuple[np.ndarray, str]:
    """(T, H, W, 3) frames and their space ("linear" or "display")."""

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"not found: {path}")
    if path.is_dir():
        frames = sorted(((int(m.group(1)), p) for p in path.iterdir()
                         if p.suffix.lower() in (*IMAGE_EXTS, ".npy") and (m := re.search(r"(\d+)$", p.stem))),
                        key=lambda x: x[0])
        if not frames:
            raise ValueError(f"{path}: no frame files (NNNNN.png/.jpg/.npy)")
        kinds = {p.suffix.lower() == ".npy" for _, p in frames}
        if len(kinds) > 1:
            raise ValueError(f"{path}: mixes .npy and image frames")
        if kinds == {True}:
            return np.stack([np.load(p, allow_pickle=False) for _, p in frames]).astype(np.float32), "linear"
        return np.stack([_image(p) for _, p in frames]), "display"
    ext = path.suffix.lower()
    if ext == ".npy":
        a = np.load(path, allow_pickle=False)
        space = "display" if a.dtype == np.uint8 else "linear"
        a = a[None] if a.ndim == 3 else a
    elif ext in IMAGE_EXTS:
        a, space = _image(path)[None], "display"
    elif ext in VIDEO_EXTS:
        try:
            a = np.asarray(iio.imread(path, index=None))
        except Exception as exc:  # codec / container errors come in many types
            raise ValueError(f"{path}: not a readable video ({exc})") from None
        a, space = (a[..., :3] if a.ndim == 4 else a), "display"
    else:
        raise ValueError(f"{path}: unsupported file type {ext!r}; use .npy, {', '.join(IMAGE_EXTS + VIDEO_EXTS)} "
                         f"or a folder of frames")
    if a.ndim != 4 or a.shape[-1] != 3:
        raise ValueError(f"{path}: shape {a.shape}, expected (H, W, 3) or (T, H, W, 3)")
    return a, space


def compare_media(gt: str | Path, pred: str | Path, metrics: Sequence[str] | None = None, exposure: float = 1.0,
                  lpips_weights: str | None = None) -> dict[str, dict[str, Any]]:
    """Metric name → {value, area, higher_is_better, missing_reason, per_frame}."""
    g, gs = load_media(gt)
    p, ps = load_media(pred)
    if g.shape != p.shape:
        raise ValueError(f"{pred} has shape {p.shape}, {gt} has {g.shape}: they must match frame for frame")
    if gs == ps == "linear":
        space, g_in, p_in = "linear", g, p
    else:
        space, g_in, p_in = "display", to_display(g, exposure, gs), to_display(p, exposure, ps)
    if metrics is None:
        metrics = [m.name for m in METRICS.values() if m.scope == "clip" and m.inputs == "display" and not m.needs
                   and m.against is None and (m.per_frame != "pair" or len(g) >= 2)]
    out = {}
    for n in metrics:
        m = get_metric(n)
        try:
            r = compute(n, p_in, g_in, space=space, exposure=exposure, lpips_weights=lpips_weights)
        except Exception as exc:  # e.g. a temporal metric on one frame, a metric that needs context
            r = MetricResult.missing(f"{type(exc).__name__}: {exc}")
        out[n] = {"value": r.value, "area": m.area, "higher_is_better": m.higher_is_better,
                  "missing_reason": r.missing_reason, "per_frame": r.per_frame}
    return out
