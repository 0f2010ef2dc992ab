"""RGB↔X (Zeng et al., SIGGRAPH 2024) as a peer method: its x-to-rgb model, frame by frame.

The user supplies the published model as a local folder in diffusers layout (``unet/`` with the
23-channel conv_in, ``vae/``, ``text_encoder/``, ``tokenizer/``; `x2video.weights.RGBX_HINT` says
how to get it) with ``x2v-bench run --methods rgbx --rgbx DIR``. Nothing is downloaded.

What makes it RGB↔X rather than X2Video's own per-frame baseline, as its published pipeline does:

* inputs: albedo, normal, roughness and metallic VAE-encoded with RGB↔X's per-channel latent
  scales (0.173, 0.175, 0.168, 0.131), irradiance **linear**, clamped to [0, 1], resized to the
  latent grid (X2Video display-maps it instead: the pipeline's ``irradiance_encoding``);
* normals in its camera convention: x right, y up, z towards the viewer (OpenGL), converted from
  the clip contract's OpenCV frame (x right, y down, z forward) by negating y and z;
* sampling: DDIM, zero-terminal-SNR v-prediction with trailing spacing, and its dual guidance
  (text 3.0, intrinsics 1.5, rescale 0.7 by default; options ``text_scale``,
  ``intrinsic_scale``, ``rescale``); every frame alone, no temporal or reference attention;
* output: the decoded image in [0, 1] is taken as linear radiance (RGB↔X works in linear colour:
  its own demo raises sRGB inputs to the power 2.2 before use), so ``output_space`` defaults to
  ``"linear"``; ``"display"`` treats it as sRGB instead.

The same seed gives the same frames; each frame's noise comes from the unit's seed and its index.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch

from x2video.components import pretrained_pipeline
from x2video.sampling import GuidanceConfig, sample_video
from x2video.weights import RGBX_HINT

from ..common import BenchmarkError
from .base import Method, MethodInput, MethodOutput
from .x2video import DTYPES, _default_device, _files_digest

OPENCV_TO_OPENGL = np.array([1.0, -1.0, -1.0], np.float32)


@functools.lru_cache(maxsize=1)
def _load(folder: str, device: str, dtype: str, content: str):
    pipe = pretrained_pipeline(folder)
    pipe.register_to_config(irradiance_encoding="linear", temporal_neighbours=None)
    return pipe.to(device, getattr(torch, dtype))


class RGBX(Method):
    name = "rgbx"
    description = "RGB↔X x-to-rgb (user-supplied folder, --rgbx DIR): every frame alone, its inputs and guidance"
    in_process = True

    def __init__(self, folder: str | Path | None, steps: int = 20, device: str | None = None, dtype: str = "float32",
                 guidance: tuple[float, float, float] = (3.0, 1.5, 0.7), output_space: str = "linear"):
        if folder is None:
            raise BenchmarkError(f"method {self.name!r} needs RGB↔X's x-to-rgb model: --rgbx DIR. Supply {RGBX_HINT}")
        self.folder = Path(folder)
        if not (self.folder / "unet" / "config.json").is_file():
            raise BenchmarkError(f"method {self.name!r}: no unet/config.json under {self.folder}. Supply {RGBX_HINT}")
        if dtype not in DTYPES:
            raise BenchmarkError(f"method {self.name!r}: dtype must be one of {DTYPES}, got {dtype!r}")
        if output_space not in ("linear", "display"):
            raise BenchmarkError(f"method {self.name!r}: output_space must be linear or display, got {output_space!r}")
        if int(steps) < 1:
            raise BenchmarkError(f"method {self.name!r}: steps must be ≥ 1, got {steps}")
        self.steps, self.device, self.dtype, self.output_space = int(steps), device, dtype, output_space
        self.guidance = GuidanceConfig(*map(float, guidance))
        self._digest: str | None = None

    @classmethod
    def from_options(cls, name: str, options: Mapping[str, Any]) -> "RGBX":
        guidance = (options.get("text_scale", 3.0), options.get("intrinsic_scale", 1.5), options.get("rescale", 0.7))
        obj = cls(options.get("rgbx"), options.get("steps", 20), options.get("device"), options.get("dtype", "float32"),
                  guidance, options.get("output_space", "linear"))
        obj.name = name
        return obj

    def _content(self) -> str:
        if self._digest is None:
            self._digest = _files_digest(self.folder)
        return self._digest

    def fingerprint(self) -> dict:
        g = self.guidance
        return {"folder": str(self.folder.resolve()), "files": self._content(), "steps": self.steps,
                "dtype": self.dtype, "guidance": [g.text_scale, g.intrinsic_scale, g.rescale],
                "output_space": self.output_space}

    def run(self, inp: MethodInput) -> MethodOutput:
        pipe = _load(str(self.folder.resolve()), self.device or _default_device(), self.dtype, self._content())
        intrinsics = dict(inp.intrinsics)
        if "normal" in intrinsics:
            intrinsics["normal"] = intrinsics["normal"] * OPENCV_TO_OPENGL
        out = sample_video(pipe, intrinsics, perframe=True, prompt=inp.prompt, steps=self.steps, seed=inp.seed,
                           guidance=self.guidance)
        return MethodOutput(out.display.astype(np.float32) / 255.0, self.output_space, seconds=out.seconds,
                            model_calls=out.model_calls)
