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
"""

from __future__ import annotations

import numpy as np

from ..trajectory.camera import Trajectory, intrinsics, look_at
from .mesh import Mesh, box_between, sphere
from .model import Light, Material, Room, Scene, SceneObject, Sky

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
