"""The training objective of one micro-batch: the window layout (reference, clean anchors), local
prompts with instance masks, the frozen text encoder's prompt cache and the v-prediction loss."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..attention import AttentionContext
from ..conditioning import CHANNELS, ConditioningConfig, IntrinsicConditioner
from ..pipeline import X2VideoPipeline
from ..vae import pass_to_vae
from .config import TrainConfig


def _uniform(gen: torch.Generator) -> float:
    return float(torch.rand((), generator=gen))


@dataclass
class WindowLayout:
    """Which sample frames form the window, whether frame 0 is a clean reference, which frames are
    clean anchors; frames are folded into the batch as (clips · frames)."""

    frames: list[int]
    reference: bool
    clean: torch.Tensor  # (F,) bool: reference / anchors (t = 0, no loss)


def draw_layout(gen: torch.Generator, sample_frames: int, window: int, cfg: TrainConfig) -> WindowLayout:
    """A random window length in [min_window, window]; a reference prepended with p_reference (then
    the window starts one frame later, so the reference is not one of its frames); random clean
    anchors with p_anchors."""
    hi = max(1, min(window, sample_frames - 1))
    lo = min(cfg.min_window, hi)
    length = int(torch.randint(lo, hi + 1, (), generator=gen))
    reference = _uniform(gen) < cfg.p_reference
    frames = [0] + list(range(1, length + 1)) if reference else list(range(length))
    clean = torch.zeros(len(frames), dtype=torch.bool)
    if reference:
        clean[0] = True
    first = 1 if reference else 0
    if length >= 2 and _uniform(gen) < cfg.p_anchors:
        k = int(torch.randint(1, length, (), generator=gen))
        clean[first + torch.randperm(length, generator=gen)[:k]] = True
    return WindowLayout(frames, reference, clean)


class PromptCache:
    """Frozen text encoder outputs, computed once per distinct prompt."""

    def __init__(self, pipe: X2VideoPipeline):
        self.pipe = pipe
        self.cache: dict[str, torch.Tensor] = {}

    def warm(self, prompts: list[str], progress=None) -> None:
        """Encode ``prompts`` now (a split's, before the first step), so steps do not stall on the
        text encoder the first time they meet a prompt; the embeddings are the ones a lazy encode
        would give."""
        todo = [p for p in dict.fromkeys(prompts) if p not in self.cache]
        for i, p in enumerate(todo):
            self([p])
            if progress:
                progress(i + 1, len(todo))

    def __call__(self, prompts: list[str]) -> torch.Tensor:
        for p in prompts:
            if p not in self.cache:
                # One prompt per call: a batched encode differs in the last bits with the batch's
                # make-up, and a resumed run must see exactly the embeddings the first run saw.
                self.cache[p] = self.pipe.encode_prompt([p]).float().cpu()[0]
        return torch.stack([self.cache[p] for p in prompts])


def local_prompts(batch: dict, frames: list[int], gen: torch.Generator, cfg: TrainConfig, prompts: PromptCache,
                  latent_hw: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Up to ``max_local`` visible instances with prompts per clip → (B, K, L, C) embeddings and
    (B, F, K, h, w) masks; a clip with fewer gets empty masks (those prompts are never attended)."""
    if cfg.max_local == 0 or _uniform(gen) >= cfg.p_local or "instance" not in batch:
        return None
    inst = batch["instance"][:, frames, 0]  # (B, F, H, W)
    chosen: list[list[tuple[int, str]]] = []
    for b, table in enumerate(batch["local_prompts"]):
        ids = [int(i) for i in torch.unique(inst[b]) if int(i) > 0 and int(i) in table]
        order = torch.randperm(len(ids), generator=gen).tolist()
        chosen.append([(ids[i], table[ids[i]]) for i in order[:cfg.max_local]])
    k = max((len(c) for c in chosen), default=0)
    if k == 0:
        return None
    B, Fr = inst.shape[:2]
    embeds = torch.zeros(B, k, *prompts([""]).shape[1:])
    masks = torch.zeros(B, Fr, k, *inst.shape[-2:], dtype=torch.bool)
    for b, items in enumerate(chosen):
        if items:
            embeds[b, :len(items)] = prompts([t for _, t in items])
            for j, (iid, _) in enumerate(items):
                masks[b, :, j] = inst[b] == iid
    masks = F.interpolate(masks.flatten(0, 1).float(), size=latent_hw, mode="nearest-exact") > 0.5
    return embeds, masks.view(B, Fr, k, *latent_hw)


@torch.no_grad()
def window_latents(pipe: X2VideoPipeline, conditioner: IntrinsicConditioner, batch: dict, frames: list[int],
                   device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """The window's rgb latents (B·F, 4, h, w) and raw conditioning (B·F, 19, h, w), before scale
    factors: read from a latent-cache batch, else encoded from its pixels (the same arithmetic,
    :func:`x2video.latent_cache.encode_clip`)."""
    if "latents" in batch:
        raw = batch["latents"][:, frames].flatten(0, 1).to(device, dtype)
        return raw[:, :4], raw[:, 4:]
    pick = lambda name: batch[name][:, frames].flatten(0, 1).to(device, dtype)  # noqa: E731
    rgb = pipe.vae.encode(pass_to_vae("rgb", pick("rgb"))).latent_dist.mode()
    return rgb, conditioner.encode_raw({c: pick(c) for c in CHANNELS if c in batch})


def training_loss(pipe: X2VideoPipeline, unet: torch.nn.Module, batch: dict, gen: torch.Generator,
                  cfg: TrainConfig, prompts: PromptCache, noise_scheduler, device: torch.device,
                  dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The v-prediction loss of one micro-batch (mean over the frames that are not clean)."""
    B, T = (batch["latents"] if "latents" in batch else batch["rgb"]).shape[:2]
    layout = draw_layout(gen, T, pipe.config.window, cfg)
    Fr = len(layout.frames)
    scale = pipe.pass_scale
    conditioner = IntrinsicConditioner(pipe.vae, ConditioningConfig(
        scale_factors=tuple(scale[c] for c in ("albedo", "normal", "roughness", "metallic"))))
    rgb_raw, cond_raw = window_latents(pipe, conditioner, batch, layout.frames, device, dtype)
    latents = rgb_raw * scale["rgb"]
    keep = torch.rand(B, len(CHANNELS), generator=gen) >= cfg.p_channel_drop
    keep &= (torch.rand(B, 1, generator=gen) >= cfg.p_all_channels_drop)
    keep = keep.repeat_interleave(Fr, dim=0)
    if layout.reference:
        keep[::Fr] = False  # a reference image comes without intrinsics at inference time
    cond = conditioner.assemble(cond_raw, keep=keep.to(device))
    h, w = latents.shape[-2:]
    texts = [("" if _uniform(gen) < cfg.p_prompt_drop else p) for p in batch["prompt"]]
    text = prompts(texts).to(device, dtype).repeat_interleave(Fr, dim=0)
    local = local_prompts(batch, layout.frames, gen, cfg, prompts, (h, w))
    ctx = AttentionContext(num_frames=Fr, reference="given" if layout.reference else "first",
                           temporal_fraction=pipe.config.temporal_fraction,
                           temporal_neighbours=pipe.config.temporal_neighbours, latent_hw=(h, w))
    if local is not None:
        embeds, masks = local
        ctx.local_embeds = embeds.to(device, dtype).repeat_interleave(Fr, dim=0)
        ctx.local_masks = masks.flatten(0, 1).to(device)
    t = torch.randint(0, noise_scheduler.config.num_train_timesteps, (B,), generator=gen).repeat_interleave(Fr)
    clean = layout.clean.repeat(B)
    t = torch.where(clean, torch.zeros_like(t), t).to(device)
    noise = torch.randn(latents.shape, generator=gen).to(device, dtype)
    noisy = torch.where(clean.to(device)[:, None, None, None], latents,
                        noise_scheduler.add_noise(latents, noise, t))
    target = noise_scheduler.get_velocity(latents, noise, t)
    pred = unet(torch.cat([noisy, cond.to(dtype)], dim=1), t, encoder_hidden_states=text,
                cross_attention_kwargs={"x2v": ctx}).sample
    weight = (~clean).to(device, torch.float32)
    per_frame = F.mse_loss(pred.float(), target.float(), reduction="none").mean(dim=(1, 2, 3))
    return (per_frame * weight).sum() / weight.sum().clamp_min(1.0)
