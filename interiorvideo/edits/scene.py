"""Scene edits as data, so the ground truth of an edited scene can be rendered.

The vocabulary matches the parametric edits X2Video applies to intrinsic channels
(:mod:`.intrinsic`; :func:`~.bridge.from_scene_edit` converts): an instance's albedo colour, its
roughness/metallic, and a light's intensity, colour or position. Edits are frozen dataclasses
(their JSON form is in :mod:`.serialise`); :func:`apply_scene_edits` returns a new Scene and
touches nothing they do not name (a material shared by several instances is split off for the
edited one).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Union

import numpy as np

from ..scene.mesh import Mesh
from ..scene.model import RGB, Material, Scene, SceneObject


@dataclass(frozen=True)
class AlbedoEdit:
    """Recolour an instance: its base colour becomes ``color`` (linear) and its texture is dropped,
    so the edited albedo is exactly ``color``."""

    instance_id: int
    color: RGB
    kind: str = "albedo"


@dataclass(frozen=True)
class MaterialEdit:
    """Set an instance's roughness, metallic and/or transmission (0..1: how much of it is glass —
    thin-walled, ior 1.5 unless the material says otherwise; see ``Material``), dropping the
    material's map of an edited channel, so the edited pass is exactly the value."""

    instance_id: int
    roughness: float | None = None
    metallic: float | None = None
    kind: str = "material"
    transmission: float | None = None


@dataclass(frozen=True)
class LightEdit:
    """Change a light's intensity, colour (normalised to max 1) or position. For an area light
    the emitting object moves so its centroid lands on ``position``; the sun has no position."""

    name: str
    intensity: float | None = None
    color: RGB | None = None
    position: tuple[float, float, float] | None = None
    kind: str = "light"


SceneEdit = Union[AlbedoEdit, MaterialEdit, LightEdit]
SCENE_EDIT_TYPES: dict[str, type] = {"albedo": AlbedoEdit, "material": MaterialEdit, "light": LightEdit}


def _own_material(obj: SceneObject, **changes) -> Material:
    """A copy of the object's material for it alone, so instances sharing it are untouched."""
    return replace(obj.material, name=f"{obj.material.name}@{obj.instance_id}", **changes)


def apply_scene_edits(scene: Scene, edits: Iterable[SceneEdit]) -> Scene:
    """``scene`` with ``edits`` applied in order: a new Scene (the input is unchanged) that the
    renderer turns into the edit's ground truth."""
    objects = {o.instance_id: o for o in scene.objects}
    lights = {light.name: light for light in scene.lights}
    for edit in edits:
        if isinstance(edit, (AlbedoEdit, MaterialEdit)):
            if edit.instance_id not in objects:
                raise KeyError(f"edit {edit}: scene {scene.name!r} has no instance {edit.instance_id}")
            obj = objects[edit.instance_id]
            if isinstance(edit, AlbedoEdit):
                color = tuple(float(c) for c in edit.color)
                if len(color) != 3 or min(color) < 0 or max(color) > 1:
                    raise ValueError(f"edit {edit}: colour must be 3 linear values in [0, 1]")
                mat = _own_material(obj, base_color=color, texture=None)
            else:
                changes = {k: float(v) for k, v in (("roughness", edit.roughness), ("metallic", edit.metallic),
                                                    ("transmission", edit.transmission)) if v is not None}
                if not changes:
                    raise ValueError(f"edit {edit} changes nothing")
                # The value is set, not scaled: a roughness/metallic map of the material goes (issue 16).
                maps = {f"{k}_texture": None for k in changes if k in ("roughness", "metallic")}
                mat = _own_material(obj, **changes, **maps)
            objects[obj.instance_id] = replace(obj, material=mat)
        elif isinstance(edit, LightEdit):
            if edit.name not in lights:
                known = ", ".join(sorted(lights))
                raise KeyError(f"edit {edit}: scene {scene.name!r} has no light {edit.name!r} (lights: {known})")
            light = lights[edit.name]
            changes: dict = {}
            if edit.intensity is not None:
                if edit.intensity < 0:
                    raise ValueError(f"edit {edit}: intensity must be non-negative")
                changes["intensity"] = float(edit.intensity)
            if edit.color is not None:
                c = np.asarray(edit.color, np.float64)
                if c.shape != (3,) or c.min() < 0 or c.max() <= 0:
                    raise ValueError(f"edit {edit}: colour must be 3 non-negative values, not all zero")
                changes["color"] = tuple(float(v) for v in c / c.max())
            if edit.position is not None:
                if light.kind == "sun":
                    raise ValueError(f"edit {edit}: the sun has a direction, not a position")
                if light.kind != "area":
                    changes["position"] = tuple(float(v) for v in edit.position)
            new = replace(light, **changes)
            lights[light.name] = new
            if light.kind == "area":
                obj = objects[light.object_id]
                emission = tuple(float(c) * new.intensity for c in new.color)
                mesh = obj.mesh
                if edit.position is not None:
                    shift = np.asarray(edit.position, np.float64) - mesh.vertices.astype(np.float64).mean(axis=0)
                    mesh = Mesh(mesh.vertices.astype(np.float64) + shift, mesh.triangles, mesh.uvs)
                objects[obj.instance_id] = replace(obj, material=_own_material(obj, emission=emission), mesh=mesh)
        else:
            raise TypeError(f"not an edit: {edit!r}")
    return replace(scene, objects=tuple(objects[o.instance_id] for o in scene.objects),
                   lights=tuple(lights[light.name] for light in scene.lights))
