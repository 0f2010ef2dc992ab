"""Long-range consistency metrics (drift at frame gaps, revisits) on scenes with known answers: an
analytic textured wall seen by a sliding camera (exact correspondences), and a really rendered
clip's depth and cameras."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.metrics import compute, to_display
from benchmarks.metrics.longrange import DRIFT_GAPS, gap_starts, revisit_pairs
from benchmarks.tasks import get_task, there_and_back

H = W = 48
F = 32.0
Z = 2.0
STEP_PX = 0.25  # the wall slides 0.25 px per frame: every gap of the registry is a whole number of pixels


def sliding_wall(frames: int = 140) -> tuple[np.ndarray, dict]:
    """A wall 2 m ahead, textured with smooth stripes in [0.3, 0.5], the camera sliding sideways."""
    K = np.array([[F, 0, W / 2], [0, F, H / 2], [0, 0, 1]], float)
    poses = np.repeat(np.eye(4)[None], frames, axis=0)
    poses[:, 0, 3] = np.arange(frames) * STEP_PX * Z / F
    v, u = np.meshgrid(np.arange(H) + 0.5, np.arange(W) + 0.5, indexing="ij")
    video = []
    for t in range(frames):
        x = (u - W / 2) / F * Z + poses[t, 0, 3]
        y = (v - H / 2) / F * Z
        grey = 0.4 + 0.05 * np.sin(7 * x) * np.cos(5 * y)
        video.append(np.stack([grey, 0.9 * grey, 1.1 * grey], axis=-1))
    geometry = {"depth": np.full((frames, H, W), Z, np.float32), "K": K, "poses": poses}
    return np.asarray(video, np.float64), geometry


@pytest.fixture(scope="module")
def wall():
    return sliding_wall()


def drift(name: str, pred, gt, geometry):
    return compute(name, pred, gt, geometry=geometry, space="display")


def test_ground_truth_scores_exactly_zero_at_every_gap(wall):
    gt, geo = wall
    for g in DRIFT_GAPS:
        r = drift(f"drift_{g}", gt, gt, geo)
        assert r.value == 0.0, g


def test_a_drift_of_known_size_is_measured_at_each_gap(wall):
    gt, geo = wall
    c = 0.001  # display units per frame
    pred = gt + c * np.arange(len(gt))[:, None, None, None]
    for g in DRIFT_GAPS:
        r = drift(f"drift_{g}", pred, gt, geo)
        assert r.value == pytest.approx(g * c, rel=0.01), g  # the issue asks for 10 %; the wall is exact


def test_a_seam_at_a_window_boundary_scores_worse_than_none_by_the_share_of_pairs_across_it(wall):
    gt, geo = wall
    smooth = gt + 0.01  # a uniform error: consistent over time, not perfect
    seam, boundary, d = smooth.copy(), 64, 0.05
    seam[boundary:] += d
    clean, broken = drift("drift_8", smooth, gt, geo), drift("drift_8", seam, gt, geo)
    starts = gap_starts(len(gt), 8)
    across = sum(t < boundary <= t + 8 for t in starts)
    assert clean.value == pytest.approx(0.0, abs=1e-12)
    assert broken.value == pytest.approx(d * across / len(starts), rel=1e-6)
    at = [t for t, v in enumerate(broken.per_frame) if np.isfinite(v) and v > d / 2]
    assert at and all(t < boundary <= t + 8 for t in at)  # the per-frame values put the seam where it is


def test_independent_per_frame_noise_measures_its_expected_size(wall):
    gt, geo = wall
    sigma = 0.02
    pred = gt + sigma * np.random.default_rng(1).standard_normal(gt.shape)
    r = drift("drift_8", pred, gt, geo)
    assert r.value == pytest.approx(2 * sigma / np.sqrt(np.pi), rel=0.05)  # E|X − Y|, X, Y ~ N(0, σ²)


def test_a_gap_longer_than_the_clip_is_missing_with_the_reason(wall):
    gt, geo = wall
    short = {k: (v[:20] if k != "K" else v) for k, v in geo.items()}
    r = drift("drift_32", gt[:20], gt[:20], short)
    assert r.value is None and "20 scored frames" in r.missing_reason


def test_no_pixel_seen_in_both_frames_is_missing():
    gt, geo = sliding_wall(frames=140)
    geo = {**geo, "poses": geo["poses"].copy()}
    geo["poses"][:, 0, 3] *= 20  # 5 px per frame: after 128 frames nothing of the first view is left
    r = drift("drift_128", gt, gt, geo)
    assert r.value is None and "seen in both" in r.missing_reason


def test_revisits_are_found_from_the_cameras_and_score_a_changed_return_leg(wall):
    gt, geo = wall
    T = 24
    clip = {"rgb": gt[:T], "depth": geo["depth"][:T, ..., None], "camera": {"K": geo["K"], "poses": geo["poses"][:T]}}
    looped = there_and_back(clip)
    poses = looped["camera"]["poses"]
    pairs = revisit_pairs(poses)
    assert all((a, 2 * T - 2 - a) in pairs for a in range(T - 2))  # each viewpoint of the way out, met again
    assert all(np.linalg.norm(poses[a, :3, 3] - poses[b, :3, 3]) <= 0.05 and b - a >= 4 for a, b in pairs)
    video, loop_geo = looped["rgb"], {"depth": looped["depth"], "K": geo["K"], "poses": poses}
    assert compute("revisit", video, video, geometry=loop_geo, space="display").value == 0.0
    changed = video.copy()
    changed[T:] += 0.03  # the way back rendered brighter
    r = compute("revisit", changed, video, geometry=loop_geo, space="display")
    back = sum(b >= T for a, b in pairs if a < T) / len(pairs)
    assert r.value == pytest.approx(0.03 * back, rel=1e-6)


def test_a_walk_that_never_returns_has_no_revisit(wall):
    gt, geo = wall
    r = compute("revisit", gt, gt, geometry=geo)
    assert r.value is None and "never returns" in r.missing_reason


def test_revisit_task_plays_a_real_clip_there_and_back(built_dataset):
    from interiorvideo.dataset import Dataset

    ds = Dataset.open(built_dataset)
    key = ds.keys("test")[0]
    clip = ds.read_clip(key)
    inst = get_task("revisit").prepare(clip, key)
    T = clip["rgb"].shape[0]
    assert inst.frames == 2 * T - 1
    np.testing.assert_array_equal(inst.main.ground_truth[T:], clip["rgb"][:T - 1][::-1].astype(np.float32))
    np.testing.assert_array_equal(inst.main.intrinsics["albedo"][2 * T - 2], clip["albedo"][0])
    assert inst.flow["forward"].shape[0] == 2 * T - 2
    r = compute("revisit", inst.main.ground_truth, inst.main.ground_truth, geometry=inst.geometry,
                space="linear")
    assert r.value == 0.0 and sum(np.isfinite(r.per_frame)) >= T - 4


def test_drift_on_a_rendered_clip_separates_consistent_from_per_frame_noise(built_dataset):
    """The rendered clip's own depth and cameras (real occlusions, view-dependent shading)."""
    from interiorvideo.dataset import Dataset

    ds = Dataset.open(built_dataset)
    key = ds.keys("test")[0]
    clip = ds.read_clip(key)
    inst = get_task("revisit").prepare(clip, key)  # 15 frames: gap 8 fits
    gt = 0.05 + 0.9 * to_display(inst.main.ground_truth)  # display values with room for an offset
    offset = gt + 0.04  # a uniform error: consistent over time
    sigma = 0.08
    noisy = gt + sigma * np.random.default_rng(2).standard_normal(gt.shape)  # a new error every frame
    held = np.repeat(gt[:1], len(gt), axis=0)  # a constant video
    score = {name: compute("drift_8", v, gt, geometry=inst.geometry, space="display").value
             for name, v in [("gt", gt), ("offset", offset), ("noisy", noisy), ("held", held)]}
    assert score["gt"] == 0.0
    assert score["offset"] < 1e-9
    assert score["held"] > 0.01  # a constant video does not follow the camera: it is not consistent
    # Bilinear sampling at sub-pixel positions averages neighbouring noise, so at most E|X − Y|:
    assert 0.6 < score["noisy"] / (2 * sigma / np.sqrt(np.pi)) < 1.02
    assert score["noisy"] > score["held"]
