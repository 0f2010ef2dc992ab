"""glTF ``KHR_lights_punctual`` lights → scene lights (point, spot, and directional as ``sun``).

The extension lists the lights in the document's ``extensions`` and attaches one to a node, which
places it: the light sits at the node's world origin and shines down the node's local −Z
(trimesh's scene graph gives the world transform of every node, light-only ones included, so
the transforms compose exactly as for the meshes). Positions and directions go through the
same up-axis conversion as the geometry.

Units. The extension gives point and spot intensity in candela (lm/sr) and directional intensity
in lux (lm/m²); the renderer wants radiant intensity (W/sr) and irradiance (W/m²). Both divide by
the luminous efficacy 683 lm/W, Blender's glTF importer's ``PBR_WATTS_TO_LUMENS`` (the SI
candela's definition at 555 nm): Blender imports a point or spot light of I cd as
W = I · 4π / 683 of radiant power, i.e. I / 683 W/sr, and a sun of E lx as E / 683 W/m². The
file's own values are kept in the import warnings. A spot's ``innerConeAngle``/``outerConeAngle``
(radians, defaults 0 and π/4) become ``cone_deg`` (degrees); ``range`` is ignored (the renderer's
lights fall off with the inverse square only), with a note. The glTF ``color`` is linear RGB,
as the scene's light colour is.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..model import Light
from .common import to_z_up, unique

EXTENSION = "KHR_lights_punctual"
LUMENS_PER_WATT = 683.0  # Blender's glTF importer: PBR_WATTS_TO_LUMENS
DEFAULT_OUTER_CONE = math.pi / 4.0  # glTF defaults, radians
DEFAULT_INNER_CONE = 0.0


def punctual_lights(path: Path, header: dict, graph, name_index: dict[str, int], rank: dict[int, int],
                    up: str) -> tuple[list[Light], list[str]]:
    """The file's punctual lights in node order (depth-first), and notes on what was converted.

    ``graph`` is trimesh's scene graph, ``name_index``/``rank`` come from
    :func:`.gltf_header.node_order` (trimesh's frame name → node index, node index → rank).
    """
    defs = ((header.get("extensions") or {}).get(EXTENSION) or {}).get("lights") or []
    nodes = header.get("nodes", []) or []
    frame_of = {i: frame for frame, i in name_index.items()}
    lights: list[Light] = []
    notes: list[str] = []
    taken: set[str] = set()
    for idx in sorted(rank, key=rank.get):  # nodes of the displayed scene, depth-first
        node = nodes[idx] if isinstance(nodes[idx], dict) else {}
        ref = ((node.get("extensions") or {}).get(EXTENSION) or {}).get("light")
        if ref is None:
            continue
        where = f"node {node.get('name', idx)!r}"
        if not (isinstance(ref, int) and 0 <= ref < len(defs) and isinstance(defs[ref], dict)):
            notes.append(f"{where}: {EXTENSION} light {ref!r} does not exist; ignored")
            continue
        frame = frame_of.get(idx)
        if frame is None or frame not in graph.nodes:
            continue
        light, note = _light(defs[ref], np.asarray(graph[frame][0], dtype=np.float64), up, where,
                             unique(str(defs[ref].get("name") or node.get("name") or f"light{ref}"), taken))
        notes += note
        if light is not None:
            lights.append(light)
    return lights, notes


def _light(d: dict, world: np.ndarray, up: str, where: str, name: str) -> tuple[Light | None, list[str]]:
    """One scene light from a light definition placed by the node's world transform."""
    kind = d.get("type")
    try:
        intensity = float(d.get("intensity", 1.0))
        color = tuple(max(0.0, float(c)) for c in (d.get("color") or (1.0, 1.0, 1.0))[:3])
    except (TypeError, ValueError):
        return None, [f"{where}: light {name!r} has a malformed intensity or color; ignored"]
    if kind not in ("point", "spot", "directional") or len(color) != 3 or not math.isfinite(intensity) \
            or intensity < 0:
        return None, [f"{where}: light {name!r} (type {kind!r}, intensity {d.get('intensity')!r}) is not a "
                      f"valid {EXTENSION} light; ignored"]
    notes = []
    if "range" in d:
        notes.append(f"light {name!r}: range {d['range']!r} ignored (the renderer's lights fall off with the "
                     f"inverse square only)")
    if kind == "directional":
        toward_sun = _direction(world, (0.0, 0.0, 1.0), up)  # light travels down local −Z
        watts = intensity / LUMENS_PER_WATT
        notes.append(f"light {name!r}: directional {intensity:g} lx → sun of {watts:.6g} W/m² (lux / "
                     f"{LUMENS_PER_WATT:g} lm/W)")
        return Light(name, "sun", color, watts, direction=toward_sun), notes
    position = tuple(float(x) for x in to_z_up(world[None, :3, 3], up)[0])
    watts = intensity / LUMENS_PER_WATT
    notes.append(f"light {name!r}: {kind} {intensity:g} cd → {watts:.6g} W/sr (candela / {LUMENS_PER_WATT:g} lm/W)")
    if kind == "point":
        return Light(name, "point", color, watts, position=position), notes
    spot = d.get("spot") or {}
    outer = float(spot.get("outerConeAngle", DEFAULT_OUTER_CONE))
    inner = float(spot.get("innerConeAngle", DEFAULT_INNER_CONE))
    if not 0.0 <= inner < outer <= math.pi / 2:  # the extension's own constraint
        outer = min(max(outer, 1e-3), math.pi / 2)
        inner = min(max(inner, 0.0), 0.99 * outer)
        notes.append(f"light {name!r}: cone angles {spot.get('innerConeAngle')!r}/{spot.get('outerConeAngle')!r} "
                     f"outside 0 ≤ inner < outer ≤ π/2; using {inner:.4g}/{outer:.4g} rad")
    return Light(name, "spot", color, watts, position=position, direction=_direction(world, (0.0, 0.0, -1.0), up),
                 cone_deg=(math.degrees(inner), math.degrees(outer))), notes


def _direction(world: np.ndarray, local: tuple[float, float, float], up: str) -> tuple[float, float, float]:
    """A node-local direction in the scene's frame, unit length (node scale is divided out)."""
    d = to_z_up((world[:3, :3] @ np.asarray(local))[None], up)[0].astype(np.float64)
    return tuple(float(x) for x in d / max(float(np.linalg.norm(d)), 1e-12))
