"""Tests for interiorvideo.scene.importers.front3d on the hand-written house in
tests/fixtures/front3d (see its README): rooms, kinds and heights from the JSON, furniture placed by
pos/rot/scale exactly as computed by hand, labels and material kinds from model_info.json, textures,
the missing-model warning, errors naming the file, a save/load round trip, a camera path in the
living room, and the CLI.
"""
from __future__ import annotations

import importlib.util
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from shapely.geometry import Polygon
from typer.testing import CliRunner

from interiorvideo.cli import app
from interiorvideo.colour import srgb_to_linear
from interiorvideo.scene import load_scene, save_scene
from interiorvideo.scene.importers import SceneImportError, import_front3d
from interiorvideo.scene.importers.front3d import category_label, room_kind
from interiorvideo.scene.prompts import local_prompt
from interiorvideo.trajectory import plan_trajectory

FIX = Path(__file__).resolve().parent / "fixtures" / "front3d"
HOUSE, FUTURE, TEXTURES = FIX / "house.json", FIX / "3D-FUTURE-model", FIX / "3D-FRONT-texture"
SOFA, TABLE, LAMP, BED = (f"0a1b2c3d-0000-4000-8000-{s}" for s in ("00000000050f", "0000000007ab", "0000000001a0",
                                                                     "0000000000bd"))
MISSING = "0a1b2c3d-0000-4000-8000-00000000dead"


def _import(json_path=HOUSE, future=FUTURE, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return import_front3d(json_path, future, **kw)


@pytest.fixture(scope="module")
def house():
    return _import(texture_dir=TEXTURES)


@pytest.fixture(scope="module")
def data():
    return json.loads(HOUSE.read_text())


def _by_label(scene, label):
    return [o for o in scene.objects if o.label == label]


def _obj_vertices(jid: str) -> np.ndarray:
    """The ``v`` lines of a fixture model, as written (model frame, +Y up)."""
    lines = (FUTURE / jid / "raw_model.obj").read_text().splitlines()
    return np.array([[float(x) for x in ln.split()[1:4]] for ln in lines if ln.startswith("v ")])


def _rows(a: np.ndarray, decimals: int = 5) -> set[tuple]:
    return {tuple(r) for r in np.round(np.asarray(a, dtype=np.float64), decimals) + 0.0}


# -- rooms --------------------------------------------------------------------------------------


def test_rooms_kinds_and_heights_match_the_json(house, data):
    rooms = data["scene"]["room"]
    assert [r.kind for r in house.rooms] == ["living room", "bedroom"]  # LivingRoom, MasterBedroom
    assert [m["instanceid"] for m in house.source["room_map"]] == [r["instanceid"] for r in rooms]
    meshes = {m["uid"]: m for m in data["mesh"]}
    for room, jroom in zip(house.rooms, rooms):
        ys = {t: [y for c in jroom["children"] if c["ref"] in meshes and meshes[c["ref"]]["type"] == t
                  for y in meshes[c["ref"]]["xyz"][1::3]] for t in ("Floor", "Ceiling")}
        assert room.floor_z == pytest.approx(max(ys["Floor"]), abs=1e-6)
        assert room.ceiling_z == pytest.approx(min(ys["Ceiling"]), abs=1e-6)
    assert [(r.floor_z, r.ceiling_z) for r in house.rooms] == [(0.0, 2.8), (0.0, 2.6)]
    # Every object is in the room whose children list it (the nightstand is skipped).
    n_children = [len([c for c in r["children"] if c["ref"] in meshes]) for r in rooms]
    for rid, n in enumerate(n_children):
        assert len([o for o in house.objects_in_room(rid) if o.structural]) == n


def test_room_polygons_are_the_floor_outlines(house):
    living, bedroom = house.rooms
    # The L-shaped living floor: [0, 5]×[0, 3] ∪ [1.2, 5]×[3, 4] in 3D-FRONT x, z; world y = −z.
    expected = Polygon([(0, 0), (5, 0), (5, -4), (1.2, -4), (1.2, -3), (0, -3)])
    poly = Polygon(living.polygon)
    assert len(living.polygon) == 6 and poly.is_valid
    assert poly.symmetric_difference(expected).area < 1e-6
    assert living.area == pytest.approx(18.8, abs=1e-6)  # not its bounding rectangle (20 m²)
    assert poly.exterior.is_ccw and Polygon(bedroom.polygon).exterior.is_ccw
    assert Polygon(bedroom.polygon).symmetric_difference(Polygon([(5.1, 0), (8.6, 0), (8.6, -4), (5.1, -4)])).area \
        < 1e-6
    assert living.contains_xy(np.array([[0.5, -2.0], [0.5, -3.5]])).tolist() == [True, False]  # the notch


def test_room_prompts_come_from_room_type_and_contents(house):
    living, bedroom = house.rooms
    assert living.prompt.startswith("A ") and "living room" in living.prompt and "sofa" in living.prompt
    assert "bedroom" in bedroom.prompt and "bed" in bedroom.prompt and "sofa" not in bedroom.prompt


# -- furniture placement ----------------------------------------------------------------------------


def test_a_turned_and_stretched_table_lands_where_computed_by_hand(house):
    (table,) = _by_label(house, "coffee table")
    local = _obj_vertices(TABLE)
    assert (local == [0.5, 0.45, 0.3]).all(axis=1).any()  # a corner of the raw model
    # child: pos (2.5, 0, 2.0), rot (x, y, z, w) = (0, sin 45°, 0, cos 45°) = 90° about +Y, scale (1.2, 1, 1).
    # Scale: (0.6, 0.45, 0.3); rotate about +Y by 90° (x, y, z) → (z, y, −x): (0.3, 0.45, −0.6);
    # translate: (2.8, 0.45, 1.4); to Z-up (x, −z, y): (2.8, −1.4, 0.45).
    assert np.isclose(table.mesh.vertices, [2.8, -1.4, 0.45], atol=1e-5).all(axis=1).any()
    # The whole model by the same rule, and nothing else.
    s = local * [1.2, 1.0, 1.0]
    world_y_up = np.stack([s[:, 2], s[:, 1], -s[:, 0]], axis=1) + [2.5, 0.0, 2.0]
    expected = np.stack([world_y_up[:, 0], -world_y_up[:, 2], world_y_up[:, 1]], axis=1)
    assert _rows(table.mesh.vertices) == _rows(expected)
    np.testing.assert_allclose(table.mesh.bounds(), [[2.2, -2.6, 0.0], [2.8, -1.4, 0.45]], atol=1e-5)


def test_a_bed_turned_half_way_has_its_headboard_at_the_far_wall(house):
    head = next(o for o in house.objects if o.name == "room1_bed_0_headboard")
    # Local headboard: x ∈ [−0.8, 0.8], y ∈ [0.5, 1.1], z ∈ [−1.0, −0.9]; rot (0, 1, 0, 0) = 180° about
    # +Y: (x, y, z) → (−x, y, −z); + (6.85, 0, 2.9): z ∈ [3.8, 3.9]; world y = −z.
    np.testing.assert_allclose(head.mesh.bounds(), [[6.05, -3.9, 0.5], [7.65, -3.8, 1.1]], atol=1e-5)
    sofa_back = next(o for o in house.objects if o.name == "room0_sofa_0_back")  # identity rotation
    np.testing.assert_allclose(sofa_back.mesh.bounds(), [[1.5, -0.35, 0.45], [3.5, -0.15, 0.85]], atol=1e-5)


# -- labels, materials, prompts, textures ------------------------------------------------------------


def test_labels_kinds_and_prompts_come_from_model_info(house):
    furniture = [o for o in house.objects if not o.structural]
    assert sorted({o.label for o in furniture}) == ["bed", "coffee table", "floor lamp", "sofa"]
    # model_info says "Coffee Table" where the house JSON says "Corner/Side Table": model_info wins.
    assert _by_label(house, "side table") == []
    # model_info's material names the kind: Cloth → fabric, Wood → wood, Leather → leather.
    kinds = {o.label: o.material.kind for o in furniture}
    assert (kinds["sofa"], kinds["coffee table"], kinds["bed"]) == ("fabric", "wood", "leather")
    for o in house.objects:
        assert o.prompt == local_prompt(o.label, o.material)
    assert _by_label(house, "sofa")[0].prompt.endswith("fabric sofa")
    # The sofa's and the bed's two OBJ parts are one piece each.
    assert {o.group for o in _by_label(house, "sofa")} == {"room0_sofa_0"} and len(_by_label(house, "sofa")) == 2
    assert {o.group for o in _by_label(house, "bed")} == {"room1_bed_0"}


def test_architecture_is_labelled_from_mesh_types(house):
    assert sorted({o.label for o in house.objects_in_room(0) if o.structural}) == [
        "ceiling", "door", "floor", "wall", "window"]
    assert sorted({o.label for o in house.objects_in_room(1) if o.structural}) == [
        "baseboard", "ceiling", "floor", "wall"]
    assert not any(o.structural for o in house.objects if o.label in ("sofa", "bed", "coffee table", "floor lamp"))
    (floor,) = [o for o in house.objects_in_room(0) if o.label == "floor"]
    np.testing.assert_allclose(floor.material.base_color, srgb_to_linear(np.array([196, 160, 120]) / 255.0),
                               atol=1e-6)  # the material's sRGB colour
    assert floor.material.texture is None and floor.mesh.uvs is None


def test_texture_png_is_the_base_colour_texture(house):
    for label, jid in (("sofa", SOFA), ("coffee table", TABLE), ("bed", BED)):
        png = np.asarray(Image.open(FUTURE / jid / "texture.png").convert("RGB"))
        for o in _by_label(house, label):
            assert o.material.texture is not None and o.mesh.uvs is not None, label
            np.testing.assert_array_equal(house.textures[o.material.texture], png)
            assert o.material.base_color == (1.0, 1.0, 1.0)
    (lamp,) = _by_label(house, "floor lamp")  # no texture.png; its .mtl says Kd 0.9 0.9 0.85 and Ke 1 1 1
    assert lamp.material.texture is None and lamp.mesh.uvs is None
    assert lamp.material.base_color == pytest.approx((0.9, 0.9, 0.85))
    assert not lamp.material.is_emissive and house.lights == ()
    assert any("emission (Ke) ignored" in a for a in house.source["assumptions"])


def test_floor_texture_from_a_local_3d_front_texture_folder(house, data):
    (floor,) = [o for o in house.objects_in_room(1) if o.label == "floor"]
    png = np.asarray(Image.open(TEXTURES / "5c0ffee0-0000-4000-8000-00000000f100" / "texture.png").convert("RGB"))
    np.testing.assert_array_equal(house.textures[floor.material.texture], png)
    mesh = next(m for m in data["mesh"] if m["uid"] == "6101/0")
    uv = np.array(mesh["uv"]).reshape(-1, 2)
    np.testing.assert_allclose(floor.mesh.uvs, uv * 2.0, atol=1e-6)  # UVTransform diag(2, 2, 1)
    (plain,) = [o for o in _import().objects_in_room(1) if o.label == "floor"]  # no texture_dir: the colour
    assert plain.material.texture is None and plain.mesh.uvs is None and plain.material.base_color == (1.0, 1.0, 1.0)


# -- what is skipped, and errors -------------------------------------------------------------------


def test_a_missing_model_folder_is_a_warning_naming_the_jid(house):
    with pytest.warns(UserWarning, match=MISSING):
        scene = import_front3d(HOUSE, FUTURE)
    assert not _by_label(scene, "nightstand")
    assert len(scene.objects) == len(house.objects)
    assert any(MISSING in w and "skipped" in w for w in scene.source["warnings"])


def test_a_piece_placed_twice_is_two_instances(tmp_path, data):
    d = json.loads(json.dumps(data))
    d["scene"]["room"][0]["children"].append({"ref": "7002/model", "instanceid": "furniture/9", "pos": [3.5, 0, 3.3],
                                              "rot": [0, 0, 0, 1], "scale": [1, 1, 1]})
    path = tmp_path / "house.json"
    path.write_text(json.dumps(d))
    tables = _by_label(_import(path), "coffee table")
    assert [t.name for t in tables] == ["room0_coffee-table_0", "room0_coffee-table_1"]
    assert tables[0].group != tables[1].group and tables[0].material == tables[1].material
    np.testing.assert_allclose(tables[1].mesh.bounds(), [[3.0, -3.6, 0.0], [4.0, -3.0, 0.45]], atol=1e-5)


def test_an_unreadable_model_is_a_warning_naming_the_jid(tmp_path):
    future = tmp_path / "3D-FUTURE-model"
    shutil.copytree(FUTURE, future)
    (future / TABLE / "raw_model.obj").write_text("mtllib model.mtl\nv 0 0 0\nv 1 0 0\nf 1 2 9\n")
    with pytest.warns(UserWarning) as record:  # the table's, and the nightstand's missing folder
        scene = import_front3d(HOUSE, future)
    assert any(TABLE in str(w.message) and "unreadable" in str(w.message) for w in record)
    assert not _by_label(scene, "coffee table") and _by_label(scene, "sofa")


def test_invalid_furniture_unknown_refs_and_a_room_without_floor(tmp_path, data):
    d = json.loads(json.dumps(data))
    next(f for f in d["furniture"] if f["jid"] == SOFA)["valid"] = False
    bedroom = d["scene"]["room"][1]
    bedroom["children"] = [c for c in bedroom["children"] if c["ref"] != "6101/0"]  # drop its floor
    bedroom["children"].append({"ref": "9999/none", "instanceid": "light/1", "pos": [0, 0, 0], "rot": [0, 0, 0, 1],
                                "scale": [1, 1, 1]})
    d["scene"]["room"].append({"type": "OtherRoom", "instanceid": "OtherRoom-1", "children": []})
    path = tmp_path / "house.json"
    path.write_text(json.dumps(d))
    with pytest.warns(UserWarning) as record:
        scene = import_front3d(path, FUTURE)
    messages = " | ".join(str(w.message) for w in record)
    assert "valid: false" in messages and SOFA in messages and "OtherRoom-1" in messages
    assert not _by_label(scene, "sofa") and len(scene.rooms) == 2
    # Without a floor, the bedroom is the bounding rectangle of its parts (walls, bed, ceiling).
    assert Polygon(scene.rooms[1].polygon).bounds == pytest.approx((5.1, -4.0, 8.6, 0.0), abs=1e-4)
    assert any("no Floor mesh" in a for a in scene.source["assumptions"])
    assert any("no furniture or mesh entry" in a for a in scene.source["assumptions"])


@pytest.mark.parametrize("content, problem", [
    ('{"asset": {"version": "2.0"}, "meshes": []}', "not a 3D-FRONT house"),  # a glTF JSON
    ('[1, 2, 3]', "not a 3D-FRONT house"),
    ('{"furniture": [], "mesh": [], "scene": {"room": ', "not valid JSON"),
])
def test_a_json_that_is_not_3d_front_names_the_file(tmp_path, content, problem):
    path = tmp_path / "other.json"
    path.write_text(content)
    with pytest.raises(SceneImportError, match=problem) as exc:
        import_front3d(path, FUTURE)
    assert str(path) in str(exc.value)


def test_a_missing_future_dir_or_json_names_the_file(tmp_path):
    with pytest.raises(SceneImportError) as exc:
        import_front3d(HOUSE, tmp_path / "no-such-3D-FUTURE-model")
    assert str(HOUSE) in str(exc.value) and "no-such-3D-FUTURE-model" in str(exc.value)
    with pytest.raises(SceneImportError, match="file not found") as exc:
        import_front3d(tmp_path / "gone.json", FUTURE)
    assert "gone.json" in str(exc.value)


def test_a_malformed_child_or_mesh_names_the_file_and_the_entry(tmp_path, data):
    d = json.loads(json.dumps(data))
    d["scene"]["room"][0]["children"][-1]["rot"] = [0, 0, 0, 0]
    path = tmp_path / "bad_rot.json"
    path.write_text(json.dumps(d))
    with pytest.raises(SceneImportError, match="rot") as exc:
        import_front3d(path, FUTURE)
    assert str(path) in str(exc.value) and "LivingRoom-5100" in str(exc.value)
    d = json.loads(json.dumps(data))
    d["mesh"][0]["faces"][0] = 10_000
    path = tmp_path / "bad_faces.json"
    path.write_text(json.dumps(d))
    with pytest.raises(SceneImportError, match="triangle indices") as exc:
        import_front3d(path, FUTURE)
    assert str(path) in str(exc.value) and "5101/0" in str(exc.value)


# -- the rest of the platform --------------------------------------------------------------------


def test_save_and_load_give_the_same_scene(house, tmp_path):
    back = load_scene(save_scene(house, tmp_path / "scene"))
    assert back.name == house.name and back.rooms == house.rooms and back.source == house.source
    assert len(back.objects) == len(house.objects) and back.lights == house.lights
    for a, b in zip(house.objects, back.objects):
        assert (b.instance_id, b.name, b.label, b.room_id, b.group, b.structural, b.prompt) == (
            a.instance_id, a.name, a.label, a.room_id, a.group, a.structural, a.prompt)
        assert b.material == a.material
        np.testing.assert_array_equal(b.mesh.vertices, a.mesh.vertices)
        np.testing.assert_array_equal(b.mesh.triangles, a.mesh.triangles)
        if a.mesh.uvs is not None:
            np.testing.assert_allclose(b.mesh.uvs, a.mesh.uvs, atol=1e-6)
    assert sorted(back.textures) == sorted(house.textures)
    for k in house.textures:
        np.testing.assert_array_equal(back.textures[k], house.textures[k])


def test_a_camera_path_can_be_planned_in_the_living_room(house):
    room = house.room(0)
    traj = plan_trajectory(house, 0, frames=16, fps=24, seed=0)
    assert traj.frames == 16 and traj.room_id == 0
    assert room.contains_xy(traj.positions[:, :2], margin=0.3).all()
    assert (traj.positions[:, 2] > room.floor_z + 1.0).all() and (traj.positions[:, 2] < room.ceiling_z).all()


def test_cli_imports_a_house_with_future(tmp_path):
    runner = CliRunner()
    out = tmp_path / "imported"
    res = runner.invoke(app, ["import", str(HOUSE), "--future", str(FUTURE), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert MISSING in res.output and "2 rooms" in res.output
    scene = load_scene(out)
    assert [r.kind for r in scene.rooms] == ["living room", "bedroom"]
    res = runner.invoke(app, ["import", str(HOUSE), "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "--future" in res.output


# -- mappings and the fixture itself ----------------------------------------------------------------


@pytest.mark.parametrize("room_type, kind", [
    ("LivingRoom", "living room"), ("LivingDiningRoom", "living room"), ("MasterBedroom", "bedroom"),
    ("KidsRoom", "bedroom"), ("Kitchen", "kitchen"), ("DiningRoom", "dining room"), ("Library", "study"),
    ("SecondBathroom", "bathroom"), ("Aisle", "hallway"), ("GuestSuite", "guest suite"), ("none", "room"),
])
def test_room_types_map_to_kinds(room_type, kind):
    assert room_kind(room_type) == kind


@pytest.mark.parametrize("category, label", [
    ("Three-seat / Multi-seat Sofa", "sofa"), ("King-size Bed", "bed"), ("Corner/Side Table", "side table"),
    ("Lounge Chair / Cafe Chair / Office Chair", "lounge chair"), ("Pendant Lamp", "pendant lamp"),
    ("Sideboard / Side Cabinet / Console Table", "sideboard"), ("Wine Rack / Shelf", "wine rack"),
    ("Others", "furniture"),
])
def test_categories_map_to_labels(category, label):
    assert category_label(category) == label


def test_the_committed_fixture_is_what_make_fixture_writes(tmp_path):
    spec = importlib.util.spec_from_file_location("make_fixture", FIX / "make_fixture.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.main(tmp_path)
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(FIX) for p in FIX.rglob("*") if p.is_file()
                       and p.name not in ("make_fixture.py", "README.md") and "__pycache__" not in p.parts)
    assert written == committed
    for rel in written:
        if rel.suffix == ".png":  # pixels, not bytes: PNG encoders may differ between Pillow builds
            np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / rel)), np.asarray(Image.open(FIX / rel)))
        else:
            assert (tmp_path / rel).read_bytes() == (FIX / rel).read_bytes(), rel
