"""Reference scenes for checking light transport against Mitsuba 3 (issue 16): small closed rooms
whose every surface has a known material, with a camera to look at them.

``cornell_room`` is a Lambertian Cornell-style box: a 3 m closed cube (white floor, ceiling,
front and back walls, red left wall, green right wall), a white diffuse block on the floor and a
square white area light just under the ceiling, facing down. ``Lambertian`` here means metallic 0
and specular factor 0, the case where rgb = albedo · irradiance exactly.

``glossy_room`` is the same room with the block replaced by a rough copper block (metallic 1,
roughness 0.3) and a turned silver mirror block (metallic 1, roughness 0.05), and optionally
glossy dielectric side and back walls (roughness 0.3, specular 1): the scenes that check glossy
and metal transport — reflections at every depth, emitters seen through specular bounces.

``window_room`` is the same room without lamp or block, closed except for a window in the back
wall, lit only by the sky through it (the physical sky by default, or a given HDR map): the scene
that checks environment light (``window_lobe_map`` is a synthetic HDR sky for it).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..trajectory.camera import Trajectory, intrinsics, look_at
from .mesh import Mesh, box_between, sphere
from .model import Light, Material, Opening, Room, Scene, SceneObject, Sky

SIZE = 3.0  # metres: the rooms are cubes
WHITE = (0.7, 0.7, 0.7)
RED = (0.63, 0.065, 0.05)
GREEN = (0.14, 0.45, 0.09)
# Instance ids, so tests and reports can name regions.
FLOOR, CEILING, LEFT_WALL, RIGHT_WALL, FRONT_WALL, BACK_WALL, BLOCK, LAMP, MIRROR = range(1, 10)
REGIONS = {"floor": FLOOR, "left wall": LEFT_WALL, "right wall": RIGHT_WALL, "back wall": BACK_WALL,
           "block": BLOCK}
GLOSSY_REGIONS = {"floor": FLOOR, "left wall": LEFT_WALL, "right wall": RIGHT_WALL, "back wall": BACK_WALL,
                  "metal block": BLOCK, "mirror block": MIRROR}
COPPER = (0.95, 0.64, 0.54)  # F0 of copper (linear RGB)
SILVER = (0.95, 0.93, 0.88)
GLOSSY_WALLS = ("left_wall", "right_wall", "back_wall")


def quad(p0, e1, e2) -> Mesh:
    """A one-sided rectangle; its normal is e1 × e2."""
    p0, e1, e2 = (np.asarray(v, np.float64) for v in (p0, e1, e2))
    return Mesh(np.stack([p0, p0 + e1, p0 + e1 + e2, p0 + e2]), np.array([[0, 1, 2], [0, 2, 3]]))


def _inward(mesh: Mesh) -> Mesh:
    n = mesh.triangle_normals()[0]
    if n @ (np.full(3, SIZE / 2) - mesh.vertices[0]) < 0:
        return Mesh(mesh.vertices, mesh.triangles[:, ::-1])
    return mesh


def lambertian(name: str, color, emission=(0.0, 0.0, 0.0)) -> Material:
    return Material(name, "paint", tuple(float(c) for c in color), 1.0, 0.0, emission=tuple(emission), specular=0.0)


def metal(name: str, color, roughness: float) -> Material:
    return Material(name, "metal", tuple(float(c) for c in color), float(roughness), 1.0)


def glossy(name: str, color, roughness: float = 0.3) -> Material:
    """A glossy dielectric: Lambertian base under a GGX coat with F0 = 0.04 (specular factor 1)."""
    return Material(name, "paint", tuple(float(c) for c in color), float(roughness), 0.0, specular=1.0)


def cornell_room(light_radiance: float = 8.0, colors: dict[str, tuple] | None = None, block: bool = True,
                 extra_lights: tuple[Light, ...] = (), sky: Sky | None = None,
                 materials: dict[str, Material] | None = None) -> Scene:
    """The Lambertian Cornell-style room; ``colors`` overrides surface colours by name (floor,
    ceiling, left_wall, right_wall, front_wall, back_wall, block); ``materials`` overrides whole
    materials by the same names; ``light_radiance`` 0 leaves the ceiling lamp out."""
    s = SIZE
    c = {"floor": WHITE, "ceiling": WHITE, "left_wall": RED, "right_wall": GREEN, "front_wall": WHITE,
         "back_wall": WHITE, "block": WHITE, **(colors or {})}
    faces = [
        ("floor", quad((0, 0, 0), (0, s, 0), (s, 0, 0))), ("ceiling", quad((0, 0, s), (s, 0, 0), (0, s, 0))),
        ("left_wall", quad((0, 0, 0), (0, 0, s), (0, s, 0))), ("right_wall", quad((s, 0, 0), (0, s, 0), (0, 0, s))),
        ("front_wall", quad((0, 0, 0), (s, 0, 0), (0, 0, s))), ("back_wall", quad((0, s, 0), (0, 0, s), (s, 0, 0))),
    ]
    mats = {name: lambertian(f"m_{name}", col) for name, col in c.items()} | (materials or {})
    objs = [SceneObject(i, name, "wall", 0, _inward(mesh), mats[name], structural=True)
            for i, (name, mesh) in enumerate(faces, start=FLOOR)]
    if block:
        objs.append(SceneObject(BLOCK, "block", "box", 0, box_between((1.5, 1.5, 0.0), (2.3, 2.3, 1.1)),
                                mats["block"]))
    lights = list(extra_lights)
    if light_radiance > 0:
        # 0.8 m square, 1 cm under the ceiling, facing down (e1 × e2 = −z).
        lamp = quad((1.1, 1.1, s - 0.01), (0.0, 0.8, 0.0), (0.8, 0.0, 0.0))
        objs.append(SceneObject(LAMP, "lamp", "light", 0, lamp,
                                lambertian("m_lamp", WHITE, emission=(light_radiance,) * 3)))
        lights.append(Light("lamp", "area", (1.0, 1.0, 1.0), light_radiance, object_id=LAMP, room_id=0))
    room = Room(0, "cornell room", ((0, 0), (s, 0), (s, s), (0, s)), 0.0, s, prompt="a Cornell box")
    return Scene("cornell", tuple(objs), tuple(lights), (room,), sky=sky or Sky())


def glossy_room(glossy_walls: bool = False, light_radiance: float = 8.0) -> Scene:
    """The Cornell room with a rough copper block (metallic 1, roughness 0.3) where the white block
    was and a silver mirror block (metallic 1, roughness 0.05) turned 30° in the left half;
    ``glossy_walls`` makes the side and back walls glossy dielectrics (roughness 0.3, specular 1)."""
    mats = {"block": metal("m_copper", COPPER, 0.3)}
    if glossy_walls:
        cols = {"left_wall": RED, "right_wall": GREEN, "back_wall": WHITE}
        mats |= {name: glossy(f"m_{name}", cols[name]) for name in GLOSSY_WALLS}
    room = cornell_room(light_radiance, materials=mats)
    mirror = box_between((-0.3, -0.3, 0.0), (0.3, 0.3, 0.8)).transformed(30.0, (0.85, 1.9, 0.0))
    obj = SceneObject(MIRROR, "mirror", "box", 0, mirror, metal("m_mirror", SILVER, 0.05))
    return Scene("cornell_glossy", room.objects + (obj,), room.lights, room.rooms, sky=room.sky)


def cornell_camera(width: int = 64, height: int = 48, hfov: float = 70.0) -> Trajectory:
    """One frame from near the front wall, looking at the back wall a little downwards: floor,
    both side walls, back wall and block in view, lamp and ceiling not."""
    poses = look_at(np.array([[1.5, 0.25, 1.5]]), np.array([[1.5, 3.0, 1.2]]))
    return Trajectory(intrinsics(width, height, hfov), poses, 24.0, width, height, "cornell", 0, 0)


def glossy_camera(width: int = 64, height: int = 48, hfov: float = 70.0) -> Trajectory:
    """One frame from above the front of the room, looking down at both blocks: floor, side and
    back walls and the blocks' tops and fronts in view, lamp and ceiling not."""
    poses = look_at(np.array([[1.5, 0.3, 2.0]]), np.array([[1.5, 2.6, 0.5]]))
    return Trajectory(intrinsics(width, height, hfov), poses, 24.0, width, height, "cornell_glossy", 0, 0)


# -- sky through a window ---------------------------------------------------------------------------
WINDOW = (0.9, 2.1, 1.0, 2.2)  # the window in the back wall (y = SIZE): x from, x to, z from, z to
WINDOW_SUN = (0.0, 0.8660254, 0.5)  # 30° above the horizon, beyond the window (+y)
WINDOW_REGIONS = {"floor": FLOOR, "left wall": LEFT_WALL, "right wall": RIGHT_WALL, "back wall": BACK_WALL,
                  "sky (window)": 0}  # instance 0: camera rays that leave through the window


def _wall_with_window(window=WINDOW) -> Mesh:
    """The back wall (y = SIZE) as four quads around a rectangular hole."""
    s = SIZE
    x0, x1, z0, z1 = window
    rects = [(0.0, s, 0.0, z0), (0.0, s, z1, s), (0.0, x0, z0, z1), (x1, s, z0, z1)]
    verts, tris = [], []
    for a0, a1, b0, b1 in rects:
        q = quad((a0, s, b0), (0.0, 0.0, b1 - b0), (a1 - a0, 0.0, 0.0))
        tris.append(q.triangles + 4 * len(verts))
        verts.append(q.vertices)
    return _inward(Mesh(np.concatenate(verts), np.concatenate(tris)))


def window_room(sky: Sky | None = None) -> Scene:
    """The Cornell room closed on every side except a 1.2 m square window in the back wall, lit only
    by the sky through it (no lamp, no sun light): by default the physical sky for a sun 30° up
    beyond the window (``WINDOW_SUN``, turbidity 3, zenith luminance 1); ``sky`` replaces it (e.g. an
    HDR map). No block: the floor patch the window lights stays in view."""
    from .sky import physical_sky

    sun = Light("sun", "sun", (1.0, 1.0, 1.0), 1.0, direction=WINDOW_SUN)
    sky = sky or physical_sky((sun,))
    base = cornell_room(light_radiance=0.0, block=False)
    objs = tuple(SceneObject(o.instance_id, o.name, o.label, o.room_id, _wall_with_window(), o.material,
                             structural=True) if o.instance_id == BACK_WALL else o for o in base.objects)
    x0, x1, z0, z1 = WINDOW
    room = replace(base.rooms[0], kind="room with a window", prompt="a room lit through a window",
                   openings=(Opening("window", "north", x0, x1, z0, z1),))
    return Scene("window_room", objs, (), (room,), sky=sky)


def window_camera(width: int = 64, height: int = 48, hfov: float = 70.0) -> Trajectory:
    """The Cornell camera (near the front wall, looking at the back wall): the window and the sky
    through it, the floor patch it lights, both side walls and the back wall in view."""
    poses = look_at(np.array([[1.5, 0.25, 1.5]]), np.array([[1.5, 3.0, 1.2]]))
    return Trajectory(intrinsics(width, height, hfov), poses, 24.0, width, height, "window_room", 0, 0)


def window_lobe_map(width: int = 128, height: int = 65) -> np.ndarray:
    """A synthetic HDR sky for the window room, (height, width, 3) float32 in the equirectangular
    layout of :mod:`interiorvideo.render.environment`: a blue ambient plus a warm lobe
    max(0, d·s)⁴ around s = 25° above the horizon beyond the window (+y)."""
    phi = 2.0 * np.pi * (np.arange(width) + 0.5) / width
    theta = np.pi * np.arange(height) / (height - 1)
    d = np.stack([np.sin(theta)[:, None] * np.sin(phi), np.sin(theta)[:, None] * np.cos(phi),
                  np.broadcast_to(np.cos(theta)[:, None], (height, width))], axis=-1)
    e = np.radians(25.0)
    lobe = np.maximum(d @ np.array([0.0, np.cos(e), np.sin(e)]), 0.0)[..., None] ** 4
    return (np.array([0.05, 0.08, 0.15]) + np.array([4.0, 3.2, 2.4]) * lobe).astype(np.float32)
# -- the textured room (issue 16: roughness/metallic maps, a normal map, alpha cut-outs) ----------------
PANEL, CANOPY = 10, 11
TEXTURED_REGIONS = {"floor": FLOOR, "left wall": LEFT_WALL, "right wall": RIGHT_WALL, "back wall": BACK_WALL,
                    "panel": PANEL}
TEX_SIZE = 64  # texels per side of every map in the textured room
TEX_BLOCK = 16  # texels per constant block: bilinear lookups are exact away from block edges
FLOOR_ROUGHNESS = (0.3, 0.8)  # the floor's roughness checker (G of its metallicRoughness map)
NORMAL_TILT_DEG = 30.0  # the back wall's stripes tilt their normals up / down by this much


def quad_uv(p0, eu, ev, inward, repeat: float = 1.0) -> Mesh:
    """A one-sided rectangle p0 + [0, 1]·eu + [0, 1]·ev with UVs (0, 0) … (repeat, repeat) along
    eu and ev, wound so its normal points along ``inward``."""
    p0, eu, ev = (np.asarray(v, np.float64) for v in (p0, eu, ev))
    verts = np.stack([p0, p0 + eu, p0 + eu + ev, p0 + ev])
    uv = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float64) * repeat
    tris = np.array([[0, 1, 2], [0, 2, 3]])
    if np.cross(eu, ev) @ np.asarray(inward, np.float64) < 0:
        tris = tris[:, ::-1]
    return Mesh(verts, tris, uv)


def _blocks(pattern: np.ndarray) -> np.ndarray:
    """A (TEX_SIZE, TEX_SIZE, C) image of TEX_BLOCK-texel blocks, pattern[i, j] for block row i
    (row 0 at the top of the image), column j."""
    return np.repeat(np.repeat(pattern, TEX_BLOCK, axis=0), TEX_BLOCK, axis=1)


def textured_maps() -> dict[str, np.ndarray]:
    """The textured room's maps: the floor's packed metallicRoughness (glTF: G roughness checker,
    B metallic in alternate block columns), the back wall's tangent-space normal map (horizontal
    stripes tilted up / down by NORMAL_TILT_DEG) and the leaf panels' RGBA colour with a checker
    of cut-out blocks (alpha 0) and solid ones (alpha 1)."""
    nb = TEX_SIZE // TEX_BLOCK
    i, j = np.meshgrid(np.arange(nb), np.arange(nb), indexing="ij")
    lo, hi = (round(r * 255) for r in FLOOR_ROUGHNESS)
    mr = np.zeros((nb, nb, 3), np.uint8)
    mr[..., 1] = np.where((i + j) % 2 == 0, lo, hi)
    mr[..., 2] = np.where(j % 2 == 0, 255, 0)
    t = np.radians(NORMAL_TILT_DEG)
    up = np.array([0.0, np.sin(t), np.cos(t)])
    down = np.array([0.0, -np.sin(t), np.cos(t)])
    nrm = np.where((i % 2 == 0)[..., None], up, down)
    nrm = np.round((nrm * 0.5 + 0.5) * 255).astype(np.uint8)
    leaf = np.zeros((nb, nb, 4), np.uint8)
    leaf[..., :3] = (150, 205, 110)
    leaf[..., 3] = np.where((i + j) % 2 == 0, 255, 0)
    return {"floor_mr": _blocks(mr), "wall_normal": _blocks(nrm), "leaf": _blocks(leaf)}


def textured_room(light_radiance: float = 8.0, normal_map: bool = True) -> Scene:
    """The Cornell room (no block) with every kind of map: a floor whose roughness (0.3 / 0.8
    checker) and metallic (1 / 0 stripes) come from one packed glTF-style texture (specular 0:
    the metallic-0 stripes are Lambertian, the case Mitsuba matches exactly), a Lambertian back wall
    with a normal map, an alpha-masked leaf panel standing in the left half facing the camera and
    a second one as a canopy under the lamp, whose cut-outs let light and rays through;
    ``normal_map`` False leaves the back wall flat."""
    s = SIZE
    maps = textured_maps()
    floor = Material("m_floor", "metal", (0.8, 0.75, 0.7), 1.0, 1.0, specular=0.0, roughness_texture="floor_mr",
                     roughness_channel=1, metallic_texture="floor_mr", metallic_channel=2)
    wall = Material("m_back_wall", "paint", WHITE, 1.0, 0.0, specular=0.0,
                    normal_texture="wall_normal" if normal_map else None)
    leaf = Material("m_leaf", "plant", (1.0, 1.0, 1.0), 1.0, 0.0, specular=0.0, texture="leaf", alpha_mode="mask",
                    alpha_cutoff=0.5, alpha_texture="leaf", alpha_channel=3)
    room = cornell_room(light_radiance, block=False)
    objs = []
    for o in room.objects:
        if o.name == "floor":
            o = SceneObject(o.instance_id, o.name, o.label, 0, quad_uv((0, 0, 0), (s, 0, 0), (0, s, 0), (0, 0, 1)),
                            floor, structural=True)
        elif o.name == "back_wall":
            o = SceneObject(o.instance_id, o.name, o.label, 0, quad_uv((0, s, 0), (s, 0, 0), (0, 0, s), (0, -1, 0)),
                            wall, structural=True)
        objs.append(o)
    objs.append(SceneObject(PANEL, "panel", "plant", 0, quad_uv((0.3, 1.4, 0.0), (1.2, 0, 0), (0, 0, 1.2), (0, -1, 0)),
                            leaf))
    objs.append(SceneObject(CANOPY, "canopy", "plant", 0,
                            quad_uv((0.9, 0.9, 2.6), (1.2, 0, 0), (0, 1.2, 0), (0, 0, -1)), leaf))
    return Scene("cornell_textured", tuple(objs), room.lights, room.rooms, sky=room.sky, textures=maps,
                 linear_textures=frozenset({"floor_mr", "wall_normal"}))


def textured_camera(width: int = 64, height: int = 48, hfov: float = 70.0) -> Trajectory:
    """One frame from above the front of the room, looking down: the textured floor, side walls,
    the normal-mapped back wall and the leaf panel in view; lamp, canopy and ceiling not."""
    poses = look_at(np.array([[1.5, 0.2, 2.0]]), np.array([[1.5, 2.4, 0.6]]))
    return Trajectory(intrinsics(width, height, hfov), poses, 24.0, width, height, "cornell_textured", 0, 0)


def tilted_floor_room(tilt_deg: float = 30.0, black_walls: bool = True) -> Scene:
    """The Cornell room (no block) whose white Lambertian floor has a uniform normal map tilting
    its shading normal by ``tilt_deg`` towards +x; ``black_walls`` makes every other surface
    black, so that the floor sees the lamp's direct light only."""
    black = {k: (0.0, 0.0, 0.0) for k in ("ceiling", "left_wall", "right_wall", "front_wall", "back_wall")}
    room = cornell_room(colors=black if black_walls else None, block=False)
    t = np.radians(tilt_deg)
    nrm = np.zeros((8, 8, 3))
    nrm[..., 0], nrm[..., 2] = np.sin(t), np.cos(t)
    nrm = np.round((nrm * 0.5 + 0.5) * 255).astype(np.uint8)
    floor = Material("m_floor", "paint", WHITE, 1.0, 0.0, specular=0.0, normal_texture="tilt")
    s = SIZE
    objs = tuple(SceneObject(o.instance_id, o.name, o.label, 0, quad_uv((0, 0, 0), (s, 0, 0), (0, s, 0), (0, 0, 1)),
                             floor, structural=True) if o.name == "floor" else o for o in room.objects)
    return Scene("cornell_tilted_floor", objs, room.lights, room.rooms, sky=room.sky, textures={"tilt": nrm},
                 linear_textures=frozenset({"tilt"}))
# -- glass (issue 16: dielectrics) -----------------------------------------------------------------
SMOOTH_GLASS, ROUGH_GLASS, PANE = 10, 11, 12
GLASS_REGIONS = {"floor": FLOOR, "left wall": LEFT_WALL, "right wall": RIGHT_WALL, "back wall": BACK_WALL,
                 "smooth glass": SMOOTH_GLASS, "rough glass": ROUGH_GLASS, "pane": PANE}


def glass(name: str, roughness: float = 0.0, thin: bool = False, ior: float = 1.5, tint=(1.0, 1.0, 1.0),
          transmission: float = 1.0) -> Material:
    """A clear dielectric: solid (refracting at ``ior``; meshes wound outwards) or a thin pane."""
    return Material(name, "glass", tuple(float(c) for c in tint), float(roughness), 0.0, transmission=transmission,
                    ior=ior, thin=thin)


def glass_room(light_radiance: float = 8.0, ceiling_light: bool = False) -> Scene:
    """The Cornell room with a smooth solid glass block where the white block was, a rough glass
    block (roughness 0.3) turned 30° in the left half, both 1 cm above the floor, and a thin pane (a one-sided 1.2 × 1 m
    rectangle, thin-walled, ior 1.5) standing across the front of the room, so the camera of
    :func:`glossy_camera` sees the floor and the blocks' feet through it. ``ceiling_light``
    replaces the lamp by the whole ceiling glowing at radiance 1.5 (an area light): light
    through glass then reaches the room often enough for a test to measure it."""
    if ceiling_light:
        glow = lambertian("m_ceiling", WHITE, emission=(1.5, 1.5, 1.5))
        lamp = Light("ceiling", "area", (1.0, 1.0, 1.0), 1.5, object_id=CEILING, room_id=0)
        room = cornell_room(0.0, block=False, materials={"ceiling": glow}, extra_lights=(lamp,))
    else:
        room = cornell_room(light_radiance, block=False)
    # The blocks float 1 cm above the floor: a glass face coplanar with the floor would leave
    # which surface a ray meets to each ray tracer's tie-breaking.
    smooth = box_between((1.6, 1.5, 0.01), (2.3, 2.2, 0.91))
    rough = box_between((-0.3, -0.3, 0.01), (0.3, 0.3, 0.81)).transformed(30.0, (0.85, 1.9, 0.0))
    pane = quad((1.0, 1.2, 0.0), (1.2, 0.0, 0.0), (0.0, 0.0, 1.0))
    objs = (SceneObject(SMOOTH_GLASS, "smooth_glass", "box", 0, smooth, glass("m_glass_smooth")),
            SceneObject(ROUGH_GLASS, "rough_glass", "box", 0, rough, glass("m_glass_rough", roughness=0.3)),
            SceneObject(PANE, "pane", "window", 0, pane, glass("m_pane", thin=True)))
    return Scene("cornell_glass", room.objects + objs, room.lights, room.rooms, sky=room.sky)


def furnace(radiance: float = 1.0, material: Material | None = None, radius: float = 0.5) -> tuple[Scene, Trajectory]:
    """A white furnace: a glass sphere (default smooth solid glass) in the middle of a closed
    cube whose walls are black emitters of uniform ``radiance`` (no area lights, so emitters are
    reached by paths only, with full weight). Energy conservation makes every pixel show exactly
    ``radiance``, through the sphere too, up to the paths cut off at the bounce limit. The
    renderer's sky cannot serve (it is 0.3× horizon below the horizon)."""
    s = SIZE
    black = lambertian("m_furnace_wall", (0.0, 0.0, 0.0), emission=(radiance,) * 3)
    faces = [quad((0, 0, 0), (0, s, 0), (s, 0, 0)), quad((0, 0, s), (s, 0, 0), (0, s, 0)),
             quad((0, 0, 0), (0, 0, s), (0, s, 0)), quad((s, 0, 0), (0, s, 0), (0, 0, s)),
             quad((0, 0, 0), (s, 0, 0), (0, 0, s)), quad((0, s, 0), (0, 0, s), (s, 0, 0))]
    objs = [SceneObject(i, f"wall{i}", "wall", 0, _inward(m), black, structural=True) for i, m in enumerate(faces, 1)]
    ball = sphere(radius, (s / 2, s / 2, s / 2), resolution=24)
    objs.append(SceneObject(BLOCK, "ball", "ball", 0, ball, material or glass("m_ball")))
    room = Room(0, "furnace", ((0, 0), (s, 0), (s, s), (0, s)), 0.0, s, prompt="a furnace")
    scene = Scene("furnace", tuple(objs), (), (room,), sky=Sky(intensity=0.0))
    poses = look_at(np.array([[s / 2, 0.4, s / 2]]), np.array([[s / 2, s / 2, s / 2]]))
    return scene, Trajectory(intrinsics(32, 32, 40.0), poses, 24.0, 32, 32, "furnace", 0, 0)
