"""x2v-bench runner: the oracle scores perfectly, the Parquet contract holds on write and read, a resumed
run equals an uninterrupted one, Ray and in-process runs agree, FVD and failures are recorded, not dropped."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from benchmarks.common import BenchmarkError
from benchmarks.results import (COST_FILE, GROUND_TRUTH, METRICS_FILE, METRICS_SCHEMA, PER_FRAME_FILE,
                                PER_FRAME_SCHEMA, RUN_FILE, SCHEMA_VERSION, TABLES, ResultsSchemaError, read_table,
                                video_path, write_table)
from benchmarks.runner import RunConfig, run_benchmark
from benchmarks.tasks import TASKS
from benchmarks.units import unit_path

ALL = list(TASKS)
LONG = {"long": {"window": 2}}  # the test clips have 8 frames: 4 windows of 2


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("bench-cache")


def _cfg(data, out, cache, **kw) -> RunConfig:
    base = dict(data=data, out=out, methods=["gt", "pbr-composite"], tasks=ALL, workers=0, task_options=LONG,
                cache=cache)
    return RunConfig(**{**base, **kw})


def _tables(out) -> dict[str, pd.DataFrame]:
    return {name: read_table(out / name, schema) for name, schema in TABLES.items()}


@pytest.fixture(scope="module")
def full_run(built_dataset, cache, tmp_path_factory):
    out = tmp_path_factory.mktemp("full")
    report = run_benchmark(_cfg(built_dataset, out, cache))
    return out, report


def test_gt_scores_perfectly_on_every_task(full_run):
    out, report = full_run
    assert report.ok and report.units_total == report.computed == 2 * len(ALL) * 2
    m = read_table(out / METRICS_FILE, METRICS_SCHEMA)
    gt = m[(m.method == "gt") & (m.metric != "fvd")]
    assert set(gt.task) == set(ALL)
    # Only long-range gaps the 8-frame clips (15 there and back) cannot hold are missing, and they say so.
    missing = gt[gt.missing_reason.notna()]
    assert set(missing.metric) <= {"drift_8", "drift_32", "drift_128"}
    assert missing.missing_reason.str.contains("a gap of").all()
    assert set(missing.loc[missing.task == "revisit", "metric"]) == {"drift_32", "drift_128"}
    perfect = {"psnr": 100.0, "ssim": 1.0, "lpips": 0.0, "flip": 0.0, "tof": 0.0, "tlpips": 0.0, "flicker": 0.0,
               "delta_e_edit": 0.0, "leakage": 0.0, "monotonicity": 1.0, "drift_8": 0.0, "revisit": 0.0}
    for metric, want in perfect.items():
        vals = gt.loc[gt.metric == metric, "value"].dropna()  # drift_8 is missing on the 8-frame clips
        assert len(vals) and np.allclose(vals, want, atol=1e-9), metric
    # warp_error scores the prediction alone (no reference): the ground truth shows its floor, which is small
    assert (gt.loc[gt.metric == "warp_error", "value"] < 0.02).all()
    pbr = m[(m.method == "pbr-composite") & (m.metric == "psnr")]
    assert (pbr.value < 40).all() and pbr.value.notna().all()
    # a monotone light sweep is recognised for the analytic baseline too
    assert m[(m.method == "pbr-composite") & (m.metric == "monotonicity")].value.eq(1.0).all()


def test_fvd_without_i3d_is_recorded_missing_with_the_reason(full_run):
    out, _ = full_run
    m = read_table(out / METRICS_FILE, METRICS_SCHEMA)
    fvd = m[m.metric == "fvd"]
    assert set(zip(fvd.method, fvd.task)) == {(me, t) for me in ("gt", "pbr-composite")
                                              for t in ("render", "render-partial", "long", "reference", "revisit")}
    assert fvd.value.isna().all() and fvd.missing_reason.str.contains("--i3d PATH").all()
    assert (fvd["clip"] == "*").all() and (fvd.frames > 0).all()


def test_results_folder_layout_and_provenance(full_run, built_dataset):
    out, report = full_run
    pf = read_table(out / PER_FRAME_FILE, PER_FRAME_SCHEMA)
    ref = pf[(pf.task == "reference") & (pf.metric == "psnr")]
    assert sorted(set(ref.frame)) == list(range(1, 8))  # frame 0 is the reference, not scored
    pair = pf[(pf.task == "render") & (pf.metric == "flicker") & (pf.method == "gt")]
    assert sorted(set(pair.frame)) == list(range(7))  # one value per consecutive pair
    assert not pf[pf.metric == "monotonicity"].size  # no per-frame values
    info = json.loads((out / RUN_FILE).read_text())
    assert info["run_id"] == report.run_id and info["schema_version"] == SCHEMA_VERSION == 2
    assert {"versions", "git", "config", "seeds", "hardware", "timings", "tasks"} <= set(info)
    assert info["config"]["split"] == "test" and info["config"]["tasks"]["long"] == {"window": 2}
    assert info["versions"]["python"] and "commit" in info["git"] and info["hardware"]["cpu_count"]
    assert info["timings"]["units"] == {"total": 36, "computed": 36, "reused": 0, "failed": 0}
    assert set(info["tasks"]["edit-color"]) == set(pf["clip"])
    clip = sorted(set(pf["clip"]))[0]
    for task in ALL:
        for name in ("gt", "pbr-composite", GROUND_TRUTH):
            p = video_path(out, task, clip, name)
            assert p.is_file() and p.read_bytes()[4:8] == b"ftyp", p


def test_schema_is_validated_on_write_and_on_read(full_run, tmp_path):
    out, _ = full_run
    m = read_table(out / METRICS_FILE, METRICS_SCHEMA)
    with pytest.raises(ResultsSchemaError, match="missing \\['missing_reason'\\]"):
        write_table(m.drop(columns="missing_reason"), tmp_path / "m.parquet", METRICS_SCHEMA)
    with pytest.raises(ResultsSchemaError, match="unknown area"):
        write_table(m.assign(area="beauty"), tmp_path / "m.parquet", METRICS_SCHEMA)
    assert not (tmp_path / "m.parquet").exists()  # nothing half-written
    pq.write_table(pa.Table.from_pandas(m, preserve_index=False), tmp_path / "plain.parquet")
    with pytest.raises(ResultsSchemaError, match="not an x2v-bench results table"):
        read_table(tmp_path / "plain.parquet", METRICS_SCHEMA)
    wrong = pa.Table.from_pandas(m.rename(columns={"value": "score"}), preserve_index=False)
    pq.write_table(wrong.replace_schema_metadata({b"x2v_results_schema_version": b"2"}), tmp_path / "w.parquet")
    with pytest.raises(ResultsSchemaError, match="differ from the schema"):
        read_table(tmp_path / "w.parquet", METRICS_SCHEMA)
    with pytest.raises(ResultsSchemaError, match="schema version 7"):
        pq.write_table(wrong.replace_schema_metadata({b"x2v_results_schema_version": b"7"}), tmp_path / "v.parquet")
        read_table(tmp_path / "v.parquet", METRICS_SCHEMA)


def test_a_resumed_run_equals_an_uninterrupted_one(full_run, built_dataset, cache, tmp_path):
    ref_out, ref = full_run
    out = tmp_path / "resumed"

    def interrupt(done, total, label):
        if done >= 7:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_benchmark(_cfg(built_dataset, out, cache), progress=interrupt)
    assert not (out / METRICS_FILE).exists() and len(list((out / ".units").rglob("*.json"))) == 7
    report = run_benchmark(_cfg(built_dataset, out, cache))
    assert report.reused == 7 and report.computed == 36 - 7 and report.run_id == ref.run_id
    a, b = _tables(ref_out), _tables(out)
    for name in (METRICS_FILE, PER_FRAME_FILE):
        pd.testing.assert_frame_equal(a[name], b[name])
    # The cost table holds measurements (seconds, memory): the same units and counts, not the same times.
    counted = ["run_id", "method", "task", "clip", "scene", "calls", "frames", "model_calls"]
    pd.testing.assert_frame_equal(a[COST_FILE][counted], b[COST_FILE][counted])
    again = run_benchmark(_cfg(built_dataset, out, cache))  # nothing left to do
    assert again.reused == 36 and again.computed == 0
    # a unit computed under another configuration is not reused
    changed = run_benchmark(_cfg(built_dataset, out, cache, tasks=["render"], methods=["gt"], metrics=["psnr"]))
    assert changed.computed == 2 and changed.reused == 0
    assert set(read_table(out / METRICS_FILE, METRICS_SCHEMA).metric) == {"psnr"}


def test_ray_run_equals_in_process_run(built_dataset, cache, tmp_path):
    kw = dict(tasks=["render", "edit-light"], metrics=["psnr", "ssim", "flicker", "monotonicity"])
    local = run_benchmark(_cfg(built_dataset, tmp_path / "local", cache, **kw))
    ray_run = run_benchmark(_cfg(built_dataset, tmp_path / "ray", cache, workers=2, **kw))
    assert ray_run.ok and ray_run.run_id == local.run_id
    a, b = _tables(tmp_path / "local"), _tables(tmp_path / "ray")
    for name in (METRICS_FILE, PER_FRAME_FILE):
        pd.testing.assert_frame_equal(a[name], b[name])
    counted = ["method", "task", "clip", "calls", "frames", "model_calls"]
    pd.testing.assert_frame_equal(a[COST_FILE][counted], b[COST_FILE][counted])


def _fake_i3d(path):
    import torch

    class FakeI3D(torch.nn.Module):
        """The I3D TorchScript call signature; features = per-channel mean and spread of the clip."""

        def forward(self, x: torch.Tensor, rescale: bool = False, resize: bool = False,
                    return_features: bool = False) -> torch.Tensor:
            return torch.cat([x.mean(dim=(2, 3, 4)), x.std(dim=(2, 3, 4))], dim=1)

    torch.jit.script(FakeI3D()).save(str(path))
    return path


@pytest.mark.filterwarnings("ignore::FutureWarning")  # torch.jit.script, used to make the stand-in I3D
def test_fvd_with_an_i3d_file(built_dataset, cache, tmp_path):
    i3d = _fake_i3d(tmp_path / "i3d.pt")
    report = run_benchmark(_cfg(built_dataset, tmp_path / "out", cache, tasks=["render"], metrics=["psnr", "fvd"],
                                i3d=str(i3d), videos=False))
    m = read_table(tmp_path / "out" / METRICS_FILE, METRICS_SCHEMA).set_index(["method", "metric", "clip"])
    assert report.ok and m.loc[("gt", "fvd", "*"), "value"] == pytest.approx(0.0, abs=1e-6)
    assert m.loc[("pbr-composite", "fvd", "*"), "value"] > 1.0
    assert not (tmp_path / "out" / "videos").exists()
    with pytest.raises(BenchmarkError, match="I3D TorchScript file not found"):
        run_benchmark(_cfg(built_dataset, tmp_path / "x", cache, i3d=str(tmp_path / "missing.pt")))


def test_failed_units_are_reported_recorded_and_retried(built_dataset, cache, tmp_path):
    from benchmarks.methods.external import call_dir

    ext = tmp_path / "ext"
    (ext / "render").mkdir(parents=True)
    cfg = _cfg(built_dataset, tmp_path / "out", cache, methods=["gt"], tasks=["render"], metrics=["psnr"],
               external={"other": ext})
    report = run_benchmark(cfg)
    assert report.computed == 2 and len(report.failed) == 2
    unit, error = sorted(report.failed.items())[0]
    clip = unit.split("/")[2]
    assert unit.startswith("other/render/") and str(call_dir(ext, "render", clip)) in error
    m = read_table(tmp_path / "out" / METRICS_FILE, METRICS_SCHEMA)
    rows = m[m.method == "other"]
    assert len(rows) == 2 and rows.value.isna().all() and rows.missing_reason.str.contains("unit failed").all()
    assert not unit_path(tmp_path / "out", "other", "render", clip).exists()
    # the other system's frames arrive: the resumed run scores them (display PNGs of the ground truth)
    import imageio.v3 as iio

    from interiorvideo.colour import hdr_to_display, to_uint8
    from benchmarks.runner import load_clip

    for c in sorted(set(m["clip"])):
        d = call_dir(ext, "render", c)
        d.mkdir()
        for t, frame in enumerate(to_uint8(hdr_to_display(load_clip(built_dataset, c)["rgb"]))):
            iio.imwrite(d / f"{t:05d}.png", frame)
    report = run_benchmark(cfg)
    assert report.ok and report.reused == 2 and report.computed == 2
    m = read_table(tmp_path / "out" / METRICS_FILE, METRICS_SCHEMA)
    assert (m[m.method == "other"].value > 45).all()  # 8-bit quantisation of the ground truth


def test_bad_configuration_fails_before_running(built_dataset, cache, tmp_path):
    out = tmp_path / "o"
    with pytest.raises(BenchmarkError, match="unknown method 'nope'"):
        run_benchmark(_cfg(built_dataset, out, cache, methods=["nope"]))
    with pytest.raises(BenchmarkError, match="unknown task 'paint'"):
        run_benchmark(_cfg(built_dataset, out, cache, tasks=["paint"]))
    with pytest.raises(BenchmarkError, match=r"no clips in split 'dev'; splits with clips: test \(2 clips\)"):
        run_benchmark(_cfg(built_dataset, out, cache, split="dev"))
    with pytest.raises(BenchmarkError, match="unknown metric"):
        run_benchmark(_cfg(built_dataset, out, cache, metrics=["psnr", "beauty"]))
    with pytest.raises(BenchmarkError, match=r"clip\(s\) \['s9'\] are not in split 'test'"):
        run_benchmark(_cfg(built_dataset, out, cache, clips=["s9"]))
    with pytest.raises(BenchmarkError, match="needs an X2Video checkpoint"):
        run_benchmark(_cfg(built_dataset, out, cache, methods=["x2video"]))
    assert not out.exists()


def test_x2video_adapters_run_in_process_with_the_tiny_model(built_dataset, cache, tmp_path):
    pytest.importorskip("x2video.sampling")
    from x2video.components import tiny_pipeline

    pipe = tiny_pipeline()
    methods = ["x2video", "x2video-perframe", "x2video-autoregressive", "x2video-independent"]
    cfg = _cfg(built_dataset, tmp_path / "out", cache, methods=methods, tasks=["render", "reference", "local-prompt"],
               metrics=["psnr", "flicker", "leakage"], limit=1, options={"pipeline": pipe, "steps": 1}, videos=False)
    report = run_benchmark(cfg)
    assert report.ok and report.computed == 12
    m = read_table(tmp_path / "out" / METRICS_FILE, METRICS_SCHEMA)
    assert m.value.notna().all() and np.isfinite(m.value).all()
    psnr = m[(m.metric == "psnr") & (m.task == "render")].set_index("method").value
    assert psnr["x2video"] != psnr["x2video-independent"]  # two windows: the sampling modes differ
    units = [json.loads(unit_path(tmp_path / "out", me, "render", m["clip"].iloc[0]).read_text()) for me in methods]
    assert all(u["model_calls"] > 0 for u in units)
    # same seed, same numbers
    again = run_benchmark(RunConfig(**{**cfg.__dict__, "out": tmp_path / "again"}))
    assert again.ok
    pd.testing.assert_frame_equal(_tables(tmp_path / "out")[METRICS_FILE], _tables(tmp_path / "again")[METRICS_FILE])


def test_a_ray_that_cannot_start_fails_the_run_clearly(built_dataset, cache, tmp_path, monkeypatch):
    import ray

    def refuse(**kw):
        raise RuntimeError("no resources")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", refuse)
    with pytest.raises(BenchmarkError, match="could not start or reach a local Ray instance: RuntimeError"):
        run_benchmark(_cfg(built_dataset, tmp_path / "o", cache, tasks=["render"], metrics=["psnr"], workers=2))
