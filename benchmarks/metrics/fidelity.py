"""Per-frame fidelity against ground truth on display images: PSNR, SSIM (scikit-image), LPIPS, ꟻLIP.

Clip value = mean over frames. Inputs arrive tone-mapped (see :mod:`benchmarks.metrics.display`).
"""

from __future__ import annotations

import warnings

import flip_evaluator
import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from .lpips_offline import INSTALL_HINT, lpips_distance, lpips_model
from .registry import MetricResult, MetricUnavailable, register

PSNR_CAP_DB = 100.0  # identical frames give +inf in skimage; capped so clip means stay finite
# Wang et al. (2004) settings, as skimage's docs give them: 11×11 Gaussian window σ=1.5, population covariance.
SSIM_KWARGS = dict(data_range=1.0, channel_axis=-1, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)


@register("psnr", area="fidelity", higher_is_better=True,
          description=f"PSNR (dB) of display sRGB frames, data range 1, per frame, capped at {PSNR_CAP_DB:g} dB")
def psnr(pred: np.ndarray, gt: np.ndarray, **_) -> MetricResult:
    return MetricResult.from_frames(capped_psnr(g, p) for p, g in zip(pred, gt))


def capped_psnr(reference: np.ndarray, test: np.ndarray) -> float:
    """skimage's PSNR (data range 1), capped at :data:`PSNR_CAP_DB` for identical inputs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # divide by zero on identical inputs
        return min(float(peak_signal_noise_ratio(reference, test, data_range=1.0)), PSNR_CAP_DB)


@register("ssim", area="fidelity", higher_is_better=True,
          description="SSIM of display sRGB frames (Gaussian σ=1.5 window, colour channels averaged), per frame")
def ssim(pred: np.ndarray, gt: np.ndarray, **_) -> MetricResult:
    return MetricResult.from_frames(structural_similarity(g, p, **SSIM_KWARGS) for p, g in zip(pred, gt))


def _check_lpips(lpips_weights: str | None = None, lpips_net: str = "alex", **_) -> None:
    """Before a run: weights that are named must load (none named: the weights folder is used, and
    without it LPIPS is recorded as missing with the reason)."""
    if lpips_weights is None:
        return
    try:
        lpips_model(lpips_net, lpips_weights)
    except MetricUnavailable:
        raise
    except Exception as exc:  # torch.load, pickle and state-dict errors of a foreign file
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise MetricUnavailable(f"--lpips-weights {lpips_weights}: not LPIPS backbone weights ({type(exc).__name__}: "
                                f"{first}); {INSTALL_HINT}") from None


@register("lpips", area="fidelity", higher_is_better=False, check=_check_lpips,
          description="LPIPS v0.1 (AlexNet trunk) between display sRGB frames, per frame",
          needs_weights=f"AlexNet ImageNet backbone from a local file: {INSTALL_HINT}")
def lpips(pred: np.ndarray, gt: np.ndarray, lpips_weights: str | None = None, lpips_net: str = "alex",
          **_) -> MetricResult:
    return MetricResult.from_frames(lpips_distance(gt, pred, lpips_net, lpips_weights))


@register("flip", area="fidelity", higher_is_better=False,
          description="Mean LDR ꟻLIP error (NVIDIA flip-evaluator, 67 pixels per degree) of display sRGB frames")
def flip(pred: np.ndarray, gt: np.ndarray, **_) -> MetricResult:
    vals = []
    for p, g in zip(pred, gt):
        _, mean, _ = flip_evaluator.evaluate(np.ascontiguousarray(g, np.float32), np.ascontiguousarray(p, np.float32),
                                             "LDR", inputsRGB=True, applyMagma=False, computeMeanError=True)
        vals.append(mean)
    return MetricResult.from_frames(vals)
