"""Leaderboard reports: aggregation with known answers, ties, merging and schema checks, escaping, and the
page opened in headless Chromium (Debian's ``chromium``; ``scripts/install.sh`` installs it)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from synthetic_results import tiny_mp4, write_results, write_synthetic

from benchmarks.results import METRICS_SCHEMA, SCHEMA_VERSION, VERSION_KEY, ResultsSchemaError, to_table, video_path
from leaderboard import build_report
from leaderboard.aggregate import aggregate, bootstrap_means, normalised_scores, rank_with_ties
from leaderboard.load import ResultsConflictError, load_results
from leaderboard.markdown import md_text

EVIL = "<script>alert(1)</script>"
EVIL_IMG = '<img src=x onerror="document.title=\'pwned\'">'
DOLLAR = "$x^2$ net"
AREA = {"psnr": ("fidelity", True), "lpips": ("fidelity", False), "fvd": ("fidelity", False), "tof": ("temporal", False),
        "monotonicity": ("control", True)}


def rows(*records, run_id="run-a", task="t", metric="psnr") -> pd.DataFrame:
    """Metrics rows from (method, clip, scene, value) or dicts overriding any column."""
    out = []
    for r in records:
        d = dict(zip(["method", "clip", "scene", "value"], r)) if isinstance(r, tuple) else dict(r)
        d.setdefault("task", task)
        d.setdefault("metric", metric)
        area, hib = AREA[d["metric"]]
        d.setdefault("area", area)
        d.setdefault("higher_is_better", hib)
        d.setdefault("run_id", run_id)
        d.setdefault("frames", 8)
        d.setdefault("missing_reason", None if d.get("value") is not None else "weights not found")
        out.append(d)
    return to_table(pd.DataFrame(out), METRICS_SCHEMA).to_pandas()


def cell(agg, method, task="t", metric="psnr"):
    t = agg.table
    return t[(t["method"] == method) & (t["task"] == task) & (t["metric"] == metric)].iloc[0]


# ---------------------------------------------------------------- aggregation with known answers

def test_mean_of_scene_means_and_two_scene_interval():
    # Scene s1: three clips of 1, scene s2: one clip of 4 → mean of scene means 2.5 (the clip mean would be 1.75).
    # Two scenes: the bootstrap means are 1, 2.5, 4 with probabilities 1/4, 1/2, 1/4 → 95 % interval [1, 4].
    agg = aggregate(rows(("A", "c1", "s1", 1.0), ("A", "c2", "s1", 1.0), ("A", "c3", "s1", 1.0),
                         ("A", "c4", "s2", 4.0)))
    c = cell(agg, "A")
    assert c["mean"] == pytest.approx(2.5)
    assert (c["ci_low"], c["ci_high"]) == (pytest.approx(1.0), pytest.approx(4.0))
    assert (c["n_clips"], c["n_scenes"], c["n_missing"]) == (4, 2, 0)


def test_bootstrap_resamples_scenes_not_clips():
    # Clips disagree wildly inside each scene but every scene averages 5: resampling scenes gives a zero-width
    # interval (resampling clips would not). One scene alone: a degenerate interval at its mean.
    agg = aggregate(rows(*[("A", f"c{s}{i}", f"s{s}", v) for s in range(6) for i, v in enumerate([0.0, 10.0, 5.0])],
                         ("B", "b1", "only", 3.0), ("B", "b2", "only", 4.0)))
    a, b = cell(agg, "A"), cell(agg, "B")
    assert (a["mean"], a["ci_low"], a["ci_high"]) == (pytest.approx(5.0),) * 3
    assert (b["mean"], b["ci_low"], b["ci_high"]) == (pytest.approx(3.5),) * 3


def test_bootstrap_interval_width_and_determinism():
    rng = np.random.default_rng(1)
    scene_vals = rng.normal(10.0, 2.0, 60)
    df = rows(*[("A", f"c{i}", f"s{i}", float(v)) for i, v in enumerate(scene_vals)])
    a = cell(aggregate(df, seed=0), "A")
    assert a["mean"] == pytest.approx(scene_vals.mean())
    half = 1.96 * scene_vals.std(ddof=1) / np.sqrt(len(scene_vals))
    assert a["ci_low"] == pytest.approx(a["mean"] - half, abs=0.2 * half)
    assert a["ci_high"] == pytest.approx(a["mean"] + half, abs=0.2 * half)
    again = cell(aggregate(df, seed=0), "A")
    assert (again["ci_low"], again["ci_high"]) == (a["ci_low"], a["ci_high"])
    other = cell(aggregate(df, seed=1), "A")
    assert (other["ci_low"], other["ci_high"]) != (a["ci_low"], a["ci_high"])
    # Intervals do not depend on which other methods are in the report.
    with_b = pd.concat([df, rows(*[("B", f"c{i}", f"s{i}", 1.0) for i in range(60)])], ignore_index=True)
    assert cell(aggregate(with_b, seed=0), "A")["ci_low"] == a["ci_low"]


def test_vectorised_bootstrap_equals_explicit_resampling():
    values = np.random.default_rng(3).normal(size=(5, 9))
    draws = bootstrap_means(values, np.random.default_rng(7), n_boot=200)
    idx = np.random.default_rng(7).integers(0, 9, size=(200, 9))
    np.testing.assert_allclose(draws, values[:, idx].mean(axis=2), rtol=1e-12)


def test_missing_values_and_scene_less_clips():
    df = rows(("A", "c1", None, 2.0), ("A", "c2", None, 4.0), ("A", "c3", "s", None),
              ("B", "c1", "s", None), ("B", "c2", "s", None))
    agg = aggregate(df)
    a, b = cell(agg, "A"), cell(agg, "B")
    assert (a["mean"], a["n_clips"], a["n_missing"], a["n_scenes"]) == (pytest.approx(3.0), 2, 1, 2)
    assert np.isnan(b["mean"]) and pd.isna(b["rank"]) and b["n_missing"] == 2
    miss = agg.missing
    assert set(miss["method"]) == {"A", "B"} and set(miss["missing_reason"]) == {"weights not found"}
    assert miss.loc[miss["method"] == "B", ["clips", "of_clips"]].iloc[0].tolist() == [2, 2]


def test_set_level_metric_has_no_interval():
    # FVD-like rows: one value per method × task on clip "*" (benchmarks.results.SET_LEVEL_CLIP), no scene.
    df = pd.concat([rows(("A", "*", None, 100.0), ("B", "*", None, 120.0), ("C", "*", None, 100.0), metric="fvd"),
                    rows(("A", "c", "s", 1.0), ("B", "c", "s", 2.0), ("C", "c", "s", 3.0))], ignore_index=True)
    agg = aggregate(df)
    f = {m: cell(agg, m, metric="fvd") for m in "ABC"}
    assert [f[m]["mean"] for m in "ABC"] == [100.0, 120.0, 100.0] and all(f[m]["set_level"] for m in "ABC")
    assert all(np.isnan(f[m]["ci_low"]) and f[m]["n_scenes"] == 0 for m in "ABC")
    assert [int(f[m]["rank"]) for m in "ABC"] == [1, 3, 1]
    assert set(agg.scene_means["scene"]) == {"s"} and not cell(agg, "A")["set_level"]


# ---------------------------------------------------------------- ranks with ties

def test_rank_rule_ties_with_the_group_leader():
    names = ["A", "B", "C", "D", "E", "F"]
    mean = np.array([10.0, 9.5, 8.0, 7.9, 5.0, np.nan])
    lo = np.array([9.0, 8.8, 7.5, 7.0, 4.9, np.nan])
    hi = np.array([11.0, 10.2, 8.9, 8.0, 5.1, np.nan])
    # B overlaps A → tie at 1; C overlaps B but not the leader A → new group, rank 3; D overlaps C → 3; E → 5.
    r = rank_with_ties(mean, lo, hi, True, names)
    assert r[:5].tolist() == [1, 1, 3, 3, 5] and np.isnan(r[5])
    # Lower is better: order reversed (E best). Touching intervals count as overlapping.
    r = rank_with_ties(mean, lo, hi, False, names)
    assert r[:5].tolist() == [4, 4, 2, 2, 1]
    assert rank_with_ties(np.array([1.0, 2.0]), np.array([0.0, 1.0]), np.array([1.0, 3.0]), True).tolist() == [1, 1]


def test_ties_and_best_in_aggregate():
    # One scene each → degenerate intervals: only equal means tie.
    df = pd.concat([rows(("A", "c", "s", 0.3), ("B", "c", "s", 0.3), ("C", "c", "s", 0.1), metric="lpips"),
                    rows(("A", "c", "s", 20.0), ("B", "c", "s", 30.0), ("C", "c", "s", 25.0))], ignore_index=True)
    agg = aggregate(df)
    lp = {m: cell(agg, m, metric="lpips") for m in "ABC"}
    assert [int(lp[m]["rank"]) for m in "ABC"] == [2, 2, 1] and [bool(lp[m]["best"]) for m in "ABC"] == [False, False, True]
    ps = {m: cell(agg, m) for m in "ABC"}
    assert [int(ps[m]["rank"]) for m in "ABC"] == [3, 1, 2]


def test_area_scores_are_min_max_normalised_per_task_metric():
    assert normalised_scores(np.array([30.0, 20.0, 25.0]), True).tolist() == pytest.approx([1.0, 0.0, 0.5])
    assert normalised_scores(np.array([0.1, 0.3, 0.2]), False).tolist() == pytest.approx([1.0, 0.0, 0.5])
    assert normalised_scores(np.array([2.0, 2.0, np.nan]), True)[:2].tolist() == [1.0, 1.0]
    df = pd.concat([
        rows(("A", "c", "s", 30.0), ("B", "c", "s", 20.0), ("C", "c", "s", 25.0)),                      # 1, 0, .5
        rows(("A", "c", "s", 0.3), ("B", "c", "s", 0.1), ("C", "c", "s", 0.2), metric="lpips"),        # 0, 1, .5
        rows(("A", "c", "s", 1.0), ("B", "c", "s", 3.0), ("C", "c", "s", None), metric="tof"),         # 1, 0, –
        rows(("A", "c", "s", 10.0), ("B", "c", "s", 20.0), ("C", "c", "s", 40.0), task="u"),           # 0, 1/3, 1
    ], ignore_index=True)
    agg = aggregate(df)
    at = agg.area_task.set_index(["method", "task", "area"])["score"]
    assert at[("A", "t", "fidelity")] == pytest.approx(0.5) and at[("C", "t", "fidelity")] == pytest.approx(0.5)
    assert at[("A", "t", "temporal")] == 1.0 and ("C", "t", "temporal") not in at.index
    ov = agg.area_overall.set_index(["method", "area"])
    assert ov.loc[("B", "fidelity"), "score"] == pytest.approx((0.5 + 1 / 3) / 2)
    assert ov.loc[("B", "fidelity"), "n_tasks"] == 2


# ---------------------------------------------------------------- loading and merging

def _folder(tmp_path, name, df, **kw):
    return write_results(tmp_path / name, df, **kw)


def test_rejects_other_schema_versions_before_writing(tmp_path):
    good = _folder(tmp_path, "good", rows(("A", "c", "s", 1.0)))
    bad = tmp_path / "bad"
    shutil.copytree(good, bad)
    table = pq.read_table(bad / "metrics.parquet")
    pq.write_table(table.replace_schema_metadata({**table.schema.metadata, VERSION_KEY: b"9"}), bad / "metrics.parquet")
    with pytest.raises(ResultsSchemaError, match=r"metrics.parquet: results schema version 9"):
        build_report([good, bad], tmp_path / "site")
    assert not (tmp_path / "site").exists()
    old_json = _folder(tmp_path, "oldjson", rows(("A", "c", "s", 1.0), run_id="run-b"), schema_version=0)
    with pytest.raises(ResultsSchemaError, match=r"run.json: results schema version 0"):
        load_results([good, old_json])
    with pytest.raises(FileNotFoundError, match="results folder not found"):
        load_results([tmp_path / "nowhere"])


def test_merge_disjoint_runs_and_refuse_duplicates(tmp_path):
    a = _folder(tmp_path, "a", rows(("A", "c", "s", 1.0), run_id="run-a"), run={"note": "first"})
    b = _folder(tmp_path, "b", rows(("B", "c", "s", 2.0), run_id="run-b"))
    res = load_results([a, b])
    assert [r.run_id for r in res.runs] == ["run-a", "run-b"] and res.runs[0].info["note"] == "first"
    assert sorted(res.metrics["method"]) == ["A", "B"] and res.folder_of("run-b") == b
    with pytest.raises(ResultsConflictError, match="run id 'run-a' appears in both"):
        load_results([a, a])
    again = _folder(tmp_path, "again", rows(("A", "c", "s", 5.0), run_id="run-c"))
    with pytest.raises(ResultsConflictError, match=r"scored more than once, e\.g\. method 'A' task 't' clip 'c'"):
        load_results([a, again])
    other_data = _folder(tmp_path, "other", rows(("C", "c", "s", 1.0), run_id="run-e"),
                         run={"config": {"dataset_fingerprint": "x", "split": "test", "exposure": 2.0}})
    same_data = _folder(tmp_path, "same", rows(("D", "c", "s", 1.0), run_id="run-f"),
                        run={"config": {"dataset_fingerprint": "x", "split": "test", "exposure": 1.0}})
    with pytest.raises(ResultsConflictError, match=r"differ in exposure .*not comparable"):
        load_results([other_data, same_data])
    stray = tmp_path / "stray"
    _folder(tmp_path, "stray", rows(("A", "c", "s", 1.0), run_id="run-d"))
    (stray / "run.json").write_text(json.dumps({"run_id": "other", "schema_version": SCHEMA_VERSION}))
    with pytest.raises(ResultsSchemaError, match="run.json says run_id 'other'"):
        load_results([stray])


# ---------------------------------------------------------------- the report

METHODS = ["x2video", EVIL, EVIL_IMG, DOLLAR]
TASKS = ["rgb_from_x", "edit_albedo"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("lb")
    results = write_synthetic(root / "results", METHODS, TASKS, 12, clips_per_scene=3, frames=6,
                              missing={DOLLAR: "LPIPS weights not found: pass --lpips-weights DIR"})
    info = json.loads((results / "run.json").read_text())
    info["config"]["prompt"] = '<b onmouseover="alert(3)">a warm room</b>'
    info["hardware"] = {"gpu": "none", "path": "/data/<odd>&dir"}
    (results / "run.json").write_text(json.dumps(info))
    for i, method in enumerate(["ground_truth", *sorted(METHODS)]):
        data = tiny_mp4((40 + 50 * i, 200 - 40 * i, 120), frames=6)
        for task, clip in [("rgb_from_x", "clip0000"), ("edit_albedo", "clip0004")]:
            p = video_path(results, task, clip, method)
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
    summary = build_report([results], root / "site", seed=0)
    return root, results, summary


def test_report_writes_site_markdown_parquet(report):
    root, results, s = report
    assert s.index.name == "index.html" and s.markdown.name == "leaderboard.md" and s.parquet.name == "leaderboard.parquet"
    assert (s.methods, s.tasks, s.clips, s.runs, s.previews) == (4, 2, 24, 1, 2)
    assert s.missing == 24 and s.seconds > 0 and all(p.is_file() for p in s.paths)
    assert len(s.media) == 10 and all(p.is_relative_to(root / "site" / "media") for p in s.media)
    table = pd.read_parquet(s.parquet)
    assert len(table) == 4 * (8 + 11) and {"mean", "ci_low", "ci_high", "rank", "best", "score"} <= set(table.columns)
    assert table.loc[table["method"] == DOLLAR, "n_missing"].max() == 12
    md = s.markdown.read_text()
    assert "| Method |" in md and "LPIPS weights not found" in md and "<script>" not in md and "&lt;script>" in md
    assert re.search(r"\| x2video \| \*\*1\.000\*\*", md)


def test_page_escapes_data_and_is_offline(report):
    root, results, s = report
    html = s.index.read_text()
    assert html.count("<script") == 1 and EVIL not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=" in html
    assert "<b onmouseover" not in html and r"&lt;b onmouseover=\&#34;alert(3)\&#34;&gt;a warm room" in html
    assert "/data/&lt;odd&gt;&amp;dir" in html
    assert "LPIPS weights not found: pass --lpips-weights DIR" in html
    refs = re.findall(r'\b(?:src|href)="([^"]*)"', html)
    assert refs and not [r for r in refs if re.match(r"(?i)(https?:)?//", r)]
    for r in refs:
        assert r.startswith(("#", "data:image/svg+xml;base64,", "media/")), r
        if r.startswith("media/"):
            assert (root / "site" / r).is_file()
    assert "http://" not in html and "https://" not in html
    assert html.count("<video ") == 10


def test_report_is_deterministic_and_clip_choice(report, tmp_path):
    root, results, s = report
    again = build_report([results], tmp_path / "site2", seed=0)
    for a, b in [(s.index, again.index), (s.markdown, again.markdown), (s.parquet, again.parquet)]:
        assert a.read_bytes() == b.read_bytes(), a.name
    one = build_report([results], tmp_path / "site3", clips=["edit_albedo/clip0004"])
    assert one.previews == 1 and len(one.media) == 5
    bare = build_report([results], tmp_path / "site4", clips=["clip0000"], max_clips=1)
    assert bare.previews == 2 and sum(p.name == "ground_truth.mp4" for p in bare.media) == 1  # one task has its video
    with pytest.raises(ValueError, match="clip 'nope' is not in the results"):
        build_report([results], tmp_path / "site5", clips=["nope"])


def test_minimal_results_one_method_no_frames_no_videos(tmp_path):
    df = pd.concat([rows(("solo", "c1", "s1", 30.0), ("solo", "c2", "s2", 32.0)),
                    rows(("solo", "*", None, 80.0), metric="fvd"),
                    rows(("solo", "c1", "s1", None), ("solo", "c2", "s2", None), metric="tof")], ignore_index=True)
    s = build_report([write_results(tmp_path / "r", df)], tmp_path / "site")
    html = s.index.read_text()
    assert (s.methods, s.clips, s.previews, s.media, s.missing) == (1, 2, 0, (), 2)
    assert "No clip with a ground-truth video" in html and "No per-frame values" in html
    assert "set-level, no interval" in html
    t = pd.read_parquet(s.parquet).set_index("metric")
    assert t.loc["psnr", "mean"] == 31.0 and t.loc["psnr", "rank"] == 1 and np.isnan(t.loc["tof", "mean"])
    assert t.loc["fvd", "mean"] == 80.0 and t.loc["fvd", "set_level"] and np.isnan(t.loc["fvd", "ci_low"])
    assert "| 80.00 |" in s.markdown.read_text() or "| **80.00** |" in s.markdown.read_text()


def test_markdown_escaping():
    assert md_text("a|b") == r"a\|b" and md_text("<script>") == "&lt;script>" and md_text("x_y*") == r"x\_y\*"


# ---------------------------------------------------------------- the page in headless Chromium

class _DomTables(HTMLParser):
    """Cell texts of every table (by id), the <script> count, the title and all attributes seen."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.scripts, self.title, self.attrs = 0, "", []
        self._table, self._cell, self._in_title = None, None, False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.attrs.append((tag, a))
        if tag == "table":
            self._table = a.get("id")
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []
        elif tag == "script":
            self.scripts += 1
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._in_title:
            self.title += data


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail("headless Chromium is needed for this test and was not found: install Debian's package with "
                    "`sudo apt-get install -y chromium` (scripts/install.sh and .ci/run do), or deselect it with "
                    "-k 'not chromium'")
    return exe


def _run_chromium(exe, tmp_path, *args) -> subprocess.CompletedProcess:
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
           "--hide-scrollbars", "--mute-audio", f"--user-data-dir={tmp_path / 'profile'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)


def test_page_in_headless_chromium(report, tmp_path):
    from PIL import Image

    exe = _chromium()
    root, results, s = report
    url = s.index.resolve().as_uri()
    dom = _DomTables()
    # Sort the first task's table (rgb_from_x is task-2, sorted by name) by psnr (column 1 + 2 areas + flip, lpips).
    # Open with the overview sorted by "Overall", ascending (the sorter reads #sort=TABLE:COLUMN:DIR).
    html = _run_chromium(exe, tmp_path, "--dump-dom", url + "#sort=overview:5:asc").stdout
    dom.feed(html)
    assert 'data-sortable="ready"' in html  # the inline sorter ran under the page's CSP
    assert dom.scripts == 1 and dom.title == "x2v-bench leaderboard"  # no injected script/handler ran
    assert not [a for _, a in dom.attrs if any(k.startswith("on") for k in a)]
    assert not [a for t, a in dom.attrs if t == "img" and a.get("src") == "x"]
    overview = dom.tables["overview"]
    assert overview[0] == ["Method", "Fidelity", "Temporal consistency", "Controllability", "Temporal × fidelity",
                           "Overall"]
    names = [r[0] for r in overview[1:]]
    assert sorted(names) == sorted(METHODS)  # every name read back as text, the HTML/script ones included
    means = [float(r[5]) for r in overview[1:]]
    assert means == sorted(means) and names[-1] == "x2video"
    # The rgb_from_x table: value, rank and interval per cell.
    tid = next(a["id"] for t, a in dom.attrs if t == "table" and a.get("data-task") == "rgb_from_x")
    rgb = dom.tables[tid]
    assert rgb[0][:3] == ["Method", "Fidelity score", "Temporal consistency score"] and len(rgb[0]) == 3 + 8
    assert sorted(r[0] for r in rgb[1:]) == sorted(METHODS) and all(len(r) == len(rgb[0]) for r in rgb[1:])
    x2v = next(r for r in rgb[1:] if r[0] == "x2video")
    assert re.match(r"^\d+\.\d+#1\[\d+\.\d+, \d+\.\d+\]$", x2v[rgb[0].index("psnr ↑")])
    # Sorting a metric column through the URL: lpips ↓ ascending puts the best first and the missing last.
    col = rgb[0].index("lpips ↓")
    dom2 = _DomTables()
    dom2.feed(_run_chromium(exe, tmp_path, "--dump-dom", f"{url}#sort={tid}:{col}:asc").stdout)
    order = [r[0] for r in dom2.tables[tid][1:]]
    vals = [float(r[col].split("#")[0]) for r in dom2.tables[tid][1:] if r[col] != "missing"]
    assert len(vals) == 3 and vals == sorted(vals) and order[-1] == DOLLAR
    # Screenshot: exists and is not blank.
    shot = tmp_path / "page.png"
    _run_chromium(exe, tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", url)
    im = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert im.shape == (2000, 1280) and im.std() > 10 and len(np.unique(im)) > 50
    shutil.copyfile(shot, root / "page.png")


def test_an_infinite_mean_is_shown_as_infinity_with_a_note():
    """±∞ is a value, not a missing one: the cell says ∞ and why it is not ranked (issue 17)."""
    from leaderboard.fmt import num
    from leaderboard.render import INFINITE_NOTE, task_tables

    assert (num(float("inf"), 2), num(float("-inf"), 2), num(float("nan"), 2), num(None, 2)) == ("∞", "−∞", "–", "–")
    agg = aggregate(pd.concat([rows(("A", "c", "s", 30.0), ("B", "c", "s", float("inf")))], ignore_index=True))
    table = task_tables(agg, ["A", "B"])[0]
    cells = {r["method"]: r["cells"][0] for r in table["rows"]}
    assert cells["B"]["text"] == "∞" and cells["B"]["note"] == INFINITE_NOTE and cells["B"]["rank"] == ""
    assert cells["A"]["text"] == num(30.0, table["columns"][0]["decimals"]) and cells["A"]["rank"] == "1"
