"""The intrinsic round trip: inverse models through their registry, metrics with known answers, and
a run on a really built dataset."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.common import BenchmarkError
from benchmarks.methods import inverse as inverse_registry
from benchmarks.methods.inverse import InverseModel, make_inverse
from benchmarks.metrics import compute
from benchmarks.metrics.roundtrip import ROUNDTRIP_METRICS
from benchmarks.results import METRICS_FILE, METRICS_SCHEMA, read_table
from benchmarks.runner import RunConfig, run_benchmark


def _given(T=3, H=8, W=8):
    rng = np.random.default_rng(0)
    normal = np.zeros((T, H, W, 3))
    normal[..., 2] = -1.0
    normal[:, :2] = 0.0  # two rows with no surface: left out
    return {"albedo": rng.uniform(0.2, 0.8, (T, H, W, 3)), "normal": normal,
            "roughness": rng.uniform(0.1, 0.9, (T, H, W, 1)), "metallic": rng.uniform(0, 1, (T, H, W, 1)),
            "irradiance": rng.uniform(0.5, 2.0, (T, H, W, 3))}


def _score(name, given, recovered):
    video = np.zeros((*given["albedo"].shape[:3], 3))
    return compute(name, video, video, roundtrip={"given": given, "recovered": recovered})


def test_round_trip_metrics_have_known_answers():
    g = _given()
    a = np.deg2rad(10.0)
    tilted = np.where(np.abs(g["normal"]).sum(-1, keepdims=True) > 0,
                      np.array([np.sin(a), 0.0, -np.cos(a)]), 0.0)
    rec = {"albedo": g["albedo"] + 0.1, "normal": tilted, "roughness": g["roughness"] - 0.05,
           "metallic": g["metallic"], "irradiance": 3.0 * g["irradiance"]}
    rec["albedo"][:, :2] = 5.0  # wrong where there is no surface: must not count
    assert _score("roundtrip_albedo", g, rec).value == pytest.approx(20.0, abs=1e-9)  # MSE 0.01
    assert _score("roundtrip_normal", g, rec).value == pytest.approx(10.0, abs=1e-6)
    assert _score("roundtrip_roughness", g, rec).value == pytest.approx(0.05, abs=1e-12)
    assert _score("roundtrip_metallic", g, rec).value == 0.0
    assert _score("roundtrip_irradiance", g, rec).value == pytest.approx(0.0, abs=1e-12)  # exposure is free
    half = {**rec, "irradiance": g["irradiance"] * np.where(np.arange(8) < 4, 1.0, 2.0)[None, None, :, None]}
    assert _score("roundtrip_irradiance", g, half).value > 0.1  # a shape error is not a scale


def test_round_trip_metrics_say_what_is_missing_or_wrong():
    g = _given()
    partial = {k: v for k, v in g.items() if k != "metallic"}
    r = _score("roundtrip_metallic", partial, g)
    assert r.value is None and "was not given metallic" in r.missing_reason
    r = _score("roundtrip_roughness", g, {"albedo": g["albedo"]})
    assert r.value is None and "does not estimate roughness" in r.missing_reason
    with pytest.raises(ValueError, match="shape"):
        _score("roundtrip_albedo", g, {"albedo": g["albedo"][:, :4]})


class OracleInverse(InverseModel):
    """Reads the clip's true intrinsics from the dataset: what a perfect decomposer would return."""

    name, description = "oracle-inverse", "the dataset's own intrinsics (tests)"
    root = None

    def run(self, inp):
        from interiorvideo.dataset import Dataset

        clip = Dataset.open(self.root).read_clip(inp.clip)
        return {p: clip[p].astype(np.float32) for p in ("albedo", "normal", "roughness", "metallic", "irradiance")}


class AlbedoIsTheImage(InverseModel):
    """Calls the displayed frame the albedo and every normal (0, 0, −1)."""

    name, description = "albedo-is-the-image", "albedo = the displayed frame (tests)"

    def run(self, inp):
        normal = np.zeros((*inp.frames.shape[:3], 3), np.float32)
        normal[..., 2] = -1
        return {"albedo": inp.frames, "normal": normal}


@pytest.fixture()
def inverses(built_dataset):
    OracleInverse.root = built_dataset
    saved = dict(inverse_registry.BUILTIN_INVERSE)
    inverse_registry.BUILTIN_INVERSE.update({c.name: c for c in (OracleInverse, AlbedoIsTheImage)})
    yield
    inverse_registry.BUILTIN_INVERSE.clear()
    inverse_registry.BUILTIN_INVERSE.update(saved)


def _run(data, out, inverse, tasks=("render",)):
    return run_benchmark(RunConfig(data=data, out=out, methods=["gt"], tasks=list(tasks), workers=0, videos=False,
                                   metrics=["psnr", *ROUNDTRIP_METRICS], inverse=inverse))


def test_a_run_scores_the_round_trip_with_the_named_inverse(built_dataset, tmp_path, inverses):
    from interiorvideo.dataset import Dataset

    from benchmarks.metrics import to_display

    assert _run(built_dataset, tmp_path / "oracle", "oracle-inverse", ("render", "render-partial")).ok
    m = read_table(tmp_path / "oracle" / METRICS_FILE, METRICS_SCHEMA)
    render = m[m.task == "render"].set_index(["clip", "metric"])["value"]
    for clip in set(m["clip"]):
        assert render[(clip, "roundtrip_albedo")] == 100.0 and render[(clip, "roundtrip_normal")] < 1e-3
        assert render[(clip, "roundtrip_roughness")] == 0.0 and render[(clip, "roundtrip_irradiance")] < 1e-6
    partial = m[(m.task == "render-partial") & m.metric.str.startswith("roundtrip")]
    assert partial.missing_reason.dropna().str.contains("was not given").all() and partial.value.notna().any()

    assert _run(built_dataset, tmp_path / "image", "albedo-is-the-image").ok
    m = read_table(tmp_path / "image" / METRICS_FILE, METRICS_SCHEMA).set_index(["clip", "metric"])
    ds = Dataset.open(built_dataset)
    for clip in ds.keys("test"):
        c = ds.read_clip(clip)
        surface = np.abs(c["normal"]).sum(-1) > 0
        shown, albedo = to_display(c["rgb"].astype(np.float32)), c["albedo"].astype(np.float64)
        want = np.mean([10 * np.log10(1 / np.mean((shown[t][surface[t]] - albedo[t][surface[t]]) ** 2))
                        for t in range(len(shown))])
        assert m.loc[(clip, "roundtrip_albedo"), "value"] == pytest.approx(want, rel=1e-6)
        n = c["normal"][surface].astype(np.float64)
        angle = np.degrees(np.arccos(np.clip(-n[:, 2] / np.linalg.norm(n, axis=-1), -1, 1))).mean()
        assert m.loc[(clip, "roundtrip_normal"), "value"] == pytest.approx(angle, rel=0.05)  # frame means vs pixels
        assert "does not estimate roughness" in m.loc[(clip, "roundtrip_roughness"), "missing_reason"]


def test_an_unknown_inverse_model_is_refused_before_any_unit(built_dataset, tmp_path):
    with pytest.raises(BenchmarkError, match="unknown inverse model 'rgb2x'.*x2v_bench.inverse"):
        _run(built_dataset, tmp_path / "none", "rgb2x")
    assert not (tmp_path / "none").exists()
    with pytest.raises(BenchmarkError, match="unknown inverse model"):
        make_inverse("nothing")
