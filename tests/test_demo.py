"""The main job end to end, shortened: `x2v demo --quick` builds, trains, benchmarks every
baseline and writes a leaderboard that shows what came out; a re-run reuses every stage."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from workbench.demo import BASELINES, DemoConfig, run_demo


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


def test_a_failed_stage_says_where_the_log_is_and_how_to_resume(tmp_path):
    from workbench.demo import DemoStageError, _stage

    log_file, lines, seconds = tmp_path / "demo.log", [], {}
    assert _stage("1/2 fine", lines.append, seconds, lambda: 7, log_file) == 7

    def broken():
        raise ValueError("disk says no")

    with pytest.raises(DemoStageError) as info:
        _stage("2/2 broken", lines.append, seconds, broken, log_file)
    message = str(info.value)
    assert "2/2 broken" in message and "disk says no" in message and str(log_file) in message
    assert "re-run the same command" in message
    text = log_file.read_text()
    assert "── 1/2 fine" in text and "Traceback" in text and "ValueError: disk says no" in text
    assert list(seconds) == ["1/2 fine"]  # a failed stage records no time
