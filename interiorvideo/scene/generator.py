"""The seeded procedural apartment generator: the embedded default scene source (no download).

``generate_scene(seed)`` → floor plan (rooms, doors, windows) → structure (walls with holes,
floors, ceilings, window frames) → furniture per room type, placed against walls and in groups
without overlaps → materials from the palette → ceiling lights, lamps, spots, sun and sky →
prompts. Every room draws from its own random stream, so rooms do not shift when another
room's recipe changes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np

from . import furniture as fb
from .floorplan import (
    PlanSettings,
    RoomPlan,
    ceiling_mesh,
    floor_mesh,
    plan_openings,
    split_rectangle,
    wall_side_mesh,
    window_frame_mesh,
    window_pane_mesh,
)
from .materials import TEXTURE_TILE_SIZE, make_texture, sample_material
from .mesh import Mesh, with_box_uvs
from .model import Light, Material, Room, Scene, SceneObject
from .placement import Placed, Placer
from .prompts import local_prompt, room_prompt
from .sky import physical_sky

GENERATOR_VERSION = 2  # 2 (issue 16): the physical sky (Preetham, drawn turbidity) replaces the gradient; glass
# panes in the windows, after every other object; lamp shades glow on both faces
WINDOW_GLASS = Material("window_glass", "glass", (1.0, 1.0, 1.0), 0.0, 0.0, color_name="clear", transmission=1.0,
                        ior=1.5, thin=True)
ROOM_KINDS = ("living room", "bedroom", "kitchen", "dining room", "study")

# Material role → candidate material kinds (weighted by repetition).
ROLE_KINDS: dict[str, tuple[str, ...]] = {
    "table": ("wood", "wood", "wood", "stone", "plastic"), "chair": ("wood", "wood", "plastic", "metal"),
    "chair_soft": ("fabric", "leather", "plastic"), "upholstery": ("fabric", "fabric", "fabric", "leather"),
    "wood_frame": ("wood",), "bedding": ("fabric",), "cabinet": ("wood", "wood", "paint"), "books": ("paint",),
    "lamp_metal": ("metal",), "lamp_base": ("ceramic", "metal"), "lampshade": ("fabric",), "rug": ("fabric",),
    "pot": ("ceramic",), "plant": ("plant",), "frame": ("wood", "metal"), "painting": ("paint",),
    "mirror": ("mirror",), "tv": ("plastic",), "countertop": ("stone",), "appliance": ("metal", "plastic"),
    "light": ("emissive",),
}
ROLE_COLORS: dict[str, tuple[str, ...]] = {
    "lampshade": ("cream", "white", "beige", "off-white"), "tv": ("black",), "appliance": ("silver", "white"),
    "light": ("white",), "painting": ("blue", "red", "orange", "teal", "yellow", "green", "purple", "terracotta"),
}
WARM_WHITE = (1.0, 0.86, 0.68)
NEUTRAL_WHITE = (1.0, 0.95, 0.88)


@dataclass(frozen=True)
class GeneratorSettings:
    plan: PlanSettings = field(default_factory=PlanSettings)
    ceiling_light_radiance: tuple[float, float] = (25.0, 45.0)
    lamp_radiance: tuple[float, float] = (2.0, 4.0)
    spot_intensity: tuple[float, float] = (4.0, 8.0)
    sun_irradiance: tuple[float, float] = (6.0, 12.0)
    # The physical sky's zenith luminance. Per unit of it, Preetham's sky at turbidity 3 and the sun
    # elevations drawn here (15-55°) gives 1.7-2.6x the horizontal illuminance the old gradient sky
    # gave per unit intensity, so the range is half the gradient's (0.6, 1.2): sky light stays
    # about where it was.
    sky_intensity: tuple[float, float] = (0.3, 0.6)
    sky_turbidity: tuple[float, float] = (2.0, 5.0)  # clear to slightly hazy


class _SceneBuilder:
    """Accumulates instances, materials, textures and lights with stable ids."""

    def __init__(self, seed: int):
        self.objects: list[SceneObject] = []
        self.lights: list[Light] = []
        self.textures: dict[str, np.ndarray] = {}
        self.seed = seed

    def texture(self, name: str) -> str:
        if name not in self.textures:
            # One texture per pattern and scene, from a stream of its own.
            rng = np.random.default_rng([self.seed, 7919, sorted(TEXTURE_TILE_SIZE).index(name)])
            self.textures[name] = make_texture(name, rng)
        return name

    def add(self, name: str, label: str, room_id: int, mesh: Mesh, material: Material, group: str = "",
            structural: bool = False) -> SceneObject:
        if material.texture is not None:
            self.texture(material.texture)
            mesh = with_box_uvs(mesh, TEXTURE_TILE_SIZE[material.texture])
        obj = SceneObject(
            instance_id=len(self.objects) + 1, name=name, label=label, room_id=room_id, mesh=mesh, material=material,
            prompt=local_prompt(label, material), group=group or name, structural=structural,
        )
        self.objects.append(obj)
        return obj


class _RoomFurnisher:
    """Furnishes one room by its kind's recipe."""

    def __init__(self, builder: _SceneBuilder, room_id: int, kind: str, plan: RoomPlan, ceiling: float,
                 thickness: float, rng: np.random.Generator, settings: GeneratorSettings):
        self.b, self.room_id, self.kind, self.plan = builder, room_id, kind, plan
        self.ceiling, self.rng, self.settings = ceiling, rng, settings
        self.interior = plan.interior(thickness)
        self.placer = Placer(self.interior, ceiling, plan.openings, rng)
        self.materials: dict[tuple[str, str], Material] = {}
        self.counts: dict[str, int] = {}

    def material(self, category: str, role: str) -> Material:
        key = (category, role)
        if key not in self.materials:
            kinds = ROLE_KINDS[role]
            kind = kinds[int(self.rng.integers(len(kinds)))]
            colors = ROLE_COLORS.get(role)
            color = colors[int(self.rng.integers(len(colors)))] if colors else None
            name = f"room{self.room_id}_{category}_{role}".replace(" ", "-")
            emission = (0.0, 0.0, 0.0)
            if role == "light":
                radiance = float(self.rng.uniform(*self.settings.ceiling_light_radiance))
                emission = tuple(round(c * radiance, 4) for c in NEUTRAL_WHITE)
            elif role == "lampshade":
                # A lit fabric shade glows: modelled as an emissive surface rather than a bulb
                # hidden inside an open tube, whose light would reach the room only through
                # rare, very bright paths (fireflies at any affordable sample count).
                radiance = float(self.rng.uniform(*self.settings.lamp_radiance))
                emission = tuple(round(c * radiance, 4) for c in WARM_WHITE)
            mat = sample_material(kind, self.rng, name, color=color, emission=emission)
            # Fabric glows on both faces: inside the shade too (seen through its open top).
            self.materials[key] = replace(mat, emission_two_sided=True) if role == "lampshade" else mat
        return self.materials[key]

    def commit(self, p: Placed | None) -> Placed | None:
        """Turn a placed piece into instances; emissive parts (ceiling panels, glowing lamp
        shades) become area lights."""
        if p is None:
            return None
        f = p.furniture
        n = self.counts.get(f.category, 0)
        self.counts[f.category] = n + 1
        group = f"room{self.room_id}_{f.category.replace(' ', '-')}_{n}"
        for part, mesh in zip(f.parts, p.meshes):
            mat = self.material(f.category, part.role)
            name = group if part.label == f.category else f"{group}_{part.label.replace(' ', '-')}"
            obj = self.b.add(name, part.label, self.room_id, mesh, mat, group=group)
            if mat.is_emissive:
                color = tuple(round(c / max(mat.emission), 6) for c in mat.emission)
                self.b.lights.append(Light(f"{name}_light", "area", color, round(max(mat.emission), 4),
                                           object_id=obj.instance_id, room_id=self.room_id))
        return p

    def build(self, category: str, **kw) -> fb.Furniture:
        return fb.build(category, self.rng, **kw)

    # -- recipes ------------------------------------------------------------------------------
    def living_room(self) -> None:
        pl = self.placer
        sofa = self.commit(pl.against_wall(self.build("sofa")))
        if sofa is not None:
            side = {0.0: "south", 180.0: "north", -90.0: "west", 90.0: "east"}[sofa.rotation]
            axis, sign = {"south": (1, 1), "north": (1, -1), "west": (0, 1), "east": (0, -1)}[side]
            front = sofa.hi[axis] if sign > 0 else sofa.lo[axis]
            rug = self.build("rug")
            rot = sofa.rotation
            rug_half_depth = (pl.local_bounds(rug, rot)[1] - pl.local_bounds(rug, rot)[0])[axis] / 2
            c = sofa.center.copy()
            c[axis] = front + sign * (0.1 + rug_half_depth)
            self.commit(pl.try_place(rug, c[0], c[1], rot, floor_layer=True))
            table = self.build("coffee table")
            t_half = (pl.local_bounds(table, rot)[1] - pl.local_bounds(table, rot)[0])[axis] / 2
            c[axis] = front + sign * (0.45 + t_half)
            self.commit(pl.try_place(table, c[0], c[1], rot, ignore_keepouts=True))
            side_table = self.commit(pl.against_wall(self.build("side table"), [side], tries=20))
            if side_table is not None and self.rng.random() < 0.7:
                self.commit(pl.on_top(self.build("table lamp"), side_table))
            self.commit(pl.on_wall(self.build("picture frame"), [side], z_center=(1.45, 1.7)))
            opposite = {"south": "north", "north": "south", "west": "east", "east": "west"}[side]
            stand = self.commit(pl.against_wall(self.build("tv stand"), [opposite], tries=30))
            if stand is not None:
                along = float(stand.center[0 if opposite in ("south", "north") else 1])
                tv = self.build("tv")
                self.commit(pl.on_wall(tv, [opposite], z_center=(1.1, 1.3), along=along) or pl.on_top(tv, stand))
        for _ in range(int(self.rng.integers(0, 2))):
            self.commit(pl.against_wall(self.build("armchair")))
        self.commit(pl.against_wall(self.build("bookshelf")))
        self.commit(pl.in_corner(self.build("floor lamp")) or pl.against_wall(self.build("floor lamp")))
        self.commit(pl.in_corner(self.build("plant")))
        self._frames(int(self.rng.integers(1, 3)))

    def bedroom(self) -> None:
        pl = self.placer
        bed = self.commit(pl.against_wall(self.build("bed"), tries=60))
        if bed is not None:
            side = {0.0: "south", 180.0: "north", -90.0: "west", 90.0: "east"}[bed.rotation]
            along_axis = 0 if side in ("south", "north") else 1
            for sgn in (-1, 1):
                ns = self.build("nightstand")
                w = (pl.local_bounds(ns, bed.rotation)[1] - pl.local_bounds(ns, bed.rotation)[0])[along_axis]
                edge = bed.hi[along_axis] if sgn > 0 else bed.lo[along_axis]
                placed = self.commit(pl.against_wall(ns, [side], tries=1, along=float(edge + sgn * (0.05 + w / 2))))
                if placed is not None:
                    self.commit(pl.on_top(self.build("table lamp"), placed))
            self.commit(pl.on_wall(self.build("picture frame"), [side], z_center=(1.45, 1.75)))
        self.commit(pl.against_wall(self.build("wardrobe")))
        dresser = self.commit(pl.against_wall(self.build("dresser")))
        if dresser is not None:
            side = {0.0: "south", 180.0: "north", -90.0: "west", 90.0: "east"}[dresser.rotation]
            self.commit(pl.on_wall(self.build("mirror"), [side], z_center=(1.5, 1.7)))
        self._free_rug()
        self.commit(pl.in_corner(self.build("plant")))

    def kitchen(self) -> None:
        pl = self.placer
        sides = [str(s) for s in self.rng.permutation(["south", "north", "west", "east"])]
        for side in sides:
            a, b = pl.wall_span(side)
            length = float(min(b - a - 0.2, self.rng.uniform(1.8, 3.2)))
            if length < 1.2:
                continue
            if self.commit(pl.against_wall(self.build("kitchen cabinet", length=length), [side], tries=25)):
                break
        self.commit(pl.against_wall(self.build("refrigerator")))
        self._table_with_chairs("dining table", n_chairs=2)
        self.commit(pl.in_corner(self.build("plant")))
        self._spots(int(self.rng.integers(2, 4)))

    def dining_room(self) -> None:
        self._table_with_chairs("dining table", n_chairs=int(self.rng.integers(4, 7)), rug=True)
        self.commit(self.placer.against_wall(self.build("sideboard")))
        self.commit(self.placer.in_corner(self.build("plant")))
        self._frames(int(self.rng.integers(1, 3)))

    def study(self) -> None:
        pl = self.placer
        desk = self.commit(pl.against_wall(self.build("desk"), tries=60))
        if desk is not None:
            axis, sign = {0.0: (1, 1), 180.0: (1, -1), -90.0: (0, 1), 90.0: (0, -1)}[desk.rotation]
            chair = self.build("office chair")
            rot = (desk.rotation + 180.0) % 360.0
            rot = -90.0 if rot == 270.0 else rot
            half = (pl.local_bounds(chair, rot)[1] - pl.local_bounds(chair, rot)[0])[axis] / 2
            c = desk.center.copy()
            c[axis] = (desk.hi[axis] if sign > 0 else desk.lo[axis]) + sign * (0.12 + half)
            self.commit(pl.try_place(chair, c[0], c[1], rot, ignore_keepouts=True))
            self.commit(pl.on_top(self.build("table lamp"), desk, dx=0.0, dy=0.0))
        for _ in range(int(self.rng.integers(1, 3))):
            self.commit(pl.against_wall(self.build("bookshelf")))
        if self.rng.random() < 0.6:
            self.commit(pl.against_wall(self.build("armchair")))
        self.commit(pl.in_corner(self.build("floor lamp")))
        self.commit(pl.in_corner(self.build("plant")))
        self._frames(1)
        self._spots(int(self.rng.integers(0, 3)))

    # -- shared steps -------------------------------------------------------------------------
    def _frames(self, n: int) -> None:
        for _ in range(n):
            self.commit(self.placer.on_wall(self.build("picture frame")))

    def _free_rug(self) -> None:
        x0, y0, x1, y1 = self.interior
        for _ in range(10):
            rug = self.build("rug")
            x, y = self.rng.uniform(x0 + 0.8, x1 - 0.8), self.rng.uniform(y0 + 0.8, y1 - 0.8)
            if self.commit(self.placer.try_place(rug, float(x), float(y), 0.0, floor_layer=True)):
                return

    def _table_with_chairs(self, category: str, n_chairs: int, rug: bool = False) -> None:
        x0, y0, x1, y1 = self.interior
        pl = self.placer
        for _ in range(20):
            table = self.build(category)
            rot = 0.0 if (x1 - x0) >= (y1 - y0) else 90.0
            cx = float(self.rng.uniform(x0 + 0.45 * (x1 - x0), x0 + 0.55 * (x1 - x0)))
            cy = float(self.rng.uniform(y0 + 0.45 * (y1 - y0), y0 + 0.55 * (y1 - y0)))
            lo, hi = pl.local_bounds(table, rot)
            tw, td = hi[0] - lo[0], hi[1] - lo[1]
            # Chair spots: along the long sides, facing the table.
            chair_spots = []
            long_axis = 0 if tw >= td else 1
            n_side = max(1, n_chairs // 2)
            length = tw if long_axis == 0 else td
            for k in range(n_side):
                off = (k + 0.5) / n_side * length - length / 2
                if long_axis == 0:
                    chair_spots += [(cx + off, cy - td / 2 - 0.3, 0.0), (cx + off, cy + td / 2 + 0.3, 180.0)]
                else:
                    chair_spots += [(cx - tw / 2 - 0.3, cy + off, -90.0), (cx + tw / 2 + 0.3, cy + off, 90.0)]
            if rug:
                rug_f = self.build("rug", w=float(tw + 1.4), d=float(td + 1.4))
                if self.commit(pl.try_place(rug_f, cx, cy, 0.0, floor_layer=True)) is None:
                    continue
            placed_table = self.commit(pl.try_place(table, cx, cy, rot))
            if placed_table is None:
                continue
            for x, y, r in chair_spots[:n_chairs]:
                self.commit(pl.try_place(self.build("chair"), x, y, r, ignore_keepouts=True))
            return

    def _spots(self, n: int) -> None:
        x0, y0, x1, y1 = self.interior
        for k in range(n):
            x = x0 + (k + 0.5) / n * (x1 - x0)
            y = float(self.rng.uniform(y0 + 0.6, y1 - 0.6))
            self.b.lights.append(Light(
                f"room{self.room_id}_spot{k}", "spot", NEUTRAL_WHITE,
                round(float(self.rng.uniform(*self.settings.spot_intensity)), 4),
                position=(round(float(x), 4), round(y, 4), round(self.ceiling - 0.05, 4)), direction=(0.0, 0.0, -1.0),
                cone_deg=(25.0, 40.0), room_id=self.room_id))

    def ceiling_lights(self) -> None:
        x0, y0, x1, y1 = self.interior
        n = 2 if (x1 - x0) * (y1 - y0) > 20 else 1
        long_x = (x1 - x0) >= (y1 - y0)
        for k in range(n):
            f = (k + 0.5) / n
            x = x0 + f * (x1 - x0) if long_x else (x0 + x1) / 2
            y = (y0 + y1) / 2 if long_x else y0 + f * (y1 - y0)
            self.commit(self.placer.try_place(self.build("ceiling light"), x, y, 0.0, z=self.ceiling,
                                              ignore_keepouts=True))


def _structure(builder: _SceneBuilder, room_id: int, kind: str, plan: RoomPlan, ceiling: float, t: float,
               rng: np.random.Generator) -> None:
    wall_mat = sample_material("paint", rng, f"room{room_id}_wall")
    floor_kind = {"kitchen": "tile"}.get(kind, "fabric" if kind == "bedroom" and rng.random() < 0.3 else "wood")
    floor_mat = sample_material(floor_kind, rng, f"room{room_id}_floor",
                                color="gray" if floor_kind == "fabric" else None)
    ceiling_mat = sample_material("paint", rng, f"room{room_id}_ceiling", color="white")
    frame_kind = "wood" if rng.random() < 0.4 else "paint"
    frame_mat = sample_material(frame_kind, rng, f"room{room_id}_window", color="white" if frame_kind == "paint" else None)
    builder.add(f"room{room_id}_floor", "floor", room_id, floor_mesh(plan.rect), floor_mat, structural=True)
    builder.add(f"room{room_id}_ceiling", "ceiling", room_id, ceiling_mesh(plan.rect, ceiling), ceiling_mat,
                structural=True)
    for side in ("south", "north", "west", "east"):
        ops = [o for o in plan.openings if o.side == side]
        builder.add(f"room{room_id}_wall_{side}", "wall", room_id, wall_side_mesh(plan.rect, side, ops, ceiling, t),
                    wall_mat, group=f"room{room_id}_walls", structural=True)
    for k, o in enumerate(o for o in plan.openings if o.kind == "window"):
        builder.add(f"room{room_id}_window{k}", "window", room_id, window_frame_mesh(plan.rect, o, t), frame_mat,
                    structural=True)


def _room_kinds(rng: np.random.Generator, areas: list[float]) -> list[str]:
    order = np.argsort(-np.asarray(areas), kind="stable")
    pool = ["kitchen", "bedroom", "dining room", "study", "bedroom", "study"]
    rest = [pool[i] for i in range(len(pool))][: max(0, len(areas) - 1)]
    rest = [rest[int(i)] for i in rng.permutation(len(rest))]
    kinds = [""] * len(areas)
    kinds[int(order[0])] = "living room"
    for idx, kind in zip(order[1:], rest):
        kinds[int(idx)] = kind
    return kinds


def generate_scene(seed: int, settings: GeneratorSettings | None = None) -> Scene:
    """Generate a furnished apartment, deterministically from ``seed``."""
    settings = settings or GeneratorSettings()
    s = settings.plan
    rng = np.random.default_rng([seed, 0])
    n_rooms = int(rng.integers(s.n_rooms[0], s.n_rooms[1] + 1))
    ceiling = round(float(rng.uniform(*s.ceiling_height)), 3)
    for _ in range(20):  # an unlucky footprint may not split into n rooms: draw another
        outline, rects = split_rectangle(rng, n_rooms, s)
        if len(rects) == n_rooms:
            break
    plans = plan_openings(rng, outline, rects, s, ceiling)
    kinds = _room_kinds(rng, [(r[2] - r[0]) * (r[3] - r[1]) for r in rects])

    builder = _SceneBuilder(seed)
    rooms = []
    for room_id, (plan, kind) in enumerate(zip(plans, kinds)):
        room_rng = np.random.default_rng([seed, 1, room_id])
        first = len(builder.objects)
        _structure(builder, room_id, kind, plan, ceiling, s.wall_thickness, room_rng)
        furnisher = _RoomFurnisher(builder, room_id, kind, plan, ceiling, s.wall_thickness, room_rng, settings)
        furnisher.ceiling_lights()
        getattr(furnisher, kind.replace(" ", "_"))()
        x0, y0, x1, y1 = plan.interior(s.wall_thickness)
        prompt = room_prompt(kind, builder.objects[first:], plan.openings, int(room_rng.integers(1000)))
        rooms.append(Room(room_id, kind, ((x0, y0), (x1, y0), (x1, y1), (x0, y1)), 0.0, ceiling, prompt,
                          plan.openings, s.wall_thickness))

    # Panes last, drawing no random numbers: every other object keeps its instance id and material.
    for room_id, plan in enumerate(plans):
        for k, o in enumerate(o for o in plan.openings if o.kind == "window"):
            builder.add(f"room{room_id}_window{k}_pane", "window pane", room_id,
                        window_pane_mesh(plan.rect, o, s.wall_thickness), WINDOW_GLASS, structural=True)

    sun_rng = np.random.default_rng([seed, 2])
    azimuth = sun_rng.uniform(0, 2 * np.pi)
    elevation = np.radians(sun_rng.uniform(15, 55))
    direction = tuple(round(float(v), 6) for v in (np.cos(elevation) * np.cos(azimuth),
                                                   np.cos(elevation) * np.sin(azimuth), np.sin(elevation)))
    sun_color = (1.0, round(float(sun_rng.uniform(0.88, 0.95)), 4), round(float(sun_rng.uniform(0.75, 0.88)), 4))
    builder.lights.append(Light("sun", "sun", sun_color, round(float(sun_rng.uniform(*settings.sun_irradiance)), 4),
                                direction=direction))
    intensity = round(float(sun_rng.uniform(*settings.sky_intensity)), 4)
    sky = physical_sky(tuple(builder.lights), turbidity=round(float(sun_rng.uniform(*settings.sky_turbidity)), 3),
                       intensity=intensity)
    return Scene(
        name=f"apartment_{seed:06d}", objects=tuple(builder.objects), lights=tuple(builder.lights),
        rooms=tuple(rooms), sky=sky, textures=builder.textures, seed=seed,
        source={"generator": "interiorvideo.procedural", "version": GENERATOR_VERSION, "seed": seed,
                "settings": asdict(settings)},
    )
