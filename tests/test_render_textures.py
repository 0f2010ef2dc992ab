"""Texture maps beyond base colour (issue 16): roughness/metallic maps, normal maps and alpha
cut-outs in the renderer, the scene model and the Mitsuba export.

- The passes show the maps: at pixels whose hit lies inside a constant block of a map (where a
  bilinear lookup returns the texel exactly), the roughness/metallic passes equal factor × texel
  and the normal pass equals the normal map's normal in the triangle's tangent frame, bit for
  bit up to float32 rounding.
- Cut-outs are holes: where the leaf panel's alpha is 0 the camera sees what is behind it
  (instance, depth), where it is 1 it sees the panel.
- Scenes without the new maps render byte-identically to the renderer before this change
  (``fixtures/untextured_frames_v2.npz``, written by ``fixtures/make_untextured_frames.py`` with
  the code of commit df0b83d).
- The textured reference room agrees with Mitsuba 3 per region within K_SIGMA·σ + BIAS (σ from two
  seeds per renderer, as in test_render_mitsuba.py), slow.
"""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import binary_erosion

from interiorvideo.render import Renderer, RenderSettings
from interiorvideo.render.scenedata import SceneData, tangent_frames
from interiorvideo.scene import reference as ref
from interiorvideo.scene.model import Scene

FIXTURES = Path(__file__).parent / "fixtures"
K_SIGMA = 4.0
BIAS = 0.005  # as test_render_mitsuba.py: float32 geometry, shadow-ray offsets
W, H = 64, 48
SPP = 64
BOUNCES = 6


def render(scene, traj, samples=1, bounces=2, seed=0, **kw):
    r = Renderer(scene, RenderSettings(samples=samples, max_bounces=bounces, seed=seed, **kw))
    return r.render_frame(traj.K, traj.poses[0], traj.width, traj.height)


def world_points(frame, traj):
    """World positions of the pixel-centre hits, from the depth pass (z-depth along the optical axis)."""
    h, w = frame["depth"].shape[:2]
    u, v = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    cam = np.stack([u, v, np.ones_like(u)], axis=-1) @ np.linalg.inv(traj.K).T
    pts_cam = cam * frame["depth"]
    R, o = traj.poses[0][:3, :3], traj.poses[0][:3, 3]
    return pts_cam @ R.T + o


def block_of(uv):
    """(block row, block column, distance to the nearest block edge in texels) of UVs in the
    textured room's maps (v = 0 at the bottom image row)."""
    x = np.mod(uv[..., 0], 1.0) * ref.TEX_SIZE
    y = (1.0 - np.mod(uv[..., 1], 1.0)) * ref.TEX_SIZE
    bx, by = np.floor(x / ref.TEX_BLOCK), np.floor(y / ref.TEX_BLOCK)
    edge = np.minimum(np.minimum(x - bx * ref.TEX_BLOCK, (bx + 1) * ref.TEX_BLOCK - x),
                      np.minimum(y - by * ref.TEX_BLOCK, (by + 1) * ref.TEX_BLOCK - y))
    return by.astype(int), bx.astype(int), edge


@pytest.fixture(scope="module")
def textured():
    scene, traj = ref.textured_room(), ref.textured_camera(W, H)
    return scene, traj, render(scene, traj)


# -- the passes show the maps -------------------------------------------------------------------------
def test_roughness_and_metallic_passes_equal_the_packed_map(textured):
    scene, traj, f = textured
    p = world_points(f, traj)
    floor = f["instance"] == ref.FLOOR
    i, j, edge = block_of(p[..., :2] / ref.SIZE)
    inside = floor & (edge > 1.0)
    assert inside.sum() > 200
    mr = scene.textures["floor_mr"]
    texel = mr[i * ref.TEX_BLOCK, j * ref.TEX_BLOCK]  # the block's value
    want_r = np.float32(1.0) * (texel[..., 1].astype(np.float32) / np.float32(255.0))
    want_m = texel[..., 2].astype(np.float32) / np.float32(255.0)
    np.testing.assert_allclose(f["roughness"][..., 0][inside], want_r[inside], rtol=0, atol=1e-6)
    np.testing.assert_allclose(f["metallic"][..., 0][inside], want_m[inside], rtol=0, atol=1e-6)
    # Both values of both maps are in view, so the check sees the texture, not a constant.
    assert set(np.round(f["roughness"][..., 0][inside], 3)) == {round(r, 3) for r in (77 / 255, 204 / 255)}
    assert set(f["metallic"][..., 0][inside]) == {0.0, 1.0}


def test_normal_pass_shows_the_normal_map(textured):
    scene, traj, f = textured
    p = world_points(f, traj)
    wall = f["instance"] == ref.BACK_WALL
    # The back wall's UVs: u = x / 3 along +x, v = z / 3 along +z; its face normal is -y.
    i, j, edge = block_of(np.stack([p[..., 0], p[..., 2]], axis=-1) / ref.SIZE)
    inside = wall & (edge > 1.0)
    assert inside.sum() > 200
    rgb = scene.textures["wall_normal"][i * ref.TEX_BLOCK, j * ref.TEX_BLOCK].astype(np.float64) / 255.0
    n_t = 2.0 * rgb - 1.0
    world = n_t[..., :1] * [1.0, 0.0, 0.0] + n_t[..., 1:2] * [0.0, 0.0, 1.0] + n_t[..., 2:3] * [0.0, -1.0, 0.0]
    world /= np.linalg.norm(world, axis=-1, keepdims=True)
    cam = world @ traj.poses[0][:3, :3]
    np.testing.assert_allclose(f["normal"][inside], cam[inside], atol=2e-6)
    tilt = np.degrees(np.arcsin(np.clip(world[..., 2], -1, 1)))[inside]
    assert tilt.min() < -ref.NORMAL_TILT_DEG + 1 and tilt.max() > ref.NORMAL_TILT_DEG - 1  # both stripes in view


def test_tangent_frames_follow_the_uv_winding():
    """+u → tangent, +v → bitangent, for either UV handedness (MikkTSpace's sign)."""
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], np.float32)
    tri = np.array([[0, 1, 2]])
    for uv, b in ((np.array([[0, 0], [1, 0], [0, 1]]), [0, 1, 0]), (np.array([[0, 1], [1, 1], [0, 0]]), [0, -1, 0])):
        f = tangent_frames(v, tri, uv)[0]
        np.testing.assert_allclose(f[:3], [1, 0, 0], atol=1e-7)
        np.testing.assert_allclose(f[3:6], b, atol=1e-7)
        np.testing.assert_allclose(f[6:], [0, 0, 1], atol=1e-7)


# -- alpha cut-outs ----------------------------------------------------------------------------------
def test_cut_outs_show_what_is_behind_them(textured):
    """Camera rays that land on the leaf panel's alpha-0 blocks go on to the room behind it (depth
    and instance); on alpha-1 blocks they stop at the panel. Checked against rays cast at the bare
    panel plane."""
    scene, traj, f = textured
    panel = next(o for o in scene.objects if o.instance_id == ref.PANEL)
    # Where each pixel's ray crosses the panel's plane (y = 1.4), and whether that is on the panel.
    h, w = f["depth"].shape[:2]
    u, v = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    d = np.stack([u, v, np.ones_like(u)], axis=-1) @ np.linalg.inv(traj.K).T @ traj.poses[0][:3, :3].T
    o = traj.poses[0][:3, 3]
    t = (1.4 - o[1]) / d[..., 1]
    x = o + t[..., None] * d
    lo, hi = panel.mesh.bounds()
    on = (x[..., 0] > lo[0]) & (x[..., 0] < hi[0]) & (x[..., 2] > lo[2]) & (x[..., 2] < hi[2])
    i, j, edge = block_of(np.stack([(x[..., 0] - lo[0]) / 1.2, x[..., 2] / 1.2], axis=-1))
    solid = scene.textures["leaf"][i * ref.TEX_BLOCK, j * ref.TEX_BLOCK, 3] > 0
    z_panel = t * (d @ traj.poses[0][:3, 2])
    keep = on & (edge > 1.0)
    hole, leaf = keep & ~solid, keep & solid
    assert hole.sum() > 20 and leaf.sum() > 20
    assert (f["instance"][leaf] == ref.PANEL).all()
    np.testing.assert_allclose(f["depth"][..., 0][leaf], z_panel[leaf], rtol=1e-4)
    assert not (f["instance"][hole] == ref.PANEL).any()
    assert (f["depth"][..., 0][hole] > z_panel[hole] + 0.1).all()
    assert set(np.unique(f["instance"][hole])) <= {ref.FLOOR, ref.LEFT_WALL, ref.BACK_WALL}


def test_cut_outs_let_light_through_and_opaque_panels_do_not():
    """The canopy under the lamp: with its cut-outs the floor below gets light (shadow rays and
    paths pass the holes); made opaque (alpha_mode "opaque") it shadows the lamp completely from
    every point of the floor, so the floor's irradiance drops a lot."""
    scene, traj = ref.textured_room(), ref.textured_camera(32, 24)
    masked = render(scene, traj, samples=16)
    objs = tuple(replace(o, material=replace(o.material, alpha_mode="opaque")) if o.instance_id == ref.CANOPY else o
                 for o in scene.objects)
    opaque = render(Scene(scene.name, objs, scene.lights, scene.rooms, textures=scene.textures,
                          linear_textures=scene.linear_textures), traj, samples=16)
    floor = masked["instance"] == ref.FLOOR
    a, b = masked["irradiance"][floor].mean(), opaque["irradiance"][floor].mean()
    assert a > 2.0 * b, (a, b)


def test_scenes_without_alpha_cast_no_extra_rays():
    """Only scenes with masked materials pay for the alpha loop (shadow rays stay occlusion tests)."""
    assert not SceneData.from_scene(ref.glossy_room()).has_alpha
    assert SceneData.from_scene(ref.textured_room()).has_alpha


# -- byte identity for everything else ----------------------------------------------------------------
def test_scenes_without_the_new_maps_render_as_before():
    spec = importlib.util.spec_from_file_location("make_untextured_frames_defs", FIXTURES / "make_untextured_frames.py")
    src = (FIXTURES / "make_untextured_frames.py").read_text()
    defs: dict = {}
    exec(compile(src.split("\nout = {}")[0], str(spec.origin), "exec"), defs)  # the scene builders only
    want = np.load(FIXTURES / "untextured_frames_v2.npz")
    scenes = {"cornell": ref.cornell_room(), "glossy": ref.glossy_room(glossy_walls=True),
              "base_textured": defs["base_textured"]()}
    for name, scene in scenes.items():
        traj = ref.glossy_camera(32, 24)
        f = Renderer(scene, RenderSettings(samples=4, specular_samples=2, max_bounces=3)).render_frame(
            traj.K, traj.poses[0], traj.width, traj.height)
        for k, v in f.items():
            np.testing.assert_array_equal(v, want[f"{name}/{k}"], err_msg=f"{name}: {k}")


# -- bad input -----------------------------------------------------------------------------------------
def test_maps_in_the_wrong_colour_space_or_channel_are_refused():
    scene = ref.textured_room()
    with pytest.raises(ValueError, match="floor_mr.*linear_textures"):
        Scene(scene.name, scene.objects, scene.lights, scene.rooms, textures=scene.textures,
              linear_textures=frozenset({"wall_normal"}))
    objs = tuple(replace(o, material=replace(o.material, roughness_texture="wall_normal", roughness_channel=3))
                 if o.instance_id == ref.FLOOR else o for o in scene.objects)
    with pytest.raises(ValueError, match="roughness channel 3 but texture 'wall_normal' has 3"):
        Scene(scene.name, objs, scene.lights, scene.rooms, textures=scene.textures,
              linear_textures=scene.linear_textures)
    with pytest.raises(ValueError, match="alpha_mode"):
        replace(scene.objects[0].material, alpha_mode="clip")
