"""Window schedules for long-video sampling: invariants over many shapes, window counts, errors."""

from __future__ import annotations

import json
import math

import pytest

from x2video.schedule import MODES, SamplingPlan, Window, describe, plan_sampling

SHAPES = [(n, w, r) for n in range(1, 71) for w in range(3, 17) for r in (0, 1)]


def _plans():
    """Every valid (mode, shape) plan of the sweep; capacity < 3 is an error outside independent."""
    for n, w, r in SHAPES:
        for mode in MODES:
            if mode != "independent" and w - r < 3:
                continue
            yield plan_sampling(n, w, mode, reserved=r)


ALL_PLANS = list(_plans())


def _check_invariants(plan: SamplingPlan) -> None:
    n, cap = plan.num_frames, plan.capacity
    born: dict[int, int] = {}  # frame -> index of the window generating it
    for i, w in enumerate(plan.windows):
        assert w.new and w.size <= cap
        assert not set(w.new) & set(w.anchors)
        assert all(0 <= f < n for f in w.frames)
        for f in w.new:
            assert f not in born, f"frame {f} generated twice"
            born[f] = i
    assert sorted(born) == list(range(n)), "every frame generated exactly once"
    stage_of = {f: plan.windows[i].stage for f, i in born.items()}
    # Anchors come from strictly earlier stages, hence never change and never depend on a window
    # of their own stage; windows are listed stage by stage.
    for w in plan.windows:
        assert all(stage_of[a] < w.stage for a in w.anchors)
    assert [w.stage for w in plan.windows] == sorted(w.stage for w in plan.windows)
    assert [w.stage for w in plan.windows][0] == 0
    assert sorted({w.stage for w in plan.windows}) == list(range(plan.num_stages))
    if n <= cap:
        assert plan.windows == (Window(0, tuple(range(n))),)


@pytest.mark.parametrize("mode", MODES)
def test_invariants_over_the_sweep(mode):
    plans = [p for p in ALL_PLANS if p.mode == mode]
    assert len(plans) > 1800
    for plan in plans:
        _check_invariants(plan)


def test_recursive_structure():
    for plan in (p for p in ALL_PLANS if p.mode == "recursive"):
        n, cap = plan.num_frames, plan.capacity
        first = plan.stages()[0]
        assert len(first) == 1 and not first[0].anchors
        assert first[0].new[0] == 0 and first[0].new[-1] == n - 1  # keyframes span the video
        stage_of = {f: w.stage for w in plan.windows for f in w.new}
        for w in plan.windows[1:]:
            assert w.anchors[0] < w.new[0] and w.new[-1] < w.anchors[-1]  # new lie between anchors
            for f in w.new:  # the nearest frames generated before, on both sides, are anchors
                before = [g for g, s in stage_of.items() if s < w.stage]
                assert max(g for g in before if g < f) in w.anchors
                assert min(g for g in before if g > f) in w.anchors
        if n >= cap:
            assert all(w.size == cap for w in plan.windows)  # same length: a stage can batch


def test_autoregressive_structure():
    for plan in (p for p in ALL_PLANS if p.mode == "autoregressive"):
        assert [w.stage for w in plan.windows] == list(range(plan.num_windows))
        for prev, w in zip(plan.windows, plan.windows[1:]):
            assert w.new[0] == prev.new[-1] + 1
            assert w.new == tuple(range(w.new[0], w.new[-1] + 1))
            assert w.anchors == tuple(range(w.new[0] - len(w.anchors), w.new[0]))  # latest frames
            assert len(w.anchors) >= 2 and w.size == plan.capacity  # last shifts back, stays full


def test_independent_structure():
    for plan in (p for p in ALL_PLANS if p.mode == "independent"):
        assert plan.num_stages == 1 and all(not w.anchors for w in plan.windows)
        assert plan.num_windows == math.ceil(plan.num_frames / plan.capacity)


def test_recursive_matches_autoregressive_window_count():
    # The 1.2x goal at 4x window, and in fact equality with autoregressive (overlap 2) everywhere.
    for w in range(4, 17):
        for r in (0, 1):
            rec = plan_sampling(4 * w, w, "recursive", reserved=r).num_windows
            ar = plan_sampling(4 * w, w, "autoregressive", reserved=r).num_windows
            assert rec <= 1.2 * ar
    for n, w, r in SHAPES:
        if w - r >= 3:
            cap = w - r
            lower_bound = 1 if n <= cap else 1 + math.ceil((n - cap) / (cap - 2))
            assert plan_sampling(n, w, reserved=r).num_windows == lower_bound
            assert plan_sampling(n, w, "autoregressive", reserved=r).num_windows == lower_bound


def test_recursive_needs_few_stages():
    plan = plan_sampling(16 * 16, 16)
    assert plan.num_stages <= 3 < plan_sampling(16 * 16, 16, "autoregressive").num_stages


def test_small_known_plans():
    plan = plan_sampling(16, 8)
    assert [(w.stage, w.new, w.anchors) for w in plan.windows] == [
        (0, (0, 1, 6, 7, 8, 9, 14, 15), ()),
        (1, (2, 3, 4, 5), (0, 1, 6, 7)),
        (1, (10, 11, 12, 13), (8, 9, 14, 15)),
    ]
    ar = plan_sampling(16, 8, "autoregressive")
    assert [(w.new, w.anchors) for w in ar.windows] == [
        (tuple(range(8)), ()), (tuple(range(8, 14)), (6, 7)), ((14, 15), tuple(range(8, 14)))]
    ar3 = plan_sampling(20, 8, "autoregressive", overlap=3)
    assert [len(w.new) for w in ar3.windows] == [8, 5, 5, 2]
    ind = plan_sampling(17, 9, "independent", reserved=1)
    assert [w.new for w in ind.windows] == [tuple(range(8)), tuple(range(8, 16)), (16,)]


def test_overlap_zero_and_max():
    assert all(not w.anchors for w in plan_sampling(20, 8, "autoregressive", overlap=0).windows[:-1])
    plan = plan_sampling(20, 8, "autoregressive", overlap=7)
    assert plan.num_windows == 13
    _check_invariants(plan)


def test_deterministic_and_json():
    for args in [(70, 5, "recursive"), (33, 8, "autoregressive"), (9, 4, "independent")]:
        a, b = plan_sampling(*args, reserved=1), plan_sampling(*args, reserved=1)
        assert a == b and hash(a) == hash(b)
        d = json.loads(json.dumps(a.to_dict()))
        assert d["num_windows"] == a.num_windows and d["num_stages"] == a.num_stages
        assert [Window(x["stage"], tuple(x["new"]), tuple(x["anchors"])) for x in d["windows"]] == list(a.windows)


def test_model_calls_and_stages():
    plan = plan_sampling(64, 16, reserved=1)
    assert plan.model_calls(50) == plan.num_windows * 50
    assert plan.model_calls(50, guidance_passes=2) == plan.num_windows * 100
    assert sum(len(s) for s in plan.stages()) == plan.num_windows
    assert all(w.stage == i for i, s in enumerate(plan.stages()) for w in s)
    with pytest.raises(ValueError, match="steps"):
        plan.model_calls(-1)


def test_describe_one_line_per_stage():
    for args in [(1, 4), (16, 8), (64, 8), (30, 6, "autoregressive"), (30, 6, "independent")]:
        plan = plan_sampling(*args)
        lines = describe(plan).splitlines()
        assert len(lines) == plan.num_stages
        assert lines[0].startswith(f"stage 1/{plan.num_stages}:")
    assert describe(plan_sampling(16, 8)).splitlines()[1] == (
        "stage 2/2: 2 windows, 8 new frames (2-5, 10-13), 8 anchors")


@pytest.mark.parametrize("kwargs, name", [
    (dict(num_frames=0, window=8), "num_frames"),
    (dict(num_frames=8, window=0), "window"),
    (dict(num_frames=8.0, window=8), "num_frames"),
    (dict(num_frames=8, window=8, mode="zigzag"), "mode"),
    (dict(num_frames=8, window=8, reserved=-1), "reserved"),
    (dict(num_frames=8, window=8, reserved=8), "reserved"),
    (dict(num_frames=8, window=8, mode="autoregressive", overlap=8), "overlap"),
    (dict(num_frames=8, window=8, mode="autoregressive", overlap=-1), "overlap"),
    (dict(num_frames=8, window=3, reserved=1), "window - reserved"),
    (dict(num_frames=8, window=2, mode="autoregressive"), "window - reserved"),
])
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        plan_sampling(**kwargs)


def test_independent_allows_tiny_windows_and_window_validates():
    assert plan_sampling(5, 2, "independent", reserved=1).num_windows == 5
    with pytest.raises(ValueError):
        Window(0, (2, 1))
    with pytest.raises(ValueError):
        Window(1, (1, 2), (2, 3))
    with pytest.raises(ValueError):
        Window(0, ())
