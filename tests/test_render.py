"""The renderer against invariants: furnace, Lambertian identity, normals, depth, flow, occlusion,
determinism and edits."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from interiorvideo.edits.scene import AlbedoEdit, LightEdit, MaterialEdit, apply_scene_edits
from interiorvideo.edits.serialise import scene_edit_from_dict, scene_edit_to_dict
from interiorvideo.render import Renderer, RenderSettings
from interiorvideo.render.clipio import read_clip, write_clip
from interiorvideo.render.flow import flow_between, optical_flow
from interiorvideo.scene import Light, Material, Mesh, Room, Scene, SceneObject, generate_scene
from interiorvideo.scene.mesh import box_between
from interiorvideo.render.scenedata import sky_radiance
from interiorvideo.schema import check_clip, pixel_rays
from interiorvideo.trajectory import Trajectory, intrinsics, look_at, plan_trajectory

SIZE = 3.0  # the test room is a 3 m cube


def quad(p0, e1, e2) -> Mesh:
    """A one-sided rectangle; its normal is e1 × e2."""
    p0, e1, e2 = (np.asarray(v, np.float64) for v in (p0, e1, e2))
    return Mesh(np.stack([p0, p0 + e1, p0 + e1 + e2, p0 + e2]), np.array([[0, 1, 2], [0, 2, 3]]))


def inward(mesh: Mesh) -> Mesh:
    """Flip the winding if needed so the quad's normal points into the cube."""
    n = mesh.triangle_normals()[0]
    if n @ (np.full(3, SIZE / 2) - mesh.vertices[0]) < 0:
        return Mesh(mesh.vertices, mesh.triangles[:, ::-1])
    return mesh


def cube_faces() -> list[tuple[str, Mesh]]:
    s = SIZE
    faces = [
        ("floor", quad((0, 0, 0), (0, s, 0), (s, 0, 0))), ("ceiling", quad((0, 0, s), (s, 0, 0), (0, s, 0))),
        ("wall_x0", quad((0, 0, 0), (0, 0, s), (0, s, 0))), ("wall_x1", quad((s, 0, 0), (0, s, 0), (0, 0, s))),
        ("wall_y0", quad((0, 0, 0), (s, 0, 0), (0, 0, s))), ("wall_y1", quad((0, s, 0), (0, 0, s), (s, 0, 0))),
    ]
    return [(name, inward(mesh)) for name, mesh in faces]


def box_room(albedo=0.5, emission=0.0, extra=(), lights=(), specular=0.0) -> Scene:
    objs, lts = [], list(lights)
    for i, (name, mesh) in enumerate(cube_faces(), start=1):
        mat = Material(f"m_{name}", "paint", (albedo,) * 3, 1.0, 0.0, emission=(emission,) * 3, specular=specular)
        objs.append(SceneObject(i, name, "wall", 0, mesh, mat, structural=True))
        if emission > 0:
            lts.append(Light(f"glow_{name}", "area", (1.0, 1.0, 1.0), emission, object_id=i, room_id=0))
    for k, (name, mesh, mat) in enumerate(extra, start=len(objs) + 1):
        objs.append(SceneObject(k, name, "box", 0, mesh, mat))
    room = Room(0, "test room", ((0, 0), (SIZE, 0), (SIZE, SIZE), (0, SIZE)), 0.0, SIZE)
    return Scene("cube", tuple(objs), tuple(lts), (room,))


def camera(positions, targets, w=32, h=24, hfov=60.0, fps=24.0) -> Trajectory:
    poses = look_at(np.asarray(positions, np.float64), np.asarray(targets, np.float64))
    return Trajectory(intrinsics(w, h, hfov), poses, fps, w, h, "cube", 0, 0)


def test_white_furnace_gives_the_analytic_radiance():
    """Every wall emits Le and reflects ρ: radiance and irradiance are Le / (1 − ρ) everywhere."""
    scene = box_room(albedo=0.5, emission=1.0)
    # Looking at the middle of a wall, away from edges (where the area-light estimator's variance
    # is largest): a few hundred pixels make a tight check of the mean.
    traj = camera([[1.5, 1.5, 1.5]], [[3.0, 1.5, 1.5]], w=24, h=18, hfov=40.0)
    expected = 1.0 / (1.0 - 0.5)
    errors = {}
    for spp in (16, 256):
        r = Renderer(scene, RenderSettings(samples=spp, max_bounces=40, indirect_clamp=None))
        f = r.render_frame(traj.K, traj.poses[0], traj.width, traj.height)
        tol = 0.06 if spp == 16 else 0.03
        assert f["irradiance"].mean() == pytest.approx(expected, rel=tol), spp  # unbiased
        assert f["rgb"].mean() == pytest.approx(expected, rel=tol), spp  # Le + ρ·E/π = L
        errors[spp] = np.median(np.abs(f["irradiance"] / expected - 1))
    # Per-pixel error shrinks like 1/sqrt(samples): 16x the samples, about a quarter of the error.
    assert errors[256] < 0.5 * errors[16] and errors[256] < 0.08


def test_rgb_is_albedo_times_irradiance_on_lambertian_scenes():
    scene = generate_scene(1)
    lambert = dataclasses.replace(scene, objects=tuple(
        o.__class__(**{**o.__dict__, "material": o.material.__class__(**{**o.material.__dict__, "specular": 0.0,
                                                                          "metallic": 0.0})})
        for o in scene.objects if o.label != "window pane"))  # (glass is not Lambertian: windows stay open)
    traj = plan_trajectory(lambert, 0, 2, 24.0, 0)
    # Pixel-centre shading: the identity then holds per pixel with emission and sky included
    # (the pixel filter's form of it is tests/test_render_pixels.py's).
    r = Renderer(lambert, RenderSettings(samples=8, pixel_samples=1))
    from interiorvideo.trajectory.camera import scale_intrinsics
    K = scale_intrinsics(traj.K, (traj.width, traj.height), (40, 30))
    f = r.render_frame(K, traj.poses[0], 40, 30)
    surface = f["instance"] > 0
    emission = r.data.emission[f["instance"]]
    np.testing.assert_allclose(f["rgb"][surface], (f["albedo"] * f["irradiance"] + emission)[surface],
                               rtol=1e-5, atol=1e-6)
    assert f["irradiance"].max() > 0.05 and surface.mean() > 0.9  # the identity is not vacuous
    # A pixel that sees out of a window (a miss) shows the sky along its ray, whatever it is
    # beside: such pixels exist or not depending on last bits of the walk, so both are checked.
    dirs = (pixel_rays(K, 40, 30).reshape(-1, 3) @ traj.poses[0][:3, :3].T).reshape(30, 40, 3)
    dirs /= np.linalg.norm(dirs, axis=-1, keepdims=True)
    np.testing.assert_allclose(f["rgb"][~surface], sky_radiance(lambert.sky, dirs[~surface].astype(np.float32)),
                               rtol=1e-6)


def test_clip_passes_meet_the_contract_and_depth_matches_known_planes(tmp_path):
    scene = box_room(albedo=0.6, lights=[Light("bulb", "point", (1, 1, 1), 2.0, position=(1.5, 1.5, 2.5),
                                                room_id=0)])
    # Looking straight along +x from x = 1: every pixel hitting the far wall has z-depth 2.
    traj = camera([[1.0, 1.5, 1.5], [1.1, 1.5, 1.5]], [[3.0, 1.5, 1.5], [3.0, 1.5, 1.5]], w=24, h=18, hfov=50)
    clip = Renderer(scene, RenderSettings(samples=4)).render_clip(traj, 24, 18)
    assert check_clip(clip) == []  # dtypes, shapes, ranges, unit normals facing the camera
    far = clip["instance"][0] == 4  # wall_x1
    assert far.sum() > 100
    np.testing.assert_allclose(clip["depth"][0, ..., 0][far], 2.0, atol=1e-4)
    np.testing.assert_allclose(clip["depth"][1, ..., 0][clip["instance"][1] == 4], 1.9, atol=1e-4)
    np.testing.assert_allclose(clip["normal"][0][far], np.tile([0, 0, -1.0], (far.sum(), 1)), atol=1e-5)
    write_clip(clip, tmp_path / "clip")
    back = read_clip(tmp_path / "clip")
    for name in ("rgb", "depth", "instance", "normal"):
        assert np.array_equal(back[name], clip[name]) and back[name].dtype == clip[name].dtype
    assert back["meta"]["prompt"] == "" and back["meta"]["room_id"] == 0


def test_flow_reprojects_points_to_their_analytic_projection():
    scene = box_room()
    traj = camera([[0.8, 1.2, 1.4], [0.9, 1.35, 1.45]], [[3.0, 1.6, 1.2], [3.0, 1.7, 1.25]], w=48, h=36)
    r = Renderer(scene, RenderSettings(samples=1, max_bounces=2))
    frames = [r.render_frame(traj.K, p, 48, 36) for p in traj.poses]
    flow, valid = flow_between(frames[0]["depth"], frames[1]["depth"], traj.K, traj.poses[0], traj.poses[1])
    # Analytic: intersect each pixel ray of frame 0 with the plane x = 3, project into frame 1.
    u, v = np.meshgrid(np.arange(48) + 0.5, np.arange(36) + 0.5)
    rays = np.stack([u, v, np.ones_like(u)], -1) @ np.linalg.inv(traj.K).T @ traj.poses[0][:3, :3].T
    o = traj.poses[0][:3, 3]
    t = (SIZE - o[0]) / rays[..., 0]
    pts = o + rays * t[..., None]
    on_wall = (frames[0]["instance"] == 4) & valid
    cam1 = (pts - traj.poses[1][:3, 3]) @ traj.poses[1][:3, :3]
    proj = cam1 @ traj.K.T
    expected = proj[..., :2] / proj[..., 2:] - np.stack([u, v], -1)
    assert on_wall.sum() > 500
    err = np.linalg.norm(flow[on_wall] - expected[on_wall], axis=1)
    assert err.max() < 0.1


def test_occlusion_masks_mark_what_the_moving_camera_uncovers():
    block = box_between((2.0, 1.2, 0.0), (2.4, 1.6, 2.0))
    grey = Material("grey", "paint", (0.5, 0.5, 0.5), 1.0, 0.0, specular=0.0)
    scene = box_room(extra=[("block", block, grey)])
    traj = camera([[0.5, 1.0, 1.2], [0.5, 1.3, 1.2]], [[3.0, 1.0, 1.2], [3.0, 1.3, 1.2]], w=64, h=32)
    r = Renderer(scene, RenderSettings(samples=1, max_bounces=2))
    fr = [r.render_frame(traj.K, p, 64, 32) for p in traj.poses]
    flows = optical_flow(np.stack([f["depth"] for f in fr]), traj.K, traj.poses)
    fwd_valid, bwd_valid = flows["forward_valid"][0], flows["backward_valid"][0]
    wall0, wall1 = fr[0]["instance"] == 4, fr[1]["instance"] == 4
    # Expected: wall pixels of frame 0 whose point falls behind the block in frame 1 are occluded.
    f0 = flows["forward"][0]
    u, v = np.meshgrid(np.arange(64) + 0.5, np.arange(32) + 0.5)
    col = np.clip(np.floor(u + f0[..., 0]), 0, 63).astype(int)
    row = np.clip(np.floor(v + f0[..., 1]), 0, 31).astype(int)
    hidden = wall0 & (fr[1]["instance"][row, col] == 7)
    assert hidden.sum() > 10, "the camera move must hide part of the wall"
    assert not fwd_valid[hidden].any()
    assert fwd_valid[wall0 & ~hidden].mean() > 0.97
    # Backward: wall in frame 1 that frame 0 saw only behind the block is uncovered → invalid.
    assert (wall1 & ~bwd_valid).sum() > 10
    # The block's front face stays visible; its side face turns away from the camera and is
    # (correctly) occluded in the next frame.
    world_normal = fr[0]["normal"] @ traj.poses[0][:3, :3].T
    front = (fr[0]["instance"] == 7) & (world_normal[..., 0] < -0.9)
    side = (fr[0]["instance"] == 7) & (np.abs(world_normal[..., 1]) > 0.9)
    assert front.sum() > 100 and fwd_valid[front].all()
    assert side.sum() > 10 and not fwd_valid[side].any()


def test_same_seed_same_bytes_and_seeds_change_only_noise(tmp_path):
    scene = generate_scene(2)
    traj = plan_trajectory(scene, 0, 3, 24.0, 0)
    a = Renderer(scene, RenderSettings(samples=4, seed=3)).render_clip(traj, 24, 24)
    b = Renderer(scene, RenderSettings(samples=4, seed=3)).render_clip(traj, 24, 24)
    c = Renderer(scene, RenderSettings(samples=4, seed=4)).render_clip(traj, 24, 24)
    write_clip(a, tmp_path / "a")
    write_clip(b, tmp_path / "b")
    for member in sorted(p.name for p in (tmp_path / "a").iterdir()):
        assert (tmp_path / "a" / member).read_bytes() == (tmp_path / "b" / member).read_bytes(), member
    assert not np.array_equal(a["irradiance"], c["irradiance"])
    for name in ("albedo", "normal", "depth", "instance", "roughness", "metallic"):
        assert np.array_equal(a[name], c[name]), name  # only the Monte-Carlo passes depend on the seed


def test_edits_change_only_what_they_name():
    bulb = Light("bulb", "point", (1.0, 0.9, 0.8), 2.0, position=(1.5, 1.5, 2.6), room_id=0)
    block = box_between((1.6, 1.0, 0.0), (2.2, 1.8, 0.8))
    wood = Material("wood", "wood", (0.4, 0.25, 0.1), 0.6, 0.0)
    scene = box_room(albedo=0.6, extra=[("block", block, wood)], lights=[bulb])
    traj = camera([[0.4, 0.5, 1.6]], [[2.0, 1.4, 0.6]], w=40, h=30)
    settings = RenderSettings(samples=4, indirect_clamp=None)

    def frame(sc):
        return Renderer(sc, settings).render_frame(traj.K, traj.poses[0], 40, 30)

    base = frame(scene)
    is_block = base["instance"] == 7
    assert is_block.sum() > 20

    recolored = frame(apply_scene_edits(scene, [AlbedoEdit(7, (0.8, 0.1, 0.1))]))
    np.testing.assert_allclose(recolored["albedo"][is_block], np.tile([0.8, 0.1, 0.1], (is_block.sum(), 1)),
                               atol=1e-6)
    assert np.array_equal(recolored["albedo"][~is_block], base["albedo"][~is_block])
    for name in ("roughness", "metallic", "depth", "normal", "instance"):
        assert np.array_equal(recolored[name], base[name]), name

    glossy = frame(apply_scene_edits(scene, [MaterialEdit(7, roughness=0.1, metallic=1.0)]))
    assert np.all(glossy["roughness"][is_block] == np.float32(0.1)) and np.all(glossy["metallic"][is_block] == 1)
    assert np.array_equal(glossy["roughness"][~is_block], base["roughness"][~is_block])
    assert np.array_equal(glossy["albedo"], base["albedo"])

    brighter = frame(apply_scene_edits(scene, [LightEdit("bulb", intensity=4.0)]))
    np.testing.assert_allclose(brighter["irradiance"], 2.0 * base["irradiance"], rtol=1e-4, atol=1e-6)
    assert np.array_equal(brighter["albedo"], base["albedo"])

    moved = apply_scene_edits(scene, [LightEdit("bulb", position=(0.5, 0.5, 2.6))])
    assert moved.lights[0].position == (0.5, 0.5, 2.6) and scene.lights[0].position == (1.5, 1.5, 2.6)
    assert not np.allclose(frame(moved)["irradiance"], base["irradiance"])


def test_edits_on_shared_materials_split_them_and_round_trip_as_json():
    scene = generate_scene(0)
    chairs = [o for o in scene.objects if o.label == "chair"]
    assert len(chairs) >= 2 and chairs[0].material == chairs[1].material
    edited = apply_scene_edits(scene, [AlbedoEdit(chairs[0].instance_id, (0.1, 0.2, 0.7))])
    assert edited.object(chairs[0].instance_id).material.base_color == (0.1, 0.2, 0.7)
    assert edited.object(chairs[1].instance_id).material == chairs[1].material
    panel = next(light for light in scene.lights if light.kind == "area")
    lit = apply_scene_edits(scene, [LightEdit(panel.name, intensity=panel.intensity * 2)])
    assert max(lit.object(panel.object_id).material.emission) == pytest.approx(2 * max(
        scene.object(panel.object_id).material.emission), rel=1e-5)
    for e in (AlbedoEdit(3, (0.1, 0.2, 0.3)), MaterialEdit(4, roughness=0.2), LightEdit("sun", intensity=3.0)):
        assert scene_edit_from_dict(scene_edit_to_dict(e)) == e
    with pytest.raises(KeyError, match="no instance 9999"):
        apply_scene_edits(scene, [AlbedoEdit(9999, (0.1, 0.1, 0.1))])
    with pytest.raises(KeyError, match="no light 'nope'"):
        apply_scene_edits(scene, [LightEdit("nope", intensity=1.0)])
    with pytest.raises(ValueError, match="sun has a direction"):
        apply_scene_edits(scene, [LightEdit("sun", position=(0, 0, 0))])
    with pytest.raises(ValueError, match="unknown edit kind"):
        scene_edit_from_dict({"kind": "teleport"})


def test_render_settings_reject_bad_sample_counts():
    with pytest.raises(ValueError, match="power of two"):
        RenderSettings(samples=24)
    with pytest.raises(ValueError, match="max_bounces"):
        RenderSettings(max_bounces=1)


@pytest.mark.parametrize("given", [None, "ACTIVE"])
def test_openmp_workers_sleep_between_kernels_unless_the_user_says_otherwise(given):
    """Spinning OpenMP workers held the cores Embree's ray casts need (2 threads gave 1.25× of
    one): the kernels module asks libgomp, before it loads, to let idle workers sleep — and keeps
    a value the user set."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if given:
        env["OMP_WAIT_POLICY"] = given
    code = ("import os, numba, interiorvideo.render.kernels as k, numpy as np; "
            "k.accumulate(np.zeros((2, 3), np.float32), np.arange(2), np.ones((2, 3), np.float32), "
            "np.zeros(2, bool), np.float32(9)); "
            "maps = open('/proc/self/maps').read(); "
            "print(os.environ['OMP_WAIT_POLICY'], numba.threading_layer(), 'libgomp' in maps)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    policy, layer, gomp_loaded = out.stdout.split()
    assert policy == (given or "PASSIVE")
    assert layer != "omp" or gomp_loaded == "True"  # with OpenMP in use, libgomp read the setting


@pytest.mark.parametrize("threads", [1, 2])
def test_compact_packs_live_rows_in_order_across_chunks(threads):
    """The parallel pack (per-chunk counts, then copies from their prefix sums) must equal a
    boolean-mask selection, row order kept, for sizes that split into several uneven chunks."""
    import numba

    from interiorvideo.render import kernels

    rng = np.random.default_rng(3)
    m = 3 * kernels.CHUNK + 517
    alive = rng.random(m) < 0.37
    alive[: kernels.CHUNK] = False  # a whole dead chunk: later chunks' rows land in its place
    rays, prev = rng.random((m, 6), dtype=np.float32), rng.random((m, 6), dtype=np.float32)
    beta = rng.random((m, 3), dtype=np.float32)
    inst, idx = rng.integers(0, 99, m), rng.permutation(m)
    outs = [np.full_like(a, -1) for a in (rays, beta, prev, inst, idx)]
    before = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        n = kernels.compact(alive, rays, beta, prev, inst, idx, *outs)
    finally:
        numba.set_num_threads(before)
    assert n == alive.sum()
    for got, want in zip(outs, (rays, beta, prev, inst, idx)):
        np.testing.assert_array_equal(got[:n], want[alive])
        assert (got[n:] == -1).all()  # rows past the survivors untouched
