"""One clip job, run inside a Ray worker: get the scene, plan the trajectory, render, validate,
encode as a WebDataset sample. A generated scene is regenerated from its seed in the worker; a
user scene comes in as the :class:`~interiorvideo.scene.model.Scene` the driver loaded once from
its frozen copy (:mod:`.sources`) and put in Ray's object store, so no worker imports a file or
reads the build folder. Everything else is rebuilt in the worker (an open3d ``RaycastingScene``
cannot be pickled) and everything is seeded, so a retried or resumed job gives the same bytes."""

from __future__ import annotations

import numpy as np

from interiorvideo.render import RenderSettings
from interiorvideo.render.mitsuba_backend import make_renderer
from interiorvideo.scene import generate_scene
from interiorvideo.scene.model import Scene
from interiorvideo.schema import validate
from interiorvideo.shards import encode_sample
from interiorvideo.trajectory import TrajectorySettings, plan_trajectory

from .plan import BuildConfig, ClipJob


def clip_stats(clip: dict) -> dict:
    """Simple per-clip statistics for the manifest."""
    rgb = clip["rgb"].astype(np.float32)
    lum = rgb @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    depth = clip["depth"][..., 0]
    pos = clip["camera"]["poses"][:, :3, 3]
    return {
        "mean_luminance": float(lum.mean()),
        "mean_irradiance": float(clip["irradiance"].astype(np.float32).mean()),
        "mean_depth": float(depth[depth > 0].mean()) if (depth > 0).any() else 0.0,
        "sky_fraction": float((clip["instance"] == 0).mean()),
        "instances_visible": int(len(np.unique(clip["instance"][clip["instance"] > 0]))),
        "path_length_m": float(np.linalg.norm(np.diff(pos, axis=0), axis=1).sum()),
    }


def render_job(job: ClipJob, config: BuildConfig, threads: int = 0, scene: Scene | None = None,
               source: dict | None = None) -> dict:
    """Returns {"sample": member bytes, "stats": {...}, "meta": {...}} for one clip.

    ``scene``: the scene of a user source (required for one; a generated scene is regenerated from
    ``job.scene_seed``); ``source``: its ``{"path", "kind", "sha256"}``, recorded in the clip's meta."""
    if scene is None:
        if job.source_kind != "generated" or job.scene_seed is None:
            raise ValueError(f"clip {job.key}: the scene of a {job.source_kind} source must be passed to render_job")
        scene = generate_scene(job.scene_seed)
    renderer = make_renderer(scene, RenderSettings(samples=config.samples, seed=job.trajectory_seed, threads=threads),
                             config.backend, config.mitsuba_variant)
    settings = TrajectorySettings(width=config.width, height=config.height)
    traj = plan_trajectory(scene, job.room_id, config.frames, config.fps, job.trajectory_seed, settings,
                           rc=renderer.data.rc)
    clip = renderer.render_clip(traj, config.width, config.height)
    clip["meta"].update({"key": job.key, "split": job.split, "scene_index": job.scene_index,
                         "trajectory_seed": job.trajectory_seed, "room_kind": scene.room(job.room_id).kind})
    if job.source_kind == "generated":
        # Only a generated scene can be regenerated from its seed (what edit ground truth needs).
        clip["meta"]["scene_seed"] = job.scene_seed
    else:
        clip["meta"]["source"] = dict(source or {"kind": job.source_kind})
    validate(clip)
    return {"sample": encode_sample(job.key, clip), "stats": clip_stats(clip), "meta": clip["meta"]}
