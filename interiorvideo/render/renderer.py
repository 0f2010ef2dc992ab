"""The CPU renderer: a scene and a trajectory in, one clip of the contract out.

Per frame: primary rays give the intrinsic passes (albedo through UV textures, roughness,
metallic, camera-space normal, z-depth, instance id); the integrator gives irradiance; rgb is
(1 − metallic)(1 − F)·albedo·irradiance + the GGX specular lobe's reflected radiance (light
samples and VNDF-sampled paths combined by MIS, traced to full depth) + emission — the
diffuse lobe is Lambertian, so its share of rgb is exactly the irradiance pass times its
colour, and rgb = albedo·irradiance on a Lambertian surface (specular factor 0, metallic 0).

Pixel filter (``RenderSettings.pixel_samples`` = P): each pixel is shaded at P positions
(a Hammersley n-rooks pattern; P = 1 is the pixel centre), each with samples/P of the pixel's
Sobol rows, so the samples of a pixel still form one balanced set. rgb and irradiance are
their box-filtered means. The intrinsic passes (albedo, normal, roughness, metallic, depth,
instance) are pixel-centre samples, as the contract's camera convention states: a depth must
be one surface's, an id cannot be averaged, and an edit or a local prompt masked by instance
must change exactly the pixels of that instance's material. So rgb = albedo·irradiance holds
exactly where a pixel sees one Lambertian colour (inside surfaces, not across their edges or
a texture's texels); ``pixel_samples=1`` makes it exact everywhere.

A transmissive material (transmission t, see ``scene.model.Material``) shows (1 − t)·that +
t·its dielectric lobe's radiance (``samples / P`` paths per position through or off the glass)
+ emission. Its intrinsic passes are the glass surface's own: albedo = base colour (the tint of
the transmitted light), its roughness, metallic, normal, depth and instance id — what is seen
through it shows only in rgb — and irradiance is, as everywhere, the first vertex treated as a
white Lambertian (light arriving at the glass surface).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import numba
import numpy as np

from ..scene.model import Scene
from ..trajectory.camera import Trajectory, scale_intrinsics
from .brdf import f0, fresnel_schlick
from .environment import lookup
from .integrator import (
    Hits,
    RayCounter,
    Workspace,
    glass_paths,
    irradiance,
    specular_paths,
    stream_dims,
    trace,
)
from .lights import LightSet
from .sampling import point_hash, rotations, sobol_table
from .scenedata import SceneData

# 2: full path tracing of the material model with MIS; 3 (issue 16): pixel filter, two-sided emitters,
# lights two doors away, sky table, texture maps, dielectrics and delta lights' shadow rays through panes.
RENDERER_VERSION = 3


def pixel_offsets(count: int) -> np.ndarray:
    """``count`` positions in the unit pixel: the Hammersley set ((i + ½)/n, radical inverse of
    i + 1/(2n)), an n-rooks pattern (one per row and column of an n × n grid); 1 → the centre."""
    i = np.arange(count)
    bits = max(count.bit_length() - 1, 0)
    radical = np.array([int(format(j, f"0{bits}b")[::-1], 2) if bits else 0 for j in i]) / max(count, 1)
    return np.stack([(i + 0.5) / count, radical + 0.5 / count], axis=1)


@dataclass(frozen=True)
class RenderSettings:
    samples: int = 32  # irradiance samples per pixel (a power of two keeps Sobol balanced)
    max_bounces: int = 8  # path vertices after the camera's hit; Russian roulette from rr_start on
    rr_start: int = 2
    # VNDF-sampled paths per pixel for the specular lobe where there is a diffuse lobe too
    # (metallic < 0.5); metals get ``samples`` of them. A power of two; ``samples`` caps it.
    specular_samples: int = 8
    # Shading positions per pixel (anti-aliasing of rgb and irradiance; see the module doc);
    # a power of two, capped at ``samples``; 1: every ray through the pixel centre (version ≤ 2).
    pixel_samples: int = 4
    seed: int = 0
    hash_cell: float = 0.01  # metres: sample streams are constant over 1 cm of surface
    chunk: int = 8192  # shading points per batch (memory ≈ chunk × samples × 300 B)
    indirect_clamp: float | None = 8.0  # luminance cap per indirect path sample (None: unbiased)
    threads: int = 0  # CPU threads for ray casting and shading (0: all); one per core a worker owns

    def __post_init__(self) -> None:
        for name in ("samples", "specular_samples", "pixel_samples"):
            v = getattr(self, name)
            if v < 1 or v & (v - 1):
                raise ValueError(f"{name} must be a power of two (Sobol balance), got {v}")
        if self.max_bounces < 2:
            raise ValueError(f"max_bounces must be at least 2, got {self.max_bounces}")

    @property
    def pixel_positions(self) -> int:
        """Shading positions per pixel: ``pixel_samples``, at most one per sample."""
        return min(self.pixel_samples, self.samples)


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
        # One Sobol row per sample: the irradiance stream, then the specular stream (stream_dims).
        self.dims_irr, dims_spec = stream_dims(s.max_bounces)
        self.dims = self.dims_irr + dims_spec
        self.table = sobol_table(s.samples, self.dims, s.seed)

    # -- one frame ----------------------------------------------------------------------------
    def render_frame(self, K: np.ndarray, pose: np.ndarray, width: int, height: int) -> dict[str, np.ndarray]:
        """Every pass of one frame: the intrinsic passes from the pixel-centre hits, rgb and
        irradiance from :meth:`radiance` (which a backend may replace)."""
        R, origin = pose[:3, :3], pose[:3, 3]
        centre_dirs, cam = self._camera_rays(K, R, width, height, (0.5, 0.5))
        centre = trace(self.data, np.broadcast_to(origin, centre_dirs.shape).astype(np.float64), centre_dirs,
                       self.counter)
        rgb, irr = self.radiance(K, pose, width, height, centre, centre_dirs)
        valid = centre.valid
        normal_cam = np.where(valid[:, None], centre.normal @ R, 0.0)
        depth = np.where(valid, centre.t * cam[:, 2], 0.0)
        shape = (height, width)
        return {
            "rgb": rgb.reshape(*shape, 3),
            "albedo": np.where(valid[:, None], centre.albedo, 0.0).reshape(*shape, 3).astype(np.float32),
            "normal": normal_cam.reshape(*shape, 3).astype(np.float32),
            "roughness": np.where(valid, centre.roughness, 0.0).reshape(*shape, 1).astype(np.float32),
            "metallic": np.where(valid, centre.metallic, 0.0).reshape(*shape, 1).astype(np.float32),
            "irradiance": irr.reshape(*shape, 3),
            "depth": depth.reshape(*shape, 1).astype(np.float32),
            "instance": np.where(valid, centre.instance, 0).reshape(shape).astype(np.int32),
        }

    def radiance(self, K: np.ndarray, pose: np.ndarray, width: int, height: int, centre: Hits,
                 centre_dirs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """rgb and irradiance ((W·H, 3) float32), averaged over the pixel positions; ``centre``
        holds the pixel-centre hits along ``centre_dirs`` (reused as the first position when
        there is only one)."""
        s = self.settings
        R, origin = pose[:3, :3], pose[:3, 3]
        P = s.pixel_positions
        rows = s.samples // P
        rgb = np.zeros((width * height, 3), np.float32)
        irr = np.zeros((width * height, 3), np.float32)
        # Every position of a pixel hashes its sample streams from the pixel-centre hit, so the
        # positions' shares of the Sobol rows, under one rotation, form the pixel's one balanced
        # set (positions in different 1 cm cells got independent rotations: irradiance noise
        # 0.184 against 0.151 at pixel centres, seed-0 apartment at 128²).
        centre_rot = np.zeros((width * height, self.dims), np.float32)
        centre_rot[centre.valid] = self._rotations(centre.point[centre.valid], centre.instance[centre.valid],
                                                   self.dims, 0)
        for k, offset in enumerate(pixel_offsets(P)):
            if P == 1:
                h, dirs = centre, centre_dirs
            else:
                dirs, _ = self._camera_rays(K, R, width, height, offset)
                h = trace(self.data, np.broadcast_to(origin, dirs.shape).astype(np.float64), dirs, self.counter)
            table = self.table[k * rows:(k + 1) * rows]
            miss = ~h.valid
            rgb[miss] += lookup(self.data.env, dirs[miss])
            hit = np.nonzero(h.valid)[0]
            chunk = s.chunk * P
            for start in range(0, len(hit), chunk):
                sel = hit[start:start + chunk]
                rot = centre_rot[sel]
                own = ~centre.valid[sel]  # the centre sees the sky: this position's own hit is the key
                if own.any():
                    rot[own] = self._rotations(h.point[sel[own]], h.instance[sel[own]], self.dims, 0)
                c, e = self._shade(h, sel, -dirs[sel], table, rot)
                rgb[sel] += c
                irr[sel] += e
        rgb, irr = rgb / P, irr / P
        return rgb, irr

    @staticmethod
    def _camera_rays(K: np.ndarray, R: np.ndarray, width: int, height: int,
                     offset: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
        """World directions (unit) through pixel position (u + offset_x, v + offset_y), and the
        unit camera-space rays (whose z turns ray length into z-depth)."""
        u, v = np.meshgrid(np.arange(width) + offset[0], np.arange(height) + offset[1])
        cam = np.stack([u, v, np.ones_like(u)], axis=-1).reshape(-1, 3) @ np.linalg.inv(K).T
        cam /= np.linalg.norm(cam, axis=1, keepdims=True)
        return cam @ R.T, cam

    def _rotations(self, x: np.ndarray, inst: np.ndarray, dims: int, salt: int) -> np.ndarray:
        hashes = point_hash(x, inst, self.settings.hash_cell, self.settings.seed * 7919 + salt)
        return rotations(hashes, dims)

    def _shade(self, h: Hits, sel: np.ndarray, view: np.ndarray, table: np.ndarray,
               rot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """rgb and irradiance at the hits ``sel`` with the Sobol rows ``table`` (one pixel position's
        share) under the rotations ``rot`` (see :meth:`radiance`)."""
        s = self.settings
        S = table.shape[0]
        x, n = h.point[sel], h.normal[sel].astype(np.float32)
        albedo, rough, metal, spec = h.albedo[sel], h.roughness[sel], h.metallic[sel], h.specular[sel]
        strength = (1.0 - metal) * spec + metal
        diel = self.data.dielectric[h.instance[sel]]
        tr = diel[:, 0]
        lobe = (strength > 0) & (tr < 1.0)
        g = h.geometric[sel] if self.data.has_normal_maps else None  # see kernels._below
        irr, direct = irradiance(self.data, self.lights, x, n, h.instance[sel], table, rot, s.max_bounces,
                                 s.rr_start, self.counter, s.indirect_clamp, keep_direct=bool(lobe.any()),
                                 ws=self.workspace, g=g)
        spec_f0 = f0(albedo, metal, spec)
        n_v = np.clip(np.einsum("ij,ij->i", n, view), 1e-4, 1.0)
        f_view = fresnel_schlick(spec_f0, n_v, strength)
        rgb = (1.0 - metal)[:, None] * (1.0 - f_view) * albedo * irr
        if direct is not None:
            dielectric = max(1, min(s.specular_samples, s.samples) // s.pixel_positions)
            counts = np.where(lobe, np.where(metal >= 0.5, S, min(dielectric, S)), 0)
            rgb += specular_paths(self.data, self.lights, x, n, view, h.instance[sel], rough, spec_f0, strength,
                                  counts, direct, table, rot, self.dims_irr, s.max_bounces, s.rr_start,
                                  self.counter, s.indirect_clamp, ws=self.workspace, g=g)
        if g is not None:  # seen from below the shading normal's horizon: it reflects nothing (kernels._hidden)
            rgb = np.where((np.einsum("ij,ij->i", n, view) > 0)[:, None], rgb, 0.0)
        if (tr > 0).any():
            rgb = self._shade_glass(h, sel, view, rgb, diel, rot, table)
        return (rgb + h.emission[sel]).astype(np.float32), irr

    def _shade_glass(self, h: Hits, sel: np.ndarray, view: np.ndarray, rgb: np.ndarray, diel: np.ndarray,
                     rot: np.ndarray, table: np.ndarray) -> np.ndarray:
        """Blend the dielectric lobe into the opaque radiance by transmission t (glTF's mix)."""
        s = self.settings
        tr = diel[:, 0]
        g = np.nonzero(tr > 0)[0]
        counts = np.full(len(g), len(table), np.int64)
        glass = glass_paths(self.data, self.lights, h.point[sel][g], h.normal[sel][g].astype(np.float32), view[g],
                            h.front[sel][g], h.instance[sel][g], h.albedo[sel][g], h.roughness[sel][g], diel[g],
                            counts, table, rot[g], self.dims_irr, s.max_bounces, s.rr_start, self.counter,
                            s.indirect_clamp, ws=self.workspace)
        out = rgb.copy()
        out[g] = (1.0 - tr[g])[:, None] * rgb[g] + tr[g][:, None] * glass
        return out

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
