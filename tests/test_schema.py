"""Tests for the clip contract in interiorvideo.schema.

A small valid synthetic clip is built once per test; each test then breaks one
rule and asserts that the matching check fires and names the offending input.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest

from interiorvideo import schema
from interiorvideo.schema import (
    INTRINSIC_PASSES,
    PASSES,
    REQUIRED_META_KEYS,
    ClipValidationError,
    check_clip,
    clip_shape,
    pixel_rays,
    validate,
)

T, H, W = 3, 8, 10
WALL_Z = 2.0  # camera-space z of the fronto-parallel wall the camera looks at


def make_clip() -> dict:
    """Camera translating along world X, looking at a wall along world +Y.

    The wall is fronto-parallel, so depth is constant and the camera-space
    normal is (0, 0, -1), facing the camera. A 2x3 block in the top-left
    corner "sees nothing" (a window): depth 0, normal 0, instance 0.
    """
    rng = np.random.default_rng(0)
    hole = np.zeros((T, H, W), dtype=bool)
    hole[:, :2, :3] = True

    depth = np.full((T, H, W, 1), WALL_Z, dtype=np.float32)
    depth[hole] = 0.0
    normal = np.zeros((T, H, W, 3), dtype=np.float32)
    normal[..., 2] = -1.0
    normal[hole] = 0.0
    albedo = rng.uniform(0.0, 1.0, (T, H, W, 3)).astype(np.float32)
    irradiance = rng.uniform(0.0, 20.0, (T, H, W, 3)).astype(np.float16)
    rgb = (albedo * irradiance.astype(np.float32)).astype(np.float16)
    instance = np.ones((T, H, W), dtype=np.int32)
    instance[:, H // 2:, :] = 2
    instance[hole] = 0

    # OpenCV camera in a Z-up world looking along +Y: x_cam -> +X, y_cam -> -Z, z_cam -> +Y.
    R = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
    poses = np.tile(np.eye(4), (T, 1, 1))
    poses[:, :3, :3] = R
    poses[:, :3, 3] = np.stack([np.linspace(0.0, 0.5, T), np.zeros(T), np.full(T, 1.5)], axis=-1)
    K = np.array([[8.0, 0.0, W / 2], [0.0, 8.0, H / 2], [0.0, 0.0, 1.0]])

    return {
        "rgb": rgb,
        "albedo": albedo,
        "normal": normal,
        "roughness": rng.uniform(0.0, 1.0, (T, H, W, 1)).astype(np.float32),
        "metallic": np.zeros((T, H, W, 1), dtype=np.float32),
        "irradiance": irradiance,
        "depth": depth,
        "instance": instance,
        "camera": {"K": K, "poses": poses},
        "meta": {
            "scene_id": "scene_0001",
            "room_id": 2,
            "trajectory_id": "traj_03",
            "seed": 1234,
            "fps": 24,
            "renderer": {"engine": "cycles", "spp": 64},
            "prompt": "a bright living room with a grey sofa",
            "local_prompts": {"1": "grey fabric sofa", 2: "oak floor"},
        },
    }


@pytest.fixture
def clip() -> dict:
    return make_clip()


def problems_matching(clip: dict, *needles: str, **kw) -> list[str]:
    """Problems of ``clip``; asserts at least one contains every needle."""
    problems = check_clip(clip, **kw)
    hits = [p for p in problems if all(n in p for n in needles)]
    assert hits, f"no problem containing {needles!r}; got {problems!r}"
    return problems


# ---------------------------------------------------------------- valid clips


def test_valid_clip_has_no_problems(clip):
    assert check_clip(clip) == []
    validate(clip)  # does not raise


def test_meta_extra_keys_and_numpy_scalars_are_fine(clip):
    clip["meta"]["schema_version"] = schema.SCHEMA_VERSION
    clip["meta"]["room_id"] = np.int64(2)
    clip["meta"]["fps"] = np.float32(29.97)
    assert check_clip(clip) == []


def test_normal_within_unit_tolerance_is_accepted(clip):
    clip["normal"][0, 5, 5] *= 1.005
    assert check_clip(clip) == []


def test_grazing_normal_within_facing_tolerance_is_accepted(clip):
    # Perpendicular to the view ray through pixel (u=7, v=6): dot == 0 exactly on the edge.
    ray = pixel_rays(clip["camera"]["K"], W, H)[6, 7]
    n = np.cross(ray, [1.0, 0.0, 0.0])
    clip["normal"][1, 6, 7] = n / np.linalg.norm(n)
    assert check_clip(clip) == []


def test_require_all_false_accepts_rgb_only_clip(clip):
    rgb_only = {k: clip[k] for k in ("rgb", "camera", "meta")}
    assert check_clip(rgb_only, require_all=False) == []
    assert any("albedo: missing" in p for p in check_clip(rgb_only))


# ---------------------------------------------------------------- constants


def test_module_constants():
    assert list(PASSES) == ["rgb", "albedo", "normal", "roughness", "metallic",
                            "irradiance", "depth", "instance"]
    assert INTRINSIC_PASSES == ("albedo", "normal", "roughness", "metallic", "irradiance")
    assert set(INTRINSIC_PASSES) <= set(PASSES)
    assert schema.SCHEMA_VERSION == 1
    assert set(REQUIRED_META_KEYS) == {"scene_id", "room_id", "trajectory_id", "seed", "fps",
                                       "renderer", "prompt", "local_prompts"}
    assert "u + 0.5" in schema.CAMERA_CONVENTION and "OpenCV" in schema.CAMERA_CONVENTION
    for name, spec in PASSES.items():
        assert spec.name == name and isinstance(spec.dtype, np.dtype)
    assert PASSES["rgb"].hdr and PASSES["irradiance"].hdr and not PASSES["albedo"].hdr
    assert PASSES["instance"].channels is None and PASSES["depth"].channels == 1
    with pytest.raises(AttributeError):
        PASSES["rgb"].hdr = False  # frozen


# ---------------------------------------------------------------- structure


@pytest.mark.parametrize("name", list(PASSES))
def test_wrong_dtype(clip, name):
    wrong = np.int64 if name == "instance" else np.float64
    clip[name] = clip[name].astype(wrong)
    problems_matching(clip, f"{name}: dtype {np.dtype(wrong)}, expected {PASSES[name].dtype}")


def test_wrong_dtype_message_exact(clip):
    clip["depth"] = clip["depth"].astype(np.float64)
    assert check_clip(clip) == ["depth: dtype float64, expected float32"]


@pytest.mark.parametrize("name, shape", [
    ("albedo", (T, H, W, 4)),
    ("roughness", (T, H, W)),
    ("instance", (T, H, W, 1)),
    ("rgb", (H, W, 3)),
])
def test_wrong_shape(clip, name, shape):
    clip[name] = np.zeros(shape, dtype=PASSES[name].dtype)
    problems_matching(clip, f"{name}: shape {shape}, expected (T, H, W")


def test_pass_not_an_array(clip):
    clip["metallic"] = clip["metallic"].tolist()
    problems_matching(clip, "metallic: expected numpy.ndarray, got list")


def test_empty_pass(clip):
    clip["rgb"] = np.zeros((0, H, W, 3), dtype=np.float16)
    problems_matching(clip, "rgb: empty shape")


@pytest.mark.parametrize("name, shape", [
    ("albedo", (T - 1, H, W, 3)),
    ("depth", (T, H + 1, W, 1)),
    ("instance", (T, H, W - 2)),
])
def test_inconsistent_thw(clip, name, shape):
    clip[name] = np.zeros(shape, dtype=PASSES[name].dtype)
    problems_matching(clip, f"{name}: (T, H, W) = {shape[:3]}, expected {(T, H, W)}", "rgb")


def test_unknown_key(clip):
    clip["albdo"] = clip.pop("albedo")
    problems = check_clip(clip)
    assert any("'albdo': unknown key" in p for p in problems)
    assert any("albedo: missing" in p for p in problems)


@pytest.mark.parametrize("name", list(PASSES))
def test_missing_pass(clip, name):
    del clip[name]
    assert problems_matching(clip, f"{name}: missing") == [f"{name}: missing pass"]
    assert check_clip(clip, require_all=False) == []


@pytest.mark.parametrize("key", ["camera", "meta"])
def test_camera_and_meta_required_even_without_require_all(clip, key):
    del clip[key]
    assert check_clip(clip, require_all=False) == [f"{key}: missing"]


def test_clip_not_a_mapping():
    assert check_clip([1, 2, 3]) == ["clip: expected a mapping, got list"]  # type: ignore[arg-type]


# ---------------------------------------------------------------- value ranges


@pytest.mark.parametrize("name, value, needle", [
    ("albedo", -0.2, "albedo: 1 values outside [0, 1] (min -0.2, max"),
    ("albedo", 1.5, "albedo: 1 values outside [0, 1] (min"),
    ("roughness", 1.25, "roughness: 1 values outside [0, 1]"),
    ("metallic", -0.5, "metallic: 1 values outside [0, 1] (min -0.5"),
    ("rgb", -1.0, "rgb: 1 values outside [0, inf) (min -1.0"),
    ("irradiance", -3.0, "irradiance: 1 values outside [0, inf) (min -3.0"),
    ("depth", -1.0, "depth: 1 values outside [0, inf) (min -1.0"),
    ("instance", -7, "instance: 1 values outside [0, inf) (min -7.0"),
])
def test_value_out_of_range(clip, name, value, needle):
    a = clip[name]
    a[(1, 5, 5) + (0,) * (a.ndim - 3)] = value  # exactly one bad value
    problems_matching(clip, needle)


def test_out_of_range_message_exact(clip):
    clip["albedo"][...] = 0.5
    clip["albedo"][0, 0, 0, 0] = -0.2
    clip["albedo"][0, 0, 0, 1] = 1.0
    assert check_clip(clip) == ["albedo: 1 values outside [0, 1] (min -0.2, max 1.0)"]


@pytest.mark.parametrize("name", ["rgb", "albedo", "roughness", "irradiance", "depth"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_values(clip, name, bad):
    clip[name][2, 7, 9, 0] = bad
    problems_matching(clip, f"{name}: 1 non-finite values")


# ---------------------------------------------------------------- normals


def test_non_unit_normal(clip):
    clip["normal"][0, 4:, 4:] *= 1.5  # 4 x 6 = 24 pixels
    problems_matching(clip, "normal: 24 pixels not unit length")


def test_back_facing_normal(clip):
    clip["normal"][1, 3, 4] = (0.0, 0.0, 1.0)
    clip["normal"][2, 6, 8] = (0.0, 0.0, 1.0)
    assert check_clip(clip) == ["normal: 2 pixels back-facing (dot(normal, view ray) > 0.001)"]
    assert check_clip(clip, check_normals_facing=False) == []


def test_facing_rule_uses_per_pixel_rays(clip):
    # Pointing sideways (+x) faces pixels right of the principal point away from the camera
    # (their rays have x > 0) but is fine for pixels left of it: only the former must fail.
    clip["normal"][0, 4, 2] = (1.0, 0.0, 0.0)  # u+0.5 = 2.5 < cx = 5: faces camera
    clip["normal"][0, 4, 8] = (1.0, 0.0, 0.0)  # u+0.5 = 8.5 > cx: back-facing
    assert check_clip(clip) == ["normal: 1 pixels back-facing (dot(normal, view ray) > 0.001)"]


def test_zero_normal_where_depth_positive(clip):
    clip["normal"][0, 5, 5] = 0.0
    assert check_clip(clip) == ["normal: 1 pixels zero where depth > 0"]


def test_nonzero_normal_where_depth_zero(clip):
    clip["depth"][0, 5, 5] = 0.0
    problems_matching(clip, "normal: 1 pixels nonzero where depth == 0")


def test_facing_check_skipped_when_K_invalid(clip):
    clip["camera"]["K"] = np.zeros((3, 3))
    clip["normal"][0, 5, 5] = (0.0, 0.0, 1.0)
    problems = check_clip(clip)
    assert any(p.startswith("camera.K:") for p in problems)
    assert not any("back-facing" in p for p in problems)


# ---------------------------------------------------------------- camera


def _set(K: np.ndarray, idx, value) -> np.ndarray:
    K = K.copy()
    K[idx] = value
    return K


@pytest.mark.parametrize("edit, needle", [
    (lambda K: _set(K, (0, 0), 0.0), "camera.K: focal lengths must be > 0"),
    (lambda K: _set(K, (1, 1), -8.0), "camera.K: focal lengths must be > 0"),
    (lambda K: _set(K, (0, 1), 0.1), "camera.K: nonzero skew"),
    (lambda K: _set(K, (2, 0), 1.0), "camera.K: last row"),
    (lambda K: _set(K, (0, 2), W + 1.0), "camera.K: principal point"),
    (lambda K: _set(K, (1, 2), -1.0), "camera.K: principal point"),
    (lambda K: _set(K, (0, 0), np.nan), "camera.K: non-finite"),
    (lambda K: K.astype(np.float32), "camera.K: dtype float32, expected float64"),
    (lambda K: K[:2], "camera.K: shape (2, 3), expected (3, 3)"),
    (lambda K: K.tolist(), "camera.K: expected numpy.ndarray"),
])
def test_bad_intrinsics(clip, edit, needle):
    clip["camera"]["K"] = edit(clip["camera"]["K"])
    problems_matching(clip, needle)


def test_non_orthonormal_pose(clip):
    clip["camera"]["poses"][1, :3, :3] *= 1.1
    problems_matching(clip, "camera.poses: 1 poses (frames [1]) with non-orthonormal rotation")


def test_reflection_pose(clip):
    clip["camera"]["poses"][2, :3, 0] *= -1.0  # orthonormal but det = -1
    problems = problems_matching(clip, "camera.poses: 1 poses (frames [2]) with rotation det != +1")
    assert not any("non-orthonormal" in p for p in problems)


def test_pose_bad_last_row(clip):
    clip["camera"]["poses"][0, 3, 0] = 0.5
    problems_matching(clip, "camera.poses:", "last row")


@pytest.mark.parametrize("n_poses", [T - 1, T + 1, 16])
def test_pose_count_mismatch(clip, n_poses):
    poses = clip["camera"]["poses"]
    clip["camera"]["poses"] = np.tile(poses[:1], (n_poses, 1, 1))
    assert check_clip(clip) == [f"camera.poses: {n_poses} poses for {T} frames"]


@pytest.mark.parametrize("edit, needle", [
    (lambda P: P.astype(np.float32), "camera.poses: dtype float32, expected float64"),
    (lambda P: P[:, :3], "camera.poses: shape (3, 3, 4), expected (T, 4, 4)"),
    (lambda P: _set(P, (0, 0, 3), np.inf), "camera.poses: non-finite"),
])
def test_bad_pose_array(clip, edit, needle):
    clip["camera"]["poses"] = edit(clip["camera"]["poses"])
    problems_matching(clip, needle)


def test_camera_not_a_mapping(clip):
    clip["camera"] = [1, 2]
    assert check_clip(clip) == ["camera: expected a mapping with 'K' and 'poses', got list"]


@pytest.mark.parametrize("key", ["K", "poses"])
def test_camera_missing_entry(clip, key):
    del clip["camera"][key]
    assert check_clip(clip) == [f"camera.{key}: missing"]


# ---------------------------------------------------------------- meta


@pytest.mark.parametrize("key", REQUIRED_META_KEYS)
def test_missing_meta_key(clip, key):
    del clip["meta"][key]
    assert check_clip(clip) == [f"meta.{key}: missing required key"]


@pytest.mark.parametrize("key, value", [
    ("scene_id", 1),
    ("room_id", "2"),
    ("room_id", True),
    ("trajectory_id", None),
    ("seed", 1.5),
    ("fps", 0),
    ("fps", -24.0),
    ("fps", float("nan")),
    ("fps", "24"),
    ("renderer", ["cycles"]),
    ("prompt", None),
    ("local_prompts", ["sofa"]),
])
def test_bad_meta_type(clip, key, value):
    clip["meta"][key] = value
    problems_matching(clip, f"meta.{key}: expected")


@pytest.mark.parametrize("local_prompts, needle", [
    ({"sofa": "grey sofa"}, "meta.local_prompts: key 'sofa' is not an instance id"),
    ({-1: "grey sofa"}, "meta.local_prompts: key -1 is not an instance id"),
    ({1: 42}, "meta.local_prompts[1]: expected str"),
])
def test_bad_local_prompts(clip, local_prompts, needle):
    clip["meta"]["local_prompts"] = local_prompts
    problems_matching(clip, needle)


def test_meta_not_a_mapping(clip):
    clip["meta"] = "scene_0001"
    assert check_clip(clip) == ["meta: expected a mapping, got str"]


# ---------------------------------------------------------------- validate / error


def test_validate_raises_with_all_problems(clip):
    clip["depth"] = clip["depth"].astype(np.float64)
    clip["albedo"][0, 0, 0, 0] = -0.2
    del clip["meta"]["seed"]
    clip["camera"]["poses"] = np.tile(clip["camera"]["poses"][:1], (16, 1, 1))
    with pytest.raises(ClipValidationError) as exc_info:
        validate(clip)
    err = exc_info.value
    assert isinstance(err, ValueError)
    assert len(err.problems) == 4
    lines = str(err).splitlines()
    for p in err.problems:
        assert any(p in line for line in lines)
    assert "depth: dtype float64, expected float32" in err.problems
    assert f"camera.poses: 16 poses for {T} frames" in err.problems


def test_validate_forwards_keyword_arguments(clip):
    del clip["albedo"]
    clip["normal"][0, 5, 5] = (0.0, 0.0, 1.0)
    with pytest.raises(ClipValidationError):
        validate(clip, require_all=False)
    validate(clip, require_all=False, check_normals_facing=False)


def test_check_clip_does_not_mutate_input(clip):
    before = copy.deepcopy(clip)
    clip["albedo"][0, 0, 0, 0] = 2.0
    before["albedo"][0, 0, 0, 0] = 2.0
    check_clip(clip)
    for name in PASSES:
        np.testing.assert_array_equal(clip[name], before[name])
    assert clip["meta"] == before["meta"]


# ---------------------------------------------------------------- helpers


def test_pixel_rays_hand_computed():
    K = np.array([[2.0, 0.0, W / 2], [0.0, 2.0, H / 2], [0.0, 0.0, 1.0]])
    rays = pixel_rays(K, W, H)
    assert rays.shape == (H, W, 3) and rays.dtype == np.float64
    # Pixel (0, 0) has its centre at (0.5, 0.5): ((0.5 - 5) / 2, (0.5 - 4) / 2, 1).
    np.testing.assert_allclose(rays[0, 0], [-2.25, -1.75, 1.0])
    # Last pixel (row H-1, column W-1): ((9.5 - 5) / 2, (7.5 - 4) / 2, 1).
    np.testing.assert_allclose(rays[H - 1, W - 1], [2.25, 1.75, 1.0])


def test_pixel_rays_reproject_to_pixel_centres():
    K = np.array([[7.0, 0.0, 4.2], [0.0, 5.0, 3.1], [0.0, 0.0, 1.0]])
    depth = np.random.default_rng(1).uniform(0.5, 4.0, (H, W, 1))
    points = depth * pixel_rays(K, W, H)  # camera-space points
    np.testing.assert_allclose(points[..., 2:], depth)  # z-depth, not ray length
    proj = points @ K.T
    uv = proj[..., :2] / proj[..., 2:]
    u, v = np.meshgrid(np.arange(W) + 0.5, np.arange(H) + 0.5)
    np.testing.assert_allclose(uv, np.stack([u, v], axis=-1), atol=1e-12)


def test_pixel_rays_rejects_bad_K():
    with pytest.raises(ValueError):
        pixel_rays(np.eye(2), W, H)


def test_clip_shape(clip):
    assert clip_shape(clip) == (T, H, W)
    del clip["rgb"]
    clip["albedo"] = clip["albedo"][:2]
    assert clip_shape(clip) == (2, H, W)  # first present pass in PASSES order
    with pytest.raises(ValueError):
        clip_shape({"camera": clip["camera"], "meta": clip["meta"]})
