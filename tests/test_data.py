"""The training reader (interiorvideo.data): exact read-back, temporal and spatial crops with K,
worker / node splits, shuffling, resampling, batching, corrupt shards and clear errors."""

from __future__ import annotations

import itertools
import json
import shutil

import numpy as np
import pytest
import torch
import webdataset as wds

from interiorvideo.data import (InteriorVideoDataset, ShardWarning, collate, decode_clips,
                                read_shards, spatial, temporal_crop, to_tensors)
from interiorvideo.dataset import Dataset, DatasetError
from interiorvideo.schema import PASSES, check_clip
from interiorvideo.shards import ShardError, encode_sample, write_shard
from interiorvideo.trajectory import intrinsics

T, H, W = 6, 8, 10


def shard_urls(root, split):
    return Dataset.open(root).shard_urls(split)
SKY = (slice(0, 2), slice(0, 3))  # a window with no surface: depth 0, normal 0, instance 0
FOCAL = intrinsics(W, H, 60.0)[0, 0]


def make_clip(seed: int, frames: int = T) -> dict:
    """A valid clip of a camera sliding along x in front of a wall.

    depth = 2 + frame index (so crops are checkable), albedo channels 0/1 = the pixel centre's
    (u, v) / (W, H) (so K can be checked against image content after resizing), normals random
    but facing the camera, a no-surface window in the top-left corner.
    """
    rng = np.random.default_rng(seed)
    depth = np.broadcast_to((2.0 + np.arange(frames, dtype=np.float32))[:, None, None, None],
                            (frames, H, W, 1)).copy()
    n = np.concatenate([rng.uniform(-0.3, 0.3, (frames, H, W, 2)), -np.ones((frames, H, W, 1))], axis=-1)
    normal = (n / np.linalg.norm(n, axis=-1, keepdims=True)).astype(np.float32)
    u, v = np.meshgrid((np.arange(W) + 0.5) / W, (np.arange(H) + 0.5) / H)
    albedo = np.stack([np.broadcast_to(u, (frames, H, W)), np.broadcast_to(v, (frames, H, W)),
                       rng.random((frames, H, W))], axis=-1).astype(np.float32)
    instance = rng.integers(1, 5, size=(frames, H, W)).astype(np.int32)
    for a in (depth, normal, instance):
        a[(slice(None), *SKY)] = 0
    poses = np.tile(np.eye(4), (frames, 1, 1))
    poses[:, 0, 3] = 0.1 * np.arange(frames)  # x = 0.1 * frame index
    clip = {
        "rgb": (4 * rng.random((frames, H, W, 3))).astype(np.float16), "albedo": albedo, "normal": normal,
        "roughness": rng.random((frames, H, W, 1)).astype(np.float32),
        "metallic": rng.random((frames, H, W, 1)).astype(np.float32),
        "irradiance": rng.random((frames, H, W, 3)).astype(np.float16), "depth": depth, "instance": instance,
        "camera": {"K": intrinsics(W, H, 60.0), "poses": poses},
        "meta": {"scene_id": "s", "room_id": 0, "trajectory_id": f"t{seed}", "seed": seed, "fps": 12.0,
                 "renderer": {}, "prompt": f"room {seed}", "local_prompts": {"1": "a chair", "3": "a lamp"}},
    }
    assert check_clip(clip) == []
    return clip


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """4 train shards of 3 clips, 1 val shard with a short (3-frame) and a full clip."""
    root = tmp_path_factory.mktemp("interiorvideo")
    clips, entries = {}, []
    layout = {f"train-{s:06d}": [(f"k{s}{i}", T) for i in range(3)] for s in range(4)}
    layout["val-000000"] = [("v0", 3), ("v1", T)]
    for shard, members in layout.items():
        for key, frames in members:
            clips[key] = make_clip(len(clips), frames)
        digest = write_shard(root / "shards" / f"{shard}.tar", [encode_sample(k, clips[k]) for k, _ in members])
        entries.append({"name": f"{shard}.tar", "split": shard.split("-")[0], "clips": len(members),
                        "sha256": digest, "bytes": (root / "shards" / f"{shard}.tar").stat().st_size,
                        "keys": [k for k, _ in members]})
    (root / "dataset.json").write_text(json.dumps({"format_version": 1, "config": {}, "counts": {"train": 12, "val": 2},
                                                   "shards": entries}))
    return root, clips


def train_keys(clips: dict) -> list[str]:
    return sorted(k for k in clips if k.startswith("k"))


def keys_of(ds) -> list[str]:
    return [o["key"] for o in ds]


def to_schema(o: dict) -> dict:
    """A training sample back in schema layout, to run check_clip on it."""
    clip = {}
    for name, spec in PASSES.items():
        if name in o:
            a = o[name].permute(0, 2, 3, 1).numpy()
            clip[name] = (a[..., 0] if spec.channels is None else a).astype(spec.dtype)
    clip["camera"] = {k: v.numpy().astype(np.float64) for k, v in o["camera"].items()}
    clip["meta"] = o["meta"]
    return clip


def test_read_back_is_exact(dataset):
    root, clips = dataset
    for ds in (InteriorVideoDataset(dataset_dir=root, frames=None),
               InteriorVideoDataset(shard_urls(root, "train"), frames=T, temporal="first")):
        out = list(ds)
        assert keys_of(out) == train_keys(clips)  # every clip once, in shard order
        for o in out:
            c = clips[o["key"]]
            for name in PASSES:
                ref = torch.from_numpy(c[name])
                ref = (ref.unsqueeze(-1) if name == "instance" else ref).permute(0, 3, 1, 2)
                want = ref.long() if name == "instance" else ref.float()
                assert o[name].dtype == want.dtype and torch.equal(o[name], want), name
            assert torch.equal(o["camera"]["K"], torch.tensor(c["camera"]["K"], dtype=torch.float32))
            assert torch.equal(o["camera"]["poses"], torch.tensor(c["camera"]["poses"], dtype=torch.float32))
            assert o["prompt"] == c["meta"]["prompt"] and o["local_prompts"] == {1: "a chair", 3: "a lamp"}
            assert o["fps"] == 12.0 and o["meta"]["trajectory_id"] == c["meta"]["trajectory_id"]
            assert o["frame_index"].tolist() == list(range(T))
            assert o["instances"].tolist() == sorted(set(np.unique(c["instance"]).tolist()) - {0})
    assert InteriorVideoDataset(dataset_dir=root, frames=2).num_clips == 12


def test_pass_subset(dataset):
    root, _ = dataset
    o = next(iter(InteriorVideoDataset(dataset_dir=root, frames=2, passes=("depth", "rgb"))))
    assert {k for k in o if k in PASSES} == {"rgb", "depth"} and "instances" not in o
    assert o["rgb"].shape == (2, 3, H, W) and o["depth"].shape == (2, 1, H, W)
    with pytest.raises(ValueError, match="unknown pass"):
        InteriorVideoDataset(dataset_dir=root, frames=2, passes=("rgb", "specular"))


def crops(ds) -> dict[str, list[int]]:
    return {o["key"]: o["frame_index"].tolist() for o in ds}


def test_temporal_crop_stride_and_determinism(dataset):
    root, _ = dataset
    a = list(InteriorVideoDataset(dataset_dir=root, frames=2, stride=2, seed=1))
    for o in a:
        assert o["depth"].shape == (2, 1, H, W) and o["rgb"].shape == (2, 3, H, W)
        idx = o["depth"][:, 0, -1, -1] - 2.0  # depth encodes the frame index
        assert idx.tolist() == o["frame_index"].tolist() and idx[1] - idx[0] == 2
        assert torch.allclose(o["camera"]["poses"][:, 0, 3], 0.1 * idx)  # poses follow the frames
    starts = {o["frame_index"][0].item() for o in a}
    assert starts <= {0, 1, 2, 3} and len(starts) > 1  # random start over the 4 possible ones
    same = InteriorVideoDataset(dataset_dir=root, frames=2, stride=2, seed=1)
    first = list(same)
    assert keys_of(first) == keys_of(a) and crops(first) == crops(a)  # same seed: same order, same crops
    assert crops(InteriorVideoDataset(dataset_dir=root, frames=2, stride=2, seed=2)) != crops(a)
    # Each pass is a new epoch with new crops; set_epoch replays one.
    assert crops(same) != crops(a)
    same.set_epoch(0)
    assert crops(same) == crops(a)
    centre = crops(InteriorVideoDataset(dataset_dir=root, frames=2, stride=2, temporal="center"))
    assert set(map(tuple, centre.values())) == {(1, 3)}


def test_short_clips_raise_or_are_skipped(dataset):
    root, _ = dataset
    with pytest.raises(ValueError, match=r"clip v0 .*val-000000\.tar.* has 3 frames.*needs 4"):
        list(InteriorVideoDataset(dataset_dir=root, split="val", frames=4))
    assert keys_of(InteriorVideoDataset(dataset_dir=root, split="val", frames=4, short="skip")) == ["v1"]
    assert [o["frame_index"].tolist() for o in InteriorVideoDataset(dataset_dir=root, split="val", frames=None,
                                                                       stride=2)] == [[0, 2], [0, 2, 4]]


def test_resize_and_crop_keep_camera_and_passes_consistent(dataset):
    root, clips = dataset
    out = list(InteriorVideoDataset(dataset_dir=root, frames=2, size=(12, 12), crop="random", seed=3))
    offsets = set()
    for o in out:
        for name, spec in PASSES.items():
            assert o[name].shape == (2, spec.channels or 1, 12, 12), name
        # Valid clip again: unit normals exactly where depth > 0, facing the camera of the new K, ...
        assert check_clip(to_schema(o)) == []
        assert set(o["instance"].unique().tolist()) <= set(np.unique(clips[o["key"]]["instance"]).tolist())
        assert set(o["depth"].unique().tolist()) <= {0.0, *(2.0 + o["frame_index"].float()).tolist()}
        # 8x10 -> 12x15 (scale 1.5), cropped to 12x12 at (y0, x0) with y0 = 0.
        K = o["camera"]["K"].double().numpy()
        assert K[0, 0] == pytest.approx(1.5 * FOCAL) and K[1, 1] == pytest.approx(1.5 * FOCAL)
        x0, y0 = 1.5 * W / 2 - K[0, 2], 1.5 * H / 2 - K[1, 2]
        assert y0 == pytest.approx(0.0) and x0 == pytest.approx(round(x0)) and 0 <= round(x0) <= 3
        offsets.add(round(x0))
        # A 3D point seen at an output pixel centre projects, with the original K, to the source
        # image position the pixel's content came from (albedo holds it): K moved with the image.
        i, j = np.meshgrid(np.arange(12) + 0.5, np.arange(12) + 0.5, indexing="ij")
        X = np.stack([j, i, np.ones_like(i)], -1) @ np.linalg.inv(K).T * 3.0  # any depth
        uv = X @ clips[o["key"]]["camera"]["K"].T
        uv = uv[..., :2] / uv[..., 2:]
        inside = (uv[..., 0] >= 0.5) & (uv[..., 0] <= W - 0.5) & (uv[..., 1] >= 0.5) & (uv[..., 1] <= H - 0.5)
        seen = o["albedo"][0, :2].permute(1, 2, 0).double().numpy() * [W, H]
        assert inside.sum() > 60 and np.allclose(seen[inside], uv[inside], atol=1e-4)
    assert len(offsets) > 1  # random crops
    centre = next(iter(InteriorVideoDataset(dataset_dir=root, frames=2, size=(12, 12), crop="center")))
    assert centre["camera"]["K"][0, 2].item() == pytest.approx(1.5 * W / 2 - 1)  # x0 = (15 - 12) // 2
    # Shrinking (antialiased) and a square int size.
    small = list(InteriorVideoDataset(dataset_dir=root, frames=3, size=4, crop="center"))
    for o in small:
        assert o["rgb"].shape == (3, 3, 4, 4) and check_clip(to_schema(o)) == []
        assert o["camera"]["K"][0, 0].item() == pytest.approx(0.5 * FOCAL)


def test_dataloader_workers_and_node_split_read_each_clip_once(dataset):
    root, clips = dataset
    everything = train_keys(clips)
    for kw in ({}, {"shardshuffle": True, "shuffle": 4, "seed": 5}):
        loader = torch.utils.data.DataLoader(InteriorVideoDataset(dataset_dir=root, frames=2, **kw),
                                             num_workers=2, batch_size=None)
        assert sorted(keys_of(loader)) == everything
    halves = [keys_of(InteriorVideoDataset(dataset_dir=root, frames=2, rank=r, world_size=2, shardshuffle=True))
              for r in (0, 1)]
    assert set(halves[0]).isdisjoint(halves[1]) and sorted(halves[0] + halves[1]) == everything
    assert len(halves[0]) == len(halves[1]) == 6
    quarters = []
    for r in (0, 1):
        ds = InteriorVideoDataset(dataset_dir=root, frames=2, rank=r, world_size=2)
        quarters += keys_of(torch.utils.data.DataLoader(ds, num_workers=2, batch_size=None))
    assert sorted(quarters) == everything


def test_shuffle_buffer_changes_order_not_content(dataset):
    root, _ = dataset
    plain = keys_of(InteriorVideoDataset(dataset_dir=root, frames=2))
    mixed = keys_of(InteriorVideoDataset(dataset_dir=root, frames=2, shuffle=6, seed=4))
    assert sorted(mixed) == sorted(plain) and mixed != plain
    assert keys_of(InteriorVideoDataset(dataset_dir=root, frames=2, shuffle=6, seed=4)) == mixed
    shards = keys_of(InteriorVideoDataset(dataset_dir=root, frames=2, shardshuffle=True, seed=4))
    assert sorted(shards) == sorted(plain) and shards != plain


def test_resampled_is_endless_and_seeded(dataset):
    root, clips = dataset

    def take(n, **kw):
        return keys_of(itertools.islice(InteriorVideoDataset(dataset_dir=root, frames=2, resampled=True, **kw), n))

    a = take(30, seed=1)
    assert len(a) == 30 and set(a) == set(train_keys(clips))
    assert take(30, seed=1) == a and take(30, seed=2) != a
    assert take(30, seed=1, rank=1, world_size=2) != a  # nodes draw their own streams
    assert len(keys_of(InteriorVideoDataset(dataset_dir=root, frames=2, resampled=True).with_epoch(7))) == 7


def test_batches_collate(dataset):
    root, _ = dataset
    loader = torch.utils.data.DataLoader(InteriorVideoDataset(dataset_dir=root, frames=2, size=(4, 6)),
                                         batch_size=4, collate_fn=collate, num_workers=0)
    batches = list(loader)
    assert len(batches) == 3
    b = batches[0]
    assert b["rgb"].shape == (4, 2, 3, 4, 6) and b["instance"].dtype == torch.int64
    assert b["camera"]["K"].shape == (4, 3, 3) and b["camera"]["poses"].shape == (4, 2, 4, 4)
    assert b["frame_index"].shape == (4, 2) and b["fps"].tolist() == [12.0] * 4
    assert len(b["prompt"]) == len(b["key"]) == len(b["local_prompts"]) == len(b["instances"]) == 4
    whole = [next(iter(InteriorVideoDataset(dataset_dir=root, split="val", frames=None)))] * 2
    whole[1] = next(itertools.islice(InteriorVideoDataset(dataset_dir=root, split="val", frames=None), 1, None))
    with pytest.raises(ValueError, match="cannot batch"):
        collate(whole)  # 3 and 6 frames


def test_standalone_stages_compose(dataset):
    root, _ = dataset
    pipe = wds.DataPipeline(wds.SimpleShardList(shard_urls(root, "train")), read_shards(passes=["rgb"]),
                            decode_clips(passes=["rgb"]), temporal_crop(3, start="first"),
                            spatial(size=(4, 5)), to_tensors())
    out = list(pipe)
    assert len(out) == 12 and out[0]["rgb"].shape == (3, 3, 4, 5)


def damaged_copy(root, tmp_path, how: str):
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    bad = copy / "shards" / "train-000001.tar"
    if how == "truncate":  # cut inside the second sample
        bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])
    elif how == "missing":
        bad.unlink()
    return copy


@pytest.mark.parametrize("how", ["truncate", "missing"])
def test_unreadable_shard_is_named_or_skipped(dataset, tmp_path, how):
    root, clips = dataset
    copy = damaged_copy(root, tmp_path, how)
    with pytest.raises(ShardError, match="train-000001.tar"):
        list(InteriorVideoDataset(dataset_dir=copy, frames=2))
    with pytest.warns(ShardWarning, match="train-000001.tar"):
        keys = keys_of(InteriorVideoDataset(dataset_dir=copy, frames=2, on_error="warn"))
    others = [k for k in train_keys(clips) if not k.startswith("k1")]
    assert len(keys) == len(set(keys)) and set(others) <= set(keys) <= set(train_keys(clips))
    if how == "truncate":
        assert "k10" in keys and "k12" not in keys  # complete samples before the damage are kept
    if how == "truncate":
        # Raised in a DataLoader worker, the error reaches the main process with the shard's name.
        # (One worker: torch's DataLoader takes ~5 s per worker to shut down after a worker error.)
        loader = torch.utils.data.DataLoader(InteriorVideoDataset(dataset_dir=copy, frames=2), num_workers=1,
                                             batch_size=None)
        with pytest.raises(ShardError, match="train-000001.tar"):
            list(loader)


def test_undecodable_sample_is_named_or_skipped(dataset, tmp_path):
    root, clips = dataset
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    samples = [encode_sample(k, clips[k]) for k in ("k20", "k21", "k22")]
    samples[1]["depth.npz"] = b"not an npz"
    write_shard(copy / "shards" / "train-000002.tar", samples)
    with pytest.raises(ShardError, match=r"train-000002\.tar.*k21.*depth\.npz"):
        list(InteriorVideoDataset(dataset_dir=copy, frames=2))
    with pytest.warns(ShardWarning, match=r"train-000002\.tar.*k21"):
        keys = keys_of(InteriorVideoDataset(dataset_dir=copy, frames=2, on_error="warn"))
    assert sorted(keys) == [k for k in train_keys(clips) if k != "k21"]
    # Reading passes that do not include the broken member works.
    assert len(keys_of(InteriorVideoDataset(dataset_dir=copy, frames=2, passes=["rgb"]))) == 12


def test_missing_split_index_and_bad_arguments_are_clear(dataset, tmp_path):
    root, _ = dataset
    with pytest.raises(DatasetError, match=r"no shards for split 'test' \(splits with shards: train, val\)"):
        shard_urls(root, "test")
    with pytest.raises(DatasetError, match="dataset.json"):
        shard_urls(tmp_path, "train")
    with pytest.raises(DatasetError, match="dataset folder not found"):
        InteriorVideoDataset(dataset_dir=tmp_path / "nowhere", frames=2)
    (tmp_path / "dataset.json").write_text("{not json")
    with pytest.raises(DatasetError, match="not valid JSON"):
        shard_urls(tmp_path, "train")
    assert shard_urls(root, "val") == [str(root / "shards" / "val-000000.tar")]
    for kw, msg in [({"on_error": "ignore"}, "on_error"), ({"crop": "left"}, "crop"), ({"rank": 0}, "together"),
                    ({"rank": 2, "world_size": 2}, "rank 2"), ({"frames": 0}, "frames"), ({"size": (4,)}, "size"),
                    ({"shuffle": True}, "shuffle"), ({"temporal": "end"}, "temporal")]:
        with pytest.raises(ValueError, match=msg):
            InteriorVideoDataset(dataset_dir=root, **{"frames": 2, **kw})
    with pytest.raises(ValueError, match="urls"):
        InteriorVideoDataset(frames=2)
