"""From scene edits to intrinsic edits: the intrinsic edit whose sample the benchmark pairs with
the rendered ground truth of the edited scene."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..scene.model import Scene
from .intrinsic import AlbedoChange, IntrinsicEdit, IrradianceChange, MaterialChange
from .region import Region
from .scene import AlbedoEdit, LightEdit, MaterialEdit, SceneEdit
from .values import RGB


class NoIntrinsicCounterpart(NotImplementedError, ValueError):
    """A scene edit that intrinsic channels cannot express (e.g. moving a light). It is both a
    NotImplementedError (what it is) and a ValueError (what CLI code catches for bad input)."""


def from_scene_edit(edit: SceneEdit, *, scene: Scene | None = None) -> IntrinsicEdit:
    """The intrinsic edit matching a scene edit of :mod:`.scene`.

    * ``AlbedoEdit`` → albedo set to its colour on its instance: exact (the renderer drops the
      texture, so the edited scene's albedo pass is exactly the colour there).
    * ``MaterialEdit`` → roughness/metallic set on its instance: exact. A transmission change
      → :class:`NoIntrinsicCounterpart`: the contract has no transmission channel (glass shows
      its own albedo/roughness/metallic; what it lets through is only in rgb).
    * ``LightEdit`` intensity/colour → a whole-frame irradiance scale (new/old intensity) and
      tint (new/old colour, both normalised to max 1 as the scene does). Needs ``scene`` for the
      light's current values. This is an approximation: irradiance is linear in a light only
      when that light is the only light (no other lights, no sky through windows) and the
      renderer's indirect clamp is off; otherwise the other lights' share is wrongly scaled
      too. An area light's own visible emission is not in the intrinsics at all.
    * ``LightEdit`` position → :class:`NoIntrinsicCounterpart`: moving a light changes
      irradiance non-uniformly (shadows, falloff), which no intrinsic-space edit reproduces.
    """
    if isinstance(edit, AlbedoEdit):
        return AlbedoChange(color=tuple(edit.color), region=Region(instance=edit.instance_id))
    if isinstance(edit, MaterialEdit):
        if edit.transmission is not None:
            raise NoIntrinsicCounterpart(
                f"{edit}: transmission has no intrinsic channel in the clip contract; render the edited scene instead")
        return MaterialChange(roughness=edit.roughness, metallic=edit.metallic,
                              region=Region(instance=edit.instance_id))
    if isinstance(edit, LightEdit):
        return _from_light_edit(edit, scene)
    raise TypeError(f"not a scene edit: {edit!r}")


def _from_light_edit(edit: LightEdit, scene: Scene | None) -> IrradianceChange:
    if edit.position is not None:
        raise NoIntrinsicCounterpart(
            f"{edit}: moving a light has no intrinsic-space counterpart (it changes shadows and "
            f"falloff, not a uniform irradiance factor); render the edited scene's irradiance instead")
    if edit.intensity is None and edit.color is None:
        raise ValueError(f"{edit}: changes nothing")
    if scene is None:
        raise ValueError(f"{edit}: converting a light edit needs the scene (the light's current "
                         f"intensity and colour)")
    lights = {light.name: light for light in scene.lights}
    if edit.name not in lights:
        raise ValueError(f"{edit}: scene {scene.name!r} has no light {edit.name!r} "
                         f"(lights: {', '.join(sorted(lights))})")
    light = lights[edit.name]
    scale = tint = None
    if edit.intensity is not None:
        if light.intensity <= 0:
            raise ValueError(f"{edit}: light {edit.name!r} has intensity 0, so its irradiance "
                             f"cannot be scaled to a new intensity")
        scale = float(edit.intensity) / float(light.intensity)
    if edit.color is not None:
        tint = _color_ratio(edit, light.color)
    return IrradianceChange(scale=scale, tint=tint)


def _color_ratio(edit: LightEdit, old: Sequence[float]) -> RGB:
    """new / old light colour per channel, both normalised to max 1 (as the scene stores it)."""
    new = np.asarray(edit.color, np.float64)
    old_ = np.asarray(old, np.float64)
    if new.shape != (3,) or new.min() < 0 or new.max() <= 0:
        raise ValueError(f"{edit}: colour must be 3 non-negative values, not all zero")
    new, old_ = new / new.max(), old_ / old_.max()
    if np.any((old_ == 0) & (new > 0)):
        raise ValueError(f"{edit}: the light emits nothing in a channel the new colour needs; "
                         f"irradiance there cannot be tinted up from zero")
    return tuple(float(r) for r in np.where(old_ > 0, new / np.where(old_ > 0, old_, 1), 1.0))
