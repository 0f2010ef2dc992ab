"""Scene materials and textures from raw ones, shared across all imported files: equal
textures (by content) and equal materials (by value) become one, names are made unique, and
each new material gets its kind and colour name — or, from our own GLB, is taken exactly as
its extras state it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace

import numpy as np

from ..materials import color_name
from ..model import Material
from .common import RawMaterial, mean_linear, unique
from .names import guess_kind


class MaterialBank:
    """De-duplicates textures (by content) and materials (by value) across files."""

    def __init__(self) -> None:
        self.textures: dict[str, np.ndarray] = {}
        self.linear: set[str] = set()  # keys of linear data maps (Scene.linear_textures)
        self._tex_by_hash: dict[str, str] = {}
        self._mats: dict[tuple, Material] = {}
        self._names: set[str] = set()

    def texture(self, img: np.ndarray, hint: str | None, linear: bool = False) -> str:
        """The key of a texture (equal content in the same colour space: one key)."""
        key = hashlib.sha1(np.ascontiguousarray(img).tobytes() + str(img.shape).encode()).hexdigest()
        key += ":linear" if linear else ""
        if key not in self._tex_by_hash:
            base = re.sub(r"\W+", "_", hint).strip("_") if hint else ""
            self._tex_by_hash[key] = unique(base or f"texture{len(self.textures)}", set(self.textures))
            self.textures[self._tex_by_hash[key]] = img
            if linear:
                self.linear.add(self._tex_by_hash[key])
        return self._tex_by_hash[key]

    def maps(self, raw: RawMaterial, hint: str) -> dict:
        """The Material fields of a raw material's maps beyond base colour, textures registered."""
        def key(img, what, linear=True):
            return None if img is None else self.texture(img, f"{hint}_{what}", linear)

        # An alpha read from channel 3 is linear in an sRGB image too: it shares the base colour's key.
        alpha_linear = raw.alpha_channel < 3
        return {"roughness_texture": key(raw.roughness_map, "mr"), "roughness_channel": raw.roughness_channel,
                "metallic_texture": key(raw.metallic_map, "mr"), "metallic_channel": raw.metallic_channel,
                "normal_texture": key(raw.normal_map, "normal"), "normal_scale": float(raw.normal_scale),
                "alpha_mode": raw.alpha_mode, "alpha": float(raw.alpha), "alpha_cutoff": float(raw.alpha_cutoff),
                "alpha_texture": key(raw.alpha_map, "alpha" if alpha_linear else "color", alpha_linear),
                "alpha_channel": raw.alpha_channel}

    def material(self, raw: RawMaterial, obj_name: str) -> Material:
        tex = self.texture(raw.texture, raw.texture_hint) if raw.texture is not None else None
        hint = raw.texture_hint or raw.name or obj_name
        maps = self.maps(raw, hint)
        if raw.exact is not None:  # the extras' values, the GLB's maps (their keys are this bank's)
            keys = {k: v for k, v in maps.items() if k.endswith(("_texture", "_channel"))}
            key = ("exact", replace(raw.exact, texture=None, **dict.fromkeys(k for k in keys if k.endswith("_texture"))),
                   tex, tuple(sorted(keys.items())))
            if key not in self._mats:
                self._mats[key] = replace(raw.exact, name=unique(raw.exact.name, self._names), texture=tex, **keys)
            return self._mats[key]
        name = raw.name or f"{obj_name}_material"
        key = (name, tuple(round(c, 6) for c in raw.base_color), round(raw.roughness, 6), round(raw.metallic, 6),
               tuple(round(float(e), 6) for e in raw.emission), tex, round(raw.specular, 6), tuple(sorted(maps.items())),
               raw.emission_two_sided and max(raw.emission) > 0, round(raw.transmission, 6), round(raw.ior, 6),
               raw.thin)
        if key not in self._mats:
            kind = guess_kind(f"{name} {obj_name}", raw.metallic, raw.emission)
            effective = np.asarray(raw.base_color)
            if tex is not None:
                effective = effective * mean_linear(self.textures[tex][..., :3])
            self._mats[key] = Material(
                name=unique(name, self._names), kind=kind, base_color=tuple(float(c) for c in raw.base_color),
                roughness=float(raw.roughness), metallic=float(raw.metallic),
                emission=tuple(float(e) for e in raw.emission), texture=tex,
                color_name=color_name(np.clip(effective, 0.0, 1.0), raw.metallic >= 0.5),
                specular=float(raw.specular), **maps,
                emission_two_sided=bool(raw.emission_two_sided and max(raw.emission) > 0),
                transmission=float(raw.transmission), ior=float(raw.ior), thin=bool(raw.thin),
            )
        return self._mats[key]
