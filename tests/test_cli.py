"""The `interiorvideo` command line: the README's main job, and clear errors on bad input."""

from __future__ import annotations

import json

import imageio.v3 as iio
import numpy as np
from typer.testing import CliRunner

from interiorvideo.cli import app
from interiorvideo.scene import load_scene
from interiorvideo.trajectory import Trajectory

runner = CliRunner()


def test_scene_then_trajectory(tmp_path):
    scene_dir = tmp_path / "scene"
    res = runner.invoke(app, ["scene", "--seed", "5", "--out", str(scene_dir)])
    assert res.exit_code == 0, res.output
    sc = load_scene(scene_dir)
    assert len(sc.rooms) >= 3 and (scene_dir / "floorplan.png").stat().st_size > 10_000
    meta = json.loads((scene_dir / "scene.json").read_text())
    assert {o["label"] for o in meta["objects"]} >= {"wall", "floor", "ceiling"}
    assert all(o["prompt"] for o in meta["objects"]) and all(r["prompt"] for r in meta["rooms"])

    out = tmp_path / "traj" / "room1.json"
    res = runner.invoke(app, ["trajectory", "--scene", str(scene_dir), "--room", "1", "--frames", "30",
                              "--size", "320x240", "--seed", "3", "--out", str(out)])
    assert res.exit_code == 0, res.output
    traj = Trajectory.load(out)
    assert (traj.frames, traj.width, traj.height, traj.room_id) == (30, 320, 240, 1)
    assert traj.K[0, 2] == 160.0 and traj.K[1, 2] == 120.0
    png = iio.imread(out.with_suffix(".png"))
    assert png.ndim == 3 and png.shape[0] > 300
    video = iio.imread(out.with_suffix(".mp4"))
    assert video.shape[0] == 30 and video.std() > 5  # a real picture, not a blank frame


def test_missing_scene_is_named(tmp_path):
    res = runner.invoke(app, ["trajectory", "--scene", str(tmp_path / "nope"), "--out", str(tmp_path / "t.json")])
    assert res.exit_code == 2
    assert "nope" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "t.json").exists()


def test_unknown_room_and_bad_size(tmp_path):
    runner.invoke(app, ["scene", "--seed", "1", "--out", str(tmp_path / "s")])
    res = runner.invoke(app, ["trajectory", "--scene", str(tmp_path / "s"), "--room", "99",
                              "--out", str(tmp_path / "t.json")])
    assert res.exit_code == 2 and "no room 99" in res.output
    res = runner.invoke(app, ["trajectory", "--scene", str(tmp_path / "s"), "--size", "wide",
                              "--out", str(tmp_path / "t.json")])
    assert res.exit_code != 0 and "WIDTHxHEIGHT" in res.output


def test_failed_trajectory_keeps_previous_output(tmp_path):
    """A failing run must not clobber a trajectory written before."""
    runner.invoke(app, ["scene", "--seed", "2", "--out", str(tmp_path / "s")])
    out = tmp_path / "t.json"
    assert runner.invoke(app, ["trajectory", "--scene", str(tmp_path / "s"), "--frames", "10", "--out", str(out),
                               "--no-preview"]).exit_code == 0
    before = out.read_bytes()
    res = runner.invoke(app, ["trajectory", "--scene", str(tmp_path / "s"), "--room", "77", "--out", str(out)])
    assert res.exit_code == 2 and out.read_bytes() == before
    assert np.asarray(json.loads(before)["poses"]).shape == (10, 4, 4)


def test_import_obj_as_scene_folder(tmp_path):
    from interiorvideo.scene import generate_scene
    from interiorvideo.scene.importers import export_obj

    sc = generate_scene(6)
    export_obj(sc, tmp_path / "apt.obj")
    res = runner.invoke(app, ["import", str(tmp_path / "apt.obj"), "--out", str(tmp_path / "imported")])
    assert res.exit_code == 0, res.output
    back = load_scene(tmp_path / "imported")
    assert len(back.objects) == len(sc.objects) and back.num_triangles == sc.num_triangles
    assert len(back.rooms) == len(sc.rooms)
    res = runner.invoke(app, ["import", str(tmp_path / "missing.ply"), "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "missing.ply" in res.output and not (tmp_path / "x").exists()


def test_render_writes_a_valid_clip_and_preview(tmp_path):
    from interiorvideo.render.clipio import read_clip
    from interiorvideo.schema import check_clip

    runner.invoke(app, ["scene", "--seed", "3", "--out", str(tmp_path / "s")])
    runner.invoke(app, ["trajectory", "--scene", str(tmp_path / "s"), "--room", "0", "--frames", "4",
                        "--out", str(tmp_path / "t.json"), "--no-preview"])
    edits = tmp_path / "edits.json"
    edits.write_text(json.dumps([{"kind": "albedo", "instance_id": 1, "color": [0.9, 0.1, 0.1]}]))
    res = runner.invoke(app, ["render", "--scene", str(tmp_path / "s"), "--trajectory", str(tmp_path / "t.json"),
                              "--size", "32x24", "--samples", "4", "--edits", str(edits), "--out", str(tmp_path / "c")])
    assert res.exit_code == 0, res.output
    clip = read_clip(tmp_path / "c")
    assert check_clip(clip) == [] and clip["rgb"].shape == (4, 24, 32, 3)
    floor = clip["instance"] == 1
    assert floor.any() and np.allclose(clip["albedo"][floor], [0.9, 0.1, 0.1])  # the edit reached the render
    assert clip["meta"]["prompt"] and clip["meta"]["local_prompts"]
    assert iio.imread(tmp_path / "c" / "preview.mp4").shape[0] == 4
    bad = runner.invoke(app, ["render", "--scene", str(tmp_path / "s"), "--trajectory", str(tmp_path / "none.json"),
                              "--out", str(tmp_path / "d")])
    assert bad.exit_code == 2 and "none.json" in bad.output and not (tmp_path / "d").exists()
