"""The training reader: exact read-back, crops, resizing with K, worker/node splits, errors."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

from interiorvideo.data import collate, interiorvideo_dataset, shard_urls
from interiorvideo.schema import check_clip
from interiorvideo.shards import ShardError, encode_sample, write_shard
from interiorvideo.trajectory import intrinsics

T, H, W = 6, 8, 10


def make_clip(seed: int) -> dict:
    """A valid clip looking at a plane; depth encodes the frame index so crops are checkable."""
    rng = np.random.default_rng(seed)
    depth = np.empty((T, H, W, 1), np.float32)
    for t in range(T):
        depth[t] = 2.0 + t
    normal = np.zeros((T, H, W, 3), np.float32)
    normal[..., 2] = -1.0
    inst = rng.integers(1, 5, size=(T, H, W)).astype(np.int32)
    return {
        "rgb": rng.random((T, H, W, 3)).astype(np.float16), "albedo": rng.random((T, H, W, 3)).astype(np.float32),
        "normal": normal, "roughness": rng.random((T, H, W, 1)).astype(np.float32),
        "metallic": np.zeros((T, H, W, 1), np.float32), "irradiance": rng.random((T, H, W, 3)).astype(np.float16),
        "depth": depth, "instance": inst,
        "camera": {"K": intrinsics(W, H, 60.0), "poses": np.tile(np.eye(4), (T, 1, 1))},
        "meta": {"scene_id": "s", "room_id": 0, "trajectory_id": "t", "seed": seed, "fps": 24.0, "renderer": {},
                 "prompt": f"room {seed}", "local_prompts": {"1": "a chair"}},
    }


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    clips, shards = {}, []
    for s in range(3):
        keys = [f"k{s}{i}" for i in range(3)]
        samples = []
        for j, key in enumerate(keys):
            clip = make_clip(10 * s + j)
            assert check_clip(clip) == []
            clips[key] = clip
            samples.append(encode_sample(key, clip))
        write_shard(root / "shards" / f"train-{s:06d}.tar", samples)
        shards.append({"name": f"train-{s:06d}.tar", "split": "train", "clips": 3, "keys": keys})
    (root / "dataset.json").write_text(json.dumps({"format_version": 1, "shards": shards}))
    return root, clips


def test_read_back_is_exact(dataset):
    root, clips = dataset
    out = list(interiorvideo_dataset(dataset_dir=root, frames=T, random_start=False))
    assert sorted(o["key"] for o in out) == sorted(clips)
    for o in out:
        c = clips[o["key"]]
        for name in ("rgb", "albedo", "irradiance", "depth"):
            ref = torch.from_numpy(c[name].astype(np.float32)).permute(0, 3, 1, 2)
            assert torch.equal(o[name], ref), name
        assert torch.equal(o["instance"][:, 0], torch.from_numpy(c["instance"]).long())
        assert o["prompt"] == c["meta"]["prompt"] and o["local_prompts"] == {1: "a chair"}


def test_temporal_crop_with_stride_is_seeded(dataset):
    root, _ = dataset
    a = list(interiorvideo_dataset(dataset_dir=root, frames=3, stride=2, seed=1))
    b = list(interiorvideo_dataset(dataset_dir=root, frames=3, stride=2, seed=1))
    c = list(interiorvideo_dataset(dataset_dir=root, frames=3, stride=2, seed=2))
    for o in a:
        assert o["depth"].shape == (3, 1, H, W)
        frames = o["depth"][:, 0, 0, 0] - 2.0  # depth encodes the frame index
        assert torch.equal(frames, o["frame_index"].float()) and torch.all(frames.diff() == 2)
    assert [o["frame_index"].tolist() for o in a] == [o["frame_index"].tolist() for o in b]
    assert [o["frame_index"].tolist() for o in a] != [o["frame_index"].tolist() for o in c]
    with pytest.raises(ValueError, match="needs 11"):
        list(interiorvideo_dataset(dataset_dir=root, frames=6, stride=2))


def test_resize_and_crop_keep_the_camera_consistent(dataset):
    root, clips = dataset
    out = list(interiorvideo_dataset(dataset_dir=root, frames=2, size=(12, 12), crop="random", seed=3))
    for o in out:
        assert o["rgb"].shape == (2, 3, 12, 12) and o["instance"].shape == (2, 1, 12, 12)
        ids = set(np.unique(clips[o["key"]]["instance"]))
        assert set(o["instance"].unique().tolist()) <= ids  # nearest: no invented ids
        n = o["normal"].norm(dim=1)
        assert torch.allclose(n, torch.ones_like(n), atol=1e-5)
        # A point straight ahead projects to the original principal point, scaled by 1.5 (8→12
        # high, 10→15 wide) and shifted by the crop: recover the crop from K and check it is legal.
        K = o["camera"]["K"].numpy()
        scale = 12 / 8
        x0 = W / 2 * scale - K[0, 2]
        y0 = H / 2 * scale - K[1, 2]
        assert K[0, 0] == pytest.approx(intrinsics(W, H, 60.0)[0, 0] * scale)
        assert 0 <= x0 <= 15 - 12 and y0 == pytest.approx(0.0) and x0 == int(x0)


def test_dataloader_workers_and_nodes_split_without_duplicates(dataset):
    root, clips = dataset
    loader = torch.utils.data.DataLoader(interiorvideo_dataset(dataset_dir=root, frames=2), num_workers=2,
                                         batch_size=None)
    keys = [o["key"] for o in loader]
    assert sorted(keys) == sorted(clips)  # each once
    halves = [[o["key"] for o in interiorvideo_dataset(dataset_dir=root, frames=2, rank=r, world_size=2)]
              for r in (0, 1)]
    assert set(halves[0]).isdisjoint(halves[1]) and sorted(halves[0] + halves[1]) == sorted(clips)


def test_shuffle_buffer_changes_order_not_content(dataset):
    root, clips = dataset
    plain = [o["key"] for o in interiorvideo_dataset(dataset_dir=root, frames=2)]
    mixed = [o["key"] for o in interiorvideo_dataset(dataset_dir=root, frames=2, shuffle=9, seed=4)]
    assert sorted(mixed) == sorted(plain) and mixed != plain


def test_batches_collate(dataset):
    root, _ = dataset
    it = iter(interiorvideo_dataset(dataset_dir=root, frames=2))
    batch = collate([next(it), next(it)])
    assert batch["rgb"].shape == (2, 2, 3, H, W) and batch["camera"]["poses"].shape == (2, 2, 4, 4)
    assert len(batch["prompt"]) == 2


def test_corrupt_shard_is_named_or_skipped(dataset, tmp_path):
    root, clips = dataset
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    bad = copy / "shards" / "train-000001.tar"
    bad.write_bytes(bad.read_bytes()[:3000])
    with pytest.raises(ShardError, match="train-000001.tar"):
        list(interiorvideo_dataset(dataset_dir=copy, frames=2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        keys = [o["key"] for o in interiorvideo_dataset(dataset_dir=copy, frames=2, on_error="warn")]
    assert any("train-000001.tar" in str(w.message) for w in caught)
    assert {k for k in clips if not k.startswith("k1")} <= set(keys)


def test_missing_split_and_index_are_clear(dataset, tmp_path):
    root, _ = dataset
    with pytest.raises(ValueError, match="no shards for split 'val'"):
        shard_urls(root, "val")
    with pytest.raises(FileNotFoundError, match="dataset.json"):
        shard_urls(tmp_path, "train")
