"""The X2Video adapters: one checkpoint, four ways of sampling it.

* ``x2video`` — Recursive Sampling with Hybrid Self-Attention and the reference frame (the method);
* ``x2video-perframe`` — temporal and reference attention off: every frame alone, the RGB↔X-style
  per-frame baseline from the same weights;
* ``x2video-autoregressive`` / ``x2video-independent`` — the sampling ablations of
  :mod:`x2video.schedule`.

These run **in the driver process** (``in_process = True``), not as Ray tasks: the model is loaded
once per checkpoint and device and shared by all four variants and all units, and a GPU is used
serially. Options: ``checkpoint`` (a training run folder or a pipeline export, ``x2v-bench run
--checkpoint``), ``steps`` (denoising steps, default 20), ``device`` (default: CUDA when available),
``dtype`` (``float32``/``float16``/``bfloat16``), ``pipeline`` (an X2VideoPipeline object, for in-process
use such as tests). The unit's seed is the sampling seed, and the same seed is used for a unit's
main and base calls so their difference is the edit's, not the noise's.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import Any, Mapping

import torch

from interiorvideo.fileio import digest
from x2video.pipeline import load_pipeline
from x2video.sampling import sample_video

from ..common import BenchmarkError
from .base import Method, MethodInput, MethodOutput

DTYPES = ("float32", "float16", "bfloat16")


@functools.lru_cache(maxsize=2)
def _load(checkpoint: str, device: str, dtype: str, content: str):
    """``content`` (the files digest) is part of the key: re-exported weights are loaded anew."""

    pipe = load_pipeline(checkpoint)
    return pipe.to(device, getattr(torch, dtype))


def _default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def _files_digest(root: Path) -> str:
    """Digest of the model's *content*: the pipeline export of a run folder (not its logs or
    checkpoints), file by file, so re-exporting the same weights keeps finished units valid."""
    root = root / "pipeline" if (root / "pipeline" / "model_index.json").is_file() else root
    listing = []
    for dirpath, _, names in os.walk(root):
        for n in sorted(names):
            p = os.path.join(dirpath, n)
            h = hashlib.sha256()
            with open(p, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            listing.append((os.path.relpath(p, root), h.hexdigest()))
    return digest(sorted(listing))


def _state_digest(pipe: Any) -> str:
    """Content digest of an in-memory pipeline's UNet and VAE weights (and its settings)."""
    h = hashlib.sha256(repr(sorted(dict(pipe.config).items())).encode())
    for module in (pipe.unet, pipe.vae):
        for name, t in sorted(module.state_dict().items()):
            h.update(name.encode())
            h.update(t.detach().float().cpu().numpy().tobytes())
    return h.hexdigest()


class X2Video(Method):
    name = "x2video"
    description = "X2Video checkpoint: Recursive Sampling, hybrid temporal attention, reference frame"
    in_process = True
    mode = "recursive"
    perframe = False

    def __init__(self, checkpoint: str | Path | None = None, steps: int = 20, device: str | None = None,
                 dtype: str = "float32", pipeline: Any = None):
        if checkpoint is None and pipeline is None:
            raise BenchmarkError(f"method {self.name!r} needs an X2Video checkpoint: --checkpoint DIR (a training "
                                 f"run folder or a pipeline export; `x2v train --data DIR --out RUN` makes one)")
        if dtype not in DTYPES:
            raise BenchmarkError(f"method {self.name!r}: dtype must be one of {DTYPES}, got {dtype!r}")
        if int(steps) < 1:
            raise BenchmarkError(f"method {self.name!r}: steps must be ≥ 1, got {steps}")
        self.checkpoint = Path(checkpoint) if checkpoint is not None else None
        if self.checkpoint is not None and not self.checkpoint.exists():
            raise BenchmarkError(f"method {self.name!r}: checkpoint {self.checkpoint} not found")
        self.steps, self.device, self.dtype, self.pipeline = int(steps), device, dtype, pipeline

    @classmethod
    def from_options(cls, name: str, options: Mapping[str, Any]) -> "X2Video":
        obj = cls(options.get("checkpoint"), options.get("steps", 20), options.get("device"),
                  options.get("dtype", "float32"), options.get("pipeline"))
        obj.name = name
        return obj

    def fingerprint(self) -> dict:
        model = ({"checkpoint": str(self.checkpoint.resolve()), "files": self._content()}
                 if self.pipeline is None else {"pipeline": _state_digest(self.pipeline)})
        return {**model, "steps": self.steps, "mode": self.mode, "perframe": self.perframe, "dtype": self.dtype}

    def _pipe(self):
        if self.pipeline is not None:
            return self.pipeline
        return _load(str(self.checkpoint.resolve()), self.device or _default_device(), self.dtype, self._content())

    def _content(self) -> str:
        """The checkpoint's content digest, computed once per method object (one run)."""
        if getattr(self, "_digest", None) is None:
            self._digest = _files_digest(self.checkpoint)
        return self._digest

    def run(self, inp: MethodInput) -> MethodOutput:
        out = sample_video(self._pipe(), inp.intrinsics, mode=self.mode, perframe=self.perframe, prompt=inp.prompt,
                           local_prompts=inp.local_prompts, reference=inp.reference, steps=self.steps,
                           seed=inp.seed)
        return MethodOutput(out.hdr, "linear", seconds=out.seconds, model_calls=out.model_calls,
                            info={"windows": out.plan.num_windows})


class X2VideoPerFrame(X2Video):
    name = "x2video-perframe"
    description = "Same checkpoint, temporal and reference attention off: RGB↔X-style per-frame baseline"
    perframe = True


class X2VideoAutoregressive(X2Video):
    name = "x2video-autoregressive"
    description = "Same checkpoint, autoregressive sliding windows instead of Recursive Sampling (ablation)"
    mode = "autoregressive"


class X2VideoIndependent(X2Video):
    name = "x2video-independent"
    description = "Same checkpoint, disjoint independent windows (ablation without cross-window anchors)"
    mode = "independent"
