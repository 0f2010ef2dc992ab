"""The Ray dataset build: plan, shards, index, validation, readers, failures, kill-and-resume."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from interiorvideo.shards import ShardError, decode_sample, read_shard
from pipelines import BuildConfig, build_dataset, make_plan
from pipelines.plan import assign_splits
from interiorvideo.dataset import Dataset
from interiorvideo.dataset_check import validate_dataset as _validate
from pipelines.worker import render_job

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


def validate_dataset(root):
    return _validate(Dataset.open(root))
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

TINY = BuildConfig(generated=3, rooms_per_scene=1, clips_per_room=2, frames=4, width=24, height=20, samples=2,
                   shard_size=2, seed=5)
CLI_ARGS = ["--generated", "3", "--rooms-per-scene", "1", "--clips-per-room", "2", "--frames", "4", "--size", "24x20",
            "--samples", "2", "--shard-size", "2", "--seed", "5", "--workers", "2"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("ds") / "interiorvideo"
    report = build_dataset(out, TINY, workers=2)
    assert report.ok and report.clips_rendered == 6
    return out


def test_build_validates_and_reads_back_the_renderer_output(built):
    assert validate_dataset(built) == []
    index = json.loads((built / "dataset.json").read_text())
    assert index["counts"] == {"train": 2, "val": 2, "test": 2}
    plan = make_plan(TINY)
    job = plan.jobs[0]
    direct = render_job(job, TINY)  # the same job rendered again, outside Ray
    stored = Dataset.open(built).read_clip(job.key)
    fresh = decode_sample(direct["sample"])
    for name in ("rgb", "albedo", "normal", "roughness", "metallic", "irradiance", "depth", "instance"):
        assert np.array_equal(stored[name], fresh[name]) and stored[name].dtype == fresh[name].dtype, name
    np.testing.assert_array_equal(stored["camera"]["poses"], fresh["camera"]["poses"])
    assert stored["meta"]["key"] == job.key and stored["meta"]["prompt"]


def test_manifest_and_split_by_scene(built):
    rows = pq.read_table(built / "manifest.parquet").to_pylist()
    assert len(rows) == 6 and len({r["key"] for r in rows}) == 6
    scenes_per_split = {}
    for r in rows:
        scenes_per_split.setdefault(r["split"], set()).add(r["scene_index"])
        assert r["frames"] == 4 and r["width"] == 24 and r["prompt"] and json.loads(r["local_prompts"])
        assert r["mean_luminance"] > 0 and r["path_length_m"] >= 0
    splits = list(scenes_per_split.values())
    assert all(a.isdisjoint(b) for i, a in enumerate(splits) for b in splits[i + 1:])
    assert {r["split"]: r["clips"] for r in Dataset.open(built).info()} == {"train": 2, "val": 2, "test": 2}


def test_assign_splits_is_by_scene_and_deterministic():
    a = assign_splits(20, (0.8, 0.1, 0.1), 3)
    assert a == assign_splits(20, (0.8, 0.1, 0.1), 3) and a != assign_splits(20, (0.8, 0.1, 0.1), 4)
    assert (a.count("train"), a.count("val"), a.count("test")) == (16, 2, 2)
    assert sorted(set(assign_splits(3, (0.8, 0.1, 0.1), 0))) == ["test", "train", "val"]


def test_plain_webdataset_and_ray_data_read_the_shards(built):
    import ray
    import webdataset as wds

    urls = sorted(str(p) for p in (built / "shards").glob("*.tar"))
    samples = list(wds.WebDataset(urls, shardshuffle=False).decode())
    assert len(samples) == 6
    s = samples[0]
    assert s["rgb.npy"].dtype == np.float16 and s["albedo.npz"]["data"].shape == (4, 20, 24, 3)
    assert s["meta.json"]["key"] == s["__key__"] and len(s["camera.json"]["poses"]) == 4

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        rows = ray.data.read_webdataset(urls).take_all()
    finally:
        ray.shutdown()
    assert sorted(r["__key__"] for r in rows) == sorted(x["__key__"] for x in samples)
    # Ray decodes .npy and .json itself and leaves .npz as bytes; decode_sample takes either.
    clip = decode_sample(dict(rows[0]))
    assert clip["depth"].shape == (4, 20, 24, 1) and clip["rgb"].dtype == np.float16


def test_corrupt_and_incomplete_shards_are_named(built, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(built, copy)
    shards = sorted((copy / "shards").glob("*.tar"))
    data = shards[0].read_bytes()
    shards[0].write_bytes(data[: len(data) // 2])  # truncated
    with pytest.raises(ShardError, match=shards[0].name):
        read_shard(shards[0])
    problems = validate_dataset(copy)
    assert any(shards[0].name in p and "sha256" in p for p in problems)
    assert any(shards[0].name in p and ("corrupt" in p or "truncated" in p) for p in problems)

    # A sample with a pass missing: rewrite the second shard without its depth members.
    import tarfile

    with tarfile.open(shards[1]) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers() if ".depth." not in m.name]
    with tarfile.open(shards[1], "w") as tar:
        for m, payload in members:
            import io

            tar.addfile(m, io.BytesIO(payload))
    problems = validate_dataset(copy)
    assert any(shards[1].name in p and "depth" in p and "missing" in p for p in problems)


def test_rerun_checks_finished_shards_against_their_recorded_sha256(built, tmp_path):
    """A re-run never re-blesses a shard whose bytes changed: it names it and renders its clips
    again (the same bytes as before); an intact build is reused as is, and one whose records are
    gone (an older build) is checked against dataset.json."""
    copy = tmp_path / "copy"
    shutil.copytree(built, copy)
    clean = {p.name: p.read_bytes() for p in (built / "shards").glob("*.tar")}
    victim = sorted((copy / "shards").glob("*.tar"))[1]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte inside a member: same size, same tar layout
    victim.write_bytes(bytes(data))
    report = build_dataset(copy, TINY, workers=2)
    assert report.ok and len(report.damaged) == 1, report.damaged
    assert victim.name in report.damaged[0] and "bytes changed" in report.damaged[0]
    assert report.clips_rendered == 2 and report.clips_reused == 4
    assert {p.name: p.read_bytes() for p in (copy / "shards").glob("*.tar")} == clean
    assert validate_dataset(copy) == []

    shutil.rmtree(copy / ".work" / "checksums")
    report = build_dataset(copy, TINY, workers=2)
    assert report.ok and report.damaged == [] and report.clips_rendered == 0
    assert sorted(p.stem for p in (copy / ".work" / "checksums").glob("*.json")) == sorted(p.stem for p in victim.parent.glob("*.tar"))
    assert json.loads((copy / "dataset.json").read_text()) == json.loads((built / "dataset.json").read_text())


def test_failed_clip_is_reported_and_written_shards_survive(tmp_path):
    out = tmp_path / "fails"
    cfg = BuildConfig(**{**TINY.to_dict(), "split_fractions": (0.8, 0.1, 0.1), "generated": 3})
    build_dataset(out, cfg, workers=2)  # complete build, then break one job of a fresh run
    plan = json.loads((out / "plan.json").read_text())
    victim = plan["jobs"][-1]
    victim["room_id"] = 97  # no such room: the worker raises on every retry
    (out / "plan.json").write_text(json.dumps(plan))
    victim_shard = out / "shards" / f"{victim['shard']}.tar"
    keep = {p.name: p.read_bytes() for p in (out / "shards").glob("*.tar") if p != victim_shard}
    victim_shard.unlink()
    (out / "dataset.json").unlink()
    report = build_dataset(out, cfg, workers=2, max_retries=1)
    assert not report.ok and list(report.failed) == [victim["key"]]
    assert "97" in report.failed[victim["key"]]
    assert not (out / "dataset.json").exists()  # no index for an incomplete build
    assert {p.name: p.read_bytes() for p in (out / "shards").glob("*.tar")} == keep


def test_bad_config_and_changed_config_are_refused(built):
    with pytest.raises(ValueError, match="frames"):
        BuildConfig(frames=1)
    with pytest.raises(ValueError, match="another configuration"):
        build_dataset(built, BuildConfig(**{**TINY.to_dict(), "split_fractions": (0.8, 0.1, 0.1), "frames": 5}))


def _build_cmd(out: Path) -> list[str]:
    return [sys.executable, "-c", "from workbench.cli import interiorvideo_app; interiorvideo_app()", "build", "--out", str(out), *CLI_ARGS]


def test_kill_and_resume_gives_the_same_bytes(tmp_path, built):
    """SIGKILL the build mid-way, re-run the same command: same shards, byte for byte."""
    out = tmp_path / "killed"
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
    proc = subprocess.Popen(_build_cmd(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                            start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        done = list((out / ".work" / "samples").glob("*.tar")) + list((out / "shards").glob("*.tar"))
        if len(done) >= 2:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its Ray workers, mid-build
    proc.wait()
    assert not (out / "dataset.json").exists(), "killed too late to test resuming"
    res = subprocess.run(_build_cmd(out), capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "reused" in res.stdout
    clean = {p.name: p.read_bytes() for p in (built / "shards").glob("*.tar")}
    resumed = {p.name: p.read_bytes() for p in (out / "shards").glob("*.tar")}
    assert resumed == clean
    assert not list(out.glob("shards/.*.tmp"))  # no half-written shard left behind
    assert validate_dataset(out) == []


def test_one_build_per_folder(tmp_path):
    import fcntl

    out = tmp_path / "locked"
    out.mkdir()
    (out / "shards").mkdir()
    stale = out / "shards" / ".train-000000.tar.abc.tmp"
    stale.write_bytes(b"half a shard")
    with open(out / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        with pytest.raises(ValueError, match="another build is running"):
            build_dataset(out, TINY)
    assert stale.exists()  # nothing touched while another build holds the folder
    from pipelines.build import _paths, _remove_stale_temporaries

    assert _remove_stale_temporaries(_paths(out)) == 1 and not stale.exists()
