"""FVD (Fréchet Video Distance, Unterthiner et al. 2018): a set-level metric over all clips of a method × task.

Each clip's prediction and ground truth become I3D features; FVD is the Fréchet distance between
the Gaussians fitted to the two feature sets. The network is the Kinetics-400 I3D as a TorchScript
file — StyleGAN-V's ``i3d_torchscript.pt``, which reproduces the TF-Hub model of the original FVD —
read from a local path (``--i3d PATH`` or ``X2V_I3D_TORCHSCRIPT``); nothing is downloaded. It is
called as StyleGAN-V does: ``model(videos, rescale=True, resize=True, return_features=True)`` with
videos (N, 3, T, H, W) float in [0, 255] (the display sRGB frames every metric sees), returning the
pre-softmax features. Without the file, FVD rows are written with ``value`` null and the reason.

It is registered with ``scope="set"``: it scores a set of clips, not one clip. The runner stores each
clip's features (:func:`features`) with its unit and computes FVD (:func:`fvd`) when it merges the
tables, as the row of clip :data:`benchmarks.results.SET_LEVEL_CLIP`. FVD on a handful of clips is a
loose estimate (the usual protocol uses hundreds); the row's ``frames`` column says how much it saw.
"""

from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from scipy import linalg

from .registry import MetricResult, MetricUnavailable, register

ENV_VAR = "X2V_I3D_TORCHSCRIPT"
INSTALL_HINT = (f"FVD needs the Kinetics-400 I3D TorchScript network (StyleGAN-V's i3d_torchscript.pt) as a local "
                f"file: pass --i3d PATH or set {ENV_VAR}=PATH")


class I3DUnavailable(MetricUnavailable):
    """The I3D file named is absent or not TorchScript."""


def resolve_i3d(path: str | os.PathLike | None = None) -> Path | None:
    """The I3D file from the argument, else the environment variable; None when neither is given."""
    chosen = path or os.environ.get(ENV_VAR)
    if not chosen:
        return None
    p = Path(chosen).expanduser()
    if not p.is_file():
        raise I3DUnavailable(f"I3D TorchScript file not found: {p} ({INSTALL_HINT})")
    return p


@functools.lru_cache(maxsize=2)
def _model(path: str, device: str):
    try:
        with warnings.catch_warnings():  # torch marks TorchScript deprecated; the I3D is published as one
            warnings.simplefilter("ignore", FutureWarning)
            return torch.jit.load(path, map_location=device).eval()
    except Exception as exc:  # torch raises RuntimeError/ValueError for non-TorchScript files
        raise I3DUnavailable(f"{path}: not a loadable TorchScript file ({exc})") from None


def i3d_features(display: np.ndarray, path: str | os.PathLike) -> np.ndarray:
    """Features (D,) of one display sRGB clip (T, H, W, 3) in [0, 1]."""

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = _model(str(path), device)
    x = torch.from_numpy(np.ascontiguousarray(display, np.float32) * 255.0).permute(3, 0, 1, 2)[None].to(device)
    with torch.no_grad():
        f = model(x, rescale=True, resize=True, return_features=True)
    return f.reshape(-1).double().cpu().numpy()


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to feature sets a, b of shape (N, D), N ≥ 2."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim != 2 or a.shape != b.shape or len(a) < 2:
        raise ValueError(f"FVD needs two feature sets of the same shape with at least 2 clips, got {a.shape}/{b.shape}")
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    with warnings.catch_warnings():  # few clips give singular covariances; handled below as pytorch-fid does
        warnings.simplefilter("ignore")
        covmean, _ = linalg.sqrtm(sa @ sb, disp=False)
        if not np.isfinite(covmean).all():
            offset = np.eye(len(sa)) * 1e-6
            covmean, _ = linalg.sqrtm((sa + offset) @ (sb + offset), disp=False)
    fd = float(np.sum((mu_a - mu_b) ** 2) + np.trace(sa + sb - 2.0 * np.real(covmean)))
    return max(fd, 0.0)


def features(pred: np.ndarray, gt: np.ndarray, i3d: str | os.PathLike | None = None, **_: Any) -> dict:
    """One clip's I3D features of the prediction and of the ground truth (display sRGB clips)."""
    path = resolve_i3d(i3d)
    if path is None:
        raise MetricUnavailable(INSTALL_HINT)
    return {"pred": i3d_features(pred, path).tolist(), "gt": i3d_features(gt, path).tolist()}


def check(i3d: str | os.PathLike | None = None, **_: Any) -> None:
    """Before a run: an I3D file that is named must exist (none named: FVD is recorded as missing)."""
    resolve_i3d(i3d)


@register("fvd", area="fidelity", higher_is_better=False, scope="set", features=features, check=check,
          needs_weights=f"the I3D TorchScript network (--i3d PATH or {ENV_VAR})",
          description="Fréchet Video Distance between I3D features of all predicted and ground-truth clips of a "
                      "method × task (set-level; I3D TorchScript from a local file)")
def fvd(clips: Sequence[dict], **_: Any) -> MetricResult:
    """FVD over the clips' features (each ``{"pred": [...], "gt": [...]}``); missing below 2 clips."""
    try:
        return MetricResult(frechet_distance(np.array([c["pred"] for c in clips]),
                                             np.array([c["gt"] for c in clips])))
    except ValueError as exc:
        return MetricResult.missing(str(exc))
