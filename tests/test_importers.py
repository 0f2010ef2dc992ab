"""Tests for interiorvideo.scene.importers: GLB/OBJ round trips of a generated apartment (exact
materials, prompts, groups and light intensities from our GLB's extras; 8-bit materials from a GLB
without them), the floor-split room segmentation on a GLB without our extras, PLY vertex colours,
hand-made glTF and OBJ files (node transforms, multi-primitive meshes, multi-material objects, MTL
PBR extension) and clear errors for bad input.

One apartment is generated per module (~1 s); everything else is small.
"""
from __future__ import annotations

import json
import struct
from dataclasses import replace

import numpy as np
import open3d as o3d
import pytest
import trimesh

from interiorvideo.scene import generate_scene, save_scene
from interiorvideo.scene.importers import SceneImportError, export_obj, import_scene, label_from_name
from interiorvideo.scene.io import node_name, scene_to_glb_bytes, y_up_to_z_up, z_up_to_y_up
from interiorvideo.colour import srgb_to_linear

SEED = 3  # five rooms, textured floors and furniture, emissive ceiling lights, metal lamps
TOL8 = 1.0 / 255.0 + 1e-6  # colours pass through 8 bits in glTF factors (trimesh) and MTL files


@pytest.fixture(scope="module")
def scene():
    return generate_scene(SEED)


def _corners(mesh) -> np.ndarray:
    """Triangle corner coordinates, sorted: equal for two meshes that differ only in vertex indexing."""
    c = mesh.vertices[mesh.triangles].reshape(-1, 9).astype(np.float64)
    return c[np.lexsort(c.T[::-1])]


def _rect_iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


# -- round trips ---------------------------------------------------------------------------------


def test_glb_round_trip(scene, tmp_path):
    # Our own GLB: the node extras give exact materials, prompts, groups and flags.
    path = tmp_path / "apartment.glb"
    path.write_bytes(scene_to_glb_bytes(scene))
    out = import_scene(path)

    assert out.source["rooms"] == "extras" and out.source["readers"] == {"gltf": "trimesh"}
    assert out.source["warnings"] == []
    assert len(out.objects) == len(scene.objects)
    assert [o.instance_id for o in out.objects] == list(range(1, len(scene.objects) + 1))
    for a, b in zip(scene.objects, out.objects):
        assert b.name == a.name and b.label == a.label and b.room_id == a.room_id
        assert b.mesh.num_triangles == a.mesh.num_triangles
        np.testing.assert_array_equal(b.mesh.triangles, a.mesh.triangles)
        np.testing.assert_allclose(b.mesh.vertices, a.mesh.vertices, atol=1e-5)
        ma, mb = a.material, b.material
        assert mb.base_color == ma.base_color and mb.emission == ma.emission, a.name
        assert mb.roughness == ma.roughness and mb.metallic == ma.metallic, a.name
        assert mb.kind == ma.kind and mb.color_name == ma.color_name, a.name
        assert mb == ma, a.name  # name, texture key and specular too
        assert b.prompt == a.prompt and b.group == a.group and b.structural == a.structural
        if ma.texture is not None:
            np.testing.assert_array_equal(out.textures[mb.texture], scene.textures[ma.texture])
            np.testing.assert_allclose(b.mesh.uvs, a.mesh.uvs, atol=1e-6)
    assert {r.room_id for r in out.rooms} == {r.room_id for r in scene.rooms}
    # Room polygons come from the segmentation matched to the extras' room ids.
    for r in scene.rooms:
        assert _rect_iou(r.bounds, out.room(r.room_id).bounds) > 0.8
    # Every emissive object (the ceiling lights) becomes an area light with the generator's
    # intensity, and nothing else does.
    area = {lt.object_id: lt for lt in scene.lights if lt.kind == "area"}
    emissive = [o.instance_id for o in out.objects if o.material.is_emissive]
    assert emissive and sorted(area) == emissive == sorted(lt.object_id for lt in out.lights)
    for lt in out.lights:
        assert lt.kind == "area" and lt.room_id == area[lt.object_id].room_id
        assert lt.intensity == area[lt.object_id].intensity
        np.testing.assert_allclose(lt.color, area[lt.object_id].color, atol=1e-6)  # the generator rounds colours
        # Radiance = colour × intensity is the material's emission (to float rounding: an exact
        # product is not representable for every emission).
        np.testing.assert_allclose(np.multiply(lt.color, lt.intensity), out.objects[lt.object_id - 1].material.emission,
                                   rtol=2 ** -52, atol=0)


def test_foreign_glb_materials_through_8bit_factors(scene, tmp_path):
    # The same GLB without our extras: materials come from the glTF factors (8-bit base colours;
    # the emissive factor is the colour normalised to max 1, the strength is lost).
    path = tmp_path / "foreign.glb"

    def strip_extras(doc):
        _our_extras(doc)
        del doc["scenes"][0]["extras"]

    path.write_bytes(_edit_glb_json(scene_to_glb_bytes(scene), strip_extras))
    out = import_scene(path, rooms="single")

    assert len(out.objects) == len(scene.objects)
    assert [o.name for o in out.objects] == [node_name(o) for o in scene.objects]
    assert [o.label for o in out.objects] == [o.label for o in scene.objects]  # from the node names
    for a, b in zip(scene.objects, out.objects):
        ma, mb = a.material, b.material
        np.testing.assert_allclose(mb.base_color, ma.base_color, atol=TOL8)
        assert abs(mb.roughness - ma.roughness) <= TOL8 and abs(mb.metallic - ma.metallic) <= TOL8
        assert (mb.transmission, mb.ior, mb.thin) == (ma.transmission, ma.ior, ma.thin)  # KHR_materials_*
        assert b.structural == a.structural and b.prompt  # local prompt from the imported material
        assert (mb.texture is None) == (ma.texture is None), a.name
        if ma.texture is not None:
            np.testing.assert_array_equal(out.textures[mb.texture], scene.textures[ma.texture])
        assert mb.is_emissive == ma.is_emissive
        if ma.is_emissive:
            assert mb.kind == "emissive" and max(mb.emission) == pytest.approx(1.0, abs=TOL8)
            np.testing.assert_allclose(mb.emission, np.divide(ma.emission, max(ma.emission)), atol=TOL8)
    assert sorted(lt.object_id for lt in out.lights) == [o.instance_id for o in out.objects if o.material.is_emissive]


def _edit_glb_json(data: bytes, edit) -> bytes:
    """The GLB with ``edit`` applied to its JSON chunk (the binary chunk kept)."""
    (json_len,) = struct.unpack_from("<I", data, 12)
    doc = json.loads(data[20:20 + json_len])
    edit(doc)
    (bin_len,) = struct.unpack_from("<I", data, 20 + json_len)
    return _glb(doc, data[28 + json_len:28 + json_len + bin_len])


def _our_extras(doc: dict) -> dict:
    extras = doc["scenes"][0]["extras"]["extras"]  # trimesh nests the scene metadata
    assert extras["generator"] == "interiorvideo"
    return extras


def test_glb_with_unusable_material_extras_falls_back_to_8bit(scene, tmp_path):
    broken = node_name(scene.objects[0])
    path = tmp_path / "apartment.glb"
    path.write_bytes(_edit_glb_json(scene_to_glb_bytes(scene),
                                    lambda doc: _our_extras(doc)["instances"][broken].update(material="oak")))
    out = import_scene(path)
    assert any(broken in w and "8-bit" in w for w in out.source["warnings"])
    a, b = scene.objects[0], out.objects[0]
    np.testing.assert_allclose(b.material.base_color, a.material.base_color, atol=TOL8)
    assert b.label == a.label and b.prompt == a.prompt  # the rest of the extras still count
    # The others stay exact; only the key of the texture they share with the broken one may
    # differ, as the first material to use a texture names it.
    for a, b in zip(scene.objects[1:], out.objects[1:]):
        assert replace(b.material, texture=None) == replace(a.material, texture=None), a.name


def test_scene_folder_glb_reads_exact_scene_json(scene, tmp_path):
    folder = save_scene(scene, tmp_path / "scene", floorplan=False)
    out = import_scene(folder / "scene.glb")
    assert [o.material for o in out.objects] == [o.material for o in scene.objects]
    assert [o.prompt for o in out.objects] == [o.prompt for o in scene.objects]
    assert len(out.lights) == len(scene.lights) and out.seed == scene.seed


def test_obj_round_trip(scene, tmp_path):
    path = export_obj(scene, tmp_path / "apartment.obj")
    assert path.is_file() and (tmp_path / "apartment.mtl").is_file()
    assert list(tmp_path.glob("*.png"))  # textures beside the MTL
    text = path.read_text()
    assert text.count("\no ") == len(scene.objects)
    assert all(f"o {node_name(o)}\n" in text for o in scene.objects)

    out = import_scene(path, up="y")
    assert len(out.objects) == len(scene.objects)
    for a, b in zip(scene.objects, out.objects):
        assert b.label == a.label and b.name == a.name and b.room_id == a.room_id
        assert b.mesh.num_triangles == a.mesh.num_triangles
        np.testing.assert_allclose(_corners(b.mesh), _corners(a.mesh), atol=1e-5)
        ma, mb = a.material, b.material
        np.testing.assert_allclose(mb.base_color, ma.base_color, atol=TOL8)
        assert mb.roughness == pytest.approx(ma.roughness, abs=1e-5)
        assert mb.metallic == pytest.approx(ma.metallic, abs=1e-5)
        np.testing.assert_allclose(mb.emission, ma.emission, rtol=1e-5)  # Ke keeps full radiance
        assert (mb.texture is None) == (ma.texture is None), a.name
        if ma.texture is not None:
            np.testing.assert_array_equal(out.textures[mb.texture], scene.textures[ma.texture])
    assert len(out.materials()) == len(scene.materials())


def test_obj_without_extras_labels_from_object_names(scene, tmp_path):
    path = export_obj(scene, tmp_path / "apartment.obj")
    text = "\n".join(line for line in path.read_text().splitlines() if not line.startswith("#"))
    path.write_text(text)
    out = import_scene(path, rooms="single")
    assert [o.label for o in out.objects] == [o.label for o in scene.objects]
    assert [o.structural for o in out.objects] == [o.structural for o in scene.objects]
    assert [o.name for o in out.objects] == [node_name(o) for o in scene.objects]


# -- rooms ---------------------------------------------------------------------------------------


def test_floor_split_recovers_generated_rooms(scene, tmp_path):
    # One GLB without our extras and with meaningless node names: only geometry to go on.
    bare = trimesh.Scene()
    for k, obj in enumerate(scene.objects):
        tm = trimesh.Trimesh(z_up_to_y_up(obj.mesh.vertices), obj.mesh.triangles, process=False)
        bare.add_geometry(tm, node_name=f"part{k:04d}", geom_name=f"part{k:04d}")
    path = tmp_path / "bare.glb"
    path.write_bytes(bare.export(file_type="glb"))

    out = import_scene(path, rooms="floor-split")
    assert out.source["rooms"] == "floor-split"
    assert import_scene(path).source["rooms"] == "floor-split"  # the default for a foreign file
    assert len(out.rooms) == len(scene.rooms)
    match = {}
    for r in scene.rooms:
        best = max(out.rooms, key=lambda q: _rect_iou(r.bounds, q.bounds))
        assert _rect_iou(r.bounds, best.bounds) > 0.8, (r.room_id, r.bounds, best.bounds)
        match[r.room_id] = best.room_id
        assert best.floor_z == pytest.approx(r.floor_z, abs=0.02)
        assert best.ceiling_z == pytest.approx(r.ceiling_z, abs=0.02)
    assert len(set(match.values())) == len(scene.rooms)
    # Objects land in the room matching their generated room (walls and window frames included).
    agree = np.mean([match[a.room_id] == b.room_id for a, b in zip(scene.objects, out.objects)])
    assert agree >= 0.95


def _write_ply_box(path, color, size=(1.0, 2.0, 0.5), offset=(0.0, 0.0, 0.0)):
    box = o3d.geometry.TriangleMesh.create_box(*size)
    box.translate(offset)
    box.vertex_colors = o3d.utility.Vector3dVector(np.tile(np.asarray(color, dtype=np.float64), (8, 1)))
    assert o3d.io.write_triangle_mesh(str(path), box, write_ascii=True)
    return np.asarray(box.vertices), np.asarray(box.triangles)


def test_ply_box_with_vertex_colours(tmp_path):
    color = (200 / 255, 100 / 255, 50 / 255)
    verts, tris = _write_ply_box(tmp_path / "crate.ply", color)
    out = import_scene(tmp_path / "crate.ply")
    assert out.source["readers"] == {"ply": "open3d"}
    assert len(out.objects) == 1
    obj = out.objects[0]
    assert obj.instance_id == 1 and obj.label == "crate" and obj.mesh.num_triangles == len(tris)
    np.testing.assert_allclose(obj.material.base_color, srgb_to_linear(color), atol=1e-3)
    np.testing.assert_allclose(obj.mesh.vertices, y_up_to_z_up(verts), atol=1e-6)  # Y-up by default
    kept = import_scene(tmp_path / "crate.ply", up="z")
    np.testing.assert_allclose(kept.objects[0].mesh.vertices, verts, atol=1e-6)


def test_per_file_rooms(tmp_path):
    _write_ply_box(tmp_path / "a.ply", (0.5, 0.5, 0.5), size=(2.0, 1.0, 3.0))
    _write_ply_box(tmp_path / "b.ply", (0.2, 0.4, 0.6), size=(1.0, 1.0, 1.0), offset=(5.0, 0.0, 0.0))
    out = import_scene([tmp_path / "a.ply", tmp_path / "b.ply"], up="z", name="two")
    assert out.name == "two" and out.source["rooms"] == "per-file"
    assert [o.room_id for o in out.objects] == [0, 1] and [r.room_id for r in out.rooms] == [0, 1]
    assert out.rooms[0].bounds == pytest.approx((0.0, 0.0, 2.0, 1.0))
    assert (out.rooms[0].floor_z, out.rooms[0].ceiling_z) == pytest.approx((0.0, 3.0))
    assert out.rooms[1].bounds == pytest.approx((5.0, 0.0, 6.0, 1.0))
    assert [o.name for o in out.objects] == ["a", "b"]


# -- hand-made files ---------------------------------------------------------------------------


def _glb(doc: dict, binary: bytes) -> bytes:
    js = json.dumps(doc).encode()
    js += b" " * (-len(js) % 4)
    binary += b"\0" * (-len(binary) % 4)
    total = 12 + 8 + len(js) + 8 + len(binary)
    return (struct.pack("<4sII", b"glTF", 2, total) + struct.pack("<II", len(js), 0x4E4F534A) + js
            + struct.pack("<II", len(binary), 0x004E4942) + binary)

def triangle_glb(path, names: list[str], materials: list[dict], extensions: list[str] = ()) -> None:
    """A GLB of one triangle node per material (node i named names[i], 2 m apart along x): the
    writer the material-extension tests share."""
    tri = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], dtype=np.float32)
    binary = tri.tobytes() + np.array([0, 1, 2], dtype=np.uint16).tobytes()
    n = len(names)
    doc = {
        "asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": list(range(n))}],
        "extensionsUsed": list(extensions),
        "nodes": [{"name": nm, "mesh": i, "translation": [2.0 * i, 0, 0]} for i, nm in enumerate(names)],
        "meshes": [{"name": f"M{i}", "primitives": [{"attributes": {"POSITION": 0}, "indices": 1, "material": i}]}
                   for i in range(n)],
        "materials": materials,
        "buffers": [{"byteLength": len(binary) + (-len(binary) % 4)}],
        "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": 36},
                        {"buffer": 0, "byteOffset": 36, "byteLength": 6}],
        "accessors": [{"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3",
                       "min": [0, 0, 0], "max": [1, 1, 0]},
                      {"bufferView": 1, "componentType": 5123, "count": 3, "type": "SCALAR"}],
    }
    path.write_bytes(_glb(doc, binary))



def test_gltf_transforms_multi_primitive_meshes_and_pbr(tmp_path):
    tri = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], dtype=np.float32)
    idx = np.array([0, 1, 2], dtype=np.uint16)
    binary = tri.tobytes() + idx.tobytes()
    doc = {
        "asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": [0]}],
        "extensionsUsed": ["KHR_materials_emissive_strength"],
        "nodes": [{"name": "Table.001", "mesh": 0, "translation": [1, 2, 3], "children": [1]},
                  {"name": "Lamp", "mesh": 1, "translation": [0, 1, 0]}],
        "meshes": [{"name": "TableMesh", "primitives": [{"attributes": {"POSITION": 0}, "indices": 1, "material": 0},
                                                        {"attributes": {"POSITION": 0}, "indices": 1, "material": 1}]},
                   {"name": "LampMesh", "primitives": [{"attributes": {"POSITION": 0}, "indices": 1, "material": 2}]}],
        "materials": [
            {"name": "Oak", "pbrMetallicRoughness": {"baseColorFactor": [0.5, 0.3, 0.1, 1], "metallicFactor": 0.0,
                                                     "roughnessFactor": 0.7}},
            {"name": "Steel", "pbrMetallicRoughness": {"baseColorFactor": [0.6, 0.6, 0.6, 1], "metallicFactor": 1.0,
                                                       "roughnessFactor": 0.3}},
            {"name": "Bulb", "pbrMetallicRoughness": {"metallicFactor": 0.0}, "emissiveFactor": [1.0, 0.9, 0.8],
             "extensions": {"KHR_materials_emissive_strength": {"emissiveStrength": 5.0}}},
        ],
        "buffers": [{"byteLength": len(binary) + (-len(binary) % 4)}],
        "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": 36},
                        {"buffer": 0, "byteOffset": 36, "byteLength": 6}],
        "accessors": [{"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3",
                       "min": [0, 0, 0], "max": [1, 1, 0]},
                      {"bufferView": 1, "componentType": 5123, "count": 3, "type": "SCALAR"}],
    }
    path = tmp_path / "furniture.glb"
    path.write_bytes(_glb(doc, binary))
    out = import_scene(path, rooms="single")

    assert [o.name for o in out.objects] == ["Table.001_0", "Table.001_1", "Lamp"]
    assert [o.label for o in out.objects] == ["table", "table", "lamp"]
    assert [o.instance_id for o in out.objects] == [1, 2, 3]
    assert out.objects[0].group == out.objects[1].group == "Table.001"
    np.testing.assert_allclose(out.objects[0].mesh.vertices, y_up_to_z_up(tri + [1, 2, 3]), atol=1e-6)
    np.testing.assert_allclose(out.objects[2].mesh.vertices, y_up_to_z_up(tri + [1, 3, 3]), atol=1e-6)
    oak, steel, bulb = (o.material for o in out.objects)
    assert (oak.name, oak.kind, oak.metallic) == ("Oak", "wood", 0.0) and oak.roughness == pytest.approx(0.7)
    np.testing.assert_allclose(oak.base_color, (0.5, 0.3, 0.1), atol=TOL8)
    assert (steel.kind, steel.metallic) == ("metal", 1.0) and steel.roughness == pytest.approx(0.3)
    assert bulb.kind == "emissive"
    np.testing.assert_allclose(bulb.emission, (5.0, 4.5, 4.0), rtol=1e-6)
    (light,) = out.lights
    assert (light.kind, light.object_id, light.intensity) == ("area", 3, pytest.approx(5.0))
    assert out.objects[0].prompt.endswith("table")


def test_obj_objects_materials_and_mtl_extensions(tmp_path):
    (tmp_path / "set.mtl").write_text(
        "newmtl red\nKd 0.8 0.1 0.1\nPr 0.3\nPm 0.0\n"
        "newmtl chrome\nKd 0.9 0.9 0.9\nPm 1\nNs 900\n"
        "newmtl glow\nKd 1 1 1\nKe 4 4 3\nNs 0\n")
    (tmp_path / "set.obj").write_text(
        "mtllib set.mtl\n"
        "o Chair.001\nv 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nusemtl red\nf 1 2 3\nusemtl chrome\nf 1 2 4\n"
        "o Ceiling_Light\nv 0 2 0\nv 1 2 0\nv 0 2 1\nv 1 2 1\nusemtl glow\nf 5 6 7 8\n"
        "o Chair.002\nusemtl red\nf 1 2 3\n")
    out = import_scene(tmp_path / "set.obj", rooms="single")
    assert [o.name for o in out.objects] == ["Chair.001_red", "Chair.001_chrome", "Ceiling_Light", "Chair.002"]
    assert [o.label for o in out.objects] == ["chair", "chair", "ceiling light", "chair"]
    red, chrome, glow, red2 = (o.material for o in out.objects)
    assert red is red2 and red.roughness == pytest.approx(0.3) and red.kind == "paint"
    np.testing.assert_allclose(red.base_color, (0.8, 0.1, 0.1))
    # Ns 900: GGX α = √(2/902) (the Phong lobe's width, Walter et al. 2007), roughness = √α.
    assert chrome.kind == "metal" and chrome.metallic == 1.0 and chrome.roughness == pytest.approx((2 / 902) ** 0.25)
    assert glow.kind == "emissive" and glow.roughness == pytest.approx(1.0)  # Ns 0
    assert out.objects[2].mesh.num_triangles == 2  # the quad, triangulated
    assert [lt.object_id for lt in out.lights] == [3] and out.lights[0].intensity == pytest.approx(4.0)


@pytest.mark.parametrize(("name", "expected"), [
    ("Chair.001", "chair"), ("room1_table-lamp_0_lampshade", "lampshade"), ("SM_OfficeChair_02", "office chair"),
    ("00003_room0_wall_south", "wall"), ("room0_window1", "window"), ("Sofa_Fabric", "sofa"), ("mesh_0", ""),
])
def test_label_from_name(name, expected):
    assert label_from_name(name) == expected


# -- errors --------------------------------------------------------------------------------------


def _zero_triangle_ply(path):
    m = o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(np.random.default_rng(0).random((5, 3))),
                                  o3d.utility.Vector3iVector(np.zeros((0, 3), dtype=np.int32)))
    assert o3d.io.write_triangle_mesh(str(path), m, write_ascii=True)


@pytest.mark.parametrize(("file_name", "make", "message"), [
    ("nowhere.glb", None, "not found"),
    ("points.xyz", lambda p: p.write_text("0 0 0\n"), "unsupported"),
    ("empty.glb", lambda p: p.write_bytes(b""), "empty"),
    ("truncated.glb", lambda p: p.write_bytes(b"glTF\x02\x00\x00\x00"), "not a valid glTF"),
    ("garbage.obj", lambda p: p.write_bytes(b"\x00\x01 not an obj\nfoo bar baz\n"), "no triangles"),
    ("nan.obj", lambda p: p.write_text("o Bad\nv 0 0 0\nv 1 0 0\nv nan 1 0\nf 1 2 3\n"), "'Bad'"),
    ("index.obj", lambda p: p.write_text("o Thing\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 9\n"), "does not exist"),
    ("corrupt.ply", lambda p: p.write_bytes(b"not a ply at all"), "cannot read"),
    ("cloud.ply", _zero_triangle_ply, "no triangles"),
])
def test_bad_input_raises_scene_import_error_naming_the_file(tmp_path, file_name, make, message):
    path = tmp_path / file_name
    if make is not None:
        make(path)
    with pytest.raises(SceneImportError) as info:
        import_scene(path)
    assert file_name in str(info.value) and message in str(info.value)
    assert isinstance(info.value, ValueError)


def test_gltf_transmission_ior_and_volume(tmp_path):
    """KHR_materials_transmission (+ _ior, + _volume) → Material.transmission / ior / thin: a
    window without a volume is thin-walled, a vase with one is solid; no extension, no glass."""
    mats = [
        {"name": "Pane", "extensions": {"KHR_materials_transmission": {"transmissionFactor": 1.0}}},
        {"name": "Vase", "pbrMetallicRoughness": {"roughnessFactor": 0.3},
         "extensions": {"KHR_materials_transmission": {"transmissionFactor": 0.8}, "KHR_materials_ior": {"ior": 1.33},
                        "KHR_materials_volume": {"thicknessFactor": 0.1}}},
        {"name": "Oak", "pbrMetallicRoughness": {"baseColorFactor": [0.5, 0.3, 0.1, 1], "metallicFactor": 0.0}},
    ]
    path = tmp_path / "glass.glb"
    triangle_glb(path, ["Window", "Vase", "Shelf"], mats,
                 ["KHR_materials_transmission", "KHR_materials_ior", "KHR_materials_volume"])
    pane, vase, oak = (o.material for o in import_scene(path, rooms="single").objects)
    assert (pane.transmission, pane.ior, pane.thin) == (1.0, 1.5, True)
    assert (vase.transmission, vase.ior, vase.thin) == (pytest.approx(0.8), pytest.approx(1.33), False)
    assert (oak.transmission, oak.thin) == (0.0, True)


def test_mtl_glass_illum_models(tmp_path):
    """MTL glass: illum 4 a thin pane (tint Tf), illum 7 solid refracting glass with ior Ni and
    transmission 1 − d (black Kd → white tint); d < 1 under illum 2 is a fade, not glass."""
    (tmp_path / "a.obj").write_text(
        "mtllib a.mtl\nv 0 0 0\nv 1 0 0\nv 1 0 1\nv 0 0 1\nv 0 1 0\nv 1 1 0\nv 0 1 1\n"
        "o Window\nusemtl pane\nf 1 2 3\no Bottle\nusemtl bottle\nf 1 3 4\no Box\nusemtl faded\nf 5 6 7\n")
    (tmp_path / "a.mtl").write_text(
        "newmtl pane\nKd 0.5 0.5 0.5\nTf 0.9 0.95 0.9\nillum 4\n"
        "newmtl bottle\nKd 0 0 0\nNi 1.45\nd 0.1\nillum 7\n"
        "newmtl faded\nKd 0.5 0.2 0.2\nd 0.5\nillum 2\n")
    mats = {o.name: o.material for o in import_scene(tmp_path / "a.obj", rooms="single", up="z").objects}
    pane, bottle, faded = mats["Window"], mats["Bottle"], mats["Box"]
    assert (pane.transmission, pane.ior, pane.thin) == (1.0, 1.5, True)
    np.testing.assert_allclose(pane.base_color, (0.9, 0.95, 0.9), atol=1e-6)
    assert (bottle.transmission, bottle.ior, bottle.thin) == (pytest.approx(0.9), pytest.approx(1.45), False)
    assert bottle.base_color == (1.0, 1.0, 1.0)
    assert faded.transmission == 0.0
