"""The RGB↔X peer adapter on a randomly initialised model in RGB↔X's own folder layout (unet/ with a
23-channel conv_in, vae/, text_encoder/, tokenizer/): its conventions, determinism, and a run."""

from __future__ import annotations

import json
import string

import numpy as np
import pytest
import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel

from benchmarks.common import BenchmarkError
from benchmarks.methods import MethodInput, make_method
from benchmarks.results import COST_FILE, COST_SCHEMA, METRICS_FILE, METRICS_SCHEMA, read_table
from benchmarks.runner import RunConfig, run_benchmark


def _tokenizer(folder):
    """A character-level CLIP BPE vocabulary (no merges): enough for CLIPTokenizer to load offline."""
    folder.mkdir(parents=True)
    chars = string.ascii_lowercase + string.digits + ".,'-!?"
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in chars:
        vocab.setdefault(c, len(vocab))
        vocab.setdefault(c + "</w>", len(vocab))
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    (folder / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 77, "unk_token": "<|endoftext|>",
                                                              "bos_token": "<|startoftext|>",
                                                              "eos_token": "<|endoftext|>",
                                                              "pad_token": "<|endoftext|>"}))
    return len(vocab)


@pytest.fixture(scope="module")
def rgbx_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("x-to-rgb")
    torch.manual_seed(0)
    UNet2DConditionModel(sample_size=8, in_channels=23, out_channels=4, block_out_channels=(32, 64),
                         down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                         up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), layers_per_block=1,
                         cross_attention_dim=32, attention_head_dim=2, norm_num_groups=8
                         ).save_pretrained(root / "unet", safe_serialization=True)
    AutoencoderKL(block_out_channels=(8, 8, 8, 8), down_block_types=("DownEncoderBlock2D",) * 4,
                  up_block_types=("UpDecoderBlock2D",) * 4, latent_channels=4, norm_num_groups=8
                  ).save_pretrained(root / "vae", safe_serialization=True)
    n = _tokenizer(root / "tokenizer")
    CLIPTextModel(CLIPTextConfig(vocab_size=n, hidden_size=32, intermediate_size=37, num_attention_heads=4,
                                 num_hidden_layers=2, max_position_embeddings=77, bos_token_id=0, eos_token_id=1,
                                 pad_token_id=1)).save_pretrained(root / "text_encoder", safe_serialization=True)
    return root


def _input(T=3, size=32, seed=0, irradiance=1.5):
    rng = np.random.default_rng(seed)
    normal = np.zeros((T, size, size, 3), np.float32)
    normal[..., 2] = -1
    intr = {"albedo": rng.uniform(0.1, 0.9, (T, size, size, 3)).astype(np.float32), "normal": normal,
            "roughness": np.full((T, size, size, 1), 0.5, np.float32),
            "metallic": np.zeros((T, size, size, 1), np.float32),
            "irradiance": np.full((T, size, size, 3), irradiance, np.float32)}
    return MethodInput(task="render", clip="c", call="main", intrinsics=intr, prompt="a red chair", seed=7, fps=24.0,
                       camera={}, frames=T)


def test_rgbx_needs_its_folder_and_says_where_to_get_it(tmp_path):
    with pytest.raises(BenchmarkError, match="x-to-rgb.*huggingface-cli download zheng95z/x-to-rgb"):
        make_method("rgbx", {})
    with pytest.raises(BenchmarkError, match="no unet/config.json"):
        make_method("rgbx", {"rgbx": str(tmp_path)})


def test_rgbx_is_deterministic_per_frame_and_reads_irradiance_linearly(rgbx_folder):
    m = make_method("rgbx", {"rgbx": str(rgbx_folder), "steps": 2})
    a, b = m.run(_input()), m.run(_input())
    assert a.space == "linear" and np.array_equal(a.frames, b.frames)  # same seed, same bytes
    assert a.frames.shape == (3, 32, 32, 3) and 0 <= a.frames.min() and a.frames.max() <= 1
    other = m.run(MethodInput(**{**_input().__dict__, "seed": 8}))
    assert not np.array_equal(other.frames, a.frames)
    # RGB↔X clamps linear irradiance to [0, 1]: 1.5 and 4.0 are the same input; 0.5 is not.
    assert np.array_equal(m.run(_input(irradiance=4.0)).frames, a.frames)
    assert not np.array_equal(m.run(_input(irradiance=0.5)).frames, a.frames)
    # Every frame alone: frame 0 does not depend on the frames after it.
    one = m.run(_input(T=1))
    np.testing.assert_allclose(one.frames[0], a.frames[0], atol=2 / 255)
    # One UNet call per step: per-frame sampling batches the frames and the 3 guidance passes.
    assert a.model_calls == 2


def test_rgbx_in_a_benchmark_run(rgbx_folder, built_dataset, tmp_path):
    cfg = RunConfig(data=built_dataset, out=tmp_path / "bench", methods=["rgbx"], tasks=["render"], workers=0,
                    metrics=["psnr", "flicker"], options={"rgbx": str(rgbx_folder), "steps": 2}, videos=False)
    report = run_benchmark(cfg)
    assert report.ok, report.failed
    m = read_table(tmp_path / "bench" / METRICS_FILE, METRICS_SCHEMA)
    assert m.value.notna().all() and (m.loc[m.metric == "psnr", "value"] < 40).all()
    cost = read_table(tmp_path / "bench" / COST_FILE, COST_SCHEMA)
    assert (cost.model_calls == 2).all()  # per-frame sampling batches the whole clip: one UNet call a step
