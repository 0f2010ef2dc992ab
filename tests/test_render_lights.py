"""Light selection across rooms and emitter sidedness (issue 16): lights must reach every point
that sees them, whichever room they are in, and an emitter lights and glows on the sides its
material says."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from interiorvideo.render import Renderer, RenderSettings
from interiorvideo.render.lights import LightSet
from interiorvideo.scene import Light, Opening, Room, Scene, SceneObject, Sky
from interiorvideo.scene import reference as ref
from interiorvideo.scene.reference import lambertian, quad
from interiorvideo.trajectory.camera import Trajectory, intrinsics, look_at

LAMP_C = (10.0, 2.0, 1.0)  # seen from room A's floor through both doors
HIDDEN_C = (10.0, 0.5, 2.4)  # in room C too, but behind the walls for every point of room A
INTENSITY = 100.0


def _wall_with_door(x: float) -> list:
    """A wall across the corridor at ``x`` (y 0..4, z 0..2.7) with a door at y 1.5..2.5, z < 2.2."""
    return [quad((x, 0, 0), (0, 1.5, 0), (0, 0, 2.7)), quad((x, 2.5, 0), (0, 1.5, 0), (0, 0, 2.7)),
            quad((x, 1.5, 2.2), (0, 1.0, 0), (0, 0, 0.5))]


def three_rooms() -> Scene:
    """Rooms A, B, C in a row along x (4 m each), doors A–B and B–C on one line; a grey floor,
    near-black walls (little indirect light), point lamps only in C, no sky."""
    floor = SceneObject(1, "floor", "floor", 0, quad((0, 0, 0), (12, 0, 0), (0, 4, 0)),
                        lambertian("grey", (0.5, 0.5, 0.5)), structural=True)
    walls = [SceneObject(10 + i, f"wall{i}", "wall", 0, m, lambertian("black", (0.02, 0.02, 0.02)), structural=True)
             for i, m in enumerate(_wall_with_door(4.0) + _wall_with_door(8.0))]

    def door(side, to):
        return Opening("door", side, 1.5, 2.5, 0.0, 2.2, to_room=to)

    rooms = (Room(0, "room", ((0, 0), (4, 0), (4, 4), (0, 4)), 0.0, 2.7, openings=(door("east", 1),)),
             Room(1, "room", ((4, 0), (8, 0), (8, 4), (4, 4)), 0.0, 2.7, openings=(door("west", 0), door("east", 2))),
             Room(2, "room", ((8, 0), (12, 0), (12, 4), (8, 4)), 0.0, 2.7, openings=(door("west", 1),)))
    lamps = (Light("lamp", "point", (1.0, 1.0, 1.0), INTENSITY, position=LAMP_C, room_id=2),
             Light("hidden", "point", (1.0, 1.0, 1.0), INTENSITY, position=HIDDEN_C, room_id=2))
    return Scene("three rooms", (floor, *walls), lamps, rooms, sky=Sky(intensity=0.0))


def test_a_lamp_two_doors_away_is_sampled_where_it_is_seen_and_only_there():
    scene = three_rooms()
    lights = LightSet(scene)
    room_a = 0
    seen, hidden = lights.room_mask[room_a, 0], lights.room_mask[room_a, 1]
    assert 0.0 < seen < 0.5  # a narrow line of sight through two doors
    assert hidden == 0.0  # walls between it and every probe: no sample is spent on it
    assert lights.room_mask[2, 0] == lights.room_mask[2, 1] == 1.0  # its own room
    assert lights.room_mask[1, 0] == 1.0  # next door


def test_direct_light_through_two_doors_matches_the_inverse_square_law():
    """Room A's floor at (2, 2, 0) sees the lamp in C through both doors: its irradiance pass is
    I·cosθ/d²/π (near-black walls leave ~1 % indirect). It rendered 0 while lights two doors
    away were left out of light sampling."""
    scene = three_rooms()
    target = np.array([2.0, 2.0, 0.0])
    poses = look_at(np.array([[1.2, 2.0, 1.2]]), target[None])
    traj = Trajectory(intrinsics(9, 9, 4.0), poses, 24.0, 9, 9, scene.name, 0, 0)
    clip = Renderer(scene, RenderSettings(samples=64, seed=0)).render_clip(traj, 9, 9)
    assert (clip["instance"] == 1).all()
    d = np.asarray(LAMP_C) - target
    expected = INTENSITY * (d[2] / np.linalg.norm(d)) / (d @ d) / np.pi
    got = float(clip["irradiance"][0, 3:6, 3:6, 0].astype(np.float32).mean())
    assert got == pytest.approx(expected, rel=0.05)


PANEL = 20


def panel_room(two_sided: bool) -> Scene:
    """The white Cornell room without its ceiling lamp, lit by a 0.8 m square panel standing in
    the middle of the room whose triangles face +x (the right wall); black, so it shows only its
    emission."""
    white = {k: ref.WHITE for k in ("floor", "ceiling", "left_wall", "right_wall", "front_wall", "back_wall")}
    room = ref.cornell_room(light_radiance=0.0, colors=white, block=False, sky=Sky(intensity=0.0))
    panel = quad((1.5, 1.9, 1.1), (0.0, 0.8, 0.0), (0.0, 0.0, 0.8))  # e1 × e2 = +x
    assert (panel.triangle_normals() @ (1.0, 0.0, 0.0) > 0.99).all()
    mat = replace(lambertian("m_panel", (0.0, 0.0, 0.0), emission=(6.0,) * 3), emission_two_sided=two_sided)
    obj = SceneObject(PANEL, "panel", "light", 0, panel, mat)
    light = Light("panel", "area", (1.0, 1.0, 1.0), 6.0, object_id=PANEL, room_id=0)
    return Scene("panel room", room.objects + (obj,), (light,), room.rooms, sky=room.sky)


def panel_camera(width: int = 48, height: int = 36) -> Trajectory:
    """From the front of the room, looking at the back wall: both side walls and the panel's
    edge-on silhouette in view, turned a little so that the panel's back (−x) side shows."""
    poses = look_at(np.array([[2.2, 0.2, 1.5]]), np.array([[1.2, 3.0, 1.4]]))
    return Trajectory(intrinsics(width, height, 80.0), poses, 24.0, width, height, "panel room", 0, 0)


@pytest.mark.parametrize("two_sided", [False, True])
def test_one_sided_emitters_light_and_glow_only_in_front(two_sided):
    """The panel faces the right wall. One-sided, the left wall behind it gets only light bounced
    around the room and the panel's back looks dark; two-sided, both walls see it alike (the
    room is symmetric about the panel but for the camera) and its back glows."""
    scene, traj = panel_room(two_sided), panel_camera()
    settings = RenderSettings(samples=32, seed=0, pixel_samples=1)  # exact glow values: pixel centres
    f = Renderer(scene, settings).render_frame(traj.K, traj.poses[0], traj.width, traj.height)
    irr = f["irradiance"][..., 0]
    left, right = irr[f["instance"] == ref.LEFT_WALL].mean(), irr[f["instance"] == ref.RIGHT_WALL].mean()
    panel = f["instance"] == PANEL
    assert panel.sum() > 10  # the camera (x = 2.2 looking towards x = 1.2) sees the panel's +x face...
    if two_sided:
        assert left / right == pytest.approx(1.0, abs=0.25)
        assert f["rgb"][panel].mean() == pytest.approx(6.0, rel=1e-3)
    else:
        assert left / right < 0.3
        assert f["rgb"][panel].mean() == pytest.approx(6.0, rel=1e-3)  # ...its lit front


def test_the_back_of_a_one_sided_emitter_is_dark_to_the_camera():
    scene = panel_room(False)
    poses = look_at(np.array([[0.6, 0.2, 1.5]]), np.array([[1.5, 2.3, 1.5]]))  # from the −x side
    traj = Trajectory(intrinsics(32, 24, 80.0), poses, 24.0, 32, 24, "panel room", 0, 0)
    f = Renderer(scene, RenderSettings(samples=8, seed=0, pixel_samples=1)).render_frame(traj.K, traj.poses[0], 32, 24)
    panel = f["instance"] == PANEL
    assert panel.sum() > 10 and f["rgb"][panel].max() == 0.0  # black and no glow
    two = panel_room(True)
    g = Renderer(two, RenderSettings(samples=8, seed=0, pixel_samples=1)).render_frame(traj.K, traj.poses[0], 32, 24)
    assert g["rgb"][g["instance"] == PANEL].mean() == pytest.approx(6.0, rel=1e-3)


@pytest.mark.slow
def test_two_sided_emitter_matches_mitsuba_per_region():
    """The exporter gives Mitsuba the panel's back as a reversed copy: both side walls, floor and
    back wall agree with Mitsuba within the noise-derived tolerance of test_render_mitsuba."""
    from test_render_mitsuba import assert_ratio, eroded, ours, theirs

    from interiorvideo.render.mitsuba_ref import region_ratio

    scene, traj = panel_room(True), panel_camera()
    (f1, f2), (m1, m2) = [ours(scene, traj, s) for s in (0, 1)], [theirs(scene, traj, s) for s in (0, 1)]
    for name, i in {"floor": ref.FLOOR, "left wall": ref.LEFT_WALL, "right wall": ref.RIGHT_WALL,
                    "back wall": ref.BACK_WALL}.items():
        mask = eroded(f1["instance"] == i)
        assert mask.sum() > 30, name
        r, s = region_ratio((f1["rgb"], f2["rgb"]), (m1["rgb"], m2["rgb"]), mask)
        print(f"two-sided panel, {name}: {r:.4f} ± {s:.4f}")
        assert_ratio(name, r, s)
