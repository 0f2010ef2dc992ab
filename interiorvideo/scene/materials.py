"""The material palette: physically plausible albedo, roughness and metallic per material kind,
small procedural textures, and colour names for prompts.

Ranges follow common PBR charts: non-metal albedo stays in about [0.03, 0.9] (nothing real is
whiter than fresh snow), metals have metallic = 1 and their albedo is the specular colour
(steel ≈ 0.56, gold/brass yellowish, copper reddish), mirrors are metals with roughness ≈ 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from skimage.color import deltaE_ciede2000, rgb2lab

from ..colour import linear_to_srgb, srgb_to_linear
from .model import Material

# Named colours in sRGB (0-255): what a person would call them in a prompt.
COLOR_NAMES: dict[str, tuple[int, int, int]] = {
    "white": (240, 240, 236), "off-white": (228, 222, 206), "light gray": (190, 190, 190), "gray": (128, 128, 128),
    "dark gray": (70, 70, 72), "black": (25, 25, 25), "beige": (214, 196, 160), "cream": (240, 230, 200),
    "tan": (190, 150, 105), "light brown": (170, 120, 75), "brown": (125, 80, 45), "dark brown": (75, 48, 30),
    "red": (180, 40, 40), "dark red": (115, 25, 30), "orange": (220, 120, 40), "yellow": (225, 200, 60),
    "mustard": (190, 150, 40), "olive": (120, 120, 50), "green": (60, 140, 70), "dark green": (35, 80, 45),
    "sage green": (150, 170, 130), "teal": (40, 128, 128), "light blue": (150, 190, 225), "blue": (50, 90, 180),
    "navy blue": (30, 40, 90), "purple": (110, 60, 140), "lavender": (180, 160, 210), "pink": (225, 150, 170),
    "terracotta": (195, 100, 70), "silver": (200, 200, 205), "gold": (212, 175, 55), "copper": (184, 115, 75),
}
_NAME_LIST = list(COLOR_NAMES)
_NAME_LAB = rgb2lab(np.array([COLOR_NAMES[n] for n in _NAME_LIST], dtype=np.float64)[None] / 255.0)[0]


METAL_NAMES = frozenset({"silver", "gold", "copper"})


def color_name(linear_rgb, metallic: bool = False) -> str:
    """The nearest named colour by CIEDE2000 (scikit-image's ΔE); metal names only for metals."""
    lab = rgb2lab(linear_to_srgb(np.asarray(linear_rgb, dtype=np.float64))[None, None])[0, 0]
    d = deltaE_ciede2000(np.broadcast_to(lab, _NAME_LAB.shape), _NAME_LAB)
    if not metallic:
        d = np.where([n in METAL_NAMES for n in _NAME_LIST], np.inf, d)
    return _NAME_LIST[int(np.argmin(d))]


@dataclass(frozen=True)
class KindSpec:
    """How to sample a material of one kind: candidate sRGB colours plus jitter, and ranges."""

    colors: tuple[str, ...]
    roughness: tuple[float, float]
    metallic: float
    texture: str | None = None
    word: str = ""  # the adjective used in prompts


KINDS: dict[str, KindSpec] = {
    "wood": KindSpec(("light brown", "brown", "dark brown", "tan", "beige"), (0.45, 0.8), 0.0, "wood", "wooden"),
    "fabric": KindSpec(("gray", "light gray", "dark gray", "beige", "cream", "blue", "navy blue", "green", "dark green",
                        "sage green", "teal", "red", "dark red", "mustard", "orange", "pink", "purple", "lavender",
                        "terracotta", "olive"), (0.8, 1.0), 0.0, "fabric", "fabric"),
    "paint": KindSpec(("white", "off-white", "cream", "beige", "light gray", "sage green", "light blue", "lavender",
                       "pink"), (0.75, 0.95), 0.0, None, "painted"),
    "ceramic": KindSpec(("white", "off-white", "light gray", "gray", "teal", "terracotta", "black", "blue"),
                        (0.05, 0.3), 0.0, None, "ceramic"),
    "tile": KindSpec(("white", "off-white", "light gray", "gray", "beige", "terracotta"), (0.15, 0.4), 0.0,
                     "tile", "tiled"),
    "metal": KindSpec(("silver", "gray", "gold", "copper", "black"), (0.15, 0.5), 1.0, None, "metal"),
    "mirror": KindSpec(("silver",), (0.0, 0.04), 1.0, None, "mirrored"),
    "plastic": KindSpec(("white", "black", "red", "yellow", "blue", "green", "gray"), (0.25, 0.6), 0.0, None, "plastic"),
    "leather": KindSpec(("brown", "dark brown", "black", "tan", "dark red"), (0.45, 0.7), 0.0, None, "leather"),
    "stone": KindSpec(("white", "light gray", "gray", "dark gray", "beige", "black"), (0.2, 0.5), 0.0, "marble",
                      "marble"),
    "plant": KindSpec(("green", "dark green", "olive", "sage green"), (0.55, 0.8), 0.0, None, "green"),
    "emissive": KindSpec(("white", "cream"), (0.9, 1.0), 0.0, None, "glowing"),
}

# Albedo bounds for non-metals (linear); metals keep their specular colour.
ALBEDO_RANGE = (0.03, 0.9)


def sample_material(kind: str, rng: np.random.Generator, name: str, color: str | None = None,
                    emission=(0.0, 0.0, 0.0)) -> Material:
    """Sample a material of ``kind``; ``color`` pins the named colour (else one is drawn)."""
    if kind not in KINDS:
        raise KeyError(f"unknown material kind {kind!r}; known: {', '.join(KINDS)}")
    spec = KINDS[kind]
    cname = color if color is not None else spec.colors[int(rng.integers(len(spec.colors)))]
    srgb = np.array(COLOR_NAMES[cname], dtype=np.float64) / 255.0
    srgb = np.clip(srgb + rng.normal(0.0, 0.025, 3), 0.0, 1.0)
    base = srgb_to_linear(srgb)
    if spec.metallic < 0.5:
        base = np.clip(base, *ALBEDO_RANGE)
    else:
        base = np.clip(base, 0.3, 0.98)
    lo, hi = spec.roughness
    rough = float(rng.uniform(lo, hi))
    base_t = tuple(round(float(c), 4) for c in base)
    return Material(
        name=name, kind=kind, base_color=base_t, roughness=round(rough, 4), metallic=spec.metallic,
        emission=tuple(float(e) for e in emission), texture=spec.texture, color_name=color_name(base_t, spec.metallic >= 0.5),
    )


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Tileable value noise: a coarse random grid upsampled with periodic bilinear interpolation."""
    grid = rng.random((cells, cells))
    t = np.arange(size) * cells / size
    i0 = np.floor(t).astype(int)
    f = t - i0
    f = f * f * (3 - 2 * f)
    i1 = (i0 + 1) % cells
    rows = grid[i0] * (1 - f)[:, None] + grid[i1] * f[:, None]
    return rows[:, i0] * (1 - f)[None, :] + rows[:, i1] * f[None, :]


def make_texture(pattern: str, rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """A tileable sRGB uint8 modulation texture (mean ≈ 0.85 so it darkens the base colour a little).

    wood: grain stripes with noise; fabric: a weave; tile: grout lines; marble: veins.
    """
    y, x = np.mgrid[0:size, 0:size] / size
    n = _smooth_noise(rng, size, 8)
    if pattern == "wood":
        v = 0.78 + 0.14 * np.sin(2 * np.pi * (6 * y + 1.5 * n)) ** 2 + 0.06 * _smooth_noise(rng, size, 32)
    elif pattern == "fabric":
        weave = (np.sin(2 * np.pi * 32 * x) * np.sin(2 * np.pi * 32 * y) > 0).astype(float)
        v = 0.82 + 0.08 * weave + 0.06 * n
    elif pattern == "tile":
        u = (x * 4) % 1.0
        w = (y * 4) % 1.0
        grout = (np.minimum(np.minimum(u, 1 - u), np.minimum(w, 1 - w)) < 0.03).astype(float)
        v = 0.9 - 0.35 * grout + 0.05 * n
    elif pattern == "marble":
        v = 0.86 + 0.1 * np.abs(np.sin(2 * np.pi * (3 * x + 2 * y + 2.5 * n))) ** 0.3 - 0.08
    else:
        raise KeyError(f"unknown texture pattern {pattern!r}")
    v = np.clip(v, 0.0, 1.0)
    return np.repeat((v * 255.0 + 0.5).astype(np.uint8)[..., None], 3, axis=2)


# Tile size in metres per texture repeat: planks and tiles look right at these scales.
TEXTURE_TILE_SIZE = {"wood": 0.8, "fabric": 0.25, "tile": 1.2, "marble": 1.0}
