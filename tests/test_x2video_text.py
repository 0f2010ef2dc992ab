"""Prompt encoders: the tiny config's real MiniLM encoder works offline and means something."""

from __future__ import annotations

import os

import pytest
import torch

from x2video.text import minilm_encoder, sd21_encoder
from x2video.weights import MissingWeightsError

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def encoder():
    return minilm_encoder()


def pooled(enc, prompts):
    states = enc.encode(prompts)
    return torch.nn.functional.normalize(states[:, 0], dim=-1)  # [CLS]-position state


def test_minilm_states_are_batchable_and_deterministic(encoder):
    a = encoder.encode(["a red fabric sofa", "a white ceramic plant pot with a long name " * 5])
    assert a.shape == (2, 32, 384) and encoder.dim == 384
    torch.testing.assert_close(a, encoder.encode(["a red fabric sofa", "a white ceramic plant pot with a long name " * 5]))


def test_minilm_prompts_carry_meaning(encoder):
    sofa, couch, toilet = pooled(encoder, ["a red fabric sofa", "a crimson cloth couch", "a porcelain toilet"])
    assert float(sofa @ couch) > float(sofa @ toilet) + 0.1


def test_missing_sd21_text_encoder_says_what_to_supply(tmp_path):
    with pytest.raises(MissingWeightsError, match="stable-diffusion-2-1"):
        sd21_encoder(tmp_path)
