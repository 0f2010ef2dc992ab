"""``X2VideoPipeline``: the X2Video model as one diffusers ``DiffusionPipeline`` (unet, vae, text
encoder, tokenizer, scheduler) with its own settings, saved and loaded in diffusers layout with
safetensors (``save_pretrained`` / ``from_pretrained``; ``model_index.json`` holds the settings).

Training exports this; calling it renders a video (diffusers' conventions, see
:meth:`X2VideoPipeline.__call__`; the work is :func:`x2video.sampling.sample_video`). The attention
processors of X2Video are installed whenever a pipeline is built, so a loaded UNet always has them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from diffusers import AutoencoderKL, DiffusionPipeline, UNet2DConditionModel
from diffusers.utils import BaseOutput
from PIL import Image

from .configs import install_processors
from .sampling import GuidanceConfig, sample_video
from .vae import SD21_SCALE_FACTORS, VAE_PASSES
from .weights import MissingWeightsError

OUTPUT_TYPES = ("np", "pt", "pil", "hdr", "latent")


@dataclass
class X2VideoPipelineOutput(BaseOutput):
    """``frames``: the video in the requested ``output_type``; ``hdr``: always the linear HDR
    radiance, (T, H, W, 3) float32 (the display frames are its tone-mapped view)."""

    frames: np.ndarray | torch.Tensor | list[Image.Image]
    hdr: np.ndarray


def _seed_of(generator: torch.Generator | int | None) -> int:
    """The video's seed: an int as it is (None: 0); a ``torch.Generator`` gives one draw of
    ``torch.randint(0, 2**63 - 1, ())`` (so it is consumed, as in diffusers, and a freshly seeded
    generator reproduces the video)."""
    if generator is None:
        return 0
    if isinstance(generator, torch.Generator):
        return int(torch.randint(0, 2**63 - 1, (), generator=generator, device=generator.device))
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        if generator < 0:
            raise ValueError(f"generator as a seed must be ≥ 0, got {generator}")
        return int(generator)
    raise TypeError(f"generator must be a torch.Generator or an int seed (one video per call), "
                    f"got {type(generator).__name__}")


class X2VideoPipeline(DiffusionPipeline):
    """Components plus the settings the paper leaves open (window, temporal head share and
    neighbourhood (None, as in exports from before it: every window frame), latent
    scale factors per pass, prompt length) and the model's default guidance (text scale,
    intrinsic scale, rescale): RGB↔X's (3, 1.5, 0.7) for sd21; none for tiny, where guidance
    measured worse (20.0 vs 20.7 dB, perf/probe_tiny_quality.py) and costs three UNet passes."""

    model_cpu_offload_seq = "text_encoder->unet->vae"

    def __init__(self, unet: UNet2DConditionModel, vae: AutoencoderKL, text_encoder, tokenizer, scheduler,
                 config_name: str = "tiny", window: int = 8, temporal_fraction: float = 0.25,
                 scale_factors: list[float] | tuple[float, ...] = tuple(SD21_SCALE_FACTORS[p] for p in VAE_PASSES),
                 text_max_length: int = 77, guidance: list[float] | tuple[float, ...] = (3.0, 1.5, 0.7),
                 temporal_neighbours: int | None = None, irradiance_encoding: str = "display"):
        super().__init__()
        if len(scale_factors) != len(VAE_PASSES):
            raise ValueError(f"scale_factors needs {len(VAE_PASSES)} values ({', '.join(VAE_PASSES)}), "
                             f"got {len(scale_factors)}")
        install_processors(unet)
        self.register_modules(unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, scheduler=scheduler)
        self.register_to_config(config_name=config_name, window=int(window), temporal_fraction=float(temporal_fraction),
                                scale_factors=[float(s) for s in scale_factors], text_max_length=int(text_max_length),
                                guidance=[float(g) for g in guidance],
                                temporal_neighbours=None if temporal_neighbours is None else int(temporal_neighbours),
                                irradiance_encoding=str(irradiance_encoding))

    @property
    def pass_scale(self) -> dict[str, float]:
        return dict(zip(VAE_PASSES, self.config.scale_factors))

    @torch.no_grad()
    def encode_prompt(self, prompts: list[str]) -> torch.Tensor:
        """(B, text_max_length, C) token states of the text encoder."""
        tokens = self.tokenizer(list(prompts), padding="max_length", max_length=self.config.text_max_length,
                                truncation=True, return_tensors="pt")
        mask = tokens.get("attention_mask") if "token_type_ids" in tokens else None  # BERT wants it, CLIP not
        out = self.text_encoder(input_ids=tokens["input_ids"].to(self.text_encoder.device),
                                attention_mask=None if mask is None else mask.to(self.text_encoder.device))
        return out.last_hidden_state

    def __call__(self, intrinsics: dict[str, np.ndarray], prompt: str = "",
                 local_prompts: Sequence[tuple[np.ndarray, str]] = (), reference: np.ndarray | None = None,
                 num_inference_steps: int = 20, text_scale: float | None = None,
                 intrinsic_scale: float | None = None, guidance_rescale: float | None = None,
                 mode: str = "recursive", perframe: bool = False, window: int | None = None,
                 generator: torch.Generator | int | None = None, output_type: str = "np",
                 return_dict: bool = True, batch_windows: int = 4,
                 temporal_neighbours: int | str = "model") -> X2VideoPipelineOutput | tuple:
        """Render one video from intrinsic sequences; :func:`x2video.sampling.sample_video` does the
        work (same seed, same frames, bit for bit).

        ``intrinsics``: pass name → (T, H, W, C) arrays in the schema layout (any subset of albedo,
        normal, roughness, metallic, irradiance). ``prompt``: the global text; ``local_prompts``:
        (mask (H, W) or (T, H, W), text) pairs; ``reference``: an optional (H, W, 3) linear HDR frame.
        ``text_scale`` / ``intrinsic_scale`` / ``guidance_rescale``: the dual classifier-free
        guidance (:class:`~x2video.sampling.GuidanceConfig`; None takes the model's
        ``config.guidance``). ``mode``: recursive, autoregressive or independent; ``perframe``: no
        temporal attention; ``window``: frames per window (None: the model's); ``batch_windows``:
        independent windows (of one Recursive Sampling stage) denoised per UNet call;
        ``temporal_neighbours``: the temporal heads' band (an int ≥ 1, "all", or "model": the
        model's ``config.temporal_neighbours``).
        ``generator``: a ``torch.Generator`` (one seed is drawn from it) or an int seed; None is 0.

        ``output_type`` sets ``frames``: ``"np"`` (T, H, W, 3) float32 display sRGB in [0, 1];
        ``"pt"`` (T, 3, H, W) float32 tensor, the same values; ``"pil"`` a list of T RGB images —
        these three are the same 8-bit frames; ``"hdr"`` (T, H, W, 3) float32 linear HDR;
        ``"latent"`` (T, 4, h, w) the generated latents. Returns an :class:`X2VideoPipelineOutput`,
        or with ``return_dict=False`` the tuple ``(frames, hdr)``."""
        if output_type not in OUTPUT_TYPES:
            raise ValueError(f"output_type must be one of {', '.join(OUTPUT_TYPES)}, got {output_type!r}")
        if not isinstance(intrinsics, dict):
            raise TypeError(f"intrinsics must be a dict of pass name → (T, H, W, C) array, "
                            f"got {type(intrinsics).__name__}")
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be one string (one video per call), got {type(prompt).__name__}")
        seed = _seed_of(generator)
        default = GuidanceConfig(*self.config.guidance)
        guidance = GuidanceConfig(default.text_scale if text_scale is None else float(text_scale),
                                  default.intrinsic_scale if intrinsic_scale is None else float(intrinsic_scale),
                                  default.rescale if guidance_rescale is None else float(guidance_rescale))
        sample = sample_video(self, intrinsics, mode=mode, perframe=perframe, prompt=prompt,
                              local_prompts=local_prompts, reference=reference, steps=num_inference_steps,
                              seed=seed, guidance=guidance, window=window, batch_windows=batch_windows,
                              temporal_neighbours=temporal_neighbours)
        frames = {"np": lambda: sample.display.astype(np.float32) / 255,
                  "pt": lambda: torch.from_numpy(sample.display).permute(0, 3, 1, 2).float() / 255,
                  "pil": lambda: [Image.fromarray(f) for f in sample.display],
                  "hdr": lambda: sample.hdr,
                  "latent": lambda: sample.latents}[output_type]()
        if not return_dict:
            return frames, sample.hdr
        return X2VideoPipelineOutput(frames=frames, hdr=sample.hdr)


def saved_window(path: str | Path) -> int | None:
    """The window recorded in an export's model_index.json (or a run folder's pipeline/), without
    loading the model; None when there is none (e.g. the long task then asks for 4 of another size)."""
    for index in (Path(path) / "pipeline" / "model_index.json", Path(path) / "model_index.json"):
        try:
            window = json.loads(index.read_text()).get("window")
        except (OSError, ValueError):
            continue
        if isinstance(window, int) and window > 0:
            return window
    return None


def load_pipeline(path: str | Path, **kw) -> X2VideoPipeline:
    """An X2Video pipeline from a local folder: a pipeline export (model_index.json) or a training
    run folder (its ``pipeline/``)."""
    root = Path(path)
    if (root / "pipeline" / "model_index.json").is_file():
        root = root / "pipeline"
    if not (root / "model_index.json").is_file():
        raise MissingWeightsError(f"no X2Video pipeline at {path} (expected model_index.json, or a training run "
                                  f"folder with pipeline/). Train one with `x2v train --data DIR --out RUN`.")
    try:
        return X2VideoPipeline.from_pretrained(root, local_files_only=True, use_safetensors=True, **kw)
    except Exception as e:  # diffusers raises OSError, ValueError, EnvironmentError, safetensors errors
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise MissingWeightsError(f"the X2Video pipeline at {root} is incomplete or damaged ({type(e).__name__}: "
                                  f"{first[:300]}); export it again (`x2v train` writes RUN/pipeline/)") from e
