"""The tiny UNet's head count against quality: trains the tiny X2Video as the demo does (same data,
steps, batch, learning rate and seed) once per head count, then renders the val and test clips
with native Recursive Sampling and scores them with x2v-bench's own metrics (PSNR and LPIPS for
fidelity, warping error on ground-truth flow and flicker for temporal consistency).

    python perf/probe_tiny_heads_quality.py --data runs/demo/data --out /tmp/heads --heads 8 2

The cost side of the same choice is perf/probe_tiny_heads.py. Each head count is a different
``TINY_UNET["attention_head_dim"]``, which diffusers reads as the number of heads; this script
swaps the registered ``tiny`` config for the run and restores it, nothing is written to the
library.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from pathlib import Path

import numpy as np
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.metrics.registry import compute  # noqa: E402
from interiorvideo.colour import hdr_to_display  # noqa: E402
from interiorvideo.dataset import Dataset  # noqa: E402
from interiorvideo.render.flow import optical_flow  # noqa: E402
from workbench.demo import DemoConfig  # noqa: E402
from x2video import configs  # noqa: E402
from x2video.pipeline import load_pipeline  # noqa: E402
from x2video.sampling import sample_video  # noqa: E402
from x2video.train import TrainConfig, train  # noqa: E402

CHANNELS = ("albedo", "normal", "roughness", "metallic", "irradiance")
METRICS = ("psnr", "lpips", "warp_error", "flicker")


def display(hdr: np.ndarray) -> np.ndarray:
    return hdr_to_display(torch.from_numpy(np.asarray(hdr, np.float32))).numpy()


def train_with_heads(heads: int, data: str, out: Path, demo: DemoConfig) -> float:
    """Seconds to train the demo's tiny model with ``heads`` attention heads (skipped when done)."""
    if (out / "model_index.json").exists():
        return float("nan")
    original = configs.CONFIGS["tiny"]
    configs.CONFIGS["tiny"] = dataclasses.replace(original, unet={**original.unet, "attention_head_dim": heads})
    try:
        t = time.perf_counter()
        train(TrainConfig(data=data, out=str(out), max_steps=demo.train_steps, vae_steps=demo.vae_steps,
                          batch_size=demo.batch_size, lr=demo.lr, size=demo.size, log_every=100, seed=demo.seed,
                          checkpoint_every=demo.train_steps, latents="build"), log=lambda _: None)
        return time.perf_counter() - t
    finally:
        configs.CONFIGS["tiny"] = original


def score(run: Path, data: Dataset, splits: list[str], frames: int, steps: int) -> np.ndarray:
    pipe = load_pipeline(run)
    rows = []
    for split in splits:
        for key in data.keys(split):
            clip = data.read_clip(key)
            intrinsics = {k: clip[k][:frames].astype(np.float32) for k in CHANNELS}
            gt = display(clip["rgb"][:frames])
            flow = optical_flow(clip["depth"][:frames], clip["camera"]["K"], clip["camera"]["poses"][:frames])
            out = sample_video(pipe, intrinsics, steps=steps, seed=0, prompt=clip["meta"]["prompt"], mode="recursive")
            pred = out.display.astype(np.float32) / 255
            rows.append([compute(m, pred, gt, flow=flow, space="display").value for m in METRICS])
    return np.asarray(rows, dtype=float)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True, help="one trained model per head count goes under here")
    ap.add_argument("--heads", type=int, nargs="+", default=[8, 2])
    ap.add_argument("--splits", nargs="+", default=["val", "test"])
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--steps", type=int, default=DemoConfig().sample_steps)
    args = ap.parse_args()
    demo, data = DemoConfig(), Dataset.open(args.data)
    results = {}
    for heads in args.heads:
        run = Path(args.out) / f"heads{heads}"
        seconds = train_with_heads(heads, args.data, run, demo)
        results[heads] = (seconds, score(run, data, args.splits, args.frames, args.steps))
        print(f"heads {heads}: trained in {seconds:.0f} s", flush=True)
    n = len(next(iter(results.values()))[1])
    print(f"\n{n} clips ({', '.join(args.splits)}), {args.frames} frames, {args.steps} steps, native recursive")
    print("| heads | train s | PSNR dB ↑ | LPIPS ↓ | warp error ↓ | flicker ↓ |")
    print("|---|---|---|---|---|---|")
    for heads, (seconds, rows) in results.items():
        psnr, lp, warp, flick = np.nanmean(rows, axis=0)
        print(f"| {heads} | {seconds:.0f} | {psnr:.2f} | {lp:.4f} | {warp:.5f} | {flick:.4f} |")


if __name__ == "__main__":
    main()
