"""x2v-bench tasks and method adapters: what each task gives, how edit ground truth pairs with the
intrinsic edit, the analytic baseline, the external layout, the method registry and its entry points."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.common import BenchmarkError
from benchmarks.methods import BUILTIN, MethodInput, available_methods, make_method, method_class
from benchmarks.methods.base import Method, MethodOutput
from benchmarks.methods.external import call_dir, load_frames
from benchmarks.methods.pbr import env_brdf_approx, pbr_composite
from benchmarks.metrics import compute
from benchmarks.tasks import BASE, MAIN, PARTIAL_SUBSETS, TASKS, TaskContext, get_task
from interiorvideo.edits.serialise import scene_edit_from_dict
from interiorvideo.render.edited import render_edited
from interiorvideo.schema import INTRINSIC_PASSES


@pytest.fixture(scope="module")
def clip_and_key(built_dataset):
    from interiorvideo.dataset import Dataset
    from benchmarks.runner import load_clip

    key = Dataset.open(built_dataset).keys("test")[0]
    return load_clip(built_dataset, key), key


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("render-cache")


def test_registry_has_every_task_with_its_card():
    assert list(TASKS) == ["render", "render-partial", "long", "reference", "revisit", "edit-color", "edit-material",
                           "edit-light", "local-prompt"]
    for t in TASKS.values():
        assert t.description and t.gives and t.ground_truth and t.metrics
    with pytest.raises(BenchmarkError, match="unknown task 'rendr'; known tasks: render, render-partial"):
        get_task("rendr")
    with pytest.raises(BenchmarkError, match="has no option"):
        get_task("render").prepare({}, "k", TaskContext(options={"window": 3}))


def test_render_tasks_give_what_they_say(clip_and_key):
    clip, key = clip_and_key
    T = clip["rgb"].shape[0]
    r = get_task("render").prepare(clip, key)
    assert set(r.main.intrinsics) == set(INTRINSIC_PASSES) and r.main.prompt == clip["meta"]["prompt"]
    assert np.array_equal(r.main.ground_truth, clip["rgb"].astype(np.float32)) and r.main.reference is None
    assert r.flow["forward"].shape == (T - 1, *clip["rgb"].shape[1:3], 2)
    p = get_task("render-partial").prepare(clip, key)
    assert tuple(p.main.intrinsics) in PARTIAL_SUBSETS and p.details["channels"] == list(p.main.intrinsics)
    ref = get_task("reference").prepare(clip, key)
    assert ref.start == 1 and np.array_equal(ref.main.reference, clip["rgb"][0].astype(np.float32))
    assert ref.flow["forward"].shape[0] == T - 2  # flow of the scored frames 1..T-1
    short = get_task("long").prepare(clip, key)  # 8 frames < 4 windows of 8
    assert short.skip_reason and "needs at least 32" in short.skip_reason and not short.calls
    ok = get_task("long").prepare(clip, key, TaskContext(options={"window": 2}))
    assert ok.skip_reason is None and ok.details == {"window": 2, "windows": T / 2}


def test_edit_color_pairs_the_intrinsic_edit_with_its_rendered_ground_truth(clip_and_key, cache):
    clip, key = clip_and_key
    inst = get_task("edit-color").prepare(clip, key, TaskContext(cache=cache))
    iid = inst.details["instance"]
    assert np.array_equal(inst.mask, clip["instance"] == iid) and inst.mask.all(axis=(1, 2)).sum() == 0
    assert inst.mask.any(axis=(1, 2)).all()  # the object is in every frame
    edit = scene_edit_from_dict(inst.details["edit"])
    rendered = render_edited(clip, [edit], cache)  # from the cache now
    for p in ("albedo", "roughness", "metallic"):  # the intrinsic edit == the edited scene's passes
        assert np.array_equal(inst.main.intrinsics[p], rendered[p].astype(np.float32)), p
    assert np.array_equal(rendered["instance"], clip["instance"])
    assert np.allclose(inst.main.intrinsics["albedo"][inst.mask], edit.color)
    outside = ~inst.mask
    assert np.array_equal(inst.main.intrinsics["albedo"][outside], clip["albedo"][outside])
    gt, orig = inst.main.ground_truth, clip["rgb"].astype(np.float32)
    inside_change = compute("delta_e_edit", gt, orig, mask=inst.mask).value
    outside_change = compute("leakage", gt, orig, mask=inst.mask).value
    assert inside_change > 5 * outside_change  # the edit shows where it was made
    # same seed, same choice; the unedited scene re-renders the stored clip bit for bit
    assert get_task("edit-color").prepare(clip, key, TaskContext(cache=cache)).details == inst.details
    assert np.array_equal(render_edited(clip, [], None)["rgb"], clip["rgb"])


def test_edit_material_and_light(clip_and_key, cache):
    clip, key = clip_and_key
    mat = get_task("edit-material").prepare(clip, key, TaskContext(cache=cache))
    e = mat.details["edit"]
    assert e["kind"] == "material" and {"roughness", "metallic"} <= set(e)
    assert np.all(mat.main.intrinsics["metallic"][mat.mask] == e["metallic"])
    light = get_task("edit-light").prepare(clip, key, TaskContext(cache=cache))
    assert list(light.calls) == [MAIN, BASE, "dim"] and light.mask.all()
    assert [p for _, p in light.sweep] == [0.25, 1.0, 3.0]
    irr = {c: light.calls[c].intrinsics["irradiance"].mean() for c in light.calls}
    assert irr["dim"] < irr[BASE] < irr[MAIN]  # the rendered irradiance follows the light
    assert np.array_equal(light.calls[BASE].ground_truth, clip["rgb"].astype(np.float32))
    for c in (MAIN, "dim"):  # every input but irradiance is the clip's own
        assert np.array_equal(light.calls[c].intrinsics["albedo"], clip["albedo"])


def test_local_prompt_names_a_new_colour_inside_a_mask(clip_and_key):
    clip, key = clip_and_key
    inst = get_task("local-prompt").prepare(clip, key)
    (mask, text), = inst.calls[MAIN].local_prompts
    assert inst.calls[BASE].local_prompts == () and np.array_equal(mask, inst.mask)
    assert text.startswith("a bright ") and text.endswith(inst.details["label"])
    assert text.split()[2] not in inst.details["original"]


def test_an_imported_scene_cannot_be_edited_and_says_why(clip_and_key):
    clip, key = clip_and_key
    meta = {k: v for k, v in clip["meta"].items() if k != "scene_seed"}
    inst = get_task("edit-color").prepare({**clip, "meta": meta}, key)
    assert "no scene_seed" in inst.skip_reason


# --- methods ------------------------------------------------------------------------------------------

def _input(inst, call=MAIN, gt=False) -> MethodInput:
    c = inst.calls[call]
    return MethodInput(inst.task, inst.clip, call, c.intrinsics, c.prompt, 0, inst.fps, inst.camera, inst.frames,
                       c.local_prompts, c.reference, c.ground_truth if gt else None)


def test_pbr_composite_is_the_analytic_formula(clip_and_key):
    rng = np.random.default_rng(0)
    intr = {"albedo": rng.random((1, 4, 4, 3)), "irradiance": 2 * rng.random((1, 4, 4, 3)),
            "roughness": rng.random((1, 4, 4, 1)), "metallic": np.zeros((1, 4, 4, 1))}
    out = pbr_composite(intr)  # no normals: facing the camera, n·v = 1, Schlick F = F0 = 0.04
    spec = env_brdf_approx(np.full((1, 4, 4, 3), 0.04), intr["roughness"][..., 0], np.ones((1, 4, 4)))
    assert np.allclose(out, 0.96 * intr["albedo"] * intr["irradiance"] + spec * intr["irradiance"], atol=1e-6)
    # Karis' fit: a smooth dielectric at normal incidence reflects about F0
    assert env_brdf_approx(np.array([0.04]), np.array(0.0), np.array(1.0)) == pytest.approx(0.04, abs=0.01)
    clip, key = clip_and_key
    inst = get_task("render").prepare(clip, key)
    pred = make_method("pbr-composite").run(_input(inst)).frames
    grey = np.full_like(pred, float(clip["rgb"].astype(np.float32).mean()))
    gt = inst.main.ground_truth
    surface = (clip["depth"] > 0)  # the sky through windows is not in the intrinsics: compared on surfaces
    on = lambda x: np.where(surface, x, gt)  # noqa: E731
    assert compute("psnr", on(pred), gt).value > compute("psnr", on(grey), gt).value + 6
    partial = {p: inst.main.intrinsics[p] for p in ("normal", "irradiance")}
    assert np.isfinite(pbr_composite(partial, inst.camera["K"])).all()  # missing channels fall back


def test_gt_oracle_returns_the_ground_truth_only_when_given(clip_and_key):
    clip, key = clip_and_key
    inst = get_task("render").prepare(clip, key)
    gt = make_method("gt")
    assert gt.needs_ground_truth and np.array_equal(gt.run(_input(inst, gt=True)).frames, inst.main.ground_truth)
    with pytest.raises(ValueError, match="no ground truth"):
        gt.run(_input(inst))


def test_external_layout_reads_png_and_npy_and_names_missing_frames(tmp_path, clip_and_key):
    import imageio.v3 as iio

    clip, key = clip_and_key
    T, H, W = clip["rgb"].shape[:3]
    frames = (np.random.default_rng(1).random((T, H, W, 3)) * 255).astype(np.uint8)
    d = call_dir(tmp_path, "render", key)
    d.mkdir(parents=True)
    for t in range(T):
        iio.imwrite(d / f"{t:05d}.png", frames[t])
    m = make_method("sys", external={"sys": tmp_path})
    inst = get_task("render").prepare(clip, key, TaskContext(need_flow=False))
    out = m.run(_input(inst))
    assert out.space == "display" and np.array_equal(out.frames, frames) and m.name == "sys"
    hdr = np.random.default_rng(2).random((T, H, W, 3)).astype(np.float32)
    base_dir = call_dir(tmp_path, "render", key, BASE)
    base_dir.mkdir(parents=True)
    np.save(base_dir / "frames.npy", hdr)
    back, space = load_frames(call_dir(tmp_path, "render", key, BASE), T, (H, W))
    assert space == "linear" and np.array_equal(back, hdr)
    (d / "00003.png").unlink()
    with pytest.raises(BenchmarkError, match=r"lacks frame\(s\) 3 of 0..7"):
        m.run(_input(inst))
    with pytest.raises(BenchmarkError, match="has 16x16 frames, the clip is 32x32"):
        load_frames(_write_small(tmp_path / "small", T), T, (H, W))
    with pytest.raises(BenchmarkError, match="no folder for task"):
        m.check([("edit-color", key, (MAIN,))])
    with pytest.raises(BenchmarkError, match="needs their folder: --external ext=DIR"):
        method_class("external").from_options("ext", {})


def _write_small(folder, T):
    import imageio.v3 as iio

    folder.mkdir()
    for t in range(T):
        iio.imwrite(folder / f"frame_{t}.png", np.zeros((16, 16, 3), np.uint8))
    return folder


class _Const(Method):
    description = "constant grey (a plugin)"

    def run(self, inp: MethodInput) -> MethodOutput:
        return MethodOutput(np.full((inp.frames, *next(iter(inp.intrinsics.values())).shape[1:3], 3), 0.5))


class _EP:
    def __init__(self, name, obj=None, fail=False):
        self.name, self.value, self._obj, self._fail = name, f"plugin:{name}", obj, fail

    def load(self):
        if self._fail:
            raise ImportError("plugin is broken")
        return self._obj


def test_method_registry_merges_entry_points(monkeypatch):
    import benchmarks.methods as methods

    assert {"gt", "pbr-composite", "x2video", "x2video-perframe", "x2video-autoregressive", "x2video-independent",
            "rgbx", "external"} == set(BUILTIN)
    eps = [_EP("const", _Const), _EP("gt", _Const), _EP("broken", fail=True), _EP("notamethod", object)]
    monkeypatch.setattr(methods, "entry_points", lambda group: eps if group == methods.ENTRY_POINT_GROUP else [])
    listed = available_methods()
    assert listed["const"] == "constant grey (a plugin)" and listed["gt"] == BUILTIN["gt"].description
    assert "unavailable" in listed["broken"] and "plugin is broken" in listed["broken"]
    m = make_method("const")
    assert isinstance(m, _Const) and m.name == "const"
    with pytest.raises(BenchmarkError, match="failed to load: ImportError"):
        make_method("broken")
    with pytest.raises(BenchmarkError, match="not a benchmarks.methods.Method subclass"):
        make_method("notamethod")
    with pytest.raises(BenchmarkError, match="unknown method 'nope'; known methods: gt, pbr-composite"):
        make_method("nope")


def test_x2video_adapters_need_a_checkpoint_and_map_to_sampling_modes(tmp_path):
    with pytest.raises(BenchmarkError, match="needs an X2Video checkpoint: --checkpoint DIR"):
        make_method("x2video")
    with pytest.raises(BenchmarkError, match="not found"):
        make_method("x2video-perframe", {"checkpoint": str(tmp_path / "nope")})
    modes = {n: (BUILTIN[n].mode, BUILTIN[n].perframe, BUILTIN[n].in_process) for n in BUILTIN if "x2video" in n}
    assert modes == {"x2video": ("recursive", False, True), "x2video-perframe": ("recursive", True, True),
                     "x2video-autoregressive": ("autoregressive", False, True),
                     "x2video-independent": ("independent", False, True)}
    fp = make_method("x2video", {"checkpoint": str(tmp_path), "steps": 5}).fingerprint()
    assert fp["steps"] == 5 and fp["checkpoint"] == str(tmp_path.resolve())
