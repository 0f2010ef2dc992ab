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
        self._tex_by_hash: dict[str, str] = {}
        self._mats: dict[tuple, Material] = {}
        self._names: set[str] = set()

    def texture(self, img: np.ndarray, hint: str | None) -> str:
        key = hashlib.sha1(np.ascontiguousarray(img).tobytes() + str(img.shape).encode()).hexdigest()
        if key not in self._tex_by_hash:
            base = re.sub(r"\W+", "_", hint).strip("_") if hint else ""
            self._tex_by_hash[key] = unique(base or f"texture{len(self.textures)}", set(self.textures))
            self.textures[self._tex_by_hash[key]] = img
        return self._tex_by_hash[key]

    def material(self, raw: RawMaterial, obj_name: str) -> Material:
        tex = self.texture(raw.texture, raw.texture_hint) if raw.texture is not None else None
        if raw.exact is not None:
            key = ("exact", replace(raw.exact, texture=None), tex)
            if key not in self._mats:
                self._mats[key] = replace(raw.exact, name=unique(raw.exact.name, self._names), texture=tex)
            return self._mats[key]
        name = raw.name or f"{obj_name}_material"
        key = (name, tuple(round(c, 6) for c in raw.base_color), round(raw.roughness, 6), round(raw.metallic, 6),
               tuple(round(float(e), 6) for e in raw.emission), tex, round(raw.specular, 6),
               round(raw.transmission, 6), round(raw.ior, 6), raw.thin)
        if key not in self._mats:
            kind = guess_kind(f"{name} {obj_name}", raw.metallic, raw.emission)
            effective = np.asarray(raw.base_color)
            if tex is not None:
                effective = effective * mean_linear(self.textures[tex])
            self._mats[key] = Material(
                name=unique(name, self._names), kind=kind, base_color=tuple(float(c) for c in raw.base_color),
                roughness=float(raw.roughness), metallic=float(raw.metallic),
                emission=tuple(float(e) for e in raw.emission), texture=tex,
                color_name=color_name(np.clip(effective, 0.0, 1.0), raw.metallic >= 0.5),
                specular=float(raw.specular), transmission=float(raw.transmission), ior=float(raw.ior),
                thin=bool(raw.thin),
            )
        return self._mats[key]
