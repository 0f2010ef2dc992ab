"""The procedural generator: determinism, non-overlap, containment, materials, prompts, lights."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest

from interiorvideo.scene import generate_scene, load_scene, save_scene
from interiorvideo.scene.floorplan import _shared_edge
from interiorvideo.colour import srgb_to_linear
from interiorvideo.scene.materials import color_name

SEEDS = range(8)


@pytest.fixture(scope="module")
def scenes():
    return {s: generate_scene(s) for s in SEEDS}


def test_same_seed_gives_identical_bytes(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    save_scene(generate_scene(11), a)
    save_scene(generate_scene(11), b)
    for name in ("scene.glb", "scene.json", "floorplan.png"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_different_seeds_differ(scenes):
    assert scenes[0].num_triangles != scenes[1].num_triangles or \
        scenes[0].rooms[0].polygon != scenes[1].rooms[0].polygon


def test_apartments_have_several_connected_rooms(scenes):
    for seed, sc in scenes.items():
        assert 3 <= len(sc.rooms) <= 5, seed
        # Doors connect every room: walk the door graph from room 0.
        graph = {r.room_id: {o.to_room for o in r.openings if o.kind == "door"} for r in sc.rooms}
        seen, todo = set(), [sc.rooms[0].room_id]
        while todo:
            k = todo.pop()
            if k not in seen:
                seen.add(k)
                todo.extend(graph[k])
        assert seen == set(graph), f"seed {seed}: rooms {set(graph) - seen} unreachable"
        assert sum(o.kind == "window" for r in sc.rooms for o in r.openings) >= 1


def test_doors_are_real_holes_in_both_walls(scenes):
    """A door's opening must be cut through the wall slabs of both rooms it joins."""
    sc = scenes[0]
    for room in sc.rooms:
        for o in (o for o in room.openings if o.kind == "door"):
            wall = next(w for w in sc.objects_in_room(room.room_id) if w.name.endswith(f"wall_{o.side}"))
            v = wall.mesh.vertices
            tri_centers = v[wall.mesh.triangles].mean(axis=1)
            axis = 0 if o.side in ("south", "north") else 1
            mid = (o.start + o.end) / 2
            in_hole = (np.abs(tri_centers[:, axis] - mid) < (o.end - o.start) / 2 - 0.01) & \
                (tri_centers[:, 2] < o.top - 0.01)
            assert not in_hole.any(), f"room {room.room_id} door on {o.side} is not open"


def _furniture_boxes(sc):
    return [(o, o.mesh.bounds().astype(np.float64)) for o in sc.objects if not o.structural]


def test_no_overlapping_furniture(scenes):
    for seed, sc in scenes.items():
        boxes = _furniture_boxes(sc)
        for (a, ba), (b, bb) in itertools.combinations(boxes, 2):
            if a.group == b.group:
                continue  # a lamp's shade may enclose its own stem
            overlap = np.minimum(ba[1], bb[1]) - np.maximum(ba[0], bb[0])
            assert not np.all(overlap > 1e-3), f"seed {seed}: {a.name} overlaps {b.name} by {overlap}"


def test_everything_inside_its_room(scenes):
    for seed, sc in scenes.items():
        for room in sc.rooms:
            x0, y0, x1, y1 = room.bounds
            t = room.wall_thickness
            for o in sc.objects_in_room(room.room_id):
                lo, hi = o.mesh.bounds()
                if o.structural:  # walls and floors live in the room's outer rectangle
                    assert lo[0] >= x0 - t - 1e-4 and hi[0] <= x1 + t + 1e-4, o.name
                    assert lo[1] >= y0 - t - 1e-4 and hi[1] <= y1 + t + 1e-4, o.name
                    continue
                assert lo[0] >= x0 - 1e-4 and lo[1] >= y0 - 1e-4, f"seed {seed}: {o.name} pokes out"
                assert hi[0] <= x1 + 1e-4 and hi[1] <= y1 + 1e-4, f"seed {seed}: {o.name} pokes out"
                assert lo[2] >= room.floor_z - 1e-4 and hi[2] <= room.ceiling_z + 1e-4, o.name


def test_floor_standing_furniture_rests_on_something(scenes):
    """Nothing floats: each piece (group) stands on the floor, a rug or another piece's top."""
    for seed, sc in scenes.items():
        groups: dict[str, list] = {}
        for o in sc.objects:
            if not o.structural:
                groups.setdefault(o.group, []).append(o)
        tops = {g: max(float(o.mesh.bounds()[1, 2]) for o in objs) for g, objs in groups.items()}
        for g, objs in groups.items():
            if objs[0].label in ("picture frame", "painting", "mirror", "tv", "ceiling light"):
                continue
            bottom = min(float(o.mesh.bounds()[0, 2]) for o in objs)
            supports = [0.0] + [t for other, t in tops.items() if other != g]
            assert min(abs(bottom - s) for s in supports) < 1e-3, f"seed {seed}: {g} floats at z={bottom:.3f}"


def test_many_categories_and_room_kinds(scenes):
    labels = Counter(o.label for sc in scenes.values() for o in sc.objects)
    expected = {"sofa", "chair", "dining table", "coffee table", "bed frame", "nightstand", "wardrobe", "bookshelf",
                "floor lamp", "table lamp", "rug", "plant", "picture frame", "kitchen cabinet", "refrigerator"}
    assert expected <= set(labels), expected - set(labels)
    kinds = {r.kind for sc in scenes.values() for r in sc.rooms}
    assert kinds == {"living room", "bedroom", "kitchen", "dining room", "study"}


def test_material_ranges_are_physically_plausible(scenes):
    for sc in scenes.values():
        for m in sc.materials().values():
            if m.transmission > 0:  # window glass: its base colour is a transmission tint, not an albedo
                assert m.transmission == 1.0 and m.thin and 1.4 <= m.ior <= 1.6 and min(m.base_color) >= 0.9
                continue
            if m.metallic >= 0.5:
                assert m.metallic == 1.0 and min(m.base_color) >= 0.3
            else:
                assert m.metallic == 0.0
                assert 0.03 <= min(m.base_color) and max(m.base_color) <= 0.9, m
            assert 0.0 <= m.roughness <= 1.0
            if m.kind == "mirror":
                assert m.roughness <= 0.05
            if m.kind == "fabric":
                assert m.roughness >= 0.8


def test_textured_materials_have_uvs_and_textures(scenes):
    sc = scenes[0]
    textured = [o for o in sc.objects if o.material.texture]
    assert textured, "the palette should texture wood, fabric, tiles or marble"
    for o in textured:
        assert o.mesh.uvs is not None and o.material.texture in sc.textures
        assert sc.textures[o.material.texture].dtype == np.uint8


def test_prompts_describe_what_was_placed(scenes):
    for sc in scenes.values():
        for o in sc.objects:
            assert o.prompt.startswith(("a ", "an ")), o.prompt
            if o.label in ("sofa", "dining table", "bookshelf", "wardrobe", "rug", "wall", "floor"):
                assert o.label in o.prompt and o.material.color_name in o.prompt, o.prompt
        for r in sc.rooms:
            assert r.kind in r.prompt and r.prompt.endswith(".")
            for o in sc.objects_in_room(r.room_id):
                if o.label == "sofa":
                    assert o.prompt in r.prompt  # the biggest piece headlines the room


def test_color_names_match_colors():
    assert color_name(srgb_to_linear(np.array([180, 40, 40]) / 255)) == "red"
    assert color_name(srgb_to_linear(np.array([240, 240, 236]) / 255)) == "white"
    # Non-metals are never called silver/gold/copper.
    assert color_name(srgb_to_linear(np.array([200, 200, 205]) / 255), metallic=False) != "silver"
    assert color_name(srgb_to_linear(np.array([200, 200, 205]) / 255), metallic=True) == "silver"


def test_lights(scenes):
    for sc in scenes.values():
        kinds = Counter(light.kind for light in sc.lights)
        assert kinds["sun"] == 1 and kinds["area"] >= len(sc.rooms)
        for light in sc.lights:
            if light.kind == "area":
                obj = sc.object(light.object_id)
                assert obj.material.is_emissive
                np.testing.assert_allclose(np.asarray(light.color) * light.intensity, obj.material.emission,
                                           rtol=1e-4)
            if light.kind in ("point", "spot"):
                room = sc.room(light.room_id)
                assert room.contains_xy(np.array(light.position[:2]))[0]
                assert 0 < light.position[2] < room.ceiling_z
        sun = next(light for light in sc.lights if light.kind == "sun")
        assert sun.direction[2] > 0 and abs(np.linalg.norm(sun.direction) - 1) < 1e-5


def test_lamp_shades_glow_as_area_lights(scenes):
    sc = scenes[0]
    shades = [o for o in sc.objects if o.label == "lampshade"]
    area = {light.object_id: light for light in sc.lights if light.kind == "area"}
    assert shades
    for shade in shades:
        assert shade.material.is_emissive and shade.instance_id in area
        assert area[shade.instance_id].room_id == shade.room_id
        assert shade.material.emission_two_sided  # fabric glows inside and out
    panels = [o for o in sc.objects if o.label == "ceiling light"]
    assert all(np.allclose(p.mesh.triangle_normals(), [0, 0, -1]) for p in panels)  # lit face down
    assert panels and not any(p.material.emission_two_sided for p in panels)  # and only down


def test_save_load_round_trip_is_exact(tmp_path, scenes):
    sc = scenes[2]
    save_scene(sc, tmp_path / "s")
    back = load_scene(tmp_path / "s")
    assert [o.name for o in back.objects] == [o.name for o in sc.objects]
    for a, b in zip(sc.objects, back.objects):
        assert np.array_equal(a.mesh.vertices, b.mesh.vertices) and np.array_equal(a.mesh.triangles, b.mesh.triangles)
        assert (a.mesh.uvs is None) == (b.mesh.uvs is None)
        if a.mesh.uvs is not None:
            assert np.array_equal(a.mesh.uvs, b.mesh.uvs)
        assert a.material == b.material and a.prompt == b.prompt and a.label == b.label
    assert back.lights == sc.lights and back.rooms == sc.rooms and back.sky == sc.sky
    for k, tex in sc.textures.items():
        assert np.array_equal(back.textures[k], tex)


def test_load_scene_errors_name_the_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_scene(tmp_path / "nowhere")
    save_scene(generate_scene(1), tmp_path / "s", floorplan=False)
    (tmp_path / "s" / "scene.glb").write_bytes(b"not a glb")
    with pytest.raises(ValueError, match="scene.glb"):
        load_scene(tmp_path / "s")
    (tmp_path / "s" / "scene.json").write_text("{broken")
    with pytest.raises(ValueError, match="scene.json"):
        load_scene(tmp_path / "s")


def test_shared_edge_detection():
    assert _shared_edge((0, 0, 4, 3), (4, 1, 7, 5)) == ("east", 1, 3)
    assert _shared_edge((0, 0, 4, 3), (0, 3, 2, 6)) == ("north", 0, 2)
    assert _shared_edge((0, 0, 4, 3), (5, 0, 8, 3)) is None
