"""Builds from the user's scenes (``interiorvideo build --scenes PATH``): a scene folder, an OBJ
(+ MTL + textures) and a PLY that admits no trajectory; checksums in the index, resume, a changed
source, bad paths."""

from __future__ import annotations

import hashlib
import json
import os
import shutil

import numpy as np
import pyarrow.parquet as pq
import pytest
import trimesh
from typer.testing import CliRunner

from interiorvideo.dataset import Dataset
from interiorvideo.dataset_check import validate_dataset
from interiorvideo.scene import generate_scene, save_scene
from interiorvideo.scene.importers import export_obj
from pipelines import BuildConfig, build_dataset
from pipelines.build import load_or_write_plan
from pipelines.sources import SourceError
from pipelines.worker import render_job

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

SMALL = dict(rooms_per_scene=1, clips_per_room=1, frames=4, width=32, height=32, samples=4, shard_size=2)
SMALL_ARGS = ["--rooms-per-scene", "1", "--frames", "4", "--size", "32x32", "--samples", "4", "--shard-size", "2"]
runner = CliRunner()


def sha(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def shard_digests(out) -> dict[str, str]:
    return {p.name: sha(p) for p in sorted((out / "shards").glob("*.tar"))}


def make_sources(root):
    """A scene folder, an exported OBJ with its MTL and textures, and a box too small to film."""
    save_scene(generate_scene(3), root / "flat3")
    export_obj(generate_scene(7), root / "obj" / "apt.obj")
    trimesh.creation.box(extents=(0.4, 0.3, 0.4)).export(root / "box.ply")
    return [str(root / "flat3"), str(root / "obj" / "apt.obj"), str(root / "box.ply")]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    paths = make_sources(tmp_path_factory.mktemp("sources"))
    out = tmp_path_factory.mktemp("ds") / "user"
    cfg = BuildConfig(scenes=paths, **SMALL)
    report = build_dataset(out, cfg, workers=2)
    assert report.ok and report.clips_rendered == 2, report
    return out, cfg, paths, report


def test_user_scenes_build_a_valid_dataset_that_names_each_source(built):
    out, cfg, (folder, obj, box), report = built
    assert cfg.generated == 0  # user scenes given, no --generated: no apartments are generated
    ds = Dataset.open(out)
    assert validate_dataset(ds) == []
    index = json.loads((out / "dataset.json").read_text())
    by_source = {s["source"]: s for s in index["sources"]}
    assert [s["kind"] for s in index["sources"]] == ["folder", "file", "file"]
    # Every file each scene is read from is hashed: the folder's two files; the OBJ, its MTL, its textures.
    assert by_source[folder]["files"] == {os.path.join(folder, n): sha(os.path.join(folder, n))
                                          for n in ("scene.json", "scene.glb")}
    obj_files = by_source[obj]["files"]
    textures = [f for f in os.listdir(os.path.dirname(obj)) if f.endswith(".png")]
    assert textures and set(obj_files) == {obj, obj[:-4] + ".mtl", *(os.path.join(os.path.dirname(obj), t)
                                                                    for t in textures)}
    assert all(obj_files[f] == sha(f) for f in obj_files)

    rows = pq.read_table(out / "manifest.parquet").to_pylist()
    assert sorted((r["key"], r["source"], r["source_kind"]) for r in rows) == [
        ("s00000r02c00", folder, "folder"), ("s00001r00c00", obj, "file")]
    for r in rows:
        assert r["source_sha256"] == by_source[r["source"]]["sha256"] and len(r["source_sha256"]) == 64
        assert r["scene_seed"] is None
        meta = ds.read_clip(r["key"], passes=())["meta"]
        assert meta["source"] == {"path": r["source"], "kind": r["source_kind"], "sha256": r["source_sha256"]}
        assert "scene_seed" not in meta  # an edit task must not regenerate a user scene from a seed
    assert len({r["split"] for r in rows}) == 2  # three scenes, one per split; two give clips

    # The PLY box: its one room is too small, so the source gives no clip, said in a line (no crash).
    assert any(box in line and "free space" in line for line in report.skipped_rooms)
    assert report.scenes_without_clips == [f"scene 2 ({box}): no room admits a valid trajectory, so it gives no "
                                           f"clips (see the skipped rooms)"]
    assert index["scenes_without_clips"] == report.scenes_without_clips and by_source[box]["clips"] == 0


def test_validate_names_a_manifest_row_whose_source_disagrees_with_the_index(built, tmp_path):
    out = built[0]
    copy = tmp_path / "copy"
    shutil.copytree(out, copy, ignore=shutil.ignore_patterns(".work"))
    index = json.loads((copy / "dataset.json").read_text())
    index["sources"][1]["sha256"] = "0" * 64
    (copy / "dataset.json").write_text(json.dumps(index))
    problems = validate_dataset(Dataset.open(copy))
    assert len(problems) == 1 and "s00001r00c00" in problems[0] and "scene source" in problems[0]


def test_the_folder_scene_is_rendered_as_saved(built):
    """The folder holds generate_scene(3): its clip equals that scene rendered directly."""
    out, cfg, (folder, _, _), _ = built
    plan = json.loads((out / "plan.json").read_text())
    job = next(j for j in plan["jobs"] if j["source_kind"] == "folder")
    from pipelines.plan import ClipJob

    direct = render_job(ClipJob(**job), cfg, scene=generate_scene(3))
    from interiorvideo.shards import decode_sample

    fresh, stored = decode_sample(direct["sample"]), Dataset.open(out).read_clip(job["key"])
    for name in ("rgb", "albedo", "irradiance", "depth", "instance"):
        assert np.array_equal(stored[name], fresh[name]), name


def test_resume_is_byte_identical_also_with_the_frozen_copy_gone(built, tmp_path):
    out, cfg, _, _ = built
    before = shard_digests(out)
    again = build_dataset(out, cfg, workers=2)
    assert again.ok and again.clips_rendered == 0 and again.clips_reused == 2 and shard_digests(out) == before

    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    plan = json.loads((copy / "plan.json").read_text())
    obj_job = next(j for j in plan["jobs"] if j["source_kind"] == "file")
    (copy / "shards" / f"{obj_job['shard']}.tar").unlink()
    (copy / "dataset.json").unlink()
    shutil.rmtree(copy / ".work" / "scenes" / f"s{obj_job['scene_index']:05d}")  # imported again on resume
    resumed = build_dataset(copy, cfg, workers=2)
    assert resumed.ok and resumed.clips_rendered == 1
    assert shard_digests(copy) == before and validate_dataset(Dataset.open(copy)) == []


@pytest.mark.parametrize("changed", ["obj/apt.mtl", "flat3/scene.glb"])
def test_a_changed_source_file_stops_the_resume_naming_it(tmp_path, changed):
    paths = make_sources(tmp_path / "src")[:2]
    cfg = BuildConfig(scenes=paths, **SMALL)
    out = tmp_path / "out"
    out.mkdir()
    load_or_write_plan(out, cfg)  # the first run got as far as its plan
    target = tmp_path / "src" / changed
    target.write_bytes(target.read_bytes() + b"\n")
    from workbench.cli import interiorvideo_app

    res = runner.invoke(interiorvideo_app, ["build", "--out", str(out), "--scenes", paths[0], "--scenes", paths[1],
                                            *SMALL_ARGS])
    assert res.exit_code == 2 and f"{target} changed since this build was planned" in res.output, res.output
    with pytest.raises(SourceError, match=f"{target.name} changed since this build was planned"):
        build_dataset(out, cfg, workers=1)
    assert not list((out / ".work" / "samples").glob("*.tar"))  # nothing rendered


def test_bad_paths_fail_before_any_work(tmp_path):
    from workbench.cli import interiorvideo_app

    (tmp_path / "plain").mkdir()
    (tmp_path / "chair.fbx").write_bytes(b"not a supported format")
    cases = {str(tmp_path / "missing.obj"): "not found", str(tmp_path / "plain"): "without scene.json",
             str(tmp_path / "chair.fbx"): "unsupported file type", "3": "--generated"}
    for path, why in cases.items():
        out = tmp_path / f"out_{len(why)}"
        res = runner.invoke(interiorvideo_app, ["build", "--out", str(out), "--scenes", path])
        text = " ".join(res.output.split())
        assert res.exit_code == 2 and path in text and why in text, res.output
        assert not out.exists()
        with pytest.raises(SourceError, match=why):
            build_dataset(out, BuildConfig(scenes=[path]))
        assert not out.exists()


def test_config_counts_and_the_renamed_option():
    assert BuildConfig().generated == 4 and BuildConfig(scenes=["a"]).generated == 0
    assert BuildConfig(scenes=["a"], generated=2).num_scenes == 3
    with pytest.raises(TypeError, match="generated=3"):
        BuildConfig(scenes=3)
    with pytest.raises(ValueError, match="no scenes"):
        BuildConfig(generated=0)
    cfg = BuildConfig(scenes=["a", "b"], generated=1)
    assert BuildConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


def test_one_scene_given_twice_is_refused(tmp_path):
    save_scene(generate_scene(3), tmp_path / "a", floorplan=False)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    with pytest.raises(SourceError, match="given twice"):
        build_dataset(tmp_path / "out", BuildConfig(scenes=[str(tmp_path / "a"), str(tmp_path / "a")]))
    from pipelines import make_plan

    with pytest.raises(SourceError, match=r"scene 1 \(.*b\) holds the same files as scene 0"):
        make_plan(BuildConfig(scenes=[str(tmp_path / "a"), str(tmp_path / "b")], **SMALL), tmp_path / "out")


@pytest.mark.parametrize("default_lights", [False, True])
def test_default_lights_reach_an_unlit_mesh_file_and_are_recorded(tmp_path, default_lights):
    from pipelines.sources import read_frozen, resolve_user_source

    path = tmp_path / "box.ply"
    trimesh.creation.box(extents=(4.0, 3.0, 2.5)).export(path)
    record, scene = resolve_user_source(0, str(path), "file", tmp_path / "out", tmp_path / "out" / "scenes",
                                        default_lights=default_lights)
    assert bool(scene.lights) == default_lights and all(li.kind == "point" for li in scene.lights)
    assert any("no light sources" in n for n in record.notes) != default_lights
    assert any("assumed" in n and "units" in n for n in record.notes)
    # A lost frozen copy is rebuilt the same way (with or without the rig).
    shutil.rmtree(tmp_path / "out" / "scenes" / "s00000")
    assert len(read_frozen(record, tmp_path / "out").lights) == len(scene.lights)
    assert BuildConfig.from_dict(BuildConfig(scenes=[str(path)], default_lights=True).to_dict()).default_lights
