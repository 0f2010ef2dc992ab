"""How a trained tiny X2Video renders one clip, against its ground truth, under several guidance
settings, next to the analytic albedo × irradiance — the figures behind the tiny model's default
guidance (none) and the demo's learning rate.

    python perf/probe_tiny_quality.py --checkpoint RUN --data DATASET --clip KEY --frames 16 --steps 20
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import torch
from skimage.metrics import peak_signal_noise_ratio

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from interiorvideo.colour import hdr_to_display  # noqa: E402
from interiorvideo.dataset import Dataset  # noqa: E402
from x2video.pipeline import load_pipeline  # noqa: E402
from x2video.sampling import GuidanceConfig, sample_video  # noqa: E402

CHANNELS = ("albedo", "normal", "roughness", "metallic", "irradiance")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--clip", required=True)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--steps", type=int, default=20)
    args = ap.parse_args()
    pipe = load_pipeline(args.checkpoint)
    clip = Dataset.open(args.data).read_clip(args.clip)
    T = args.frames
    intrinsics = {k: clip[k][:T].astype(np.float32) for k in CHANNELS}
    display = lambda hdr: hdr_to_display(torch.from_numpy(np.asarray(hdr, np.float32))).numpy()  # noqa: E731
    gt = display(clip["rgb"][:T])
    for g in (GuidanceConfig(1.0, 1.0, 0.0), GuidanceConfig(3.0, 1.5, 0.7), GuidanceConfig(1.0, 2.0, 0.0)):
        out = sample_video(pipe, intrinsics, steps=args.steps, seed=0, prompt=clip["meta"]["prompt"], guidance=g)
        psnr = peak_signal_noise_ratio(gt, out.display.astype(np.float32) / 255, data_range=1)
        print(f"text {g.text_scale}, intrinsics {g.intrinsic_scale}, rescale {g.rescale}: PSNR {psnr:.2f} dB")
    pbr = display(intrinsics["albedo"] * intrinsics["irradiance"])
    print(f"albedo x irradiance: PSNR {peak_signal_noise_ratio(gt, pbr, data_range=1):.2f} dB")


if __name__ == "__main__":
    main()
