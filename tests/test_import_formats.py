"""Format details the scene importers must get right, each on a small hand-written file:
OBJ relative (negative) indices and tab separators, MTL Phong parameters (``Ks``/``Ns``/``illum``,
``Pr``/``Pm``) mapped to PBR, Draco-compressed GLB (``KHR_draco_mesh_compression``) and glTF
``KHR_lights_punctual`` point, spot and directional lights; and the real files in
tests/fixtures/scenes that have these quirks.
"""
from __future__ import annotations

import json
import os
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image
from test_importers import _glb  # the GLB container writer the importer tests share

from interiorvideo.scene.importers import SceneImportError, export_obj, import_scene
from interiorvideo.scene.io import y_up_to_z_up

# -- OBJ geometry ----------------------------------------------------------------------------


def test_obj_negative_indices_refer_to_each_objects_own_vertices(tmp_path):
    # `f -4 -3 -2 -1` means the last four vertices read so far, not the file's last four.
    (tmp_path / "rel.obj").write_text(
        "o First\nv 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\n"
        "f -4/-4 -3/-3 -2/-2 -1/-1\n"
        "o Second\nv 5 0 0\nv 6 0 0\nv 6 2 0\nf -3 -2 -1\n"
        "o Third\nv 9 0 0\nv 9 1 0\nv 9 1 1\nf -3 -2 -1\n")
    out = import_scene(tmp_path / "rel.obj", up="z", rooms="single")
    assert [o.name for o in out.objects] == ["First", "Second", "Third"]
    first, second, third = (o.mesh for o in out.objects)
    assert first.num_triangles == 2 and second.num_triangles == 1 and third.num_triangles == 1
    np.testing.assert_allclose(np.sort(first.vertices, axis=0)[[0, -1]], [[0, 0, 0], [1, 1, 0]])
    np.testing.assert_allclose(second.vertices[second.triangles[0]], [[5, 0, 0], [6, 0, 0], [6, 2, 0]])
    np.testing.assert_allclose(third.vertices[third.triangles[0]], [[9, 0, 0], [9, 1, 0], [9, 1, 1]])


def test_obj_tab_separated_lines(tmp_path):
    (tmp_path / "tabs.obj").write_text(
        "o\tShelf\nv\t0\t0\t0\nv\t2 0 0\nv 2\t1 0\nv\t0 1\t0\nf\t1 2 3\nf 1\t3\t4\n")
    out = import_scene(tmp_path / "tabs.obj", up="z", rooms="single")
    (shelf,) = out.objects
    assert shelf.name == "Shelf" and shelf.mesh.num_triangles == 2
    np.testing.assert_allclose(np.sort(shelf.mesh.vertices, axis=0)[[0, -1]], [[0, 0, 0], [2, 1, 0]])


def test_obj_groups_inside_an_object_stay_that_object(tmp_path):
    # `g` inside `o` names parts of one object: the object stays one instance, as before.
    (tmp_path / "og.obj").write_text(
        "o Desk\nv 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\ng top\nf 1 2 3\ng leg\nf 1 2 4\n"
        "o Lamp\ng shade\nf 2 3 4\n")
    out = import_scene(tmp_path / "og.obj", up="z", rooms="single")
    assert [o.name for o in out.objects] == ["Desk", "Lamp"]
    assert [o.mesh.num_triangles for o in out.objects] == [2, 1]


def test_obj_out_of_range_index_names_file_and_mesh(tmp_path):
    (tmp_path / "bad.obj").write_text("o Stool\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf -1 -2 -4\n")
    with pytest.raises(SceneImportError) as info:
        import_scene(tmp_path / "bad.obj")
    msg = str(info.value)
    assert "bad.obj" in msg and "'Stool'" in msg and "does not exist" in msg and "Line 5" in msg


# -- MTL → PBR ------------------------------------------------------------------------------

MTL = """\
newmtl lambert
Kd 0.6 0.6 0.6
Ks 0 0 0
Ns 10
illum 2
newmtl plastic
Kd 0.8 0.1 0.1
Ks 0.25 0.25 0.25
Ns 100
illum 2
newmtl lacquer
Kd 0.02 0.02 0.02
Ks 0.5 0.5 0.5
Ns 300
illum 2
newmtl gold
Kd 0.1 0.08 0.02
Ks 0.9 0.7 0.3
Ns 500
illum 2
newmtl mirror
Kd 0 0 0
Ks 1 1 1
Ns 1000
illum 3
newmtl chalk
Kd 0.9 0.9 0.9
Ks 0.5 0.5 0.5
Ns 50
illum 1
newmtl pbr
Kd 0.5 0.5 0.5
Ks 0.5 0.5 0.5
Ns 10
Pr 0.3
Pm 0.7
"""


def _phong_roughness(ns: float) -> float:
    """GGX α = √(2/(Ns+2)) (Walter et al. 2007), and perceptual roughness = √α."""
    return (2.0 / (ns + 2.0)) ** 0.25


def _write_phong(folder):
    """One triangle object ``<material>_block`` per material of MTL, each with relative indices."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "phong.mtl").write_text(MTL)
    names = [line.split()[1] for line in MTL.splitlines() if line.startswith("newmtl")]
    lines = ["mtllib phong.mtl"]
    for k, name in enumerate(names):
        lines += [f"o {name}_block", f"v {2 * k} 0 0", f"v {2 * k + 1} 0 0", f"v {2 * k} 1 0",
                  f"usemtl {name}", "f -3 -2 -1"]
    (folder / "phong.obj").write_text("\n".join(lines) + "\n")
    return folder / "phong.obj"


def _mtl_scene(tmp_path):
    out = import_scene(_write_phong(tmp_path), up="z", rooms="single")
    return {o.name.removesuffix("_block"): o.material for o in out.objects}


def test_mtl_phong_parameters_map_to_pbr(tmp_path):
    m = _mtl_scene(tmp_path)
    # Ks = 0: no specular lobe at all (Lambertian); Ns only sets the (unused) roughness.
    assert (m["lambert"].specular, m["lambert"].metallic) == (0.0, 0.0)
    assert m["lambert"].roughness == pytest.approx(_phong_roughness(10))
    # A white Ks: a dielectric whose specular factor is 2·mean(Ks) (Ks 0.5 ↔ F0 = 4 %, Blender).
    assert (m["plastic"].specular, m["plastic"].metallic) == (pytest.approx(0.5), 0.0)
    np.testing.assert_allclose(m["plastic"].base_color, (0.8, 0.1, 0.1))
    assert m["plastic"].roughness == pytest.approx(_phong_roughness(100))
    # Black lacquer: a white highlight on a dark diffuse stays a dielectric.
    assert (m["lacquer"].specular, m["lacquer"].metallic) == (pytest.approx(1.0), 0.0)
    # A coloured Ks much brighter than Kd is a metal whose colour is Ks.
    assert m["gold"].metallic == 1.0
    np.testing.assert_allclose(m["gold"].base_color, (0.9, 0.7, 0.3))
    assert m["gold"].roughness == pytest.approx(_phong_roughness(500))
    # Ks 1 on a black diffuse: a mirror-like metal.
    assert m["mirror"].metallic == 1.0 and m["mirror"].roughness == pytest.approx(_phong_roughness(1000))
    np.testing.assert_allclose(m["mirror"].base_color, (1.0, 1.0, 1.0))
    # illum 1 is the MTL's diffuse-only model: Ks is ignored.
    assert (m["chalk"].specular, m["chalk"].metallic) == (0.0, 0.0)
    # The PBR extension wins over Ns and the metal heuristic.
    assert (m["pbr"].roughness, m["pbr"].metallic) == (pytest.approx(0.3), pytest.approx(0.7))
    assert m["pbr"].specular == pytest.approx(1.0)


def test_mtl_specular_survives_export_and_import(tmp_path):
    first = import_scene(_write_phong(tmp_path / "a"), up="z", rooms="single")
    (tmp_path / "b").mkdir()
    path = export_obj(first, tmp_path / "b" / "again.obj")
    second = import_scene(path, up="z")
    for a, b in zip(first.objects, second.objects):
        assert b.material.specular == pytest.approx(a.material.specular, abs=1e-2), a.name
        assert b.material.roughness == pytest.approx(a.material.roughness, abs=1e-5), a.name
        assert b.material.metallic == pytest.approx(a.material.metallic, abs=1e-5), a.name


# -- Draco GLB ------------------------------------------------------------------------------


def _glb_parts(data: bytes) -> tuple[dict, bytes]:
    n = struct.unpack_from("<I", data, 12)[0]
    return json.loads(data[20:20 + n]), data[20 + n + 8:]


def _draco_crate(path):
    """A textured 1×2×3 box as node 'Crate' (rotated 90° about +Y, moved to (4, 0, -2)) in a GLB
    whose mesh is Draco-compressed by trimesh's exporter through DracoPy's encoder."""
    box = trimesh.creation.box(extents=(1.0, 2.0, 3.0))
    uv = np.random.default_rng(0).random((len(box.vertices), 2))
    tex = Image.fromarray(np.full((4, 4, 3), (200, 120, 40), np.uint8))
    box.visual = trimesh.visual.TextureVisuals(uv=uv, image=tex)
    transform = trimesh.transformations.translation_matrix([4.0, 0.0, -2.0]) @ \
        trimesh.transformations.rotation_matrix(np.pi / 2, [0, 1, 0])
    scene = trimesh.Scene()
    scene.add_geometry(box, node_name="Crate", geom_name="CrateMesh", transform=transform)
    path.write_bytes(scene.export(file_type="glb", extension_draco=True))
    doc, _ = _glb_parts(path.read_bytes())
    assert "KHR_draco_mesh_compression" in doc["extensionsRequired"]
    world = box.vertices @ transform[:3, :3].T + transform[:3, 3]
    return world, box.faces, uv


def test_draco_glb_decodes_at_the_node_transform(tmp_path):
    world, faces, uv = _draco_crate(tmp_path / "crate.glb")
    out = import_scene(tmp_path / "crate.glb", rooms="single")
    (crate,) = out.objects
    assert crate.name == "Crate" and crate.mesh.num_triangles == len(faces)
    # Draco quantises positions to 14 bits of the 3 m extent: within 1e-3 m.
    got = crate.mesh.vertices[crate.mesh.triangles].reshape(-1, 3)
    want = y_up_to_z_up(world[faces].reshape(-1, 3))
    np.testing.assert_allclose(np.sort(got, axis=0), np.sort(want, axis=0), atol=1e-3)
    assert crate.mesh.uvs is not None and crate.material.texture is not None
    np.testing.assert_allclose(np.sort(crate.mesh.uvs, axis=0), np.sort(uv.astype(np.float32), axis=0), atol=1e-3)


def test_draco_without_a_decoder_is_a_clear_error(tmp_path, monkeypatch):
    _draco_crate(tmp_path / "crate.glb")
    monkeypatch.setitem(sys.modules, "DracoPy", None)  # as if DracoPy were not installed
    with pytest.raises(SceneImportError) as info:
        import_scene(tmp_path / "crate.glb")
    msg = str(info.value)
    assert "crate.glb" in msg and "KHR_draco_mesh_compression" in msg and "DracoPy" in msg


def test_corrupt_draco_data_is_a_clear_error(tmp_path):
    _draco_crate(tmp_path / "crate.glb")
    doc, binary = _glb_parts((tmp_path / "crate.glb").read_bytes())
    view = doc["bufferViews"][doc["meshes"][0]["primitives"][0]["extensions"]["KHR_draco_mesh_compression"]
                              ["bufferView"]]
    start = view.get("byteOffset", 0)
    binary = binary[:start] + bytes(view["byteLength"]) + binary[start + view["byteLength"]:]
    (tmp_path / "broken.glb").write_bytes(_glb(doc, binary))
    with pytest.raises(SceneImportError) as info:
        import_scene(tmp_path / "broken.glb")
    msg = str(info.value)
    assert "broken.glb" in msg and "KHR_draco_mesh_compression" in msg and "CrateMesh" in msg


# -- KHR_lights_punctual ----------------------------------------------------------------------

LIGHT_EFFICACY = 683.0  # lm/W, as Blender's glTF importer (PBR_WATTS_TO_LUMENS)


def _quat_matrix(xyzw) -> np.ndarray:
    x, y, z, w = xyzw
    return trimesh.transformations.quaternion_matrix([w, x, y, z])[:3, :3]


def _lit_room(path):
    """A floor slab plus a point light under a moved parent, a rotated spot with its own cone and
    one with the default cone, and a rotated directional light (glTF +Y up)."""
    scene = trimesh.Scene()
    scene.add_geometry(trimesh.creation.box(extents=(4.0, 0.1, 4.0)), node_name="Floor", geom_name="FloorMesh")
    doc, binary = _glb_parts(scene.export(file_type="glb"))
    q_spot = (np.sin(-np.pi / 4) * np.array([1, 0, 0]) * 1.0).tolist() + [np.cos(-np.pi / 4)]  # −90° about X
    axis = np.array([1.0, 2.0, -0.5]) / np.linalg.norm([1.0, 2.0, -0.5])
    q_tilt = (np.sin(0.35) * axis).tolist() + [np.cos(0.35)]  # 40° about an oblique axis
    q_sun = (np.sin(-0.6) * np.array([1.0, 0.0, 0.0])).tolist() + [np.cos(-0.6)]
    n0 = len(doc["nodes"])
    doc["nodes"] += [
        {"name": "Rig", "translation": [1.0, 0.5, -1.0], "children": [n0 + 1]},
        {"name": "Bulb", "translation": [0.0, 2.0, 0.0], "extensions": {"KHR_lights_punctual": {"light": 0}}},
        {"name": "Downlight", "translation": [1.5, 2.4, 0.5], "rotation": q_spot,
         "extensions": {"KHR_lights_punctual": {"light": 1}}},
        {"translation": [-1.0, 2.0, 1.0], "rotation": q_tilt, "extensions": {"KHR_lights_punctual": {"light": 2}}},
        {"name": "SunNode", "rotation": q_sun, "extensions": {"KHR_lights_punctual": {"light": 3}}},
    ]
    doc["scenes"][0]["nodes"] += [n0, n0 + 2, n0 + 3, n0 + 4]
    doc["extensionsUsed"] = ["KHR_lights_punctual"]
    doc["extensions"] = {"KHR_lights_punctual": {"lights": [
        {"name": "bulb", "type": "point", "color": [1.0, 0.5, 0.25], "intensity": 683.0, "range": 12.0},
        {"name": "down", "type": "spot", "intensity": 1366.0,
         "spot": {"innerConeAngle": 0.2, "outerConeAngle": 0.5}},
        {"type": "spot"},
        {"name": "sun", "type": "directional", "intensity": 6830.0},
    ]}}
    path.write_bytes(_glb(doc, binary))
    return q_spot, q_tilt, q_sun


def test_gltf_punctual_lights(tmp_path):
    q_spot, q_tilt, q_sun = _lit_room(tmp_path / "lit.glb")
    out = import_scene(tmp_path / "lit.glb", rooms="single")
    lights = [lt for lt in out.lights if lt.kind != "area"]
    assert [lt.kind for lt in lights] == ["point", "spot", "spot", "sun"]
    bulb, down, default, sun = lights

    def z_up(v):
        return y_up_to_z_up(np.asarray(v, dtype=np.float64)[None])[0]

    # Point: at the parent's translation plus its own; intensity candela / 683 → W/sr.
    np.testing.assert_allclose(bulb.position, z_up([1.0, 2.5, -1.0]), atol=1e-6)
    np.testing.assert_allclose(bulb.color, (1.0, 0.5, 0.25))
    assert bulb.intensity == pytest.approx(683.0 / LIGHT_EFFICACY)
    # Spot: shines down the node's local −Z; cone half-angles in degrees.
    np.testing.assert_allclose(down.position, z_up([1.5, 2.4, 0.5]), atol=1e-6)
    np.testing.assert_allclose(down.direction, z_up(_quat_matrix(q_spot) @ [0, 0, -1]), atol=1e-6)
    np.testing.assert_allclose(down.direction, (0.0, 0.0, -1.0), atol=1e-6)  # straight down in Z-up
    assert down.cone_deg == pytest.approx((np.degrees(0.2), np.degrees(0.5)))
    assert down.intensity == pytest.approx(2.0)
    # glTF defaults: inner 0, outer π/4, intensity 1 cd, white.
    np.testing.assert_allclose(default.direction, z_up(_quat_matrix(q_tilt) @ [0, 0, -1]), atol=1e-6)
    assert default.cone_deg == pytest.approx((0.0, 45.0))
    assert default.intensity == pytest.approx(1.0 / LIGHT_EFFICACY) and default.color == (1.0, 1.0, 1.0)
    # Directional → sun: direction points towards the sun (the node's local +Z); lux / 683 → W/m².
    np.testing.assert_allclose(sun.direction, z_up(_quat_matrix(q_sun) @ [0, 0, 1]), atol=1e-6)
    assert sun.intensity == pytest.approx(10.0) and sun.position is None
    # The original photometric values and the ignored range are stated.
    warnings = " ".join(out.source["warnings"])
    assert "683 cd" in warnings and "6830 lx" in warnings and "range" in warnings and "lit.glb" in warnings
    assert len({lt.name for lt in out.lights}) == len(out.lights)


# -- real files --------------------------------------------------------------------------
# Public scenes this repository may not hold (SOURCE.md beside each says where from): looked up in
# tests/fixtures/scenes, then in X2V_REAL_SCENES or ../shared/scenes as tests/test_import_real.py
# does, else skipped.

FIXTURES = Path(__file__).parent / "fixtures" / "scenes"
SHARED = Path(os.environ.get("X2V_REAL_SCENES", Path(__file__).resolve().parents[2] / "shared" / "scenes"))


def _fixture(rel: str) -> Path:
    for root in (FIXTURES, SHARED):
        if (root / rel).is_file():
            return root / rel
    pytest.skip(f"{rel} not present (public data kept outside the repository)")


def test_mcguire_cornell_box_obj(tmp_path):
    # Every face is `f -4 -3 -2 -1`, 48 `v` lines are tab-separated, CRLF line endings.
    out = import_scene(_fixture("cornell_box_mcguire_obj/CornellBox-Original.obj"), up="y", rooms="single")
    assert out.num_triangles == 36 and len(out.objects) == 8
    by_name = {o.name: o for o in out.objects}
    np.testing.assert_allclose(by_name["floor"].mesh.vertices[:, 2], 0.0)  # y = 0 in the file
    np.testing.assert_allclose(by_name["ceiling"].mesh.vertices[:, 2], 1.99, atol=1e-6)
    np.testing.assert_allclose(out.bounds(), [[-1.02, -0.99, 0.0], [1.0, 1.04, 1.99]], atol=1e-6)
    assert all(o.material.specular == 0.0 for o in out.objects)  # Ks 0 0 0 everywhere
    (light,) = out.lights
    assert out.object(light.object_id).material.emission == (17.0, 12.0, 4.0)


def test_draco_bedroom_glb():
    # three.js's Draco example room: rotated, anisotropically scaled nodes over Z-up mesh data.
    out = import_scene(_fixture("bedroom_draco_glb/minimalistic_modern_bedroom.glb"), up="y", rooms="single")
    assert len(out.objects) == 4 and out.num_triangles == 10457
    # SOURCE.md's world bounds (+Y up): (-5.414, -3.094, -4.867)–(5.414, 3.094, 2.997).
    np.testing.assert_allclose(out.bounds(), [[-5.414, -2.997, -3.094], [5.414, 4.867, 3.094]], atol=2e-3)
    assert all(o.mesh.uvs is not None for o in out.objects if o.material.texture is not None)


def test_cornell_box_glb_point_light():
    # Blender's glTF exporter wrote a 10 W point light as 543.51 cd on node 'Point' at (0, 0.30, 0).
    out = import_scene(_fixture("cornell_box_lights_glb/cornellbox_spheres_point_light.glb"), rooms="single")
    (point,) = [lt for lt in out.lights if lt.kind != "area"]
    o = out.source["orientation"][0]
    assert o["up"] == "y"
    np.testing.assert_allclose(point.position, np.array([0.0, 0.0, 0.30]) * o["scale"], atol=1e-3)
    assert point.kind == "point" and point.intensity == pytest.approx(543.51 / LIGHT_EFFICACY, rel=1e-4)
    assert point.intensity == pytest.approx(10.0 / (4 * np.pi), rel=1e-3)  # Blender's 10 W, per steradian


@pytest.mark.parametrize("double_sided", [False, True])
def test_gltf_double_sided_emitters_radiate_both_ways(tmp_path, double_sided):
    """glTF's doubleSided on an emissive material makes the imported emitter two-sided
    (Material.emission_two_sided); a single-sided one keeps radiating from its front only."""
    from trimesh.visual.material import PBRMaterial
    from trimesh.visual.texture import TextureVisuals

    scene = trimesh.Scene()
    scene.add_geometry(trimesh.creation.box(extents=(4.0, 0.1, 4.0)), node_name="Floor", geom_name="FloorMesh")
    panel = trimesh.creation.box(extents=(0.5, 0.02, 0.5))
    panel.apply_translation((0.0, 2.0, 0.0))
    panel.visual = TextureVisuals(material=PBRMaterial(name="glow", emissiveFactor=[1.0, 0.9, 0.8],
                                                      baseColorFactor=[1.0, 1.0, 1.0, 1.0],
                                                      doubleSided=double_sided))
    scene.add_geometry(panel, node_name="Panel", geom_name="PanelMesh")
    (tmp_path / "glow.glb").write_bytes(scene.export(file_type="glb"))
    out = import_scene(tmp_path / "glow.glb", rooms="single")
    emitters = [o for o in out.objects if o.material.is_emissive]
    assert len(emitters) == 1 and emitters[0].material.emission_two_sided is double_sided
    assert not any(o.material.emission_two_sided for o in out.objects if not o.material.is_emissive)


def test_gltf_specular_factor_can_make_an_imported_material_lambertian(tmp_path):
    """KHR_materials_specular's specularFactor is Material.specular: 0 gives a Lambertian surface
    (rgb = albedo · irradiance), 0.4 a weaker coat; without the extension the glTF default 1."""
    from test_importers import triangle_glb

    mats = [{"name": "Matte", "pbrMetallicRoughness": {"metallicFactor": 0.0},
             "extensions": {"KHR_materials_specular": {"specularFactor": 0.0}}},
            {"name": "Satin", "pbrMetallicRoughness": {"metallicFactor": 0.0},
             "extensions": {"KHR_materials_specular": {"specularFactor": 0.4}}},
            {"name": "Plain", "pbrMetallicRoughness": {"metallicFactor": 0.0}}]
    triangle_glb(tmp_path / "spec.glb", ["A", "B", "C"], mats, ["KHR_materials_specular"])
    matte, satin, plain = (o.material for o in import_scene(tmp_path / "spec.glb", rooms="single").objects)
    assert (matte.specular, satin.specular, plain.specular) == (0.0, pytest.approx(0.4), 1.0)
