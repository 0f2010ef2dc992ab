"""Sampling X2Video: windows of frames denoised jointly, long videos by Recursive Sampling (or the
autoregressive / independent ablations), dual classifier-free guidance over text and intrinsics.

Each window of a :class:`~x2video.schedule.SamplingPlan` is one batched UNet call per denoising
step: its new frames start from noise, its anchors are the *latents* of frames generated earlier
(given clean, timestep 0, never changed), and an optional reference image takes frame slot 0.
Guidance follows RGB↔X / InstructPix2Pix: three passes (text + intrinsics, intrinsics only,
neither) batched together,

    v = v_∅ + s_x (v_x − v_∅) + s_t (v_tx − v_x),

then rescaled toward the conditional prediction's spread (``guidance_rescale``, Lin et al.).
A frame's starting noise depends only on (seed, frame), so the same seed gives the same video and
sampling modes differ only by what each frame is conditioned on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion import rescale_noise_cfg

from interiorvideo.colour import display_to_hdr, to_uint8

from .attention import AttentionContext
from .conditioning import LATENT_CHANNELS, ConditioningConfig, IntrinsicConditioner
from .schedule import SamplingPlan, Window, plan_sampling
from .seeding import step_generator
from .vae import pass_to_vae

if TYPE_CHECKING:  # the pipeline's __call__ runs sample_video: the import would be circular
    from .pipeline import X2VideoPipeline

# Pass name → channels in the schema layout (T, H, W, C).
PASS_CHANNELS = {"albedo": 3, "normal": 3, "roughness": 1, "metallic": 1, "irradiance": 3}


@dataclass(frozen=True)
class GuidanceConfig:
    text_scale: float = 3.0
    intrinsic_scale: float = 1.5
    rescale: float = 0.7

    @property
    def passes(self) -> int:
        return 1 if self.text_scale == 1.0 and self.intrinsic_scale == 1.0 else 3


@dataclass
class VideoSample:
    hdr: np.ndarray  # (T, H, W, 3) float32 linear HDR
    display: np.ndarray  # (T, H, W, 3) uint8 sRGB (interiorvideo.colour)
    plan: SamplingPlan
    model_calls: int  # UNet calls made (batches of windows × steps; each holds every guidance pass)
    seconds: float
    latents: torch.Tensor  # (T, 4, h, w) the generated latents (anchors are these, bit for bit)


def check_intrinsics(intrinsics: dict[str, np.ndarray], multiple: int) -> tuple[int, int, int]:
    """(T, H, W) of a valid set of intrinsic sequences, or one ValueError naming the problem."""
    present = {k: v for k, v in intrinsics.items() if v is not None}
    unknown = sorted(set(present) - set(PASS_CHANNELS))
    if unknown:
        raise ValueError(f"unknown intrinsic channel(s) {unknown}; expected some of {', '.join(PASS_CHANNELS)}")
    if not present:
        raise ValueError(f"no intrinsic channel given; expected some of {', '.join(PASS_CHANNELS)}")
    shapes = {}
    for name, arr in present.items():
        a = np.asarray(arr)
        if a.ndim != 4 or a.shape[-1] != PASS_CHANNELS[name]:
            raise ValueError(f"intrinsic {name!r} has shape {a.shape}; expected (T, H, W, {PASS_CHANNELS[name]})")
        if not np.isfinite(a).all():
            raise ValueError(f"intrinsic {name!r} holds NaN or infinite values")
        shapes[name] = a.shape[:3]
    if len(set(shapes.values())) > 1:
        raise ValueError("intrinsic channels differ in size: " + ", ".join(f"{k} {v}" for k, v in shapes.items()))
    T, H, W = next(iter(shapes.values()))
    if H % multiple or W % multiple:
        raise ValueError(f"frame size {W}x{H} must be a multiple of {multiple} for this model")
    return T, H, W


class _Context:
    """Everything a window needs that does not change between windows."""

    def __init__(self, pipe: X2VideoPipeline, intrinsics: dict[str, np.ndarray], prompt: str,
                 local_prompts: Sequence[tuple[np.ndarray, str]], guidance: GuidanceConfig, device, dtype,
                 temporal_neighbours: int | None):
        self.pipe, self.guidance, self.device, self.dtype = pipe, guidance, device, dtype
        self.temporal_neighbours = temporal_neighbours
        scale = pipe.pass_scale
        self.scale_rgb = scale["rgb"]
        conditioner = IntrinsicConditioner(pipe.vae, ConditioningConfig(
            scale_factors=tuple(scale[c] for c in LATENT_CHANNELS),
            irradiance=pipe.config.get("irradiance_encoding") or "display"))  # exports before it: display
        tensors = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)).permute(0, 3, 1, 2)
                   for k, v in intrinsics.items() if v is not None}
        T = next(iter(tensors.values())).shape[0]
        chunks = [conditioner.encode({k: v[i:i + 8].to(device, dtype) for k, v in tensors.items()})
                  for i in range(0, T, 8)]
        self.cond = torch.cat(chunks)  # (T, 19, h, w)
        self.latent_hw = tuple(self.cond.shape[-2:])
        texts = [prompt, ""]
        emb = pipe.encode_prompt(texts).to(device, dtype)
        self.text, self.empty = emb[0], emb[1]
        self.local_masks = self.local_embeds = None
        if local_prompts:
            masks = []
            for mask, _ in local_prompts:
                m = np.asarray(mask, dtype=bool)
                if m.ndim == 2:
                    m = np.broadcast_to(m, (T, *m.shape))
                if m.shape[0] != T:
                    raise ValueError(f"local prompt mask has {m.shape[0]} frames; the video has {T}")
                masks.append(torch.from_numpy(np.ascontiguousarray(m)).float())
            stacked = torch.stack(masks, dim=1)  # (T, K, H, W)
            self.local_masks = F.interpolate(stacked, size=self.latent_hw, mode="nearest-exact") > 0.5
            self.local_embeds = pipe.encode_prompt([t for _, t in local_prompts]).to(device, dtype)  # (K, L, C)

    def guided_rows(self, rows: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Text states for the guidance passes × rows, and the local-prompt states per row."""
        if self.guidance.passes == 1:
            text = self.text.expand(rows, -1, -1)
        else:
            text = torch.cat([self.text.expand(rows, -1, -1), self.empty.expand(2 * rows, -1, -1)])
        local = None
        if self.local_embeds is not None:
            K = self.local_embeds.shape[0]
            real = self.local_embeds.expand(rows, K, -1, -1)
            local = real if self.guidance.passes == 1 else torch.cat(
                [real, self.empty.expand(2 * rows, K, -1, -1)])
        return text, local


@torch.no_grad()
def _denoise_windows(ctx: _Context, windows: Sequence[Window], latents: dict[int, torch.Tensor],
                     reference: torch.Tensor | None, steps: int, seed: int, perframe: bool,
                     scheduler_factory: Callable, tick: Callable[[], None]) -> list[dict[int, torch.Tensor]]:
    """Windows of one stage and one size denoised together: their frames are stacked in the batch
    (window after window, each a group of ``num_frames`` rows for the attention processors), one
    UNet call per step for all of them. Returns each window's new latents."""
    pipe, device, dtype = ctx.pipe, ctx.device, ctx.dtype
    n_ref = 1 if reference is not None else 0
    h, w = ctx.latent_hw
    xs, news, conds, masks = [], [], [], []
    for window in windows:
        frames, new_set = list(window.frames), set(window.new)
        x = torch.stack([latents[f] if f not in new_set else
                         torch.randn((4, h, w), generator=step_generator(seed, f)).to(device, dtype) for f in frames])
        is_new = torch.tensor([f in new_set for f in frames], device=device)
        cond = ctx.cond[frames]
        m = ctx.local_masks[frames] if ctx.local_masks is not None else None
        if n_ref:
            x = torch.cat([reference[None], x])
            is_new = torch.cat([torch.zeros(1, dtype=torch.bool, device=device), is_new])
            cond = torch.cat([torch.zeros_like(cond[:1]), cond])
            m = None if m is None else torch.cat([torch.zeros_like(m[:1]), m])
        xs.append(x)
        news.append(is_new)
        conds.append(cond)
        masks.append(m)
    Fr = xs[0].shape[0]
    x, is_new, cond = torch.cat(xs), torch.cat(news), torch.cat(conds)
    rows = x.shape[0]
    passes = ctx.guidance.passes
    cond_rows = cond if passes == 1 else torch.cat([cond, cond, torch.zeros_like(cond)])
    text, local = ctx.guided_rows(rows)
    actx = AttentionContext(num_frames=Fr, latent_hw=(h, w),
                            reference="none" if perframe else ("given" if n_ref else "first"),
                            temporal_fraction=0.0 if perframe else pipe.config.temporal_fraction,
                            temporal_neighbours=ctx.temporal_neighbours)
    if local is not None:
        actx.local_embeds = local
        actx.local_masks = torch.cat(masks).repeat(passes, 1, 1, 1).to(device)
    scheduler = scheduler_factory()
    scheduler.set_timesteps(steps, device=device)
    for t in scheduler.timesteps:
        ts = torch.where(is_new, t.to(device), torch.zeros((), dtype=t.dtype, device=device)).repeat(passes)
        model_in = torch.cat([x.repeat(passes, 1, 1, 1), cond_rows], dim=1)
        v = pipe.unet(model_in, ts, encoder_hidden_states=text, cross_attention_kwargs={"x2v": actx}).sample
        if passes == 3:
            v_tx, v_x, v_0 = v.chunk(3)
            g = ctx.guidance
            guided = v_0 + g.intrinsic_scale * (v_x - v_0) + g.text_scale * (v_tx - v_x)
            if g.rescale > 0:
                guided = rescale_noise_cfg(guided, v_tx, guidance_rescale=g.rescale)
            v = guided
        stepped = scheduler.step(v, t, x).prev_sample
        x = torch.where(is_new[:, None, None, None], stepped, x)  # anchors and reference stay as they are
        tick()
    out = []
    for j, window in enumerate(windows):
        block, new_set = x[j * Fr:(j + 1) * Fr], set(window.new)
        out.append({f: block[n_ref + i] for i, f in enumerate(window.frames) if f in new_set})
    return out


def resolve_neighbours(value: int | str | None, model: int | None) -> int | None:
    """A temporal neighbourhood as given (an int ≥ 1, "all", "model") → the AttentionContext's
    value (None: every frame of the window)."""
    if isinstance(value, str) and value.strip() == "model":
        return model
    if isinstance(value, str) and value.strip() == "all":
        return None
    try:
        m = int(value)
    except (TypeError, ValueError):
        m = 0
    if m < 1 or str(value).strip() != str(m):
        raise ValueError(f"temporal_neighbours must be an integer ≥ 1, 'all' or 'model'; got {value!r}")
    return m


@torch.no_grad()
def sample_video(pipe: X2VideoPipeline, intrinsics: dict[str, np.ndarray], *, mode: str = "recursive",
                 perframe: bool = False, prompt: str = "", local_prompts: Sequence[tuple[np.ndarray, str]] = (),
                 reference: np.ndarray | None = None, steps: int = 20, seed: int = 0,
                 guidance: GuidanceConfig | None = None, window: int | None = None,
                 batch_windows: int = 4, temporal_neighbours: int | str = "model",
                 progress: Callable[[int, int], None] | None = None,
                 on_window: Callable[[Window, dict, dict], None] | None = None) -> VideoSample:
    """Render a video from intrinsic sequences (pass name → (T, H, W, C) arrays in the schema
    layout, any subset of albedo, normal, roughness, metallic, irradiance).

    ``batch_windows``: windows of one stage run in one UNet call (they are independent; the
    result is the same to float rounding), at most this many at once (1: one window per call).
    ``window``: frames per window (default the model's). ``temporal_neighbours``: the temporal
    heads see frame 0 and a band of this many frames around the query's own ("model": the
    model's setting; "all": every frame of the window) — so a long window costs m + 1 frames of
    keys per frame; at windows of up to m + 1 frames it is full attention.
    ``progress(done, total)`` counts UNet calls; ``on_window(window, anchors_in, new_out)`` sees
    each window's anchor latents going in and its new latents coming out (frame → latent)."""
    started = time.perf_counter()
    guidance = guidance or GuidanceConfig(*pipe.config.guidance)
    if steps < 1:
        raise ValueError(f"steps must be ≥ 1, got {steps}")
    vae_factor = 2 ** (len(pipe.vae.config.block_out_channels) - 1)
    unet_factor = 2 ** (len(pipe.unet.config.block_out_channels) - 1)
    T, H, W = check_intrinsics(intrinsics, vae_factor * unet_factor)
    if window is not None and (isinstance(window, bool) or not isinstance(window, int) or window < 1):
        raise ValueError(f"window must be an int ≥ 1 (frames per window), got {window!r}")
    win = int(pipe.config.window if window is None else window)
    neighbours = resolve_neighbours(temporal_neighbours, pipe.config.temporal_neighbours)
    n_ref = 1 if reference is not None else 0
    if perframe:
        mode = "independent"  # frames are independent: how they are batched does not matter
    plan = plan_sampling(T, win, mode, reserved=0 if perframe else n_ref)
    device, dtype = pipe.unet.device, pipe.unet.dtype
    ctx = _Context(pipe, intrinsics, prompt, local_prompts, guidance, device, dtype, neighbours)
    ref_latent = None
    if reference is not None:
        ref = np.asarray(reference, dtype=np.float32)
        if ref.shape != (H, W, 3):
            raise ValueError(f"reference image has shape {ref.shape}; expected ({H}, {W}, 3) like the intrinsics")
        img = pass_to_vae("rgb", torch.from_numpy(ref).permute(2, 0, 1)[None].to(device, dtype))
        ref_latent = pipe.vae.encode(img).latent_dist.mode()[0] * ctx.scale_rgb
    batches = plan.batches(batch_windows)
    total = len(batches) * steps
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total)

    def scheduler_factory():
        return pipe.scheduler.__class__.from_config(pipe.scheduler.config)

    latents: dict[int, torch.Tensor] = {}
    for batch in batches:
        outs = _denoise_windows(ctx, batch, latents, None if perframe else ref_latent, steps, seed, perframe,
                                scheduler_factory, tick)
        for w, new in zip(batch, outs):
            if on_window:
                on_window(w, {f: latents[f].clone() for f in w.anchors}, {f: v.clone() for f, v in new.items()})
        for new in outs:
            latents.update(new)
    stacked = torch.stack([latents[f] for f in range(T)])
    display = torch.cat([pipe.vae.decode(stacked[i:i + 8] / ctx.scale_rgb).sample for i in range(0, T, 8)])
    display = ((display.float().clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).cpu()
    hdr = display_to_hdr(display).numpy().astype(np.float32)
    out8 = to_uint8(display.numpy())
    return VideoSample(hdr=hdr, display=out8, plan=plan, model_calls=total,
                       seconds=time.perf_counter() - started, latents=stacked.cpu())
