"""Monte-Carlo light transport on open3d/Embree ray casts.

irradiance(x) — the contract's diffuse irradiance E/π, so a Lambertian surface shows
albedo · irradiance — is next-event estimation (one light chosen per sample by its unshadowed
contribution, one shadow ray) plus cosine-sampled diffuse paths with NEE at every vertex, at
least ``rr_start`` bounces before Russian roulette. Emitters hit by a path are not counted (NEE
has them); the sky is gathered by paths that leave through windows. Per-ray work happens in
:mod:`kernels`; this module batches rays for Embree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import open3d as o3d

from . import kernels
from .lights import SHADOW_OFFSET, LightSet
from .scenedata import SceneData

DIMS_FIRST = 6  # light pick + 3 light dims + 2 direction dims at the shading point
DIMS_BOUNCE = 7  # the same plus Russian roulette at each further vertex
SHADOW_TFAR = 0.999


@dataclass
class Hits:
    """Surface attributes at ray hits (rows with ``valid`` False missed everything)."""

    valid: np.ndarray
    t: np.ndarray
    point: np.ndarray
    normal: np.ndarray  # unit, facing the incoming ray
    instance: np.ndarray
    albedo: np.ndarray
    roughness: np.ndarray
    metallic: np.ndarray
    specular: np.ndarray
    emission: np.ndarray


class RayCounter:
    """Counts rays cast, so the benchmark can compare the renderer's rays/s with open3d's."""

    def __init__(self) -> None:
        self.rays = 0


def trace(data: SceneData, origins: np.ndarray, directions: np.ndarray, counter: RayCounter) -> Hits:
    origins = np.ascontiguousarray(origins, np.float32)
    directions = np.ascontiguousarray(directions, np.float32)
    counter.rays += len(origins)
    ans = data.rc.scene.cast_rays(o3d.core.Tensor(np.concatenate([origins, directions], axis=1)),
                                  nthreads=data.threads)
    t = ans["t_hit"].numpy()
    attrs = kernels.hit_attributes(
        origins, directions, t, ans["geometry_ids"].numpy(), ans["primitive_ids"].numpy(),
        ans["primitive_uvs"].numpy(), ans["primitive_normals"].numpy(), data.rc.geometry_to_instance,
        data.base_color, data.roughness, data.metallic, data.specular, data.emission, data.texture_index,
        data.tex_offset, data.tex_shape, data.tex_pixels, data.tri_offset, data.tri_uvs)
    return Hits(np.isfinite(t), t, *attrs)


def diffuse_reflectance(h: Hits) -> np.ndarray:
    return (1.0 - h.metallic)[:, None] * h.albedo


@dataclass
class DirectSamples:
    """Visible light samples at the shading points: E/p·V per sample and the light direction,
    kept so the specular lobe can reuse them."""

    irradiance: np.ndarray  # (N, S, 3)
    direction: np.ndarray  # (N, S, 3)


class Workspace:
    """Buffers reused across bounces and calls: fresh large arrays cost page faults on every
    bounce, which on these machines take as long as the shading itself."""

    def __init__(self) -> None:
        self.rows = 0

    def ensure(self, rows: int) -> "Workspace":
        if rows > self.rows:
            self.rows = rows
            f = np.float32
            self.e, self.ldir, self.contrib = (np.empty((rows, 3), f) for _ in range(3))
            self.beta = [np.empty((rows, 3), f), np.empty((rows, 3), f)]
            self.rays = [np.empty((rows, 6), f), np.empty((rows, 6), f)]
            self.shadow = np.empty((rows, 6), f)
            self.idx = [np.empty(rows, np.int64), np.empty(rows, np.int64)]
            self.alive = np.empty(rows, np.bool_)
        return self


def irradiance(data: SceneData, lights: LightSet, x: np.ndarray, n: np.ndarray, inst: np.ndarray,
               table: np.ndarray, rot: np.ndarray, max_bounces: int, rr_start: int, counter: RayCounter,
               clamp: float | None = None, keep_direct: int = 0,
               ws: Workspace | None = None) -> tuple[np.ndarray, DirectSamples | None]:
    """Irradiance (E/π, (N, 3)) at points ``x`` (instances ``inst``) with unit normals ``n``; the
    number of samples (rows of ``table``) must be a power of two. Sample s of point i uses
    ``table[s] + rot[i]`` (mod 1). ``clamp`` caps the luminance an indirect path sample adds
    (suppresses fireflies from small bright lamp shades; None = unbiased)."""
    N, S = len(x), table.shape[0]
    shift = int(S).bit_length() - 1
    if S != 1 << shift:
        raise ValueError(f"samples per point must be a power of two, got {S}")
    if table.shape[1] < DIMS_FIRST + DIMS_BOUNCE * max_bounces or rot.shape[1] < table.shape[1] or len(rot) != N:
        raise ValueError(f"sample table {table.shape} / rotations {rot.shape} too small for {N} points and "
                         f"{max_bounces} bounces ({DIMS_FIRST + DIMS_BOUNCE * max_bounces} dimensions)")
    M = N * S
    ws = (ws or Workspace()).ensure(M)
    limit = np.float32(np.inf if clamp is None else clamp)
    off = np.float32(SHADOW_OFFSET)
    x = np.ascontiguousarray(x, np.float32)
    n = np.ascontiguousarray(n, np.float32)
    e, shadow, ldir, rays = ws.e[:M], ws.shadow[:M], ws.ldir[:M], ws.rays[0][:M]
    kernels.first_vertex(x, n, np.asarray(inst, np.int64), lights.inst_room, lights.room_mask, table, rot, S, 0, off,
                         *lights.arrays, e, shadow, ldir, rays)
    e *= ~_occluded_rays(data, shadow, counter)[:, None]
    total = e / np.float32(np.pi)
    # Keep the first ``keep_direct`` visible light samples (the specular lobe reuses them).
    k = min(int(keep_direct), S)
    direct = DirectSamples(e.reshape(N, S, 3)[:, :k].copy(), ldir.reshape(N, S, 3)[:, :k].copy()) if k else None

    cur = 0
    idx = ws.idx[0][:M]
    idx[:] = np.arange(M)
    beta = ws.beta[0][:M]
    beta[:] = 1.0
    m = M
    sky = data.sky
    zenith, horizon = np.asarray(sky.zenith, np.float32), np.asarray(sky.horizon, np.float32)
    for bounce in range(1, max_bounces + 1):
        rays, beta, idx = ws.rays[cur][:m], ws.beta[cur][:m], ws.idx[cur][:m]
        counter.rays += m
        ans = data.rc.scene.cast_rays(o3d.core.Tensor.from_numpy(rays), nthreads=data.threads)
        dim = DIMS_FIRST + DIMS_BOUNCE * (bounce - 1)
        nxt = 1 - cur
        contrib, shadow = ws.contrib[:m], ws.shadow[:m]
        # Row-aligned survivors go to the other buffers' tails first, then get packed in place.
        tmp_rays, tmp_beta, alive = ws.rays[nxt][:m], ws.beta[nxt][:m], ws.alive[:m]
        kernels.path_vertex(
            rays, ans["t_hit"].numpy(), ans["geometry_ids"].numpy(), ans["primitive_ids"].numpy(),
            ans["primitive_uvs"].numpy(), ans["primitive_normals"].numpy(), beta, idx, shift, lights.inst_room,
            lights.room_mask, table, rot,
            dim, bounce >= rr_start, total, limit, off, zenith, horizon, np.float32(sky.intensity),
            data.rc.geometry_to_instance, data.base_color, data.metallic, data.texture_index, data.tex_offset,
            data.tex_shape, data.tex_pixels, data.tri_offset, data.tri_uvs, *lights.arrays,
            contrib, shadow, tmp_rays, tmp_beta, alive)
        kernels.accumulate(total, idx, contrib, _occluded_rays(data, shadow, counter), limit)
        if bounce == max_bounces:
            break
        m = kernels.compact(alive, tmp_rays, tmp_beta, idx, ws.rays[nxt], ws.beta[nxt], ws.idx[nxt])
        cur = nxt
        if m == 0:
            break
    return total.reshape(N, S, 3).mean(axis=1), direct


def _occluded_rays(data: SceneData, rays: np.ndarray, counter: RayCounter) -> np.ndarray:
    counter.rays += len(rays)
    rays = np.ascontiguousarray(rays)
    return data.rc.scene.test_occlusions(o3d.core.Tensor.from_numpy(rays), tnear=0.0, tfar=SHADOW_TFAR,
                                         nthreads=data.threads).numpy()
