"""``gt``: the oracle. It returns the ground truth of each call, so its scores show what a perfect
method gets on every metric (PSNR at its cap, SSIM 1, every error 0, monotonicity 1): a check of
the metrics and the tasks themselves."""

from __future__ import annotations

import numpy as np

from .base import Method, MethodInput, MethodOutput


class GroundTruth(Method):
    name = "gt"
    description = "Oracle: returns the ground truth itself (its scores prove the metrics)"
    needs_ground_truth = True

    def run(self, inp: MethodInput) -> MethodOutput:
        if inp.ground_truth is None:
            raise ValueError(f"gt: no ground truth for task {inp.task} clip {inp.clip} call {inp.call}")
        return MethodOutput(np.array(inp.ground_truth, np.float32, copy=True), "linear", seconds=0.0, model_calls=0)
