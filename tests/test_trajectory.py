"""Camera trajectories: guarantees measured independently against the geometry with open3d."""

from __future__ import annotations

import numpy as np
import open3d as o3d
import pytest

from interiorvideo.scene import Material, Mesh, Room, Scene, SceneObject, generate_scene
from interiorvideo.scene.mesh import box_between
from interiorvideo.trajectory import (
    MotionLimits,
    NoValidTrajectoryError,
    Trajectory,
    TrajectorySettings,
    intrinsics,
    look_at,
    plan_trajectory,
)
from interiorvideo.trajectory.planner import _arc_length_at

FPS = 24.0
LIMITS = MotionLimits()


def _o3d_scene(scene: Scene) -> o3d.t.geometry.RaycastingScene:
    """Built here from the raw meshes, independently of interiorvideo.scene.raycast."""
    rc = o3d.t.geometry.RaycastingScene()
    for obj in scene.objects:
        rc.add_triangles(o3d.core.Tensor(obj.mesh.vertices.astype(np.float32)),
                         o3d.core.Tensor(obj.mesh.triangles.astype(np.uint32)))
    return rc


def _winding_number(meshes, points: np.ndarray) -> np.ndarray:
    """Generalised winding number of all meshes at each point (van Oosterom–Strackee solid
    angles): 1 inside a closed object, 0 outside, exact also where abutting parts share faces,
    which ray-parity counting (open3d ``compute_occupancy``) gets wrong."""
    total = np.zeros(len(points))
    for mesh in meshes:
        tri = mesh.vertices[mesh.triangles]  # (M, 3, 3)
        a, b, c = (tri[None, :, k, :] - points[:, None, :] for k in range(3))
        la, lb, lc = (np.linalg.norm(v, axis=-1) for v in (a, b, c))
        det = np.einsum("pmi,pmi->pm", a, np.cross(b, c))
        den = (la * lb * lc + np.einsum("pmi,pmi->pm", a, b) * lc + np.einsum("pmi,pmi->pm", b, c) * la
               + np.einsum("pmi,pmi->pm", c, a) * lb)
        total += 2 * np.arctan2(det, den).sum(axis=1) / (4 * np.pi)
    return total


def test_winding_number_tells_inside_from_outside_of_abutting_boxes():
    """The check above on the case that fooled ray parity: two boxes sharing a face."""
    two = [box_between((0, 0, 0), (1, 1, 1)), box_between((1, 0, 0), (2, 1, 1))]
    w = _winding_number(two, np.array([[0.5, 0.5, 0.5], [1.5, 0.5, 0.5], [0.999, 0.5, 0.5], [2.5, 0.5, 0.5],
                                      [1.0, 2.0, 0.5]]))
    np.testing.assert_allclose(w, [1, 1, 1, 0, 0], atol=1e-6)


def _independent_measurements(scene: Scene, traj: Trajectory) -> dict:
    rc = _o3d_scene(scene)
    p = traj.positions
    clearance = rc.compute_distance(o3d.core.Tensor(p.astype(np.float32))).numpy()
    inside_object = _winding_number([o.mesh for o in scene.objects], p) > 0.5
    clearance = np.where(inside_object, 0.0, clearance)
    v = np.diff(p, axis=0) * FPS
    jerk = np.diff(p, n=3, axis=0) * FPS ** 3
    fwd = traj.poses[:, :3, 2]
    ang = np.degrees(np.arccos(np.clip(np.einsum("ti,ti->t", fwd[:-1], fwd[1:]), -1, 1))) * FPS
    # Per-frame median distance over a 16x12 grid of pixel rays, misses counted as no depth.
    depth_medians = []
    for pose in traj.poses:
        rays = o3d.t.geometry.RaycastingScene.create_rays_pinhole(
            intrinsic_matrix=o3d.core.Tensor(intrinsics(16, 12, traj.settings["hfov_deg"])),
            extrinsic_matrix=o3d.core.Tensor(np.linalg.inv(pose)), width_px=16, height_px=12)
        r = rays.numpy().reshape(-1, 6)
        r[:, 3:] /= np.linalg.norm(r[:, 3:], axis=1, keepdims=True)
        t = rc.cast_rays(o3d.core.Tensor(r))["t_hit"].numpy()
        depth_medians.append(np.median(np.where(np.isfinite(t), t, 0.0)))
    return dict(clearance=clearance.min(), speed=np.linalg.norm(v, axis=1).max(),
                jerk=np.linalg.norm(jerk, axis=1).max(), angular=ang.max(), view_depth=min(depth_medians))


@pytest.mark.parametrize("seed", range(20))
def test_guarantees_hold_on_every_room(seed):
    scene = generate_scene(seed)
    frames = (16, 72, 120)[seed % 3]
    for room in scene.rooms:
        traj = plan_trajectory(scene, room.room_id, frames, FPS, seed)
        m = _independent_measurements(scene, traj)
        where = f"seed {seed} room {room.room_id} ({room.kind})"
        assert m["clearance"] >= LIMITS.min_clearance, where
        assert m["speed"] <= LIMITS.max_speed, where
        assert m["jerk"] <= LIMITS.max_jerk, where
        # Forward-axis angle bounds the full rotation angle from below; the planner has no roll.
        assert m["angular"] <= LIMITS.max_angular_speed_deg, where
        assert m["view_depth"] >= LIMITS.min_view_depth, where
        assert np.all(room.contains_xy(traj.positions[:, :2], margin=LIMITS.min_clearance - 0.01)), where
        assert traj.frames == frames


def test_camera_moves_and_turns_like_a_walk():
    scene = generate_scene(3)
    traj = plan_trajectory(scene, 0, 240, FPS, 0)
    speed = np.linalg.norm(np.diff(traj.positions, axis=0), axis=1) * FPS
    assert traj.report["path_length"] > 1.0  # it really walks
    assert speed[0] < 0.05 and speed[-1] < 0.05  # eases in and out
    assert speed[len(speed) // 2] > 0.2
    heights = traj.positions[:, 2]
    assert 1.1 < heights.min() and heights.max() < 1.7 and np.ptp(heights) < 0.1


def test_poses_follow_the_opencv_convention():
    traj = plan_trajectory(generate_scene(1), 0, 24, FPS, 0)
    R = traj.poses[:, :3, :3]
    np.testing.assert_allclose(np.einsum("tji,tjk->tik", R, R), np.tile(np.eye(3), (24, 1, 1)), atol=1e-9)
    np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=1e-9)
    assert np.all(R[:, 2, 1] < 0)  # camera y (down in the image) points down in the world
    assert np.all(np.abs(R[:, 2, 0]) < 1e-9)  # level horizon: x axis horizontal
    assert np.all(R[:, 2, 2] < 0)  # looking slightly down into the room


def test_look_at_projects_target_to_image_centre():
    K = intrinsics(64, 48, 60.0)
    pose = look_at(np.array([[1.0, 2.0, 1.5]]), np.array([[4.0, -1.0, 0.5]]))[0]
    target_cam = np.linalg.inv(pose) @ np.array([4.0, -1.0, 0.5, 1.0])
    uvw = K @ target_cam[:3]
    np.testing.assert_allclose(uvw[:2] / uvw[2], [32.0, 24.0], atol=1e-9)
    assert K[0, 0] == pytest.approx(32.0 / np.tan(np.radians(30.0)))


def test_same_seed_same_bytes_and_json_round_trip(tmp_path):
    scene = generate_scene(4)
    a = plan_trajectory(scene, 1, 48, FPS, 9).save(tmp_path / "a.json")
    b = plan_trajectory(scene, 1, 48, FPS, 9).save(tmp_path / "b.json")
    assert a.read_bytes() == b.read_bytes()
    c = plan_trajectory(scene, 1, 48, FPS, 10)
    assert not np.allclose(c.poses, Trajectory.load(a).poses)
    back = Trajectory.load(a)
    assert back.frames == 48 and back.fps == FPS and back.room_id == 1
    np.testing.assert_allclose(back.poses, plan_trajectory(scene, 1, 48, FPS, 9).poses, atol=1e-8)


def test_arc_length_profile_is_smooth_and_monotone():
    t = np.linspace(0.0, 10.0, 1001)
    s = _arc_length_at(t, 10.0, 1.5, 0.5)
    v = np.gradient(s, t)
    assert np.all(np.diff(s) >= 0) and s[0] == 0.0
    assert s[-1] == pytest.approx(0.5 * (10.0 - 1.5))
    assert v.max() == pytest.approx(0.5, abs=1e-3) and v[0] < 1e-3 and v[-1] < 1e-3
    assert np.abs(np.gradient(v, t)).max() <= np.pi * 0.5 / (2 * 1.5) + 1e-2  # bounded acceleration


def _boxed_room_scene(fill: float) -> Scene:
    """One 4×4 m room whose centre holds a block leaving ``fill``-dependent free space."""
    paint = Material("paint", "paint", (0.7, 0.7, 0.7), 0.8, 0.0)
    objs = [
        SceneObject(1, "floor", "floor", 0, box_between((0, 0, -0.05), (4, 4, 0)), paint, structural=True),
        SceneObject(2, "ceiling", "ceiling", 0, box_between((0, 0, 2.7), (4, 4, 2.75)), paint, structural=True),
        SceneObject(3, "w_s", "wall", 0, box_between((0, -0.1, 0), (4, 0, 2.7)), paint, structural=True),
        SceneObject(4, "w_n", "wall", 0, box_between((0, 4, 0), (4, 4.1, 2.7)), paint, structural=True),
        SceneObject(5, "w_w", "wall", 0, box_between((-0.1, 0, 0), (0, 4, 2.7)), paint, structural=True),
        SceneObject(6, "w_e", "wall", 0, box_between((4, 0, 0), (4.1, 4, 2.7)), paint, structural=True),
        SceneObject(7, "block", "cabinet", 0, box_between((fill, fill, 0), (4 - fill, 4 - fill, 2.2)), paint),
    ]
    room = Room(0, "storage room", ((0, 0), (4, 0), (4, 4), (0, 4)), 0.0, 2.7)
    return Scene("boxed", tuple(objs), (), (room,))


def test_room_without_free_space_gives_a_clear_error():
    with pytest.raises(NoValidTrajectoryError, match=r"room 0 \(storage room\) of boxed.*free space"):
        plan_trajectory(_boxed_room_scene(0.5), 0, 48, FPS, 0)


def test_corridor_room_still_works():
    # A 0.9 m ring around the block is enough room for a slow walk.
    traj = plan_trajectory(_boxed_room_scene(1.3), 0, 48, FPS, 0)
    m = _independent_measurements(_boxed_room_scene(1.3), traj)
    assert m["clearance"] >= LIMITS.min_clearance


def test_bad_arguments_are_named():
    scene = generate_scene(0)
    with pytest.raises(KeyError, match="no room 42"):
        plan_trajectory(scene, 42, 24, FPS, 0)
    with pytest.raises(ValueError, match="at least 2 frames"):
        plan_trajectory(scene, 0, 1, FPS, 0)
    with pytest.raises(ValueError, match="field of view"):
        intrinsics(64, 64, 200.0)
    with pytest.raises(NoValidTrajectoryError):
        # Limits no walk can meet: a camera that may never come within 3 m of anything.
        plan_trajectory(scene, 0, 24, FPS, 0, TrajectorySettings(limits=MotionLimits(min_clearance=3.0)))


def test_trajectory_load_rejects_bad_files(tmp_path):
    p = tmp_path / "t.json"
    p.write_text('{"format_version": 1, "K": [[1, 0], [0, 1]], "poses": [], "fps": 24, "width": 8, "height": 8}')
    with pytest.raises(ValueError, match="t.json"):
        Trajectory.load(p)
    p.write_text("{not json")
    with pytest.raises(ValueError, match="t.json"):
        Trajectory.load(p)


def test_occupied_agrees_with_the_winding_number_where_parts_share_faces():
    """``RaycastScene.occupied`` (what free space and the planner's checks use) on a wall built of
    abutting boxes and on random points of the seed-1 apartment, whose doorway walls fooled
    open3d's ray parity 0.9 m away from any surface."""
    from interiorvideo.scene.raycast import build_raycast_scene

    parts = [box_between((0, 0, 0), (1.374, 0.4, 2.98)), box_between((1.374, 0, 2.1), (2.274, 0.4, 2.98)),
             box_between((2.274, 0, 0), (5.133, 0.4, 2.98))]
    wall = SceneObject(1, "wall", "wall", 0, Mesh(*_merged(parts)), Material("w", "paint", (0.5,) * 3, 1.0, 0.0))
    room = Room(0, "room", ((0, 0.4), (5.133, 0.4), (5.133, 3.0), (0, 3.0)), 0.0, 2.98)
    rng = np.random.default_rng(0)
    for scene in (Scene("wall", (wall,), (), (room,)), generate_scene(1)):
        lo = np.min([o.mesh.vertices.min(0) for o in scene.objects], axis=0)
        hi = np.max([o.mesh.vertices.max(0) for o in scene.objects], axis=0)
        pts = rng.uniform(lo, hi, size=(1500, 3))
        rc = build_raycast_scene(scene)
        # Only where it matters: callers ask about points at camera clearance (0.3 m) from every
        # surface; within centimetres of faces that two parts share, either answer is fair.
        pts = pts[rc.distance(pts) > 0.1]
        expected = _winding_number([o.mesh for o in scene.objects], pts) > 0.5
        got = rc.occupied(pts)
        assert expected.any() and (~expected).any()
        assert np.array_equal(got, expected), f"{scene.name}: {np.count_nonzero(got != expected)} of {len(pts)} differ"


def _merged(meshes):
    from interiorvideo.scene.mesh import merge

    m = merge(meshes)
    return m.vertices, m.triangles
