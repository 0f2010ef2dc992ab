"""Shared fixtures: one small InteriorVideo dataset really built (Ray, renderer, shards), reused by
the model, sampling and benchmark suites."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def built_dataset(tmp_path_factory):
    """4 scenes × 1 room × 2 clips of 8 frames at 32², split 2/1/1 scenes (4 train, 2 val, 2 test clips)."""
    from pipelines import BuildConfig, build_dataset

    out = tmp_path_factory.mktemp("built") / "ds"
    build_dataset(out, BuildConfig(generated=4, rooms_per_scene=1, clips_per_room=2, frames=8, width=32, height=32,
                                   samples=4, shard_size=2, split_fractions=(0.5, 0.25, 0.25)), workers=2)
    return out
