"""The `x2v-bench` command line: run, compare, list, export, and clear errors naming the input."""

from __future__ import annotations

import json

import imageio.v3 as iio
import numpy as np
import pytest
from typer.testing import CliRunner

from benchmarks.cli import app
from workbench.cli import bench_app
from benchmarks.results import METRICS_FILE, METRICS_SCHEMA, read_table
from benchmarks.tasks import TASKS

runner = CliRunner()


def test_list_shows_tasks_metrics_and_methods():
    res = runner.invoke(app, ["list"], env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    for name in [*TASKS, "psnr", "warp_error", "delta_e_edit", "leakage", "monotonicity", "fvd", "gt",
                 "pbr-composite", "x2video-perframe", "x2video-independent", "external"]:
        assert name in res.output, name
    res = runner.invoke(app, ["list", "methods"])
    assert res.exit_code == 0 and "render-partial" not in res.output and "gt" in res.output
    assert runner.invoke(app, ["list", "things"]).exit_code != 0
    assert "x2v-bench 0." in runner.invoke(app, ["version"]).output


def test_compare_scores_two_clips(tmp_path):
    rng = np.random.default_rng(0)
    gt = rng.random((3, 24, 24, 3)).astype(np.float32)
    np.save(tmp_path / "gt.npy", gt)
    np.save(tmp_path / "same.npy", gt)
    np.save(tmp_path / "pred.npy", gt * 1.2)
    res = runner.invoke(app, ["compare", str(tmp_path / "gt.npy"), str(tmp_path / "same.npy"), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["psnr"]["value"] == 100.0 and out["ssim"]["value"] == pytest.approx(1.0) and out["flicker"]["value"] == 0
    assert {"psnr", "ssim", "lpips", "flip", "tof", "tlpips", "flicker"} <= set(out)
    res = runner.invoke(app, ["compare", str(tmp_path / "gt.npy"), str(tmp_path / "pred.npy"), "--metrics", "psnr"],
                        env={"COLUMNS": "200"})
    assert res.exit_code == 0 and "psnr" in res.output and "ssim" not in res.output
    # an image against a linear HDR frame: both through the same display mapping
    from interiorvideo.colour import hdr_to_display, to_uint8

    iio.imwrite(tmp_path / "gt.png", to_uint8(hdr_to_display(gt[0])))
    np.save(tmp_path / "frame.npy", gt[0])
    res = runner.invoke(app, ["compare", str(tmp_path / "gt.png"), str(tmp_path / "frame.npy"), "--json"])
    out = json.loads(res.output)
    assert out["psnr"]["value"] > 45 and "flicker" not in out  # one frame: no temporal metrics
    res = runner.invoke(app, ["compare", str(tmp_path / "gt.npy"), str(tmp_path / "frame.npy")])
    assert res.exit_code == 2 and "must match frame for frame" in res.output
    res = runner.invoke(app, ["compare", str(tmp_path / "gt.npy"), str(tmp_path / "nope.npy")])
    assert res.exit_code == 2 and "not found" in res.output


def test_run_then_resume_from_the_command_line(built_dataset, tmp_path):
    out = tmp_path / "res"
    args = ["run", "--data", str(built_dataset), "--out", str(out), "--methods", "gt", "--methods", "pbr-composite",
            "--tasks", "render,long", "--long-window", "2", "--metrics", "psnr,ssim", "--workers", "0"]
    res = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "8 units (8 computed, 0 reused, 0 failed)" in res.output and "psnr" in res.output
    m = read_table(out / METRICS_FILE, METRICS_SCHEMA)
    assert set(m.method) == {"gt", "pbr-composite"} and set(m.task) == {"render", "long"}
    res = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert res.exit_code == 0 and "(0 computed, 8 reused, 0 failed)" in res.output
    pytest.importorskip("leaderboard.report")
    site = tmp_path / "site"
    res = runner.invoke(bench_app, ["report", str(out), "--out", str(site), "--clip", "render/" + m["clip"].iloc[0]])
    assert res.exit_code == 0, res.output
    assert (site / "index.html").is_file() and "report written" in res.output
    res = runner.invoke(bench_app, ["report", str(tmp_path / "nope"), "--out", str(site)])
    assert res.exit_code == 2 and "not found" in res.output


@pytest.mark.parametrize("extra, message", [
    (["--methods", "gt,nope"], "unknown method 'nope'; known methods: gt"),
    (["--tasks", "paint"], "unknown task 'paint'; known tasks: render"),
    (["--split", "dev"], "has no clips in split 'dev'"),
    (["--methods", "x2video"], "needs an X2Video checkpoint: --checkpoint DIR"),
])
def test_run_errors_name_the_input(built_dataset, tmp_path, extra, message):
    res = runner.invoke(app, ["run", "--data", str(built_dataset), "--out", str(tmp_path / "o"), "--workers", "0",
                              *extra], env={"COLUMNS": "250"})
    assert res.exit_code == 2 and message in " ".join(res.output.split()), res.output


def test_export_then_external_frames_are_scored(built_dataset, tmp_path):
    inputs = tmp_path / "inputs"
    res = runner.invoke(app, ["export", "--data", str(built_dataset), "--out", str(inputs), "--tasks",
                              "render,local-prompt", "--limit", "1"])
    assert res.exit_code == 0, res.output
    folders = sorted(p.parent for p in inputs.rglob("inputs.json"))
    assert [f.relative_to(inputs).as_posix().count("/") for f in folders] == [1, 2, 1]  # main, base, main
    info = json.loads((folders[-1] / "inputs.json").read_text())
    with np.load(folders[-1] / "inputs.npz") as z:
        assert set(z.files) == {"albedo", "normal", "roughness", "metallic", "irradiance"}
        T, H, W = z["albedo"].shape[:3]
    assert info["frames"] == T and info["channels"] == sorted(z.files) and info["prompt"]
    lp = json.loads((folders[0] / "inputs.json").read_text())["local_prompts"]
    assert lp[0]["text"].startswith("a bright ")
    # another system writes grey frames into the same layout; the run scores them as method "grey"
    for f in folders:
        for t in range(T):
            iio.imwrite(f / f"{t:05d}.png", np.full((H, W, 3), 128, np.uint8))
    res = runner.invoke(app, ["run", "--data", str(built_dataset), "--out", str(tmp_path / "r"), "--workers", "0",
                              "--external", f"grey={inputs}", "--tasks", "render,local-prompt", "--limit", "1",
                              "--metrics", "psnr,leakage", "--no-videos"])
    assert res.exit_code == 0, res.output
    m = read_table(tmp_path / "r" / METRICS_FILE, METRICS_SCHEMA).set_index(["method", "task", "metric"])
    assert m.loc[("grey", "local-prompt", "leakage"), "value"] == 0.0
    assert 5 < m.loc[("grey", "render", "psnr"), "value"] < 30


def test_the_long_task_takes_the_checkpoints_window(built_dataset, tmp_path):
    from x2video.pipeline import saved_window

    ckpt = tmp_path / "run"
    (ckpt / "pipeline").mkdir(parents=True)
    (ckpt / "pipeline" / "model_index.json").write_text(json.dumps({"_class_name": "X2VideoPipeline", "window": 2}))
    assert saved_window(ckpt) == 2 and saved_window(tmp_path) is None
    res = runner.invoke(app, ["run", "--data", str(built_dataset), "--out", str(tmp_path / "r"), "--workers", "0",
                              "--methods", "gt", "--tasks", "long", "--metrics", "psnr", "--checkpoint", str(ckpt),
                              "--limit", "1", "--no-videos"])
    assert res.exit_code == 0, res.output
    m = read_table(tmp_path / "r" / METRICS_FILE, METRICS_SCHEMA)
    assert m.value.tolist() == [100.0]  # 8 frames = 4 windows of 2: scored, not skipped


def test_migrate_names_a_folder_that_is_not_results_and_accepts_a_current_one(built_dataset, tmp_path):
    res = runner.invoke(app, ["migrate", str(tmp_path)])
    assert res.exit_code == 2 and "no metrics.parquet" in res.output  # a usage error, as every bad input
    out = tmp_path / "bench"
    assert runner.invoke(app, ["run", "--data", str(built_dataset), "--methods", "gt", "--tasks", "render",
                               "--metrics", "psnr", "--workers", "0", "--out", str(out)]).exit_code == 0
    res = runner.invoke(app, ["migrate", str(out)])
    assert res.exit_code == 0 and "follows results schema version 2" in " ".join(res.output.split())
