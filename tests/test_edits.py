"""interiorvideo.edits: intrinsic edits and their regions, their CLI string form, and the bridge
from scene edits (the scene edits themselves render in test_render.py)."""

from __future__ import annotations

import copy
from dataclasses import fields

import numpy as np
import pytest

from interiorvideo.edits.bridge import NoIntrinsicCounterpart, from_scene_edit
from interiorvideo.edits.intrinsic import (
    AlbedoChange,
    IrradianceChange,
    MaterialChange,
    NormalChange,
    apply_edits,
    noise_field,
)
from interiorvideo.edits.region import Region
from interiorvideo.edits.scene import AlbedoEdit, LightEdit, MaterialEdit, apply_scene_edits
from interiorvideo.edits.serialise import parse_edit, parse_edits, scene_edit_from_dict
from interiorvideo.render import Renderer, RenderSettings
from interiorvideo.scene import Light, Material, Room, Scene, SceneObject
from interiorvideo.scene.mesh import box_between
from interiorvideo.trajectory import intrinsics, look_at

T, H, W = 2, 6, 8


@pytest.fixture
def clip() -> dict[str, np.ndarray]:
    """A tiny clip: instances 3, 5, 12 and background 0; zero normals on background and on a
    block inside instance 5 (so 'zero normals stay zero' is tested inside a region)."""
    rng = np.random.default_rng(0)
    inst = np.zeros((T, H, W), np.int32)
    inst[:, :3, :4] = 3
    inst[:, 3:, :4] = 5
    inst[:, :, 4:7] = 12
    inst[1, 0, 0] = 12  # instances move between frames
    n = rng.normal(size=(T, H, W, 3))
    n[..., 2] = -np.abs(n[..., 2]) - 0.2  # facing the camera
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    empty = inst == 0
    empty[:, 4:, :2] = True
    n[empty] = 0.0
    return {
        "albedo": rng.uniform(0.05, 0.95, (T, H, W, 3)).astype(np.float32),
        "normal": n.astype(np.float32),
        "roughness": rng.uniform(0, 1, (T, H, W, 1)).astype(np.float32),
        "metallic": rng.uniform(0, 1, (T, H, W, 1)).astype(np.float32),
        "irradiance": rng.uniform(0.1, 4.0, (T, H, W, 3)).astype(np.float16),
        "rgb": rng.uniform(0, 2, (T, H, W, 3)).astype(np.float16),
        "depth": rng.uniform(1, 3, (T, H, W, 1)).astype(np.float32),
        "instance": inst,
    }


def _fmt(v) -> str:
    if isinstance(v, tuple):
        return ",".join(_fmt(x) for x in v)
    return str(v) if isinstance(v, int) else repr(float(v))


def format_edit(edit) -> str:
    """The CLI string form of an edit without a mask region, so that parse_edit(format_edit(e)) == e."""
    assert edit.region.mask is None, "a mask region is data, not a string"
    region = [f"instance={edit.region.instance}"] if edit.region.instance is not None else []
    values = [f"{f.name}={_fmt(getattr(edit, f.name))}" for f in fields(edit)
              if f.name != "region" and getattr(edit, f.name) is not None and getattr(edit, f.name) != f.default]
    return ":".join([edit.kind, *region, *values])


def checker_mask() -> np.ndarray:
    return (np.add.outer(np.arange(H), np.arange(W)) % 2).astype(bool)


def region_mask(region: Region, inst: np.ndarray) -> np.ndarray:
    if region.instance is not None:
        return inst == region.instance
    if region.mask is not None:
        return np.broadcast_to(region.mask, (T, H, W))
    return np.ones((T, H, W), bool)


CASES = [
    (AlbedoChange(color=(0.8, 0.1, 0.1), region=Region(instance=12)), {"albedo"}),
    (AlbedoChange(scale=1.5, tint=(1.0, 0.5, 0.2), region=Region(mask=checker_mask())), {"albedo"}),
    (MaterialChange(roughness=0.2, metallic=1.0, region=Region(instance=3)), {"roughness", "metallic"}),
    (MaterialChange(metallic_scale=0.5, region=Region(instance=5)), {"metallic"}),
    (NormalChange(amplitude=0.3, seed=1, region=Region(instance=5)), {"normal"}),
    (NormalChange(angle=30.0, axis=(0, 1, 0), size=3.0, amplitude=0.1), {"normal"}),
    (IrradianceChange(scale=0.5, tint=(1.0, 0.9, 0.8)), {"irradiance"}),
    (IrradianceChange(tint=(2.0, 1.0, 0.5), region=Region(instance=12)), {"irradiance"}),
]


@pytest.mark.parametrize("edit,targets", CASES, ids=[format_edit(e) if e.region.mask is None else "albedo-mask"
                                                      for e, _ in CASES])
def test_edit_changes_only_its_pass_inside_its_region(clip, edit, targets):
    out = apply_edits(clip, [edit])
    assert out.keys() == clip.keys()
    sel = region_mask(edit.region, clip["instance"])
    if edit.kind == "normal":
        sel = sel & np.any(clip["normal"] != 0, axis=-1)
    for name, a in clip.items():
        b = out[name]
        assert b.dtype == a.dtype and b.shape == a.shape and not np.shares_memory(a, b)
        if name not in targets:
            assert a.tobytes() == b.tobytes(), name
            continue
        assert a[~sel].tobytes() == b[~sel].tobytes(), f"{name} changed outside the region"
        changed = np.any(a != b, axis=-1)
        assert changed[sel].mean() > 0.9, f"{name} barely changed inside the region"


def test_albedo_set_is_the_colour_exactly(clip):
    out = apply_edits(clip, AlbedoChange(color=(0.8, 0.1, 0.3), region=Region(instance=12)))
    inside = clip["instance"] == 12
    assert np.array_equal(out["albedo"][inside], np.broadcast_to(np.float32([0.8, 0.1, 0.3]), (inside.sum(), 3)))
    assert np.array_equal(out["albedo"][~inside], clip["albedo"][~inside])


def test_albedo_scale_keeps_hue_when_it_saturates(clip):
    clip["albedo"][0, 0, 0] = [0.8, 0.4, 0.2]
    clip["albedo"][0, 0, 1] = [0.2, 0.1, 0.05]
    out = apply_edits(clip, AlbedoChange(scale=2.0))["albedo"]
    np.testing.assert_allclose(out[0, 0, 0], [1.0, 0.5, 0.25], rtol=1e-6)  # 1.6,0.8,0.4 / 1.6
    np.testing.assert_allclose(out[0, 0, 1], [0.4, 0.2, 0.1], rtol=1e-6)  # below 1: plain scale
    assert out.min() >= 0 and out.max() <= 1


def test_material_set_and_clamped_scale(clip):
    clip["roughness"][0, 0, 0, 0] = 0.8
    clip["roughness"][0, 1, 0, 0] = 0.25
    out = apply_edits(clip, [MaterialChange(roughness_scale=2.0, region=Region(instance=3)),
                             MaterialChange(metallic=0.0, region=Region(instance=3))])
    r, inside = out["roughness"][..., 0], clip["instance"] == 3
    assert r[0, 0, 0] == 1.0 and r[0, 1, 0] == np.float32(0.5)
    assert r[inside].max() <= 1.0 and r[inside].min() >= 0.0
    assert np.all(out["metallic"][inside] == 0.0)
    assert (r[inside] == 1.0).any() and (r[inside] < 1.0).any()


def test_normals_stay_unit_zero_stays_zero_and_stay_on_the_surface_side(clip):
    out = apply_edits(clip, NormalChange(amplitude=2.0, seed=7))["normal"]
    zero = ~np.any(clip["normal"] != 0, axis=-1)
    assert zero.any() and np.all(out[zero] == 0)
    np.testing.assert_allclose(np.linalg.norm(out[~zero], axis=-1), 1.0, atol=1e-6)
    assert np.all(np.sum(out[~zero] * clip["normal"][~zero], axis=-1) >= 0)


def test_normal_noise_is_seeded_and_independent_of_the_region(clip):
    a = apply_edits(clip, NormalChange(amplitude=0.3, seed=1, region=Region(instance=5)))["normal"]
    b = apply_edits(clip, NormalChange(amplitude=0.3, seed=1, region=Region(instance=5)))["normal"]
    c = apply_edits(clip, NormalChange(amplitude=0.3, seed=2, region=Region(instance=5)))["normal"]
    whole = apply_edits(clip, NormalChange(amplitude=0.3, seed=1))["normal"]
    inside = clip["instance"] == 5
    assert a.tobytes() == b.tobytes() and not np.array_equal(a, c)
    assert np.array_equal(a[inside], whole[inside])
    # The bump field is the same in every frame.
    f = noise_field(3, H, W, 1.0)
    assert f.shape == (H, W, 3) and np.array_equal(f, noise_field(3, H, W, 1.0))
    smooth = noise_field(3, 32, 32, 8.0)
    rough = noise_field(3, 32, 32, 1.0)
    assert np.abs(np.diff(smooth, axis=1)).mean() < 0.3 * np.abs(np.diff(rough, axis=1)).mean()


def test_normal_rotation_is_the_asked_rotation(clip):
    clip["normal"][0, 0, 0] = [0.0, 0.0, -1.0]
    out = apply_edits(clip, NormalChange(angle=90.0, axis=(0, 2, 0)))["normal"]
    np.testing.assert_allclose(out[0, 0, 0], [-1.0, 0.0, 0.0], atol=1e-6)
    nz = np.any(clip["normal"] != 0, axis=-1)
    # A rotation keeps angles between normals: compare two pixels' dot products.
    d_in = np.sum(clip["normal"][nz][:-1] * clip["normal"][nz][1:], axis=-1)
    d_out = np.sum(out[nz][:-1] * out[nz][1:], axis=-1)
    np.testing.assert_allclose(d_in, d_out, atol=1e-5)


def test_irradiance_scale_is_exact_and_non_negative(clip):
    irr = clip["irradiance"]
    assert np.array_equal(apply_edits(clip, IrradianceChange(scale=0.5))["irradiance"], irr / np.float16(2))
    out = apply_edits(clip, IrradianceChange(scale=2.0, tint=(1.0, 0.5, 0.25)))["irradiance"]
    assert np.array_equal(out, irr * np.float16([2.0, 1.0, 0.5]))
    assert np.all(apply_edits(clip, IrradianceChange(scale=0.0))["irradiance"] == 0)
    clip["irradiance"][0, 0, 0] = 60000
    big = apply_edits(clip, IrradianceChange(scale=4.0))["irradiance"]
    assert np.isfinite(big).all() and big.min() >= 0 and big[0, 0, 0, 0] == np.finfo(np.float16).max


def test_edits_apply_in_order(clip):
    out = apply_edits(clip, [AlbedoChange(color=(0.4, 0.2, 0.1)), AlbedoChange(scale=2.0)])["albedo"]
    assert np.allclose(out, [0.8, 0.4, 0.2])


def test_input_is_never_mutated(clip):
    before = copy.deepcopy(clip)
    out = apply_edits(clip, [e for e, _ in CASES])
    for name in clip:
        assert clip[name].tobytes() == before[name].tobytes()
        out[name][...] = 0  # outputs are independent arrays
        assert clip[name].tobytes() == before[name].tobytes()


def test_instance_given_separately_and_masks_broadcast(clip):
    inst = clip.pop("instance")
    e = AlbedoChange(color=(1.0, 0.0, 0.0), region=Region(instance=3))
    out = apply_edits(clip, e, instance=inst)
    assert "instance" not in out and np.all(out["albedo"][inst == 3] == [1, 0, 0])
    m2 = checker_mask()
    a = apply_edits(clip, AlbedoChange(scale=0.5, region=Region(mask=m2)))
    b = apply_edits(clip, AlbedoChange(scale=0.5, region=Region(mask=np.broadcast_to(m2, (T, H, W)))))
    assert a["albedo"].tobytes() == b["albedo"].tobytes()


def test_torch_tensors_in_and_out(clip):
    torch = pytest.importorskip("torch")
    e = [AlbedoChange(color=(0.8, 0.1, 0.1), region=Region(instance=12)), IrradianceChange(scale=0.5)]
    ref = apply_edits(clip, e)
    tens = {k: torch.from_numpy(v.copy()) for k, v in clip.items()}
    out = apply_edits(tens, e)
    for k in clip:
        assert isinstance(out[k], torch.Tensor) and out[k].dtype == tens[k].dtype
        assert np.array_equal(out[k].numpy(), ref[k])
        assert np.array_equal(tens[k].numpy(), clip[k])


# -- errors ----------------------------------------------------------------------------------


def test_region_errors_name_the_problem(clip):
    no_inst = {k: v for k, v in clip.items() if k != "instance"}
    with pytest.raises(ValueError, match="instance=3 needs the instance pass"):
        apply_edits(no_inst, AlbedoChange(color=(1, 1, 1), region=Region(instance=3)))
    with pytest.raises(ValueError, match=r"id 99 does not appear.*ids present: 0, 3, 5, 12"):
        apply_edits(clip, AlbedoChange(color=(1, 1, 1), region=Region(instance=99)))
    with pytest.raises(ValueError, match=r"mask of shape \(5, 8\) does not fit.*\(2, 6, 8\)"):
        apply_edits(clip, AlbedoChange(color=(1, 1, 1), region=Region(mask=np.ones((5, 8), bool))))
    with pytest.raises(ValueError, match="instance pass of shape"):
        apply_edits(clip, AlbedoChange(color=(1, 1, 1), region=Region(instance=3)), instance=clip["instance"][:1])
    with pytest.raises(ValueError, match="needs the 'irradiance' pass"):
        apply_edits({"albedo": clip["albedo"]}, IrradianceChange(scale=2.0))
    with pytest.raises(ValueError, match="boolean"):
        Region(mask=np.ones((H, W), np.float32))
    with pytest.raises(ValueError, match="not both"):
        Region(instance=3, mask=np.ones((H, W), bool))


@pytest.mark.parametrize("make,msg", [
    (lambda: AlbedoChange(color=(1.2, 0, 0)), r"color=1.2 is outside \[0.0, 1.0\]"),
    (lambda: AlbedoChange(color=(1, 0, 0), scale=2.0), "not both"),
    (lambda: AlbedoChange(), "changes nothing"),
    (lambda: MaterialChange(roughness=0.5, roughness_scale=2.0), "not both"),
    (lambda: MaterialChange(metallic=-0.1), "metallic=-0.1 is outside"),
    (lambda: MaterialChange(), "changes nothing"),
    (lambda: NormalChange(angle=10.0), "needs an axis"),
    (lambda: NormalChange(amplitude=0.1, axis=(0, 0, 0), angle=5.0), "axis must not be zero"),
    (lambda: NormalChange(), "changes nothing"),
    (lambda: IrradianceChange(scale=-1.0), "scale=-1.0 is outside"),
    (lambda: IrradianceChange(tint=(1, 1)), "tint=.* is not 3 numbers"),
    (lambda: IrradianceChange(scale=float("nan")), "not a finite number"),
])
def test_invalid_edits(make, msg):
    with pytest.raises(ValueError, match=msg):
        make()


@pytest.mark.parametrize("text,msg", [
    ("colour:instance=1", r"bad edit 'colour:instance=1': unknown kind 'colour'; valid kinds and keys: albedo: color"),
    ("albedo:colour=1,0,0", r"bad edit 'albedo:colour=1,0,0': unknown key 'colour' for albedo; valid keys: color, "),
    ("albedo:color", r"'color' is not key=value; valid keys for albedo"),
    ("albedo:color=1,x,0", r"color='1,x,0' is not comma-separated numbers"),
    ("albedo:instance=1.5:color=1,0,0", r"instance='1.5' is not an integer"),
    ("albedo:color=1,0,0:color=1,0,0", r"key 'color' given twice"),
    ("material:instance=3:roughness=2", r"bad edit 'material:instance=3:roughness=2': roughness=2.0 is outside"),
    ("normal:amplitude=0.3:seed=-1", r"seed=-1 must be >= 0"),
    ("irradiance", r"bad edit 'irradiance': irradiance edit changes nothing"),
    ("light:intensity=2", r"a light edit needs name=LIGHT"),
])
def test_parse_errors_name_the_text(text, msg):
    with pytest.raises(ValueError, match=msg):
        parse_edit(text)


# -- the string form ---------------------------------------------------------------------------


def test_cli_strings_from_the_brief():
    assert parse_edit("albedo:instance=12:color=0.8,0.1,0.1") == AlbedoChange(
        color=(0.8, 0.1, 0.1), region=Region(instance=12))
    assert parse_edit("material:instance=3:roughness=0.2:metallic=1") == MaterialChange(
        roughness=0.2, metallic=1.0, region=Region(instance=3))
    assert parse_edit("normal:instance=5:amplitude=0.3:seed=1") == NormalChange(
        amplitude=0.3, seed=1, region=Region(instance=5))
    assert parse_edit(" irradiance : scale=0.5 : tint=1,0.9,0.8 ") == IrradianceChange(scale=0.5, tint=(1, 0.9, 0.8))


def test_string_round_trips_and_mask_files(tmp_path):
    edits = [e for e, _ in CASES if e.region.mask is None]
    assert parse_edits([format_edit(e) for e in edits]) == edits
    assert [hash(e) for e in parse_edits([format_edit(e) for e in edits])] == [hash(e) for e in edits]
    np.save(tmp_path / "m.npy", checker_mask())
    masked = parse_edit(f"albedo:mask={tmp_path / 'm.npy'}:scale=0.5")
    assert masked == AlbedoChange(scale=0.5, region=Region(mask=checker_mask()))
    assert hash(masked) == hash(AlbedoChange(scale=0.5, region=Region(mask=checker_mask())))
    with pytest.raises(ValueError, match="cannot read a .npy mask"):
        parse_edit(f"albedo:mask={tmp_path / 'missing.npy'}:scale=0.5")


# -- from the renderer's scene edits ---------------------------------------------------------


@pytest.fixture
def scene():
    return Scene("s", (), (Light("lamp", "point", (1.0, 0.5, 0.5), 10.0, position=(0.0, 0.0, 2.0)),), ())


def test_scene_albedo_edit_gives_the_rendered_albedo(clip):
    e = from_scene_edit(AlbedoEdit(12, (0.8, 0.1, 0.1)))
    assert e == AlbedoChange(color=(0.8, 0.1, 0.1), region=Region(instance=12))
    out = apply_edits(clip, e)
    inside = clip["instance"] == 12
    # The edited scene drops the texture, so its albedo pass is exactly the colour (float32).
    assert np.all(out["albedo"][inside] == np.float32([0.8, 0.1, 0.1]))
    assert out["albedo"][~inside].tobytes() == clip["albedo"][~inside].tobytes()


def test_scene_material_edit(clip):
    e = from_scene_edit(MaterialEdit(5, roughness=0.3))
    assert e == MaterialChange(roughness=0.3, region=Region(instance=5))
    out = apply_edits(clip, e)
    assert np.all(out["roughness"][clip["instance"] == 5] == np.float32(0.3))
    assert out["metallic"].tobytes() == clip["metallic"].tobytes()


def test_scene_light_edit_is_a_global_irradiance_factor(scene):
    e = from_scene_edit(LightEdit("lamp", intensity=5.0, color=(1.0, 2.0, 2.0)), scene=scene)
    # intensity 10 -> 5; colour (1, .5, .5) -> (.5, 1, 1) once normalised to max 1.
    assert e == IrradianceChange(scale=0.5, tint=(0.5, 2.0, 2.0)) and e.region == Region()
    with pytest.raises(ValueError, match="needs the scene"):
        from_scene_edit(LightEdit("lamp", intensity=5.0))
    with pytest.raises(ValueError, match=r"no light 'sun' \(lights: lamp\)"):
        from_scene_edit(LightEdit("sun", intensity=5.0), scene=scene)
    with pytest.raises(NoIntrinsicCounterpart, match="no intrinsic-space counterpart") as err:
        from_scene_edit(LightEdit("lamp", position=(1.0, 0.0, 2.0)), scene=scene)
    assert isinstance(err.value, NotImplementedError)
    with pytest.raises(ValueError, match="no intrinsic-space counterpart"):  # also a ValueError
        parse_edit("light:name=lamp:position=1,0,2", scene=scene)
    assert parse_edit("light:name=lamp:intensity=20", scene=scene) == IrradianceChange(scale=2.0)


def test_scene_edits_file_converts_to_intrinsic_edits(scene):
    raw = [{"kind": "albedo", "instance_id": 12, "color": [0.8, 0.1, 0.1]},
           {"kind": "material", "instance_id": 3, "metallic": 1.0},
           {"kind": "light", "name": "lamp", "intensity": 30}]
    got = [from_scene_edit(scene_edit_from_dict(d), scene=scene) for d in raw]
    assert got == [AlbedoChange(color=(0.8, 0.1, 0.1), region=Region(instance=12)),
                   MaterialChange(metallic=1.0, region=Region(instance=3)), IrradianceChange(scale=3.0)]


def _room(lights):
    paint = Material("paint", "paint", (0.6, 0.5, 0.4), 1.0, 0.0, specular=0.0)
    wood = Material("wood", "wood", (0.3, 0.6, 0.2), 0.5, 0.0, specular=0.0)
    objs = (SceneObject(1, "room", "wall", 0, box_between((0, 0, 0), (3, 3, 3)), paint, structural=True),
            SceneObject(2, "crate", "box", 0, box_between((1.2, 2.0, 0), (2.0, 2.6, 0.8)), wood))
    return Scene("room", objs, tuple(lights), (Room(0, "room", ((0, 0), (3, 0), (3, 3), (0, 3)), 0.0, 3.0),))


@pytest.mark.slow  # ~1 s with numba's cache warm, ~15 s compiling the renderer cold
def test_light_edit_matches_the_rendered_irradiance_only_for_a_single_light():
    """The documented approximation, checked against the renderer: with one light the global
    irradiance factor reproduces the edited scene's irradiance; with two it does not."""
    lamp = Light("lamp", "point", (1.0, 0.8, 0.6), 10.0, position=(1.5, 1.5, 2.5))
    other = Light("other", "point", (1.0, 1.0, 1.0), 10.0, position=(0.5, 0.5, 2.0))
    K, pose = intrinsics(20, 16, 60.0), look_at(np.array([[1.5, 0.5, 1.5]]), np.array([[1.6, 2.3, 0.4]]))[0]
    edit = LightEdit("lamp", intensity=4.0, color=(0.5, 1.0, 1.0))
    errors = []
    for lights in ([lamp], [lamp, other]):
        scene = _room(lights)
        settings = RenderSettings(samples=8, max_bounces=3)
        before, after = (Renderer(s, settings).render_frame(K, pose, 20, 16)["irradiance"][None]
                         for s in (scene, apply_scene_edits(scene, [edit])))
        pred = apply_edits({"irradiance": before}, from_scene_edit(edit, scene=scene))["irradiance"]
        errors.append(float(np.max(np.abs(pred - after) / (after + 1e-6))))
    assert errors[0] < 1e-5 and errors[1] > 0.05, errors
