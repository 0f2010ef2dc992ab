"""The ground truth of an edit: a dataset clip's scene, regenerated from its seed, edited, and
rendered at the clip's own cameras with the clip's own renderer settings.

An unedited re-render reproduces the stored clip bit for bit, so a render with edits differs
from the clip only by what the edits change. Renders are cached (:func:`render_edited`).
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..edits.scene import SceneEdit, apply_scene_edits
from ..edits.serialise import scene_edit_to_dict
from ..fileio import atomic_write_bytes, digest
from ..scene import generate_scene
from ..scene.generator import GENERATOR_VERSION
from ..scene.model import Scene
from .renderer import RENDERER_VERSION, Renderer, RenderSettings

RENDERED_PASSES = ("rgb", "irradiance", "albedo", "roughness", "metallic", "instance")


class SceneNotReproducible(ValueError):
    """A clip whose scene cannot be regenerated (no scene seed, or the generator changed since)."""


def regenerate_scene(clip: Mapping[str, Any]) -> Scene:
    """The clip's scene, regenerated from ``meta.scene_seed`` (procedural scenes only)."""
    meta = clip["meta"]
    if "scene_seed" not in meta:
        raise SceneNotReproducible(
            "its meta has no scene_seed, so its scene cannot be regenerated to render the edit's ground truth "
            "(imported scenes are not supported by the edit tasks)")
    scene = generate_scene(int(meta["scene_seed"]))
    if meta.get("scene_id") not in (None, scene.name):
        raise SceneNotReproducible(f"scene seed {meta['scene_seed']} now generates {scene.name!r}, not the clip's "
                                   f"{meta['scene_id']!r} (the generator changed since the dataset was built)")
    return scene


def render_settings(clip: Mapping[str, Any]) -> RenderSettings:
    """The renderer settings the clip was rendered with (``meta.renderer``)."""
    names = {f.name for f in dataclasses.fields(RenderSettings)}
    meta = clip["meta"].get("renderer", {})
    # Clips of renderer version ≤ 2 predate the pixel filter: every ray went through the centre.
    return RenderSettings(**{"pixel_samples": 1, **{k: v for k, v in meta.items() if k in names}})


def render_edited(clip: Mapping[str, Any], edits: Sequence[SceneEdit], cache: Path | None = None,
                  scene: Scene | None = None) -> dict[str, np.ndarray]:
    """The passes (:data:`RENDERED_PASSES`) of the clip's scene with ``edits`` applied, rendered at
    the clip's cameras with its renderer settings; rgb/irradiance stored as float16 like the
    dataset. ``scene``: the clip's scene if already regenerated. Cached under ``cache/renders/``
    by a digest of everything that determines the render; a damaged entry is rendered again."""
    meta = clip["meta"]
    K, poses = np.asarray(clip["camera"]["K"]), np.asarray(clip["camera"]["poses"])
    T, H, W = clip["rgb"].shape[:3]
    settings = render_settings(clip)
    key = digest({"scene_seed": meta.get("scene_seed"), "scene": meta.get("scene_id"),
                  "edits": [scene_edit_to_dict(e) for e in edits], "settings": dataclasses.asdict(settings),
                  "renderer": RENDERER_VERSION, "generator": GENERATOR_VERSION, "K": K.tolist(),
                  "poses": poses.tolist(), "size": [W, H]}, 24)
    path = Path(cache) / "renders" / f"{key}.npz" if cache is not None else None
    if path is not None and path.is_file():
        try:
            with np.load(path) as z:
                return {k: z[k] for k in z.files}
        except (OSError, ValueError):
            path.unlink(missing_ok=True)
    renderer = Renderer(apply_scene_edits(scene or regenerate_scene(clip), edits), settings)
    frames = [renderer.render_frame(K, pose, W, H) for pose in poses]
    out = {p: np.stack([f[p] for f in frames]) for p in RENDERED_PASSES}
    out["rgb"], out["irradiance"] = out["rgb"].astype(np.float16), out["irradiance"].astype(np.float16)
    if path is not None:
        buf = io.BytesIO()
        np.savez(buf, **out)
        atomic_write_bytes(path, buf.getvalue())
    return out
