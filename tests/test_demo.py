"""The main job end to end, shortened: `x2v demo --quick` builds, trains, benchmarks every
baseline and writes a leaderboard that shows what came out; a re-run reuses every stage."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from x2video.demo import BASELINES, DemoConfig, run_demo


@pytest.mark.slow
def test_quick_demo_end_to_end_and_resumes(tmp_path):
    out = tmp_path / "demo"
    first = run_demo(out, DemoConfig.quick(), log=lambda m: None)
    page = first.report.read_text(encoding="utf-8")
    metrics = pd.read_parquet(out / "results" / "metrics.parquet")
    assert set(metrics["method"]) == set(BASELINES)
    assert (out / "model" / "pipeline" / "model_index.json").is_file()
    # the page ranks what the results say: the oracle is best on PSNR for the render task
    board = pd.read_parquet(out / "site" / "leaderboard.parquet")
    psnr = board[(board["task"] == "render") & (board["metric"] == "psnr")].set_index("method")
    assert psnr["mean"].idxmax() == "gt"
    for method in BASELINES:
        assert method in page
    again = run_demo(out, DemoConfig.quick(), log=lambda m: None)
    assert again.seconds["2/4 train the tiny X2Video"] < first.seconds["2/4 train the tiny X2Video"] / 2
    assert again.seconds["3/4 x2v-bench run"] < first.seconds["3/4 x2v-bench run"]
    assert pd.read_parquet(out / "results" / "metrics.parquet").equals(metrics)
    assert json.loads((out / "demo_config.json").read_text())["train_steps"] == DemoConfig.quick().train_steps
