"""Hybrid Self-Attention and Masked Cross-Attention against diffusers' default attention."""

from __future__ import annotations

import os

import pytest
import torch
from diffusers.models.attention_processor import Attention, AttnProcessor2_0

from x2video.attention import AttentionContext, HybridSelfAttnProcessor, MaskedCrossAttnProcessor

os.environ.setdefault("HF_HUB_OFFLINE", "1")
C, HEADS, N = 32, 4, 12  # channels, heads, tokens (a 3x4 latent)


@pytest.fixture
def self_attn():
    torch.manual_seed(0)
    return Attention(query_dim=C, heads=HEADS, dim_head=C // HEADS)


@pytest.fixture
def cross_attn():
    torch.manual_seed(1)
    return Attention(query_dim=C, cross_attention_dim=16, heads=HEADS, dim_head=C // HEADS)


def run(attn, processor, x, **kw):
    attn.set_processor(processor)
    with torch.no_grad():
        return attn(x, **kw)


def test_one_frame_equals_default_attention(self_attn):
    x = torch.randn(2, N, C)
    ref = run(self_attn, AttnProcessor2_0(), x)
    for ctx in (None, AttentionContext(1, "first", 2), AttentionContext(1, "none", 0)):
        out = run(self_attn, HybridSelfAttnProcessor(), x, x2v=ctx) if ctx else run(
            self_attn, HybridSelfAttnProcessor(), x)
        torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


def test_per_frame_mode_keeps_frames_independent(self_attn):
    frames = 4
    x = torch.randn(frames, N, C)
    ctx = AttentionContext(frames, "none", 0)
    a = run(self_attn, HybridSelfAttnProcessor(), x, x2v=ctx)
    y = x.clone()
    y[2] += 1.0
    b = run(self_attn, HybridSelfAttnProcessor(), y, x2v=ctx)
    torch.testing.assert_close(a[[0, 1, 3]], b[[0, 1, 3]])
    torch.testing.assert_close(a, run(self_attn, AttnProcessor2_0(), x))  # = plain per-frame attention


def test_reference_and_temporal_heads_couple_frames(self_attn):
    frames = 4
    x = torch.randn(frames, N, C)
    y = x.clone()
    y[0] += 1.0  # change the reference (first) frame
    ref_only = AttentionContext(frames, "first", 0)
    a, b = (run(self_attn, HybridSelfAttnProcessor(), z, x2v=ref_only) for z in (x, y))
    assert not torch.allclose(a[1:], b[1:])  # every frame sees the reference
    z = x.clone()
    z[3] += 1.0
    c = run(self_attn, HybridSelfAttnProcessor(), z, x2v=ref_only)
    torch.testing.assert_close(a[:3], c[:3])  # without temporal heads frame 3 affects nobody else
    full = AttentionContext(frames, "first", 2)
    d, e = (run(self_attn, HybridSelfAttnProcessor(), w, x2v=full) for w in (x, z))
    assert not torch.allclose(d[1], e[1])  # with temporal heads it does


def test_permuting_frames_permutes_outputs(self_attn):
    frames = 5
    x = torch.randn(2 * frames, N, C)  # batch of 2 windows
    ctx = AttentionContext(frames, "given", 2)  # frame 0 of each window is the given reference
    out = run(self_attn, HybridSelfAttnProcessor(), x, x2v=ctx).view(2, frames, N, C)
    perm = torch.tensor([0, 3, 1, 4, 2])  # keep the reference first, shuffle the rest
    xp = x.view(2, frames, N, C)[:, perm].reshape(2 * frames, N, C)
    outp = run(self_attn, HybridSelfAttnProcessor(), xp, x2v=ctx).view(2, frames, N, C)
    torch.testing.assert_close(outp, out[:, perm], atol=1e-5, rtol=1e-5)


def test_given_reference_stays_clean(self_attn):
    frames = 3
    x = torch.randn(frames, N, C)
    ctx = AttentionContext(frames, "given", 4)
    out = run(self_attn, HybridSelfAttnProcessor(), x, x2v=ctx)
    alone = run(self_attn, AttnProcessor2_0(), x[:1])
    torch.testing.assert_close(out[:1], alone, atol=1e-5, rtol=1e-5)


def _context(frames, local, masks):
    return AttentionContext(frames, local_embeds=local, local_masks=masks, latent_hw=(3, 4))


def test_no_local_prompts_equals_default_cross_attention(cross_attn):
    x, text = torch.randn(2, N, C), torch.randn(2, 7, 16)
    ref = run(cross_attn, AttnProcessor2_0(), x, encoder_hidden_states=text)
    out = run(cross_attn, MaskedCrossAttnProcessor(), x, encoder_hidden_states=text)
    torch.testing.assert_close(out, ref)
    empty = _context(1, torch.zeros(2, 0, 7, 16), torch.zeros(2, 0, 3, 4))
    torch.testing.assert_close(run(cross_attn, MaskedCrossAttnProcessor(), x, encoder_hidden_states=text, x2v=empty),
                               ref)


def test_local_prompt_changes_only_tokens_inside_its_mask(cross_attn):
    x, text = torch.randn(1, N, C), torch.randn(1, 7, 16)
    masks = torch.zeros(1, 1, 6, 8)  # given at twice the layer's resolution
    masks[..., :2, :4] = 1.0  # the top-left 1x2 tokens of the 3x4 grid
    a = run(cross_attn, MaskedCrossAttnProcessor(), x, encoder_hidden_states=text,
            x2v=_context(1, torch.randn(1, 1, 5, 16), masks))
    b = run(cross_attn, MaskedCrossAttnProcessor(), x, encoder_hidden_states=text,
            x2v=_context(1, torch.randn(1, 1, 5, 16), masks))
    inside = torch.zeros(3, 4, dtype=torch.bool)
    inside[:1, :2] = True
    inside = inside.flatten()
    assert not torch.allclose(a[0, inside], b[0, inside])
    torch.testing.assert_close(a[0, ~inside], b[0, ~inside])
    plain = run(cross_attn, AttnProcessor2_0(), x, encoder_hidden_states=text)
    torch.testing.assert_close(a[0, ~inside], plain[0, ~inside])  # outside: the global prompt only


def test_processors_plug_into_a_diffusers_unet():
    from diffusers import UNet2DConditionModel

    torch.manual_seed(0)
    unet = UNet2DConditionModel(sample_size=8, in_channels=4, out_channels=4, layers_per_block=1,
                                block_out_channels=(16, 32), down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=16,
                                attention_head_dim=4, norm_num_groups=8)
    procs = {name: (HybridSelfAttnProcessor() if name.endswith("attn1.processor") else MaskedCrossAttnProcessor())
             for name in unet.attn_processors}
    x, t, text = torch.randn(3, 4, 8, 8), torch.tensor([10]), torch.randn(3, 5, 16)
    with torch.no_grad():
        ref = unet(x, t, text).sample
        unet.set_attn_processor(procs)
        out = unet(x, t, text, cross_attention_kwargs={"x2v": AttentionContext(1, "none", 0)}).sample
        torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-4)  # per-frame mode = the stock UNet
        joint = unet(x, t, text, cross_attention_kwargs={"x2v": AttentionContext(3, "first", 2)}).sample
    assert not torch.allclose(joint[1:], ref[1:], atol=1e-4)  # frames now see each other


def _masked_reference(attn, x, frames, temporal, neighbours):
    """The temporal heads' neighbourhood as an explicit mask over the whole window (the slow,
    obvious form), the spatial heads as reference attention: what the banded kernel must equal."""
    from x2video.attention import neighbour_frames

    F_, n, c = frames, N, C
    d = c // HEADS
    q, k, v = (p(x).view(F_, n, HEADS, d).transpose(1, 2) for p in (attn.to_q, attn.to_k, attn.to_v))
    idx = neighbour_frames(F_, neighbours)
    allowed = torch.zeros(F_, F_, dtype=torch.bool)
    allowed[torch.arange(F_)[:, None], idx] = True
    mask = allowed.repeat_interleave(n, 0).repeat_interleave(n, 1)  # (F·n, F·n)
    qt = q[:, :temporal].transpose(0, 1).reshape(temporal, F_ * n, d)
    kt = k[:, :temporal].transpose(0, 1).reshape(temporal, F_ * n, d)
    vt = v[:, :temporal].transpose(0, 1).reshape(temporal, F_ * n, d)
    ot = torch.nn.functional.scaled_dot_product_attention(qt, kt, vt, attn_mask=mask)
    ot = ot.view(temporal, F_, n, d).transpose(0, 1)
    ks = torch.cat([k[:, temporal:], k[:1, temporal:].expand(F_, -1, -1, -1)], dim=2)
    vs = torch.cat([v[:, temporal:], v[:1, temporal:].expand(F_, -1, -1, -1)], dim=2)
    os_ = torch.nn.functional.scaled_dot_product_attention(q[:, temporal:], ks, vs)
    out = torch.cat([ot, os_], dim=1).transpose(1, 2).reshape(F_, n, c)
    return attn.to_out[1](attn.to_out[0](out))


@pytest.mark.parametrize("frames,neighbours", [(9, 3), (16, 7), (6, 2), (5, 1)])
def test_temporal_neighbourhood_equals_the_masked_window(self_attn, frames, neighbours):
    x = torch.randn(frames, N, C)
    ctx = AttentionContext(frames, "first", 2, temporal_neighbours=neighbours)
    out = run(self_attn, HybridSelfAttnProcessor(), x, x2v=ctx)
    with torch.no_grad():
        ref = _masked_reference(self_attn, x, frames, 2, neighbours)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    # A frame outside every neighbourhood of frame 1 (and not frame 0) no longer reaches it.
    y = x.clone()
    y[frames - 1] += 1.0
    far = run(self_attn, HybridSelfAttnProcessor(), y, x2v=ctx)
    if frames - 1 > neighbours:
        torch.testing.assert_close(far[1], out[1])
    full = run(self_attn, HybridSelfAttnProcessor(), y, x2v=AttentionContext(frames, "first", 2))
    assert not torch.allclose(full[1], out[1])


def test_a_neighbourhood_as_wide_as_the_window_is_full_attention_bit_for_bit(self_attn):
    x = torch.randn(4, N, C)
    full = run(self_attn, HybridSelfAttnProcessor(), x, x2v=AttentionContext(4, "first", 2))
    for m in (3, 7, None):
        band = run(self_attn, HybridSelfAttnProcessor(), x, x2v=AttentionContext(4, "first", 2, temporal_neighbours=m))
        assert torch.equal(band, full)


def test_neighbour_frames_hold_frame_zero_the_query_and_stay_inside():
    from x2video.attention import neighbour_frames

    for frames, m in ((16, 7), (9, 3), (5, 1), (8, 7)):
        idx = neighbour_frames(frames, m)
        assert idx.shape == (frames, m + 1)
        for i, row in enumerate(idx.tolist()):
            assert row[0] == 0 and len(set(row)) == m + 1 and max(row) < frames
            assert i in row
            assert row[1:] == list(range(row[1], row[1] + m))  # one band of consecutive frames
