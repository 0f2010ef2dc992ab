"""The latent cache: built once beside the dataset, read in the pixel reader's order, equal to
encoding the pixels, keyed by VAE, crop and dtype, resumable, and damaged or stale caches are
never used. The dataset is the shared really-built one (conftest)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader
from typer.testing import CliRunner

from interiorvideo.data import InteriorVideoDataset, collate
from interiorvideo.dataset import Dataset
from interiorvideo.shards import ShardError
from x2video.components import tiny_pipeline
from x2video.latent_cache import (
    CACHE_JSON,
    LatentCacheError,
    build_cache,
    cache_folder,
    cache_key,
    open_cache,
)
from x2video.schedulers import training_scheduler
from x2video.seeding import step_generator
from x2video.train import TrainConfig, train
from x2video.train.data import TRAIN_PASSES
from x2video.train.latent_data import LatentClipDataset
from x2video.train.loss import PromptCache, training_loss
from x2video.vae import build_tiny_vae

SIZE = 32


@pytest.fixture(scope="module")
def data_copy(built_dataset, tmp_path_factory):
    """A private copy: these tests write caches into the dataset folder."""
    out = tmp_path_factory.mktemp("cache") / "ds"
    shutil.copytree(built_dataset, out)
    return out


@pytest.fixture(scope="module")
def pipe():
    return tiny_pipeline(build_tiny_vae(seed=3), seed=3)


@pytest.fixture(scope="module")
def cache(data_copy, pipe):
    data = Dataset.open(data_copy)
    return build_cache(pipe.vae, data, cache_key(pipe.vae, SIZE, torch.float32), log=lambda m: None)


def _readers(data_copy, cache, frames=5, seed=7):
    pixels = InteriorVideoDataset(dataset_dir=data_copy, split="train", frames=frames, size=SIZE, crop="random",
                                  passes=TRAIN_PASSES, shuffle=4, shardshuffle=True, seed=seed, short="skip",
                                  rank=0, world_size=1)
    latents = LatentClipDataset(cache, split="train", frames=frames, shuffle=4, shardshuffle=True, seed=seed)
    return pixels, latents


def test_reader_meets_the_pixel_readers_clips_windows_and_ids(data_copy, cache):
    pixels, latents = _readers(data_copy, cache)
    for epoch in (0, 3):  # shuffles differ by epoch; both readers must follow
        pixels.set_epoch(epoch)
        latents.set_epoch(epoch)
        a, b = list(pixels), list(latents)
        assert [s["key"] for s in a] == [s["key"] for s in b] and len(a) == 4
        for p, q in zip(a, b):
            assert torch.equal(p["frame_index"], q["frame_index"])
            assert torch.equal(p["instance"], q["instance"])
            assert p["prompt"] == q["prompt"] and p["local_prompts"] == q["local_prompts"]
    orders = []
    for epoch in (0, 1, 2):
        latents.set_epoch(epoch)
        orders.append([s["key"] for s in latents])
    assert len({tuple(o) for o in orders}) > 1, "the shuffle should change the order between epochs"


def test_cached_latents_equal_encoding_the_pixels_and_the_loss_agrees(data_copy, cache, pipe):
    pixels, latents = _readers(data_copy, cache)
    cfg = TrainConfig(data=str(data_copy), out="unused", size=SIZE)
    prompts = PromptCache(pipe)
    for i, (p, q) in enumerate(zip(DataLoader(pixels, batch_size=2, collate_fn=collate),
                                   DataLoader(latents, batch_size=2, collate_fn=collate))):
        with torch.no_grad():
            losses = [float(training_loss(pipe, pipe.unet, batch, step_generator(5, i), cfg, prompts,
                                          training_scheduler(), torch.device("cpu"))) for batch in (p, q)]
        assert losses[0] == pytest.approx(losses[1], rel=1e-5, abs=1e-7)
        # The rgb latents, straight from the pixels' encoding.
        from x2video.vae import pass_to_vae
        with torch.no_grad():
            z = pipe.vae.encode(pass_to_vae("rgb", p["rgb"].flatten(0, 1))).latent_dist.mode()
        assert torch.allclose(z, q["latents"].flatten(0, 1)[:, :4], atol=1e-5)
        assert q["latents"].shape[-2:] == (SIZE // 4, SIZE // 4)


def test_training_on_the_cache_follows_the_pixel_run(data_copy, tmp_path):
    base = dict(data=str(data_copy), size=SIZE, vae_steps=8, batch_size=2, lr=1e-3, warmup_steps=2,
                checkpoint_every=50, log_every=1, shuffle=4, max_steps=5)
    logs: list[str] = []
    on_pixels = train(TrainConfig(out=str(tmp_path / "pixels"), latents="off", **base), log=lambda m: None)
    on_cache = train(TrainConfig(out=str(tmp_path / "cached"), latents="build", **base), log=logs.append)
    assert any("reading latents from" in m for m in logs), logs
    np.testing.assert_allclose(on_cache.losses, on_pixels.losses, rtol=1e-4)
    # `auto` finds the cache the first run built (same VAE: same seed, same first stage).
    logs.clear()
    train(TrainConfig(out=str(tmp_path / "auto"), latents="auto", **{**base, "max_steps": 1}), log=logs.append)
    assert any("reading latents from" in m for m in logs), logs


def test_a_damaged_cache_shard_is_refused_and_re_encoded_to_the_same_bytes(data_copy, pipe, cache):
    data = Dataset.open(data_copy)
    shard = cache.root / cache.index["shards"][0]["name"]
    original = shard.read_bytes()
    damaged = bytearray(original)
    damaged[len(damaged) // 2] ^= 0xFF
    shard.write_bytes(bytes(damaged))
    with pytest.raises(ShardError, match=shard.name):
        cache.verify()
    logs: list[str] = []
    again = build_cache(pipe.vae, data, cache_key(pipe.vae, SIZE, torch.float32), log=logs.append)
    assert any("re-encoding" in m and shard.name in m for m in logs), logs
    assert shard.read_bytes() == original
    again.verify()


def test_two_processes_build_the_same_cache_as_one(data_copy, pipe, cache, tmp_path):
    data = Dataset.open(data_copy)
    key = cache_key(pipe.vae, SIZE, torch.float32)
    single = {p.name: p.read_bytes() for p in cache.root.iterdir() if p.is_file()}
    shutil.rmtree(cache.root)
    # Rank 1 first, then rank 0 (a barrier between them in a real launch): rank 0 writes cache.json.
    assert build_cache(pipe.vae, data, key, rank=1, world_size=2, log=lambda m: None) is None
    assert not (cache.root / CACHE_JSON).exists()
    build_cache(pipe.vae, data, key, rank=0, world_size=2, log=lambda m: None)
    assert {p.name: p.read_bytes() for p in cache.root.iterdir() if p.is_file()} == single


def test_the_key_follows_vae_crop_and_dtype_and_stale_caches_are_not_used(data_copy, pipe, cache):
    data = Dataset.open(data_copy)
    key = cache_key(pipe.vae, SIZE, torch.float32)
    assert open_cache(data, key) is not None
    other = build_tiny_vae(seed=3)
    with torch.no_grad():
        next(other.parameters()).view(-1)[0] += 1e-3
    assert cache_key(other, SIZE, torch.float32).folder != key.folder
    assert cache_key(pipe.vae, SIZE, torch.bfloat16).folder != key.folder
    assert open_cache(data, cache_key(pipe.vae, 16, torch.float32)) is None
    with pytest.raises(LatentCacheError, match="multiple of the VAE's downsampling 4"):
        cache_key(pipe.vae, 30, torch.float32)
    # A rebuilt dataset shard (its sha256 in dataset.json changes) makes the cache stale.
    index_path = cache_folder(data, key) / CACHE_JSON
    saved = index_path.read_text()
    index = json.loads(saved)
    index["shards"][0]["source_sha256"] = "0" * 64
    index_path.write_text(json.dumps(index))
    try:
        assert open_cache(data, key) is None
    finally:
        index_path.write_text(saved)


def test_cache_latents_command(data_copy, pipe, tmp_path):
    from x2video.cli import app

    export = tmp_path / "export"
    pipe.save_pretrained(export, safe_serialization=True)
    result = CliRunner().invoke(app, ["cache-latents", "--data", str(data_copy), "--init", str(export),
                                      "--size", str(SIZE)])
    assert result.exit_code == 0, result.output
    assert "latent cache" in result.output and "clips" in result.output
    bad = CliRunner().invoke(app, ["cache-latents", "--data", str(data_copy), "--init", str(export), "--size", "30"])
    assert bad.exit_code == 2 and "multiple of the VAE's downsampling" in bad.output
    missing = CliRunner().invoke(app, ["cache-latents", "--data", str(data_copy), "--init", str(tmp_path / "none")])
    assert missing.exit_code == 2 and "none" in missing.output


def test_split_prompts_come_from_the_manifest_and_warming_changes_no_embedding(data_copy, pipe):
    data = Dataset.open(data_copy)
    from_clips = set()
    for key in data.keys("train"):
        meta = data.read_clip(key, passes=["rgb"])["meta"]
        from_clips.add(meta["prompt"])
        from_clips.update(meta["local_prompts"].values())
    assert data.prompts("train") == sorted(from_clips) and len(from_clips) > 4
    assert set(data.prompts("test")) != set(data.prompts("train"))
    lazy, warm = PromptCache(pipe), PromptCache(pipe)
    warm.warm(data.prompts("train"))
    some = data.prompts("train")[:3]
    assert torch.equal(lazy(some), warm(some))
    assert len(warm.cache) == len(from_clips)
