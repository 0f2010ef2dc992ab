"""X2Video's attention processors, swapped into a diffusers UNet (not a fork of it).

* :class:`HybridSelfAttnProcessor` — the frames of a window are denoised jointly: each frame's
  queries attend to its own tokens and to the reference frame's tokens (reference attention),
  and in the first ``temporal_heads`` heads to the tokens of every frame of the window (full
  temporal attention) — or, with ``temporal_neighbours=m``, to frame 0's and to those of the ``m``
  window frames nearest in time (a band of consecutive frames that holds the query's own, shifted
  inward at the ends), so a long window costs m + 1 frames of keys per frame instead of all of
  them; at windows of up to m + 1 frames it is full attention, bit for bit. The reference is
  frame 0 of the window: the clean latent of a given reference image (``reference="given"``; it then attends only to itself, so it stays clean),
  else the window's first frame (``reference="first"``). ``reference="none"`` with no temporal
  heads is plain per-frame attention — the RGB↔X-style baseline.
* :class:`MaskedCrossAttnProcessor` — one global prompt and K local prompts, each with a mask per
  frame: a token inside mask k attends to the global prompt and local prompt k; outside every
  mask, to the global prompt only.

Both read an :class:`AttentionContext` passed as ``cross_attention_kwargs={"x2v": ctx}`` (the
UNet forwards it to every attention module); without one they behave as diffusers' default.
Frames are folded into the batch: hidden states are (batch·frames, tokens, channels).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from diffusers.models.attention_processor import Attention


@dataclass
class AttentionContext:
    num_frames: int = 1
    reference: Literal["first", "given", "none"] = "first"
    temporal_heads: int = 0  # heads (counted from the first) with full attention over the window
    temporal_fraction: float | None = None  # or a share of each layer's heads (≥ 1 head when > 0)
    temporal_neighbours: int | None = None  # temporal heads see frame 0 + this many nearby frames (None: all)
    local_embeds: torch.Tensor | None = None  # (batch·frames, K, L, C_text)
    local_masks: torch.Tensor | None = None  # (batch·frames, K, h, w) at any resolution, 1 = inside
    latent_hw: tuple[int, int] | None = None  # (h, w) of the latent, to map token counts to shapes


def _project(attn: Attention, hidden: torch.Tensor, context: torch.Tensor):
    q, k, v = attn.to_q(hidden), attn.to_k(context), attn.to_v(context)
    heads = attn.heads
    split = lambda t: t.view(t.shape[0], t.shape[1], heads, -1).transpose(1, 2)  # noqa: E731
    q, k, v = split(q), split(k), split(v)
    if attn.norm_q is not None:
        q = attn.norm_q(q)
    if attn.norm_k is not None:
        k = attn.norm_k(k)
    return q, k, v


def _finish(attn: Attention, out: torch.Tensor, residual: torch.Tensor, shape4d) -> torch.Tensor:
    """(B, heads, N, d) → output projection, as diffusers' AttnProcessor2_0 does."""
    b, h, n, d = out.shape
    out = out.transpose(1, 2).reshape(b, n, h * d)
    out = attn.to_out[1](attn.to_out[0](out))
    if shape4d is not None:
        bb, c, hh, ww = shape4d
        out = out.transpose(-1, -2).reshape(bb, c, hh, ww)
    if attn.residual_connection:
        out = out + residual
    return out / attn.rescale_output_factor


def _prepare(attn: Attention, hidden: torch.Tensor, temb):
    residual = hidden
    if attn.spatial_norm is not None:
        hidden = attn.spatial_norm(hidden, temb)
    shape4d = None
    if hidden.ndim == 4:
        shape4d = hidden.shape
        b, c, h, w = hidden.shape
        hidden = hidden.view(b, c, h * w).transpose(1, 2)
    if attn.group_norm is not None:
        hidden = attn.group_norm(hidden.transpose(1, 2)).transpose(1, 2)
    return hidden, residual, shape4d


class HybridSelfAttnProcessor:
    """Reference + (partial) full-temporal self-attention on scaled_dot_product_attention."""

    def __call__(self, attn: Attention, hidden_states: torch.Tensor, encoder_hidden_states=None,
                 attention_mask=None, temb=None, x2v: AttentionContext | None = None) -> torch.Tensor:
        hidden, residual, shape4d = _prepare(attn, hidden_states, temb)
        ctx = x2v or AttentionContext()
        q, k, v = _project(attn, hidden, hidden)  # (B·F, H, N, d)
        BF, H, N, d = q.shape
        Fr = ctx.num_frames
        if BF % Fr:
            raise ValueError(f"batch·frames {BF} is not a multiple of num_frames {Fr}")
        B = BF // Fr
        if Fr == 1 or (ctx.reference == "none" and ctx.temporal_heads == 0 and not ctx.temporal_fraction):
            return _finish(attn, F.scaled_dot_product_attention(q, k, v), residual, shape4d)
        if ctx.temporal_fraction is not None:
            t = max(1, round(H * ctx.temporal_fraction)) if ctx.temporal_fraction > 0 else 0
        else:
            t = max(0, min(int(ctx.temporal_heads), H))
        # 4-D (batch, heads, tokens, dim) inputs throughout: scaled_dot_product_attention's fused
        # CPU/GPU kernels need them; a 5-D view would fall back to materialising the scores.
        parts = []
        m = ctx.temporal_neighbours
        if t and (m is None or m + 1 >= Fr):  # temporal heads: every frame's queries see every frame's tokens
            def window(x: torch.Tensor) -> torch.Tensor:
                return x[:, :t].reshape(B, Fr, t, N, d).transpose(1, 2).reshape(B, t, Fr * N, d)

            o = F.scaled_dot_product_attention(window(q), window(k), window(v))
            parts.append(o.view(B, t, Fr, N, d).transpose(1, 2).reshape(BF, t, N, d))
        elif t:  # temporal heads over frame 0 and a band of m neighbours
            idx = neighbour_frames(Fr, m).to(q.device)  # (Fr, m + 1)

            def band(x: torch.Tensor) -> torch.Tensor:
                # index_select, not x[:, idx]: the same values, and its backward is an index_add
                # rather than an accumulating index_put (measured: 3x faster forward + backward).
                x = x[:, :t].reshape(B, Fr, t, N, d).index_select(1, idx.flatten())
                x = x.view(B, Fr, m + 1, t, N, d)
                return x.permute(0, 1, 3, 2, 4, 5).reshape(BF, t, (m + 1) * N, d)

            parts.append(F.scaled_dot_product_attention(q[:, :t], band(k), band(v)))
        if t < H:  # spatial heads: own tokens, plus the reference frame's
            qs, ks, vs = q[:, t:], k[:, t:], v[:, t:]
            if ctx.reference != "none":
                def reference(x: torch.Tensor) -> torch.Tensor:
                    x = x.reshape(B, Fr, H - t, N, d)[:, :1].expand(B, Fr, H - t, N, d)
                    return x.reshape(BF, H - t, N, d)

                ks = torch.cat([ks, reference(ks)], dim=2)
                vs = torch.cat([vs, reference(vs)], dim=2)
            parts.append(F.scaled_dot_product_attention(qs, ks, vs))
        out = torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
        if ctx.reference == "given":
            # The reference image's own features stay its own: plain attention for frame 0.
            first = torch.arange(0, BF, Fr, device=q.device)
            out = out.clone()
            out[first] = F.scaled_dot_product_attention(q[first], k[first], v[first])
        return _finish(attn, out, residual, shape4d)


def neighbour_frames(num_frames: int, neighbours: int) -> torch.Tensor:
    """(F, m + 1) key frames of each query frame: frame 0, then ``m`` consecutive frames of
    1 … F−1 centred on the query (its own included) and shifted inward at the ends."""
    m = int(neighbours)
    if m < 1:
        raise ValueError(f"temporal_neighbours must be ≥ 1, got {neighbours}")
    rows = []
    for i in range(num_frames):
        start = min(max(i - m // 2, 1), num_frames - m)
        rows.append([0] + list(range(start, start + m)))
    return torch.tensor(rows, dtype=torch.long)


def _masks_at(masks: torch.Tensor, n_tokens: int, latent_hw: tuple[int, int] | None) -> torch.Tensor:
    """Masks (BF, K, h, w) resized (nearest) to this layer's token grid → (BF, N, K) bool."""
    h0, w0 = latent_hw or masks.shape[-2:]
    s = math.sqrt(h0 * w0 / n_tokens)
    h, w = max(1, round(h0 / s)), max(1, round(w0 / s))
    if h * w != n_tokens:
        raise ValueError(f"cannot map {n_tokens} tokens to a grid of aspect {h0}x{w0}")
    m = F.interpolate(masks.float(), size=(h, w), mode="nearest-exact") > 0.5
    return m.flatten(2).transpose(1, 2)


class MaskedCrossAttnProcessor:
    """Cross-attention to a global prompt and mask-gated local prompts."""

    def __call__(self, attn: Attention, hidden_states: torch.Tensor, encoder_hidden_states=None,
                 attention_mask=None, temb=None, x2v: AttentionContext | None = None) -> torch.Tensor:
        hidden, residual, shape4d = _prepare(attn, hidden_states, temb)
        context = hidden if encoder_hidden_states is None else encoder_hidden_states
        if attn.norm_cross and encoder_hidden_states is not None:
            context = attn.norm_encoder_hidden_states(context)
        ctx = x2v
        if ctx is None or ctx.local_embeds is None or ctx.local_embeds.shape[1] == 0 or encoder_hidden_states is None:
            q, k, v = _project(attn, hidden, context)
            return _finish(attn, F.scaled_dot_product_attention(q, k, v), residual, shape4d)
        BF, N, _ = hidden.shape
        local = ctx.local_embeds  # (BF, K, L, C)
        L = local.shape[2]
        if attn.norm_cross:
            local = attn.norm_encoder_hidden_states(local.flatten(1, 2)).view_as(local)
        keys_ctx = torch.cat([context, local.flatten(1, 2)], dim=1)  # (BF, L_g + K·L, C)
        q, k, v = _project(attn, hidden, keys_ctx)
        inside = _masks_at(ctx.local_masks, N, ctx.latent_hw)  # (BF, N, K)
        allow = torch.cat([torch.ones(BF, N, context.shape[1], dtype=torch.bool, device=hidden.device),
                           inside.repeat_interleave(L, dim=2)], dim=2)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=allow[:, None])
        return _finish(attn, out, residual, shape4d)
