"""The opt-in default light rig for scenes that bring no light of their own.

Imported files often carry no emitter at all (lights are a renderer setting in most modelling
tools, not part of the mesh), and a closed room without one renders exactly black. The rig is
what an architect would put in: point lights in a grid under each room's ceiling, at most
:data:`RIG_SPACING` apart, of warm white. Its intensity gives about the floor irradiance of the
generated apartments' ceiling lamps (≈ 1.4 under a light at 2.4 m). It is opt-in so that nobody's
scene is relit without asking, and recorded in ``scene.source["assumptions"]``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .model import Light, Scene

RIG_SPACING = 3.0  # m between lights
RIG_BELOW_CEILING = 0.3  # m
RIG_INTENSITY = 8.0  # W/sr per light, the renderer's units
RIG_COLOR = (1.0, 0.95, 0.88)


def default_light_rig(scene: Scene) -> Scene:
    """``scene`` with a grid of point lights under each room's ceiling added to its lights."""
    lights = list(scene.lights)
    placed = 0
    for room in scene.rooms:
        x0, y0, x1, y1 = room.bounds
        nx = max(1, int(np.ceil((x1 - x0) / RIG_SPACING)))
        ny = max(1, int(np.ceil((y1 - y0) / RIG_SPACING)))
        z = max(room.ceiling_z - RIG_BELOW_CEILING, room.floor_z + 0.5 * (room.ceiling_z - room.floor_z))
        for j in range(ny):
            for i in range(nx):
                x = x0 + (i + 0.5) * (x1 - x0) / nx
                y = y0 + (j + 0.5) * (y1 - y0) / ny
                lights.append(Light(f"default_light_r{room.room_id}_{j * nx + i}", "point", RIG_COLOR, RIG_INTENSITY,
                                    position=(round(x, 4), round(y, 4), round(z, 4)), room_id=room.room_id))
                placed += 1
    note = (f"default light rig: {placed} point lights of {RIG_INTENSITY:g} W/sr, at most {RIG_SPACING:g} m apart, "
            f"{RIG_BELOW_CEILING:g} m under each room's ceiling")
    source = {**scene.source, "assumptions": [*scene.source.get("assumptions", []), note]}
    return replace(scene, lights=tuple(lights), source=source)
