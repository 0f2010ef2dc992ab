"""x2v-bench end to end on a really built dataset with methods of known behaviour: the long-range
metrics, the blur-proof overall score, the cost table and the results migration."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from benchmarks import methods as method_registry
from benchmarks.common import BenchmarkError
from benchmarks.methods import Method, MethodOutput
from benchmarks.migrate import migrate_results
from benchmarks.results import (
    COST_FILE,
    COST_SCHEMA,
    METRICS_FILE,
    METRICS_SCHEMA,
    PER_FRAME_FILE,
    RUN_FILE,
    VERSION_KEY,
    ResultsSchemaError,
    read_table,
)
from benchmarks.runner import RunConfig, run_benchmark
from leaderboard.aggregate import aggregate
from leaderboard.load import load_results
from leaderboard.report import build_report


class PerFrameNoise(Method):
    """The truth with a fresh error every frame: what independent per-frame sampling looks like."""

    name, description, needs_ground_truth = "noisy-per-frame", "ground truth + independent noise per frame", True

    def run(self, inp):
        rng = np.random.default_rng(inp.seed)
        gt = inp.ground_truth
        return MethodOutput(np.clip(gt * (1 + 0.35 * rng.standard_normal(gt.shape)), 0, None), "linear")


class ConstantVideo(Method):
    """One flat colour for the whole clip: perfectly steady, unfaithful."""

    name, description, needs_ground_truth = "constant", "the clip's mean colour in every pixel of every frame", True

    def run(self, inp):
        gt = inp.ground_truth
        return MethodOutput(np.broadcast_to(gt.mean(axis=(0, 1, 2)), gt.shape).copy(), "linear")


class Hungry(Method):
    """Ground truth, after holding 256 MiB for a moment: a peak the cost table must see."""

    name, description, needs_ground_truth = "hungry", "ground truth after allocating 256 MiB", True

    def run(self, inp):
        block = np.ones(256 << 17)  # 256 MiB of float64, touched
        assert block.sum() > 0
        del block
        return MethodOutput(inp.ground_truth.copy(), "linear", model_calls=3)


@pytest.fixture(scope="module")
def known_run(built_dataset, tmp_path_factory):
    extra = {c.name: c for c in (PerFrameNoise, ConstantVideo, Hungry)}
    saved = dict(method_registry.BUILTIN)
    method_registry.BUILTIN.update(extra)
    try:
        out = tmp_path_factory.mktemp("known")
        cfg = RunConfig(data=built_dataset, out=out, methods=["gt", "pbr-composite", *extra],
                        tasks=["render", "revisit"], workers=0, videos=False,
                        metrics=["psnr", "ssim", "warp_error", "flicker", "drift_8", "revisit"])
        report = run_benchmark(cfg)
    finally:
        method_registry.BUILTIN.clear()
        method_registry.BUILTIN.update(saved)
    assert report.ok, report.failed
    return out


def _means(out) -> pd.DataFrame:
    m = read_table(out / METRICS_FILE, METRICS_SCHEMA)
    return m.groupby(["task", "metric", "method"])["value"].mean().unstack("method")


def test_long_range_metrics_separate_the_methods_as_physics_says(known_run):
    means = _means(known_run)
    for metric in ("drift_8", "revisit"):
        row = means.loc[("revisit", metric)]
        assert row["gt"] == 0.0 and row["hungry"] == 0.0  # the truth, however it was computed
        assert row.idxmax() == "noisy-per-frame"  # a new error every frame drifts most
        assert row["constant"] > 0  # a steady video that does not follow the scene is not consistent
    # Neighbour-frame warping error alone is fooled by the constant video; drift is not.
    assert means.loc[("render", "warp_error")].idxmin() == "constant"
    assert means.loc[("revisit", "drift_8")]["constant"] > means.loc[("revisit", "drift_8")]["pbr-composite"]
    assert means.loc[("render", "psnr")].drop(["gt", "hungry"]).idxmin() == "constant"


def test_the_overall_score_does_not_reward_a_steady_unfaithful_video(known_run, tmp_path):
    agg = aggregate(load_results([known_run]).metrics)
    bal = agg.balanced.set_index("method")
    fid = agg.area_overall[agg.area_overall.area == "fidelity"].set_index("method")["score"]
    assert fid["constant"] == fid.min() == 0.0
    assert bal.loc["constant", "temporal_at_fidelity"] == 0.0  # steady, but no temporal credit without fidelity
    assert bal["overall"].idxmax() in ("gt", "hungry") and bal.loc["constant", "overall"] < bal.loc["pbr-composite",
                                                                                                   "overall"]
    s = build_report([known_run], tmp_path / "site")
    html = s.index.read_text(encoding="utf-8")
    assert "Temporal × fidelity" in html and 'id="cost-table"' in html
    md = s.markdown.read_text(encoding="utf-8")
    overview = md.split("## Overview by area")[1].split("##")[0]
    ranked = [line.split("|")[1].strip() for line in overview.strip().splitlines()[2:]]
    assert ranked[-1] in ("constant", "noisy-per-frame") and ranked.index("constant") > ranked.index("pbr-composite")


def test_cost_table_records_each_unit_and_sees_a_memory_peak(known_run):
    cost = read_table(known_run / COST_FILE, COST_SCHEMA)
    m = read_table(known_run / METRICS_FILE, METRICS_SCHEMA)
    units = m[["method", "task", "clip"]].drop_duplicates()
    assert len(cost) == len(units)
    assert (cost.frames == np.where(cost.task == "revisit", 15, 8)).all() and (cost.calls == 1).all()
    np.testing.assert_allclose(cost.seconds_per_frame, cost.seconds / cost.frames)
    assert (cost.rss_scope == "unit").all() and cost.cuda_peak_bytes.isna().all()
    hungry = cost[cost.method == "hungry"]
    others = cost[cost.method == "gt"]
    assert (hungry.peak_rss_bytes >= 256 << 20).all()  # the kernel's high-water mark saw the block
    assert others.peak_rss_bytes.max() < hungry.peak_rss_bytes.min() - (128 << 20)  # reset between units
    assert (hungry.model_calls == 3).all() and (others.model_calls == 0).all()  # the oracle says it makes none
    assert cost[cost.method == "constant"].model_calls.isna().all()  # a method that does not count: unknown


def test_a_version_1_folder_is_refused_with_the_migration_and_migrates(known_run, tmp_path):
    old = tmp_path / "v1"
    old.mkdir()
    for name in (METRICS_FILE, PER_FRAME_FILE):
        t = pq.read_table(known_run / name)
        pq.write_table(t.replace_schema_metadata({**t.schema.metadata, VERSION_KEY: b"1"}), old / name)
    info = json.loads((known_run / RUN_FILE).read_text())
    (old / RUN_FILE).write_text(json.dumps({**info, "schema_version": 1}))
    with pytest.raises(ResultsSchemaError, match="x2v-bench migrate"):
        load_results([old])
    assert migrate_results(old) == 1
    res = load_results([old])
    assert res.cost.empty and json.loads((old / RUN_FILE).read_text())["migrated_from"] == 1
    pd.testing.assert_frame_equal(res.metrics, load_results([known_run]).metrics)
    assert migrate_results(old) == 2  # already current: nothing to do
    broken = tmp_path / "v0"
    broken.mkdir()
    t = pq.read_table(known_run / METRICS_FILE)
    pq.write_table(t.replace_schema_metadata({VERSION_KEY: b"0"}), broken / METRICS_FILE)
    with pytest.raises(BenchmarkError, match="cannot be migrated"):
        migrate_results(broken)
