"""Import with default flags gets what users bring right: up axis, units, zero-thickness walls,
floors found from geometry (not names), open sides, missing lights, stacked files, and scene
folders that are never half-written or silently replaced.

The files are written here the way modelling tools write them: meshes named ``Plane``/``Cube``,
single-sided quads for walls, +Y up in the file, centimetres. Real third-party files are in
tests/test_import_real.py.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import trimesh
from typer.testing import CliRunner

from interiorvideo.scene.importers import import_scene
from interiorvideo.trajectory import plan_trajectory

ROOM = (5.0, 4.0, 2.7)  # metres: x, y (depth), height


def _quad(corners: np.ndarray, inward: np.ndarray) -> trimesh.Trimesh:
    """Two triangles over four corners (in order), wound so the normal points along ``inward``."""
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    n = np.cross(corners[1] - corners[0], corners[2] - corners[0])
    if np.dot(n, inward) < 0:
        faces = faces[:, ::-1]
    return trimesh.Trimesh(corners, faces, process=False)


def _box(lo, hi) -> trimesh.Trimesh:
    return trimesh.creation.box(bounds=np.array([lo, hi], dtype=np.float64))


def room_meshes(facing: str = "in", walls: str = "all", floor: bool = True) -> dict[str, trimesh.Trimesh]:
    """A furnished room in scene coordinates (+Z up, metres): single-sided quads for floor,
    ceiling and walls (``facing`` "in", "out" or "mixed"), a sofa-sized box and a table."""
    X, Y, H = ROOM
    c = np.array
    quads = {
        "Plane": (c([[0, 0, 0], [X, 0, 0], [X, Y, 0], [0, Y, 0]]), c([0, 0, 1])),
        "Plane.001": (c([[0, 0, H], [X, 0, H], [X, Y, H], [0, Y, H]]), c([0, 0, -1])),
        "Plane.002": (c([[0, 0, 0], [X, 0, 0], [X, 0, H], [0, 0, H]]), c([0, 1, 0])),
        "Plane.003": (c([[0, Y, 0], [X, Y, 0], [X, Y, H], [0, Y, H]]), c([0, -1, 0])),
        "Plane.004": (c([[0, 0, 0], [0, Y, 0], [0, Y, H], [0, 0, H]]), c([1, 0, 0])),
        "Plane.005": (c([[X, 0, 0], [X, Y, 0], [X, Y, H], [X, 0, H]]), c([-1, 0, 0])),
    }
    if not floor:
        del quads["Plane"]
    if walls == "two":  # an open model: two walls only, like a Sketchfab corner set
        for k in ("Plane.001", "Plane.003", "Plane.005"):
            quads.pop(k, None)
    out = {}
    for k, (name, (corners, inward)) in enumerate(quads.items()):
        flip = facing == "out" or (facing == "mixed" and k % 2)
        out[name] = _quad(corners.astype(np.float64), -inward if flip else inward)
    out["Cube"] = _box((0.3, 2.9, 0.0), (2.3, 3.8, 0.8))  # a sofa against the far wall
    out["Cube.001"] = _box((3.6, 0.4, 0.7), (4.6, 1.2, 0.75))  # a table top ...
    for i, (x, y) in enumerate([(3.65, 0.45), (4.5, 0.45), (3.65, 1.1), (4.5, 1.1)]):  # ... on four legs
        out[f"Cylinder.{i:03d}"] = _box((x, y, 0.0), (x + 0.05, y + 0.05, 0.7))
    out["Cube.002"] = _box((0.4, 0.3, 0.0), (0.9, 0.8, 1.2))  # a cabinet
    out["Sphere"] = trimesh.creation.icosphere(subdivisions=2, radius=0.15).apply_translation([1.0, 3.3, 0.95])
    return out


def write_glb(path, meshes: dict[str, trimesh.Trimesh], *, z_up_in_file: bool = False, scale: float = 1.0,
              emissive: bool = False) -> None:
    """Write meshes as a GLB the way exporters do: +Y up (unless ``z_up_in_file``), in units of
    1/``scale`` metres; optionally with an emissive ceiling panel."""
    sc = trimesh.Scene()
    to_file = np.eye(4)
    if not z_up_in_file:  # scene +Z up → file +Y up: (x, y, z) → (x, z, -y)
        to_file = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, -1, 0, 0], [0, 0, 0, 1]], dtype=np.float64)
    to_file = to_file @ np.diag([scale, scale, scale, 1.0])
    for name, m in meshes.items():
        m = m.copy()
        m.apply_transform(to_file)
        m.visual = trimesh.visual.TextureVisuals(material=trimesh.visual.material.PBRMaterial(
            name=f"{name}_mat", baseColorFactor=[180, 180, 180, 255], roughnessFactor=0.8, metallicFactor=0.0))
        sc.add_geometry(m, node_name=name, geom_name=name)
    if emissive:
        X, Y, H = ROOM
        panel = _quad(np.array([[2, 1.5, H - 0.01], [3, 1.5, H - 0.01], [3, 2.5, H - 0.01], [2, 2.5, H - 0.01]]),
                      np.array([0, 0, -1]))
        panel.apply_transform(to_file)
        panel.visual = trimesh.visual.TextureVisuals(material=trimesh.visual.material.PBRMaterial(
            name="light", baseColorFactor=[255, 255, 255, 255], emissiveFactor=[1.0, 1.0, 1.0]))
        sc.add_geometry(panel, node_name="Light", geom_name="Light")
    path.write_bytes(sc.export(file_type="glb"))


def _assumption(scene, word: str) -> str:
    return next(a for a in scene.source["assumptions"] if word in a)


@pytest.mark.parametrize("z_up,scale,units", [(False, 1.0, "metres"), (True, 1.0, "metres"),
                                              (False, 100.0, "centimetres"), (True, 1000.0, "millimetres"),
                                              (False, 1 / 0.0254, "inches")])
def test_up_axis_and_units_are_detected(tmp_path, z_up, scale, units):
    path = tmp_path / "room.glb"
    write_glb(path, room_meshes(), z_up_in_file=z_up, scale=scale)
    sc = import_scene(path)
    lo, hi = sc.bounds()
    np.testing.assert_allclose(hi - lo, [ROOM[0], ROOM[1], ROOM[2]], atol=1e-3)
    assert len(sc.rooms) == 1, [r.polygon for r in sc.rooms]
    assert f"+{'Z' if z_up else 'Y'}" in _assumption(sc, "up axis")
    assert units in _assumption(sc, "units")
    assert sc.source["orientation"][0]["up"] == ("z" if z_up else "y")


def test_overrides_win_over_detection(tmp_path):
    path = tmp_path / "room.glb"
    write_glb(path, room_meshes(), scale=100.0)
    sc = import_scene(path, up="z", scale=0.01)
    lo, hi = sc.bounds()
    np.testing.assert_allclose(hi - lo, [ROOM[0], ROOM[2], ROOM[1]], atol=1e-3)  # Y-up file read as Z-up
    assert "(given)" in _assumption(sc, "up axis") and "scale 0.01 (given)" in _assumption(sc, "scale")
    with pytest.raises(ValueError, match="scale must be a positive"):
        import_scene(path, scale=-1.0)
    with pytest.raises(ValueError, match="units must be"):
        import_scene(path, units="furlong")


@pytest.mark.parametrize("facing", ["in", "out", "mixed"])
def test_rooms_of_single_sided_quads_are_free_space_whatever_their_winding(tmp_path, facing):
    """Zero-thickness walls, floors named ``Plane``: the camera walks with default flags."""
    path = tmp_path / "room.glb"
    write_glb(path, room_meshes(facing=facing), emissive=True)
    sc = import_scene(path)
    traj = plan_trajectory(sc, 0, 48, 24.0, 0)
    assert traj.report["min_clearance"] >= 0.3
    p = traj.positions
    X, Y, _ = ROOM
    assert (p[:, 0] > 0.3).all() and (p[:, 0] < X - 0.3).all() and (p[:, 1] > 0.3).all() and (p[:, 1] < Y - 0.3).all()


def test_floor_is_found_from_geometry_and_a_missing_floor_is_named(tmp_path):
    path = tmp_path / "room.glb"
    write_glb(path, room_meshes(floor=False), emissive=True)
    sc = import_scene(path)
    assert any("no floor found" in w for w in sc.source["warnings"]), sc.source["warnings"]
    with pytest.raises(ValueError, match="above a floor"):
        plan_trajectory(sc, 0, 48, 24.0, 0)


def test_open_models_keep_the_camera_looking_into_the_room(tmp_path):
    """Two walls and a floor: rays that hit nothing are not view depth, so frames look at the room."""
    from interiorvideo.scene.raycast import build_raycast_scene
    from interiorvideo.trajectory.checks import view_depths

    path = tmp_path / "corner.glb"
    write_glb(path, room_meshes(walls="two"), emissive=True)
    sc = import_scene(path)
    traj = plan_trajectory(sc, 0, 72, 24.0, 1)
    rc = build_raycast_scene(sc)
    # Misses over a 16x12 grid per frame: at most half of any frame is empty space.
    u = (np.arange(16) + 0.5) / 16 * traj.width
    v = (np.arange(12) + 0.5) / 12 * traj.height
    uu, vv = np.meshgrid(u, v)
    cam = np.stack([uu.ravel(), vv.ravel(), np.ones(uu.size)], 1) @ np.linalg.inv(traj.K).T
    dirs = np.einsum("tij,nj->tni", traj.poses[:, :3, :3], cam / np.linalg.norm(cam, axis=1, keepdims=True))
    t = rc.cast(np.broadcast_to(traj.positions[:, None], dirs.shape), dirs)["t_hit"]
    assert np.isinf(t).mean(axis=1).max() <= 0.5
    assert view_depths(rc, traj).min() >= 1.0


def test_no_light_is_warned_and_the_default_rig_is_opt_in(tmp_path):
    from interiorvideo.render import Renderer, RenderSettings

    path = tmp_path / "room.glb"
    write_glb(path, room_meshes())
    dark = import_scene(path)
    assert dark.lights == () and any("no light sources" in w for w in dark.source["warnings"])
    lit = import_scene(path, default_lights=True)
    assert len(lit.lights) == 4 and all(li.kind == "point" for li in lit.lights)  # 5 x 4 m: 2 x 2 lights
    assert not any("no light sources" in w for w in lit.source["warnings"])
    assert any("default light rig" in a for a in lit.source["assumptions"])
    traj = plan_trajectory(lit, 0, 2, 24.0, 0)
    clips = [Renderer(s, RenderSettings(samples=4, seed=0)).render_clip(traj, 24, 24) for s in (dark, lit)]
    assert float(clips[0]["rgb"].astype(np.float32).max()) == 0.0  # closed and unlit: exactly black
    assert float(np.median(clips[1]["rgb"].astype(np.float32))) > 0.01


def test_files_modelled_at_one_origin_are_warned_about(tmp_path):
    a, b = tmp_path / "a.glb", tmp_path / "b.glb"
    write_glb(a, room_meshes(), emissive=True)
    write_glb(b, room_meshes(), emissive=True)
    sc = import_scene([a, b])
    assert any("a.glb and b.glb overlap" in w for w in sc.source["warnings"])


def test_floor_plan_is_capped_in_pixels(tmp_path):
    from PIL import Image

    from interiorvideo.scene.preview import MAX_PLAN_PIXELS, floorplan_png_bytes

    path = tmp_path / "room.glb"
    write_glb(path, room_meshes(), scale=1.0)
    sc = import_scene(path, scale=1000.0)  # a 5 km room: the wrong unit forced on purpose
    import io

    img = Image.open(io.BytesIO(floorplan_png_bytes(sc)))
    assert max(img.size) <= MAX_PLAN_PIXELS


def test_cli_prints_assumptions_and_warnings_and_never_replaces_silently(tmp_path):
    from workbench.cli import interiorvideo_app

    path = tmp_path / "room.glb"
    write_glb(path, room_meshes(), scale=100.0)
    out = tmp_path / "scene"
    runner = CliRunner()
    res = runner.invoke(interiorvideo_app, ["import", str(path), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "centimetres" in res.output and "no light sources" in res.output
    meta = json.loads((out / "scene.json").read_text())
    assert any("centimetres" in a for a in meta["source"]["assumptions"])
    before = (out / "scene.glb").read_bytes()
    res = runner.invoke(interiorvideo_app, ["import", str(path), "--out", str(out), "--default-lights"])
    assert res.exit_code == 2 and "already exists" in res.output
    assert (out / "scene.glb").read_bytes() == before
    res = runner.invoke(interiorvideo_app, ["import", str(path), "--out", str(out), "--default-lights", "--force"])
    assert res.exit_code == 0, res.output
    assert len(json.loads((out / "scene.json").read_text())["lights"]) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["room.glb", "scene"]  # no temporary folder left


def test_rooms_without_known_doors_sample_every_light():
    """An imported model is often one mesh spanning several rooms, and its rooms have no doors
    recorded: a light in one room must still light the mesh seen there (it was left out of
    light sampling as "two rooms away", and the floor rendered black)."""
    from interiorvideo.render import Renderer, RenderSettings
    from interiorvideo.scene import Light, Material, Mesh, Room, Scene, SceneObject, Sky
    from interiorvideo.trajectory.camera import Trajectory, intrinsics, look_at

    floor = _quad(np.array([[0, 0, 0], [10, 0, 0], [10, 4, 0], [0, 4, 0]], dtype=np.float64), np.array([0, 0, 1]))
    obj = SceneObject(1, "floor", "floor", 0, Mesh(np.asarray(floor.vertices, np.float32),
                                                     np.asarray(floor.faces, np.int64)),
                      Material("grey", "paint", (0.5, 0.5, 0.5), 0.8, 0.0))
    rooms = (Room(0, "room", ((0, 0), (5, 0), (5, 4), (0, 4)), 0.0, 2.7),
             Room(1, "room", ((5, 0), (10, 0), (10, 4), (5, 4)), 0.0, 2.7))
    lamp = Light("lamp", "point", (1.0, 1.0, 1.0), 8.0, position=(7.5, 2.0, 2.4), room_id=1)
    far = Light("far lamp", "point", (1.0, 1.0, 1.0), 1.0, position=(1.0, 2.0, 2.4), room_id=0)
    scene = Scene("one mesh, two rooms", (obj,), (lamp, far), rooms, sky=Sky(intensity=0.0))  # lamps only
    eye = np.array([[7.5, 1.0, 1.5], [7.5, 1.01, 1.5]])
    poses = look_at(eye, eye + np.array([0.0, 0.5, -1.0]))
    traj = Trajectory(intrinsics(16, 16, 60.0), poses, 24.0, 16, 16, scene.name, 1, 0, {})
    clip = Renderer(scene, RenderSettings(samples=4, seed=0)).render_clip(traj, 16, 16)
    irr = clip["irradiance"].astype(np.float32)[..., 0]
    seen = clip["instance"] == 1
    # The pass holds E / pi (the clip contract folds 1/pi in): 8 * cos / d^2 / pi is 0.44 under the
    # lamp and above 0.1 over the floor in view; without the lamp, only the far one's 0.002 is left.
    assert seen.mean() > 0.5 and float(np.median(irr[seen])) > 0.1


def test_baked_lighting_in_the_emissive_channel_is_not_a_lamp(tmp_path):
    """Web/game exports put light maps in the emissive channel: a model whose walls glow with an
    emissive texture is not lit by its walls. A ceiling panel covering 2 % of the surface stays a
    lamp (and so would an emissive factor over a whole lamp file)."""
    from PIL import Image

    lamp = tmp_path / "lamp.glb"
    write_glb(lamp, room_meshes(), emissive=True)
    sc = import_scene(lamp)
    assert [li.kind for li in sc.lights] == ["area"] and not any("baked" in w for w in sc.source["warnings"])

    baked = tmp_path / "baked.glb"
    meshes = room_meshes()
    sc_file = trimesh.Scene()
    to_file = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, -1, 0, 0], [0, 0, 0, 1]], dtype=np.float64)
    for name, m in meshes.items():
        m = m.copy()
        m.apply_transform(to_file)
        light_map = Image.fromarray(np.full((8, 8, 3), 150, np.uint8))  # what a baker writes
        m.visual = trimesh.visual.TextureVisuals(
            uv=np.zeros((len(m.vertices), 2)), material=trimesh.visual.material.PBRMaterial(
                name=f"{name}_baked", baseColorFactor=[200, 200, 200, 255], emissiveFactor=[1.0, 1.0, 1.0],
                emissiveTexture=light_map))
        sc_file.add_geometry(m, node_name=name, geom_name=name)
    baked.write_bytes(sc_file.export(file_type="glb"))
    sc = import_scene(baked)
    assert sc.lights == ()
    assert any("baked lighting" in w and "100%" in w for w in sc.source["warnings"]), sc.source["warnings"]
    assert all(max(o.material.emission) == 0 for o in sc.objects)
