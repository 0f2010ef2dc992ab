"""What the temporal neighbourhood costs in quality: a trained tiny X2Video renders the test clips
as one long window (all frames denoised jointly) with its temporal heads seeing every frame, or
frame 0 + m neighbours, next to its native Recursive Sampling; scored with x2v-bench's own
metrics (PSNR for fidelity, warping error on ground-truth flow and flicker for temporal
consistency) against the rendered ground truth.

    python perf/probe_neighbourhood_quality.py --checkpoint runs/demo/model --data runs/demo/data --frames 16

A window longer than the training window asks the model for something it never trained on; the
question is which neighbourhood degrades it least, and how far from its native sampling it lands.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.metrics.registry import compute  # noqa: E402
from interiorvideo.colour import hdr_to_display  # noqa: E402
from interiorvideo.dataset import Dataset  # noqa: E402
from interiorvideo.render.flow import optical_flow  # noqa: E402
from x2video.pipeline import load_pipeline  # noqa: E402
from x2video.sampling import sample_video  # noqa: E402

CHANNELS = ("albedo", "normal", "roughness", "metallic", "irradiance")


def display(hdr: np.ndarray) -> np.ndarray:
    return hdr_to_display(torch.from_numpy(np.asarray(hdr, np.float32))).numpy()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="test")
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--neighbours", type=int, nargs="+", default=[0, 7, 3, 1], help="0 = every frame")
    args = ap.parse_args()
    pipe = load_pipeline(args.checkpoint)
    data = Dataset.open(args.data)
    T = args.frames
    variants = [("native recursive", dict(mode="recursive"), "keep")]
    variants += [(f"one {T}-frame window, {'all frames' if m == 0 else f'frame 0 + {m} neighbours'}",
                  dict(mode="recursive", window=T), None if m == 0 else m) for m in args.neighbours]
    scores: dict[str, list[list[float]]] = {name: [] for name, _, _ in variants}
    native = pipe.config.temporal_neighbours
    for key in data.keys(args.split):
        clip = data.read_clip(key)
        intrinsics = {k: clip[k][:T].astype(np.float32) for k in CHANNELS}
        gt = display(clip["rgb"][:T])
        flow = optical_flow(clip["depth"][:T], clip["camera"]["K"], clip["camera"]["poses"][:T])
        for name, kw, m in variants:
            pipe.register_to_config(temporal_neighbours=native if m == "keep" else m)
            out = sample_video(pipe, intrinsics, steps=args.steps, seed=0, prompt=clip["meta"]["prompt"], **kw)
            pred = out.display.astype(np.float32) / 255
            scores[name].append([compute(metric, pred, gt, flow=flow, space="display").value for metric in
                                 ("psnr", "warp_error", "flicker")])
    pipe.register_to_config(temporal_neighbours=native)
    gt_warp = []
    for key in data.keys(args.split):
        clip = data.read_clip(key)
        gt = display(clip["rgb"][:T])
        flow = optical_flow(clip["depth"][:T], clip["camera"]["K"], clip["camera"]["poses"][:T])
        gt_warp.append(compute("warp_error", gt, gt, flow=flow, space="display").value)
    print(f"{len(gt_warp)} {args.split} clips, {T} frames, {args.steps} steps; ground truth's own warp error "
          f"{np.mean(gt_warp):.5f}")
    print("| sampling | PSNR dB ↑ | warp error ↓ | flicker ↓ |")
    print("|---|---|---|---|")
    for name, rows in scores.items():
        psnr, warp, flick = np.nanmean(np.asarray(rows, dtype=float), axis=0)
        print(f"| {name} | {psnr:.2f} | {warp:.5f} | {flick:.4f} |")


if __name__ == "__main__":
    main()
