"""A quick look through a trajectory's camera: ray-cast frames shaded by material colour and
the angle of incidence. It is a preview for people checking a path, not the renderer."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..colour import linear_to_srgb, to_uint8
from ..fileio import atomic_write_bytes
from ..scene.model import Scene
from ..scene.raycast import RaycastScene, build_raycast_scene
from ..video import mp4_bytes
from .camera import Trajectory, scale_intrinsics


def preview_frames(scene: Scene, traj: Trajectory, width: int = 192, rc: RaycastScene | None = None) -> np.ndarray:
    """(T, H, W, 3) uint8 sRGB frames at ``width`` pixels wide (aspect kept)."""
    rc = rc or build_raycast_scene(scene)
    height = max(1, int(round(width * traj.height / traj.width)))
    K = scale_intrinsics(traj.K, (traj.width, traj.height), (width, height))
    u, v = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    cam = np.stack([u, v, np.ones_like(u)], axis=-1) @ np.linalg.inv(K).T
    cam /= np.linalg.norm(cam, axis=-1, keepdims=True)
    colors = np.zeros((int(rc.geometry_to_instance.max()) + 1 if len(scene.objects) else 1, 3))
    for o in scene.objects:
        colors[o.instance_id] = np.asarray(o.material.base_color) + np.minimum(np.asarray(o.material.emission), 1.0)
    sky = np.asarray(scene.sky.horizon)
    frames = []
    for pose in traj.poses:
        d = cam @ pose[:3, :3].T
        hit = rc.cast(np.broadcast_to(pose[:3, 3], d.shape), d)
        shade = 0.3 + 0.7 * np.abs(np.sum(hit["normal"] * d, axis=-1, keepdims=True))
        rgb = np.where(hit["instance"][..., None] > 0, colors[hit["instance"]] * shade, sky)
        frames.append(to_uint8(linear_to_srgb(rgb * 1.2)))
    return np.stack(frames)


def write_preview_video(scene: Scene, traj: Trajectory, path: str | Path, width: int = 192) -> Path:
    return atomic_write_bytes(path, mp4_bytes(preview_frames(scene, traj, width), traj.fps))
