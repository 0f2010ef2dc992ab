"""The dataset folder's one reader: index, splits, keys, fingerprint, clips by shard offset."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from interiorvideo.dataset import Dataset, DatasetError, shard_offsets
from interiorvideo.dataset_check import validate_dataset
from interiorvideo.shards import ShardError, decode_sample, read_shard


def test_a_clip_read_at_its_offset_equals_the_one_in_the_whole_shard(built_dataset):
    ds = Dataset.open(built_dataset)
    checked = 0
    for entry in ds.shards:
        assert entry.offsets is not None and list(entry.offsets) == [shard_offsets(ds.shard_path(entry))[k]
                                                                      for k in entry.keys]
        whole = {s["__key__"]: s for s in read_shard(ds.shard_path(entry))}
        for key in entry.keys:
            assert ds.read_sample(key) == {m: v for m, v in whole[key].items() if m not in ("__url__", "__local_path__")}
            clip, ref = ds.read_clip(key), decode_sample(whole[key])
            assert all(np.array_equal(clip[p], ref[p]) for p in ("rgb", "depth", "instance"))
            checked += 1
    assert checked == sum(ds.num_clips(s) for s in ("train", "val", "test")) == 8
    assert set(ds.keys("train")) | set(ds.keys("val")) | set(ds.keys("test")) == set(ds._where)


def test_index_facts_and_clear_errors(built_dataset, tmp_path):
    ds = Dataset.open(built_dataset)
    assert ds.name == "InteriorVideo" and ds.config["frames"] == 8
    assert [r["clips"] for r in ds.info()] == [4, 2, 2] and len(ds.fingerprint) == 16
    with pytest.raises(DatasetError, match="no clip 'nope'"):
        ds.read_clip("nope")
    with pytest.raises(DatasetError, match="no shards for split 'dev'"):
        ds.keys("dev")
    with pytest.raises(DatasetError, match="dataset folder not found"):
        Dataset.open(tmp_path / "missing")
    copy = tmp_path / "copy"
    shutil.copytree(built_dataset, copy)
    index = json.loads((copy / "dataset.json").read_text())
    for broken, match in [({**index, "format_version": 99}, "format version 99"),
                          ({k: v for k, v in index.items() if k != "config"}, "'config'"),
                          ({**index, "shards": [{"name": "x.tar"}]}, "shard entry 'x.tar' is malformed"),
                          ([1, 2], "expected a JSON object")]:
        (copy / "dataset.json").write_text(json.dumps(broken))
        with pytest.raises(DatasetError, match=match):
            Dataset.open(copy)


def test_offsets_that_disagree_with_the_shard_are_found(built_dataset, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(built_dataset, copy)
    index = json.loads((copy / "dataset.json").read_text())
    entry = next(s for s in index["shards"] if s["clips"] > 1)
    entry["offsets"] = entry["offsets"][::-1]
    (copy / "dataset.json").write_text(json.dumps(index))
    ds = Dataset.open(copy)
    assert any(entry["name"] in p and "offsets" in p for p in validate_dataset(ds))
    with pytest.raises(ShardError, match="disagree"):
        ds.read_clip(entry["keys"][0])
