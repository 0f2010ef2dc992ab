"""The CPU renderer: a scene and a trajectory in, one clip of the contract out.

Per frame: primary rays give the intrinsic passes (albedo through UV textures, roughness,
metallic, camera-space normal, z-depth, instance id); the integrator gives irradiance; rgb is
(1 − metallic)(1 − F)·albedo·irradiance + GGX specular from the lights (rough surfaces) or a
traced reflection (smooth and metallic ones) + emission — energy conserving, and exactly
albedo·irradiance on a Lambertian surface (specular factor 0, metallic 0).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import numba
import numpy as np

from ..scene.model import Scene
from ..trajectory.camera import Trajectory, scale_intrinsics
from . import kernels
from .brdf import (
    alpha_from_roughness,
    f0,
    fresnel_schlick,
    sample_ggx_reflection,
    smith_visibility,
)
from .integrator import (
    DIMS_BOUNCE,
    DIMS_FIRST,
    Hits,
    RayCounter,
    Workspace,
    diffuse_reflectance,
    irradiance,
    trace,
)
from .lights import LightSet
from .sampling import point_hash, rotations, sobol_table
from .scenedata import SceneData, sky_radiance

RENDERER_VERSION = 1
REFLECTION_BOUNCES = 2  # diffuse bounces behind a traced reflection (it is seen blurred and small)


@dataclass(frozen=True)
class RenderSettings:
    samples: int = 32  # irradiance samples per pixel (a power of two keeps Sobol balanced)
    max_bounces: int = 8  # diffuse bounces; Russian roulette from rr_start on
    rr_start: int = 2
    specular_samples: int = 8  # of the irradiance's light samples, how many also shade highlights
    reflection_samples: int = 4  # traced reflection rays per glossy pixel
    reflection_irradiance_samples: int = 4  # irradiance samples where a reflection ray lands
    glossy_roughness: float = 0.5  # below this (or for metals) reflections are traced
    mirror_roughness: float = 0.2  # below this, lights are seen in reflections rather than by NEE
    seed: int = 0
    hash_cell: float = 0.01  # metres: sample streams are constant over 1 cm of surface
    chunk: int = 8192  # shading points per batch (memory ≈ chunk × samples × 200 B)
    indirect_clamp: float | None = 8.0  # luminance cap per indirect path sample (None: unbiased)
    threads: int = 0  # CPU threads for ray casting and shading (0: all); one per core a worker owns

    def __post_init__(self) -> None:
        for name in ("samples", "reflection_irradiance_samples"):
            v = getattr(self, name)
            if v < 1 or v & (v - 1):
                raise ValueError(f"{name} must be a power of two (Sobol balance), got {v}")
        if self.max_bounces < 2:
            raise ValueError(f"max_bounces must be at least 2, got {self.max_bounces}")


class Renderer:
    """Holds the scene's arrays, lights and sample tables; renders frames."""

    def __init__(self, scene: Scene, settings: RenderSettings | None = None):
        self.scene = scene
        self.settings = s = settings or RenderSettings()
        self.data = SceneData.from_scene(scene)
        self.data.threads = s.threads
        if s.threads:
            numba.set_num_threads(min(s.threads, numba.config.NUMBA_NUM_THREADS))
        self.lights = LightSet(scene, self.data.rc)
        self.counter = RayCounter()
        self.workspace = Workspace()
        self.dims_irr = DIMS_FIRST + DIMS_BOUNCE * s.max_bounces
        self.dims = self.dims_irr + 2 * s.reflection_samples
        self.table = sobol_table(s.samples, self.dims, s.seed)
        self.refl_table = sobol_table(s.reflection_irradiance_samples, DIMS_FIRST + DIMS_BOUNCE * REFLECTION_BOUNCES,
                                      s.seed + 1)

    # -- one frame ----------------------------------------------------------------------------
    def render_frame(self, K: np.ndarray, pose: np.ndarray, width: int, height: int) -> dict[str, np.ndarray]:
        s = self.settings
        u, v = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
        cam = np.stack([u, v, np.ones_like(u)], axis=-1).reshape(-1, 3) @ np.linalg.inv(K).T
        cam /= np.linalg.norm(cam, axis=1, keepdims=True)
        R, origin = pose[:3, :3], pose[:3, 3]
        dirs = cam @ R.T
        h = trace(self.data, np.broadcast_to(origin, dirs.shape).astype(np.float64), dirs, self.counter)
        n_pix = width * height
        rgb = np.zeros((n_pix, 3), np.float32)
        irr = np.zeros((n_pix, 3), np.float32)
        miss = ~h.valid
        rgb[miss] = sky_radiance(self.data.sky, dirs[miss].astype(np.float32))
        hit = np.nonzero(h.valid)[0]
        for start in range(0, len(hit), s.chunk):
            sel = hit[start:start + s.chunk]
            rgb[sel], irr[sel] = self._shade(h, sel, -dirs[sel])
        valid = h.valid
        normal_cam = np.where(valid[:, None], h.normal @ R, 0.0)
        depth = np.where(valid, h.t * cam[:, 2], 0.0)
        shape = (height, width)
        return {
            "rgb": rgb.reshape(*shape, 3),
            "albedo": np.where(valid[:, None], h.albedo, 0.0).reshape(*shape, 3).astype(np.float32),
            "normal": normal_cam.reshape(*shape, 3).astype(np.float32),
            "roughness": np.where(valid, h.roughness, 0.0).reshape(*shape, 1).astype(np.float32),
            "metallic": np.where(valid, h.metallic, 0.0).reshape(*shape, 1).astype(np.float32),
            "irradiance": irr.reshape(*shape, 3),
            "depth": depth.reshape(*shape, 1).astype(np.float32),
            "instance": np.where(valid, h.instance, 0).reshape(shape).astype(np.int32),
        }

    def _rotations(self, x: np.ndarray, inst: np.ndarray, dims: int, salt: int) -> np.ndarray:
        hashes = point_hash(x, inst, self.settings.hash_cell, self.settings.seed * 7919 + salt)
        return rotations(hashes, dims)

    def _shade(self, h: Hits, sel: np.ndarray, view: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = self.settings
        x, n = h.point[sel], h.normal[sel].astype(np.float64)
        albedo, rough, metal, spec = h.albedo[sel], h.roughness[sel], h.metallic[sel], h.specular[sel]
        rot = self._rotations(x, h.instance[sel], self.dims, 0)
        irr, direct = irradiance(self.data, self.lights, x, n.astype(np.float32), h.instance[sel], self.table, rot,
                                 s.max_bounces,
                                 s.rr_start, self.counter, s.indirect_clamp, keep_direct=s.specular_samples,
                                 ws=self.workspace)
        strength = (1.0 - metal) * spec + metal
        spec_f0 = f0(albedo, metal, spec)
        n_v = np.clip(np.einsum("ij,ij->i", n, view), 1e-4, 1.0)
        f_view = fresnel_schlick(spec_f0, n_v, strength)
        rgb = (1.0 - metal)[:, None] * (1.0 - f_view) * albedo * irr + h.emission[sel]

        # Highlights of the lights on rough lobes: reuse (some of) the irradiance's light samples.
        if direct is not None:
            rgb += kernels.specular_from_lights(
                n.astype(np.float32), view.astype(np.float32), rough, spec_f0.astype(np.float32),
                strength.astype(np.float32), direct.irradiance, direct.direction,
                direct.irradiance.shape[1], np.float32(s.mirror_roughness))

        # Traced reflections on glossy and metallic surfaces.
        glossy = np.nonzero((strength > 0) & ((rough < s.glossy_roughness) | (metal > 0.5)))[0]
        if len(glossy) and s.reflection_samples:
            rgb[glossy] += self._reflection(x[glossy], n[glossy], view[glossy], rough[glossy], spec_f0[glossy],
                                            strength[glossy], rot[glossy])
        return rgb.astype(np.float32), irr

    def _reflection(self, x, n, view, rough, spec_f0, strength, rot: np.ndarray) -> np.ndarray:
        s = self.settings
        R = s.reflection_samples
        k = len(x)
        rep = np.repeat(np.arange(k), R)
        d0 = self.dims_irr
        # Sample r of the Sobol table in the point's dimensions beyond the irradiance's.
        u1 = (self.table[0, d0:d0 + 2 * R:2][None, :] + rot[:, d0:d0 + 2 * R:2]).reshape(-1).astype(np.float64)
        u2 = (self.table[0, d0 + 1:d0 + 2 * R:2][None, :] + rot[:, d0 + 1:d0 + 2 * R:2]).reshape(-1).astype(np.float64)
        u1, u2 = u1 - np.floor(u1), u2 - np.floor(u2)
        nr, vr, rr = n[rep], view[rep], rough[rep]
        ldir = sample_ggx_reflection(nr, vr, rr, u1, u2).astype(np.float64)
        half = vr + ldir
        half /= np.maximum(np.linalg.norm(half, axis=1, keepdims=True), 1e-12)
        n_l = np.einsum("ij,ij->i", nr, ldir)
        n_v = np.clip(np.einsum("ij,ij->i", nr, vr), 1e-4, 1.0)
        n_h = np.clip(np.einsum("ij,ij->i", nr, half), 1e-4, 1.0)
        v_h = np.clip(np.einsum("ij,ij->i", vr, half), 0.0, 1.0)
        alpha = alpha_from_roughness(rr)
        weight = fresnel_schlick(spec_f0[rep], v_h, strength[rep]) * (
            4.0 * smith_visibility(np.maximum(n_l, 0.0), n_v, alpha) * np.maximum(n_l, 0.0) * v_h / n_h)[:, None]
        ok = n_l > 0
        radiance = np.zeros((len(rep), 3))
        origin = x[rep].astype(np.float64) + 2e-3 * nr
        hh = trace(self.data, origin, ldir, self.counter)
        miss = ~hh.valid & ok
        radiance[miss] = sky_radiance(self.data.sky, ldir[miss].astype(np.float32))
        land = np.nonzero(hh.valid & ok)[0]
        if len(land):
            y, ny = hh.point[land], hh.normal[land].astype(np.float64)
            rot_y = self._rotations(y, hh.instance[land], self.refl_table.shape[1], 1)
            irr_y, _ = irradiance(self.data, self.lights, y, ny.astype(np.float32), hh.instance[land],
                                  self.refl_table, rot_y, REFLECTION_BOUNCES, REFLECTION_BOUNCES,
                                  self.counter, s.indirect_clamp, ws=self.workspace)
            radiance[land] = diffuse_reflectance(hh)[land] * irr_y
            smooth = rr[land] < s.mirror_roughness
            radiance[land[smooth]] += hh.emission[land[smooth]]
        return (weight * radiance).reshape(k, R, 3).mean(axis=1)

    # -- a clip -------------------------------------------------------------------------------
    def render_clip(self, traj: Trajectory, width: int, height: int,
                    progress: Callable[[int, int], None] | None = None) -> dict:
        K = scale_intrinsics(traj.K, (traj.width, traj.height), (width, height))
        frames = []
        for i, pose in enumerate(traj.poses):
            frames.append(self.render_frame(K, pose, width, height))
            if progress:
                progress(i + 1, traj.frames)
        clip = {name: np.stack([f[name] for f in frames]) for name in frames[0]}
        clip["rgb"] = clip["rgb"].astype(np.float16)
        clip["irradiance"] = clip["irradiance"].astype(np.float16)
        room = self.scene.room(traj.room_id)
        clip["camera"] = {"K": K, "poses": traj.poses.copy()}
        clip["meta"] = {
            "scene_id": self.scene.name, "room_id": int(traj.room_id), "trajectory_id": f"{self.scene.name}_room"
            f"{traj.room_id}_seed{traj.seed}", "seed": int(self.settings.seed), "fps": float(traj.fps),
            "renderer": {"name": "interiorvideo.render", "version": RENDERER_VERSION, **asdict(self.settings)},
            "prompt": room.prompt,
            "local_prompts": {str(o.instance_id): o.prompt for o in self.scene.objects
                              if o.instance_id in np.unique(clip["instance"])},
            "labels": {str(o.instance_id): o.label for o in self.scene.objects
                       if o.instance_id in np.unique(clip["instance"])},
        }
        return clip
