"""Furniture built from primitives, one builder per category.

Every builder works in a local frame: footprint centred on the origin, standing on z = 0,
back towards −y (the side that goes against a wall), front towards +y. A builder returns
parts; each part becomes its own instance (with its own material role) so a lamp's shade and
stand, or a bed's frame and bedding, can be prompted and edited separately.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .mesh import Mesh, box_between, cylinder, frustum_tube, merge, sphere


@dataclass(frozen=True)
class Part:
    label: str
    mesh: Mesh
    role: str  # material kind family, resolved by the generator: e.g. "wood", "fabric", "metal"


@dataclass(frozen=True)
class Furniture:
    category: str
    parts: tuple[Part, ...]
    size: tuple[float, float, float]  # footprint width (x), depth (y), height (z)
    # Extra free space wanted in front (+y) so the piece is usable (m).
    front_clearance: float = 0.0
    # Whether it hangs on a wall (z offset chosen by the placer) rather than standing.
    wall_mounted: bool = False
    top_z: float | None = None  # height of a usable top surface (for lamps on nightstands)
    tags: dict = field(default_factory=dict)


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _legs(w: float, d: float, h: float, t: float, inset: float = 0.03) -> list[Mesh]:
    xs = (-w / 2 + inset, w / 2 - inset - t)
    ys = (-d / 2 + inset, d / 2 - inset - t)
    return [box_between((x, y, 0.0), (x + t, y + t, h)) for x in xs for y in ys]


def table(rng: np.random.Generator, kind: str = "dining") -> Furniture:
    sizes = {"dining": ((1.2, 1.8), (0.8, 1.0), (0.72, 0.78)), "coffee": ((0.8, 1.2), (0.45, 0.65), (0.35, 0.45)),
             "desk": ((1.0, 1.5), (0.55, 0.75), (0.72, 0.76)), "side": ((0.4, 0.55), (0.4, 0.55), (0.5, 0.6))}
    (w0, w1), (d0, d1), (h0, h1) = sizes[kind]
    w, d, h = _u(rng, w0, w1), _u(rng, d0, d1), _u(rng, h0, h1)
    top_t = 0.04
    top = box_between((-w / 2, -d / 2, h - top_t), (w / 2, d / 2, h))
    legs = _legs(w, d, h - top_t, 0.05)
    label = {"dining": "dining table", "coffee": "coffee table", "desk": "desk", "side": "side table"}[kind]
    return Furniture(label, (Part(label, merge([top, *legs]), "table"),), (w, d, h), top_z=h,
                     front_clearance=0.6 if kind == "desk" else 0.0)


def chair(rng: np.random.Generator) -> Furniture:
    w, d = _u(rng, 0.42, 0.5), _u(rng, 0.42, 0.5)
    seat_h, back_h = _u(rng, 0.44, 0.48), _u(rng, 0.85, 0.95)
    seat = box_between((-w / 2, -d / 2, seat_h - 0.04), (w / 2, d / 2, seat_h))
    back = box_between((-w / 2, -d / 2, seat_h), (w / 2, -d / 2 + 0.04, back_h))
    legs = _legs(w, d, seat_h - 0.04, 0.035, inset=0.0)
    return Furniture("chair", (Part("chair", merge([seat, back, *legs]), "chair"),), (w, d, back_h))


def office_chair(rng: np.random.Generator) -> Furniture:
    w = _u(rng, 0.5, 0.6)
    seat_h, back_h = 0.48, _u(rng, 0.95, 1.1)
    base = cylinder(w / 2, 0.05, resolution=12)
    stem = cylinder(0.03, seat_h - 0.1, (0.0, 0.0, 0.05), resolution=8)
    seat = box_between((-w / 2 + 0.03, -w / 2 + 0.03, seat_h - 0.08), (w / 2 - 0.03, w / 2 - 0.03, seat_h))
    back = box_between((-w / 2 + 0.05, -w / 2 + 0.03, seat_h), (w / 2 - 0.05, -w / 2 + 0.09, back_h))
    return Furniture("office chair", (Part("office chair", merge([base, stem, seat, back]), "chair_soft"),),
                     (w, w, back_h))


def sofa(rng: np.random.Generator, seats: int | None = None) -> Furniture:
    seats = seats or int(rng.integers(2, 4))
    w = seats * _u(rng, 0.6, 0.7) + 0.4
    d, h = _u(rng, 0.85, 0.95), _u(rng, 0.78, 0.88)
    arm, seat_h = 0.2, 0.42
    base = box_between((-w / 2, -d / 2, 0.08), (w / 2, d / 2, seat_h))
    back = box_between((-w / 2, -d / 2, seat_h), (w / 2, -d / 2 + 0.22, h))
    arms = [box_between((x0, -d / 2, seat_h), (x0 + arm, d / 2, seat_h + 0.2)) for x0 in (-w / 2, w / 2 - arm)]
    feet = _legs(w, d, 0.08, 0.05)
    label = "sofa" if seats > 1 else "armchair"
    return Furniture(label, (Part(label, merge([base, back, *arms, *feet]), "upholstery"),), (w, d, h),
                     front_clearance=0.5)


def armchair(rng: np.random.Generator) -> Furniture:
    f = sofa(rng, seats=1)
    return f


def bed(rng: np.random.Generator) -> Furniture:
    w = float(rng.choice([0.95, 1.4, 1.6, 1.8]))
    d, frame_h = _u(rng, 2.05, 2.15), 0.3
    head_h = _u(rng, 0.9, 1.1)
    frame = box_between((-w / 2, -d / 2 + 0.06, 0.0), (w / 2, d / 2, frame_h))
    head = box_between((-w / 2, -d / 2, 0.0), (w / 2, -d / 2 + 0.06, head_h))
    mattress = box_between((-w / 2 + 0.03, -d / 2 + 0.08, frame_h), (w / 2 - 0.03, d / 2 - 0.03, frame_h + 0.22))
    pillows = []
    n_p = 1 if w < 1.2 else 2
    pw = (w - 0.2) / n_p
    for i in range(n_p):
        x0 = -w / 2 + 0.1 + i * pw
        pillows.append(box_between((x0 + 0.03, -d / 2 + 0.12, frame_h + 0.22), (x0 + pw - 0.03, -d / 2 + 0.5,
                                                                                 frame_h + 0.34)))
    label = "bed" if w >= 1.2 else "single bed"
    return Furniture(label, (Part("bed frame", merge([frame, head]), "wood_frame"),
                             Part("bedding", merge([mattress, *pillows]), "bedding")), (w, d, head_h),
                     front_clearance=0.5)


def cabinet(rng: np.random.Generator, kind: str = "nightstand") -> Furniture:
    sizes = {"nightstand": ((0.4, 0.55), (0.35, 0.45), (0.45, 0.6)), "dresser": ((0.9, 1.3), (0.45, 0.55), (0.8, 0.95)),
             "wardrobe": ((0.9, 1.6), (0.55, 0.62), (1.9, 2.2)), "sideboard": ((1.2, 1.8), (0.42, 0.5), (0.75, 0.9)),
             "tv stand": ((1.2, 1.8), (0.38, 0.48), (0.4, 0.55))}
    (w0, w1), (d0, d1), (h0, h1) = sizes[kind]
    w, d, h = _u(rng, w0, w1), _u(rng, d0, d1), _u(rng, h0, h1)
    body = box_between((-w / 2, -d / 2, 0.06), (w / 2, d / 2, h))
    plinth = box_between((-w / 2 + 0.03, -d / 2 + 0.03, 0.0), (w / 2 - 0.03, d / 2 - 0.03, 0.06))
    # Door/drawer fronts slightly proud of the body so the geometry reads as furniture.
    n = max(1, int(round(w / 0.5)))
    gap = 0.01
    fronts = [box_between((-w / 2 + i * w / n + gap, d / 2, 0.09), (-w / 2 + (i + 1) * w / n - gap, d / 2 + 0.015,
                                                                      h - 0.03)) for i in range(n)]
    return Furniture(kind, (Part(kind, merge([body, plinth, *fronts]), "cabinet"),), (w, d + 0.015, h), top_z=h,
                     front_clearance=0.6 if kind in ("wardrobe", "dresser") else 0.2)


def bookshelf(rng: np.random.Generator) -> Furniture:
    w, d, h = _u(rng, 0.7, 1.2), _u(rng, 0.28, 0.36), _u(rng, 1.5, 2.0)
    t = 0.025
    sides = [box_between((x, -d / 2, 0.0), (x + t, d / 2, h)) for x in (-w / 2, w / 2 - t)]
    back = box_between((-w / 2 + t, -d / 2, 0.0), (w / 2 - t, -d / 2 + 0.01, h))
    n = int(h / 0.35)
    shelves = [box_between((-w / 2 + t, -d / 2, z), (w / 2 - t, d / 2, z + t)) for z in np.linspace(0.0, h - t, n + 1)]
    parts = [Part("bookshelf", merge([*sides, back, *shelves]), "cabinet")]
    books = []
    for z in np.linspace(0.0, h - t, n + 1)[:-1]:
        x = -w / 2 + t + 0.02
        while x < w / 2 - t - 0.08:
            bw, bh = _u(rng, 0.02, 0.05), _u(rng, 0.18, min(0.3, (h - t) / n - t - 0.02))
            if rng.random() < 0.8:
                books.append(box_between((x, -d / 2 + 0.03, z + t), (x + bw, d / 2 - 0.03, z + t + bh)))
            x += bw + 0.003
    if books:
        parts.append(Part("books", merge(books), "books"))
    return Furniture("bookshelf", tuple(parts), (w, d, h), front_clearance=0.3)


def floor_lamp(rng: np.random.Generator) -> Furniture:
    h = _u(rng, 1.45, 1.7)
    r = _u(rng, 0.18, 0.24)
    base = cylinder(0.15, 0.03, resolution=16)
    stem = cylinder(0.015, h - 0.3, (0.0, 0.0, 0.03), resolution=8)
    shade = frustum_tube(r, r * 0.7, 0.3, (0.0, 0.0, h - 0.3), resolution=20)
    return Furniture("floor lamp", (Part("floor lamp", merge([base, stem]), "lamp_metal"),
                                    Part("lampshade", shade, "lampshade")),
                     (2 * r, 2 * r, h))


def table_lamp(rng: np.random.Generator) -> Furniture:
    h = _u(rng, 0.4, 0.55)
    r = _u(rng, 0.11, 0.15)
    body = merge([cylinder(0.07, 0.04, resolution=12), sphere(0.07, (0.0, 0.0, 0.12), resolution=6),
                  cylinder(0.012, h - 0.25, (0.0, 0.0, 0.18), resolution=8)])
    shade = frustum_tube(r, r * 0.75, 0.2, (0.0, 0.0, h - 0.2), resolution=16)
    return Furniture("table lamp", (Part("table lamp", body, "lamp_base"), Part("lampshade", shade, "lampshade")),
                     (2 * r, 2 * r, h))


def rug(rng: np.random.Generator, w: float | None = None, d: float | None = None) -> Furniture:
    w = w or _u(rng, 1.6, 2.4)
    d = d or _u(rng, 1.2, 1.8)
    return Furniture("rug", (Part("rug", box_between((-w / 2, -d / 2, 0.0), (w / 2, d / 2, 0.012)), "rug"),), (w, d, 0.012))


def plant(rng: np.random.Generator) -> Furniture:
    r_pot, h_pot = _u(rng, 0.12, 0.2), _u(rng, 0.25, 0.4)
    pot = cylinder(r_pot, h_pot, resolution=16)
    h_total = _u(rng, 0.8, 1.5)
    leaves = []
    for _ in range(5):
        c = (rng.uniform(-r_pot, r_pot), rng.uniform(-r_pot, r_pot), rng.uniform(h_pot + 0.15, h_total - 0.15))
        rr = _u(rng, 0.12, 0.2)
        leaves.append(sphere(rr, c, resolution=6, scale=(1.0, 1.0, 1.3)))
    stem = cylinder(0.015, h_total - h_pot - 0.1, (0.0, 0.0, h_pot), resolution=6)
    foliage = merge([stem, *leaves])
    b = foliage.bounds()
    size = float(max(2 * r_pot, 2 * np.abs(b[:, :2]).max()))
    return Furniture("plant", (Part("plant pot", pot, "pot"), Part("plant", foliage, "plant")),
                     (size, size, float(b[1, 2])))


def picture_frame(rng: np.random.Generator) -> Furniture:
    w, h = _u(rng, 0.4, 1.0), _u(rng, 0.35, 0.8)
    t, d = 0.04, 0.03
    frame = merge([
        box_between((-w / 2, 0.0, 0.0), (w / 2, d, t)), box_between((-w / 2, 0.0, h - t), (w / 2, d, h)),
        box_between((-w / 2, 0.0, t), (-w / 2 + t, d, h - t)), box_between((w / 2 - t, 0.0, t), (w / 2, d, h - t)),
    ])
    canvas = box_between((-w / 2 + t, 0.0, t), (w / 2 - t, d - 0.01, h - t))
    frame = frame.transformed(0.0, (0.0, -d / 2, 0.0))
    canvas = canvas.transformed(0.0, (0.0, -d / 2, 0.0))
    return Furniture("picture frame", (Part("picture frame", frame, "frame"), Part("painting", canvas, "painting")),
                     (w, d, h), wall_mounted=True)


def mirror(rng: np.random.Generator) -> Furniture:
    w, h = _u(rng, 0.5, 0.9), _u(rng, 0.7, 1.1)
    glass = box_between((-w / 2, -0.01, 0.0), (w / 2, 0.01, h))
    return Furniture("mirror", (Part("mirror", glass, "mirror"),), (w, 0.02, h), wall_mounted=True)


def tv(rng: np.random.Generator) -> Furniture:
    w = _u(rng, 0.9, 1.4)
    h = w * 9 / 16
    screen = box_between((-w / 2, -0.03, 0.0), (w / 2, 0.03, h))
    return Furniture("tv", (Part("tv", screen, "tv"),), (w, 0.06, h), wall_mounted=True)


def kitchen_counter(rng: np.random.Generator, length: float | None = None) -> Furniture:
    w = length or _u(rng, 1.6, 2.8)
    d, h = 0.6, 0.9
    body = box_between((-w / 2, -d / 2, 0.1), (w / 2, d / 2 - 0.02, h - 0.04))
    plinth = box_between((-w / 2, -d / 2, 0.0), (w / 2, d / 2 - 0.07, 0.1))
    top = box_between((-w / 2, -d / 2, h - 0.04), (w / 2, d / 2, h))
    return Furniture("kitchen cabinet", (Part("kitchen cabinet", merge([body, plinth]), "cabinet"),
                                         Part("countertop", top, "countertop")), (w, d, h), top_z=h,
                     front_clearance=0.8)


def fridge(rng: np.random.Generator) -> Furniture:
    w, d, h = _u(rng, 0.6, 0.75), 0.65, _u(rng, 1.7, 1.95)
    body = box_between((-w / 2, -d / 2, 0.0), (w / 2, d / 2, h))
    handle = box_between((w / 2 - 0.08, d / 2, h * 0.5), (w / 2 - 0.05, d / 2 + 0.03, h * 0.85))
    return Furniture("refrigerator", (Part("refrigerator", merge([body, handle]), "appliance"),), (w, d + 0.03, h),
                     front_clearance=0.8)


def ceiling_panel(rng: np.random.Generator, size: float | None = None) -> Furniture:
    """A flush LED panel: one downward-facing emissive quad 1 cm under the ceiling. Only its
    lit face exists, so next-event estimation never wastes samples on faces that cannot light
    the room."""
    s = size or _u(rng, 0.45, 0.65)
    h = s / 2
    verts = np.array([(-h, -h, -0.01), (h, -h, -0.01), (h, h, -0.01), (-h, h, -0.01)])
    panel = Mesh(verts, np.array([(0, 2, 1), (0, 3, 2)]))  # clockwise from above: normal −z
    return Furniture("ceiling light", (Part("ceiling light", panel, "light"),), (s, s, 0.0))


BUILDERS: dict[str, Callable[..., Furniture]] = {
    "dining table": lambda rng: table(rng, "dining"), "coffee table": lambda rng: table(rng, "coffee"),
    "desk": lambda rng: table(rng, "desk"), "side table": lambda rng: table(rng, "side"),
    "chair": chair, "office chair": office_chair, "sofa": sofa, "armchair": armchair, "bed": bed,
    "nightstand": lambda rng: cabinet(rng, "nightstand"), "dresser": lambda rng: cabinet(rng, "dresser"),
    "wardrobe": lambda rng: cabinet(rng, "wardrobe"), "sideboard": lambda rng: cabinet(rng, "sideboard"),
    "tv stand": lambda rng: cabinet(rng, "tv stand"), "bookshelf": bookshelf, "floor lamp": floor_lamp,
    "table lamp": table_lamp, "rug": rug, "plant": plant, "picture frame": picture_frame, "mirror": mirror,
    "tv": tv, "kitchen cabinet": kitchen_counter, "refrigerator": fridge, "ceiling light": ceiling_panel,
}


def build(category: str, rng: np.random.Generator, **kwargs) -> Furniture:
    if category not in BUILDERS:
        raise KeyError(f"unknown furniture category {category!r}; known: {', '.join(sorted(BUILDERS))}")
    if kwargs:
        return {"rug": rug, "kitchen cabinet": kitchen_counter, "sofa": sofa,
                "ceiling light": ceiling_panel}[category](rng, **kwargs)
    return BUILDERS[category](rng)
