"""One clip job, run inside a Ray worker: regenerate the scene from its seed, plan the
trajectory, render, validate, encode as a WebDataset sample. Everything is rebuilt in the worker
(an open3d ``RaycastingScene`` cannot be pickled) and everything is seeded, so a retried or
resumed job gives the same bytes."""

from __future__ import annotations

import numpy as np

from interiorvideo.render import Renderer, RenderSettings
from interiorvideo.scene import generate_scene
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


def render_job(job: ClipJob, config: BuildConfig, threads: int = 0) -> dict:
    """Returns {"sample": member bytes, "stats": {...}, "meta": {...}} for one clip."""
    scene = generate_scene(job.scene_seed)
    renderer = Renderer(scene, RenderSettings(samples=config.samples, seed=job.trajectory_seed, threads=threads))
    settings = TrajectorySettings(width=config.width, height=config.height)
    traj = plan_trajectory(scene, job.room_id, config.frames, config.fps, job.trajectory_seed, settings,
                           rc=renderer.data.rc)
    clip = renderer.render_clip(traj, config.width, config.height)
    clip["meta"].update({"key": job.key, "split": job.split, "scene_index": job.scene_index,
                         "scene_seed": job.scene_seed, "trajectory_seed": job.trajectory_seed,
                         "room_kind": scene.room(job.room_id).kind})
    validate(clip)
    return {"sample": encode_sample(job.key, clip), "stats": clip_stats(clip), "meta": clip["meta"]}
