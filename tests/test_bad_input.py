"""Bad input, as a hostile user gives it (issue 17): a table of inputs and the one-line error each
must get — exit status 2, the input named, no traceback, nothing written or lost."""

from __future__ import annotations

import errno
import json
import os

import numpy as np
import pytest
from typer.testing import CliRunner

from interiorvideo.trajectory import Trajectory
from interiorvideo.trajectory.camera import intrinsics
from workbench.cli import interiorvideo_app

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
runner = CliRunner()

BUILD_ARGS = ["--generated", "1", "--rooms-per-scene", "1", "--clips-per-room", "2", "--frames", "3", "--size",
              "16x12", "--samples", "2", "--shard-size", "1", "--workers", "1"]


def one_error(res, *needles: str) -> None:
    """Exit 2, a single error line that contains every needle, and no traceback."""
    out = res.output
    assert res.exit_code == 2 and "Traceback" not in out, out  # an uncaught exception exits 1
    flat = " ".join(out.split())
    for needle in needles:
        assert needle in flat, (needle, out)


def _with(args: list[str], flag: str, value: str) -> list[str]:
    args = list(args)
    args[args.index(flag) + 1] = value
    return args


@pytest.mark.parametrize("flag, value, needles", [
    ("--samples", "3", ["samples must be a power of two", "3"]),
    ("--fps", "inf", ["fps must be a positive finite number"]),
    ("--fps", "0", ["fps must be a positive finite number"]),
    ("--seed", "-1", ["--seed", "greater than or equal to 0"]),
    ("--frames", "1", ["frames must be at least 2"]),
    ("--size", "0x12", ["size must be positive"]),
    ("--shard-size", "0", ["shard_size must be at least 1"]),
    ("--backend", "vulkan", ["backend must be one of", "vulkan"]),
])
def test_build_rejects_bad_options_before_writing_anything(tmp_path, flag, value, needles):
    out = tmp_path / "ds"
    args = _with(BUILD_ARGS + ["--fps", "24", "--seed", "0", "--backend", "cpu"], flag, value)
    res = runner.invoke(interiorvideo_app, ["build", "--out", str(out), *args])
    one_error(res, *needles)
    assert not out.exists()


def test_build_refuses_an_out_that_is_a_file_or_a_foreign_folder(tmp_path):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    one_error(runner.invoke(interiorvideo_app, ["build", "--out", str(a_file), *BUILD_ARGS]), "is a file")
    assert a_file.read_text() == "mine"
    foreign = tmp_path / "home"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("x")
    one_error(runner.invoke(interiorvideo_app, ["build", "--out", str(foreign), *BUILD_ARGS]),
              "holds other files", "thesis.tex")
    assert sorted(p.name for p in foreign.iterdir()) == ["thesis.tex"]


def test_disk_full_during_a_build_is_one_error_and_the_rerun_finishes(tmp_path, monkeypatch):
    """Fault injection: the second clip's file cannot be written (ENOSPC). The CLI says so in one
    line, keeps what was finished, and the same command then completes a sound dataset."""
    from interiorvideo.dataset import Dataset
    from interiorvideo.dataset_check import validate_dataset
    from pipelines import build

    real, calls = build.write_shard, []

    def full_disk(path, samples):
        calls.append(path)
        if len(calls) == 3:  # clip 1, its shard, then clip 2
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, samples)

    out = tmp_path / "ds"
    monkeypatch.setattr(build, "write_shard", full_disk)
    res = runner.invoke(interiorvideo_app, ["build", "--out", str(out), *BUILD_ARGS])
    one_error(res, "No space left on device", "re-run the same command")
    kept = sorted(p.name for p in (out / "shards").glob("*.tar"))
    assert kept and not (out / "dataset.json").exists()
    monkeypatch.setattr(build, "write_shard", real)
    res = runner.invoke(interiorvideo_app, ["build", "--out", str(out), *BUILD_ARGS])
    assert res.exit_code == 0, res.output
    assert set(kept) <= {p.name for p in (out / "shards").glob("*.tar")}
    assert validate_dataset(Dataset.open(out)) == []
    # Its 3-frame clips are too short to train on: said before any training, not a StopIteration.
    from workbench.cli import x2v_app

    one_error(runner.invoke(x2v_app, ["train", "--data", str(out), "--out", str(tmp_path / "run")]),
              "its clips have 3 frames", "--frames 5")


def test_scene_seed_must_not_be_negative(tmp_path):
    one_error(runner.invoke(interiorvideo_app, ["scene", "--seed", "-1", "--out", str(tmp_path / "s")]), "--seed")
    assert not (tmp_path / "s").exists()


@pytest.fixture(scope="module")
def scene_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("scene") / "s"
    res = runner.invoke(interiorvideo_app, ["scene", "--seed", "1", "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out


def _trajectory(scene_name: str) -> dict:
    poses = np.tile(np.eye(4), (2, 1, 1))
    poses[:, :3, 3] = [1.0, 1.0, 1.2]
    return Trajectory(intrinsics(16, 12, 60), poses, 24.0, 16, 12, scene_name, 1).to_dict()


@pytest.mark.parametrize("case, needles", [
    ("a list", ["a trajectory is a JSON object, got a list"]),
    ("NaN pose", ["poses", "not finite"]),
    ("inf fps", ["fps", "finite"]),
    ("zero width", ["width", "greater than 0"]),
    ("shear pose", ["pose 1 is not a rotation"]),
    ("another scene", ["was planned for scene 'elsewhere'"]),
    ("missing room", ["walks room 77"]),
])
def test_render_rejects_bad_trajectories_before_rendering(scene_dir, tmp_path, case, needles):
    from interiorvideo.scene import load_scene

    d = _trajectory(load_scene(scene_dir).name)
    if case == "a list":
        d = [d]
    elif case == "NaN pose":
        d["poses"][1][0][3] = float("nan")
    elif case == "inf fps":
        d["fps"] = float("inf")
    elif case == "zero width":
        d["width"] = 0
    elif case == "shear pose":
        d["poses"][1][0][1] = 0.5
    elif case == "another scene":
        d["scene"] = "elsewhere"
    elif case == "missing room":
        d["room_id"] = 77
    path = tmp_path / "t.json"
    path.write_text(json.dumps(d))
    out = tmp_path / "clip"
    res = runner.invoke(interiorvideo_app, ["render", "--scene", str(scene_dir), "--trajectory", str(path),
                                            "--out", str(out), "--size", "16x12", "--samples", "1"])
    one_error(res, str(path) if case not in ("missing room",) else "77", *needles)
    assert not out.exists()


# -- damaged data: readers never hand it on --------------------------------------------------------

def _poison(root, split: str, value: float = float("nan")):
    """Rewrite one clip of a split with ``value`` in one rgb pixel (a well-formed shard, so only
    its checksum and its values give it away); returns (shard file, clip key)."""
    from interiorvideo.dataset import Dataset
    from interiorvideo.shards import decode_sample, encode_sample, read_shard, write_shard

    ds = Dataset.open(root)
    entry = ds.shards_of(split)[0]
    path = ds.shard_path(entry)
    samples = read_shard(path)
    clip = decode_sample(samples[0])
    clip["rgb"] = clip["rgb"].copy()
    clip["rgb"][0, 0, 0, 0] = value
    samples[0] = encode_sample(samples[0]["__key__"], clip)
    write_shard(path, samples)
    return path, samples[0]["__key__"]


@pytest.fixture
def poisoned(built_dataset, tmp_path):
    import shutil

    root = tmp_path / "ds"
    shutil.copytree(built_dataset, root)
    return root


@pytest.mark.parametrize("value, needle", [(float("nan"), "non-finite"), (float("inf"), "non-finite"),
                                           (-2.0, "values outside")])
def test_readers_reject_values_the_contract_forbids(poisoned, value, needle):
    from interiorvideo.data import InteriorVideoDataset
    from interiorvideo.dataset import Dataset
    from interiorvideo.shards import ShardError

    path, key = _poison(poisoned, "train", value)
    with pytest.raises(ShardError, match=rf"shard {path.name} clip {key}: rgb: 1 {needle}"):
        Dataset.open(poisoned).read_clip(key)
    reader = InteriorVideoDataset(dataset_dir=poisoned, split="train", frames=None, temporal="first")
    with pytest.raises(ShardError, match=rf"{path.name} clip {key}: rgb: 1 {needle}"):
        list(reader)
    with pytest.raises(ShardError, match=rf"shard .*{path.name}: bytes differ from the sha256"):
        InteriorVideoDataset(dataset_dir=poisoned, split="train", frames=None, verify=True)


def test_the_benchmark_stops_on_damaged_ground_truth_and_blames_no_method(poisoned, tmp_path):
    from benchmarks.common import BenchmarkError
    from benchmarks.runner import RunConfig, run_benchmark

    path, key = _poison(poisoned, "test")
    out = tmp_path / "results"
    cfg = dict(data=poisoned, out=out, methods=["gt"], tasks=["render"], metrics=["psnr"], workers=0)
    with pytest.raises(BenchmarkError, match=rf"{path.name}: bytes differ from the sha256"):
        run_benchmark(RunConfig(**cfg))
    assert not list(out.rglob("*.json"))  # stopped before any unit
    with pytest.raises(BenchmarkError, match=rf"shard {path.name} clip {key}: rgb: 1 non-finite") as info:
        run_benchmark(RunConfig(**cfg, verify_data=False))
    assert "gt" not in str(info.value).split(":")[0]


def test_validate_names_members_the_contract_does_not_have(poisoned):
    import io
    import tarfile

    from interiorvideo.dataset import Dataset
    from interiorvideo.dataset_check import validate_dataset

    ds = Dataset.open(poisoned)
    entry = ds.shards[0]
    last = entry.keys[-1]
    with tarfile.open(ds.shard_path(entry), "a") as tar:  # joins the shard's last sample
        payload = b"not part of the contract"
        info = tarfile.TarInfo(f"{last}.notes.txt")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    problems = validate_dataset(Dataset.open(poisoned))
    assert any(f"clip {last}: unknown members ['notes.txt']" in p for p in problems), problems


# -- external method folders -------------------------------------------------------------------------

def test_a_16_bit_png_keeps_its_16_bits(tmp_path):
    import cv2

    from benchmarks.methods.external import load_frames

    rng = np.random.default_rng(4)
    rgb16 = rng.integers(0, 65536, (2, 6, 5, 3), dtype=np.uint16)
    for t in range(2):
        cv2.imwrite(str(tmp_path / f"{t:05d}.png"), rgb16[t][..., ::-1])  # OpenCV writes BGR
    frames, space = load_frames(tmp_path, 2, (6, 5))
    assert space == "display" and frames.dtype == np.float32
    np.testing.assert_array_equal(np.round(frames * 65535).astype(np.uint16), rgb16)  # not cut to 8 bits


@pytest.mark.parametrize("array, needles", [
    (np.zeros((2, 6, 5, 3), np.uint16), ["holds uint16 values", "expected float"]),
    (np.zeros((2, 6, 5, 3), bool), ["holds bool values"]),
    (np.full((2, 6, 5, 3), -0.5, np.float32), ["negative radiance", "-0.5"]),
    (np.full((2, 6, 5, 3), np.nan, np.float32), ["NaN or infinite"]),
    (np.array([{"a": 1}, None], dtype=object), ["is not a plain .npy array"]),
])
def test_bad_frames_npy_is_named(tmp_path, array, needles):
    from benchmarks.common import BenchmarkError
    from benchmarks.methods.external import load_frames

    path = tmp_path / "frames.npy"
    np.save(path, array, allow_pickle=True)
    with pytest.raises(BenchmarkError) as info:
        load_frames(tmp_path, 2, (6, 5))
    assert str(path) in str(info.value)
    for needle in needles:
        assert needle in str(info.value)


def test_an_unexpected_exception_is_one_line_naming_its_log(tmp_path, monkeypatch, capsys):
    """A bug (not bad input) still gives one line — which log holds the traceback — and exit 1."""
    import sys

    import typer

    from workbench.cli import guarded

    app = typer.Typer()

    @app.command()
    def boom() -> None:
        raise RuntimeError("the renderer fell over\nsecond line")

    @app.command()
    def fine() -> None:
        pass

    monkeypatch.setenv("X2V_HOME", str(tmp_path))
    monkeypatch.setattr(sys, "argv", ["tool", "boom"])
    with pytest.raises(SystemExit) as info:
        guarded(app, "tool")()
    assert info.value.code == 1
    err = capsys.readouterr().err
    logs = list((tmp_path / "logs").glob("tool-*.log"))
    assert len(logs) == 1 and str(logs[0]) in " ".join(err.split())
    assert "RuntimeError: the renderer fell over" in err and "second line" not in err and "Traceback" not in err
    text = logs[0].read_text()
    assert "tool boom" in text and "Traceback" in text and "raise RuntimeError" in text


@pytest.mark.parametrize("app_name, args, needles", [
    ("bench", ["--out", "{file}"], ["--out", "is a file, not a results folder"]),
    ("bench", ["--exposure", "inf"], ["--exposure must be a positive finite number"]),
    ("bench", ["--exposure", "-1"], ["--exposure must be a positive finite number"]),
    ("bench", ["--workers", "-1"], ["--workers", "greater than or equal to 0"]),
    ("bench", ["--metrics", "lpips", "--lpips-weights", "{file}"], ["--lpips-weights", "not LPIPS backbone weights"]),
    ("train", ["--lr", "-1"], ["--lr must be a positive finite number"]),
    ("train", ["--lr", "nan"], ["--lr must be a positive finite number"]),
    ("train", ["--out", "{file}"], ["is a file, not a run folder"]),
])
def test_bench_and_train_options_are_checked_before_any_work(built_dataset, tmp_path, app_name, args, needles):
    from workbench.cli import bench_app, x2v_app

    junk = tmp_path / "notes.txt"
    junk.write_text("not what it should be")
    args = [a.format(file=junk) for a in args]
    if app_name == "bench":
        base = ["run", "--data", str(built_dataset), "--workers", "0", "-m", "gt", "-t", "render", "--metrics", "psnr",
                "--out", str(tmp_path / "results")]
        app = bench_app
    else:
        base = ["train", "--data", str(built_dataset), "--out", str(tmp_path / "run"), "--max-steps", "1"]
        app = x2v_app
    for flag in ("--out", "--metrics"):  # the case's own value wins
        if flag in args and flag in base:
            i = base.index(flag)
            del base[i:i + 2]
    one_error(runner.invoke(app, [*base, *args]), *needles)
    assert not (tmp_path / "results").exists() and not (tmp_path / "run").exists()
    assert junk.read_text() == "not what it should be"


def test_train_verify_data_names_a_damaged_shard_before_training(poisoned, tmp_path):
    from workbench.cli import x2v_app

    path, _ = _poison(poisoned, "train")
    res = runner.invoke(x2v_app, ["train", "--data", str(poisoned), "--out", str(tmp_path / "run"), "--verify-data"])
    one_error(res, path.name, "bytes differ from the sha256")
    assert not (tmp_path / "run").exists()


def _mount_tmpfs(path, size: str) -> bool:
    import subprocess

    path.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


def test_a_real_full_disk_loses_nothing(tmp_path):
    """Fault injection on a real filesystem where the machine allows it (root, tmpfs): a build
    into a 128 KiB tmpfs runs out of space mid-way, says so in one line; after the disk grows the
    same command finishes with the same bytes as a build that never ran out."""
    import subprocess

    args = ["--generated", "3", "--rooms-per-scene", "1", "--clips-per-room", "1", "--frames", "3", "--size", "16x12",
            "--samples", "2", "--shard-size", "1", "--workers", "1"]
    disk = tmp_path / "disk"
    if os.geteuid() != 0 or not _mount_tmpfs(disk, "128k"):
        pytest.skip("needs root to mount a small tmpfs")
    try:
        out = disk / "ds"
        res = runner.invoke(interiorvideo_app, ["build", "--out", str(out), *args])
        one_error(res, "No space left on device", "re-run the same command")
        assert not (out / "dataset.json").exists()
        subprocess.run(["mount", "-o", "remount,size=4m", str(disk)], check=True)
        res = runner.invoke(interiorvideo_app, ["build", "--out", str(out), *args])
        assert res.exit_code == 0, res.output
        reference = tmp_path / "reference"
        assert runner.invoke(interiorvideo_app, ["build", "--out", str(reference), *args]).exit_code == 0
        shards = {p.name: p.read_bytes() for p in (out / "shards").glob("*.tar")}
        assert shards == {p.name: p.read_bytes() for p in (reference / "shards").glob("*.tar")} and len(shards) == 3
        assert not list(out.rglob(".*.tmp"))
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)
