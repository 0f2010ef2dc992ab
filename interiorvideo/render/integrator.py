"""Monte-Carlo light transport on open3d/Embree ray casts: a path tracer of the contract's
material model with multiple importance sampling.

irradiance(x) — the contract's diffuse irradiance E/π, so a Lambertian surface shows
albedo · irradiance — treats the first vertex as a white Lambertian: a light sample (one light
chosen per sample by its unshadowed contribution, one shadow ray) and a cosine-sampled path
ray. specular_paths(x) is the specular lobe at the camera's hits: the same light samples
reweighted, and VNDF-sampled path rays. After that first vertex every path is physical: at each
vertex a light sample and a direction from the diffuse or the GGX lobe, Russian roulette from
``rr_start`` on. Light samples and BSDF-sampled rays that land on an emitter are combined with
the power heuristic (each vertex keeps the state the next hit needs to recompute the light
pdf), so nothing is counted twice; point, spot and sun lights are light-sampled only, the sky is
gathered by paths only. Per-ray work happens in :mod:`kernels`; this module batches rays for
Embree.

Sample streams (dimensions of a point's Sobol row, see :func:`stream_dims`): irradiance paths
use dims 0..5 at the first vertex (light pick, 3 light dims, 2 cosine dims) and 8 per bounce
(light pick, 3 light dims, lobe pick, 2 direction dims, Russian roulette); the specular paths
follow them with 2 VNDF dims at the first vertex and 8 per bounce.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import open3d as o3d

from . import kernels
from .lights import SHADOW_OFFSET, LightSet
from .scenedata import SceneData
from .shadows import through_panes

DIMS_FIRST = 6  # irradiance's first vertex: light pick + 3 light dims, 2 cosine-direction dims
DIMS_BOUNCE = 8  # each further vertex: light pick + 3 light dims, lobe pick, 2 direction dims, Russian roulette
DIMS_SPECULAR_FIRST = 2  # the specular lobe at the camera's hit: 2 VNDF dims (its light samples are irradiance's)
SHADOW_TFAR = 0.999


def stream_dims(max_bounces: int) -> tuple[int, int]:
    """Dimensions of a shading point's two sample streams, laid out one after the other in its
    Sobol table row: the irradiance paths (DIMS_FIRST + DIMS_BOUNCE per bounce) and the specular
    lobe's paths (DIMS_SPECULAR_FIRST + DIMS_BOUNCE per bounce)."""
    return DIMS_FIRST + DIMS_BOUNCE * max_bounces, DIMS_SPECULAR_FIRST + DIMS_BOUNCE * max_bounces


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
    geometric: np.ndarray  # unit geometric normal facing the incoming ray (differs from normal under normal maps)
    front: np.ndarray | None = None  # the ray hit the side the triangle's winding normal points to


class RayCounter:
    """Counts rays cast, so the benchmark can compare the renderer's rays/s with open3d's."""

    def __init__(self) -> None:
        self.rays = 0


def trace(data: SceneData, origins: np.ndarray, directions: np.ndarray, counter: RayCounter) -> Hits:
    origins = np.ascontiguousarray(origins, np.float32)
    directions = np.ascontiguousarray(directions, np.float32)
    ans = cast(data, np.concatenate([origins, directions], axis=1), counter)
    t = ans["t_hit"]
    attrs = kernels.hit_attributes(
        origins, directions, t, ans["geometry_ids"], ans["primitive_ids"], ans["primitive_uvs"],
        ans["primitive_normals"], data.rc.geometry_to_instance, data.base_color, data.roughness, data.metallic,
        data.specular, data.emission, data.tex)
    front = np.einsum("ij,ij->i", ans["primitive_normals"], directions) < 0
    hits = Hits(np.isfinite(t), t, *attrs, front=front)
    if hits.emission.any():
        # One-sided emitters glow only where they radiate: seen from behind they are dark.
        back = np.einsum("ij,ij->i", ans["primitive_normals"], directions) > 0
        hits.emission[back & ~data.two_sided[hits.instance]] = 0.0
    return hits


HIT_KEYS = ("t_hit", "geometry_ids", "primitive_ids", "primitive_uvs", "primitive_normals")
ALPHA_ROUNDS = 8  # re-casts through cut-out texels; a ray still on one after that stops there
ALPHA_STEP = 1e-4  # metres past a cut-out hit where the re-cast starts


def cast(data: SceneData, rays: np.ndarray, counter: RayCounter) -> dict[str, np.ndarray]:
    """Closest hits of rays (M, 6) as numpy arrays (open3d's names). In a scene with alpha-masked
    materials a hit on a cut-out texel is no hit: open3d's RaycastingScene has no any-hit filter,
    so the rows that landed on one are re-cast from just past it (``ALPHA_ROUNDS`` rounds) and
    their t is counted from the original origin (in units of the ray's direction, as Embree's).
    Scenes without masks cast once, as before."""
    rays = np.ascontiguousarray(rays, np.float32)
    counter.rays += len(rays)
    ans = data.rc.scene.cast_rays(o3d.core.Tensor.from_numpy(rays), nthreads=data.threads)
    hit = {k: ans[k].numpy() for k in HIT_KEYS}
    if not data.has_alpha:
        return hit
    cut = np.empty(len(rays), np.bool_)
    todo, base_t = np.arange(len(rays)), np.zeros(len(rays), np.float64)
    sub = hit
    for _ in range(ALPHA_ROUNDS):
        if kernels.alpha_cut(sub["t_hit"], sub["geometry_ids"], sub["primitive_ids"], sub["primitive_uvs"],
                             data.rc.geometry_to_instance, data.tex, cut[:len(todo)]) == 0:
            break
        rows = np.nonzero(cut[:len(todo)])[0]
        todo, base_t = todo[rows], base_t[rows]
        d = rays[todo, 3:].astype(np.float64)
        base_t = base_t + sub["t_hit"][rows] + ALPHA_STEP / np.maximum(np.linalg.norm(d, axis=1), 1e-30)
        again = np.concatenate([rays[todo, :3] + base_t[:, None] * d, d], axis=1).astype(np.float32)
        counter.rays += len(again)
        ans = data.rc.scene.cast_rays(o3d.core.Tensor.from_numpy(again), nthreads=data.threads)
        sub = {k: ans[k].numpy() for k in HIT_KEYS}
        for k in HIT_KEYS[1:]:
            hit[k][todo] = sub[k]
        hit["t_hit"][todo] = (base_t + sub["t_hit"]).astype(np.float32)  # inf stays inf
    return hit


@dataclass
class DirectSamples:
    """The irradiance's light samples at the shading points, visibility applied: E/p·V, unit
    light direction and solid-angle pdf (0: delta light), kept so the specular lobe can reuse
    them."""

    irradiance: np.ndarray  # (N, S, 3)
    direction: np.ndarray  # (N, S, 3)
    pdf: np.ndarray  # (N, S)


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
            self.lpdf = np.empty(rows, f)
            self.beta = [np.empty((rows, 3), f), np.empty((rows, 3), f)]
            self.rays = [np.empty((rows, 6), f), np.empty((rows, 6), f)]
            self.prev = [np.empty((rows, 6), f), np.empty((rows, 6), f)]
            self.prev_inst = [np.empty(rows, np.int64), np.empty(rows, np.int64)]
            self.shadow = np.empty((rows, 6), f)
            self.idx = [np.empty(rows, np.int64), np.empty(rows, np.int64)]
            self.alive = np.empty(rows, np.bool_)
            self.delta = np.empty(rows, np.bool_)
        return self


def _check_table(table: np.ndarray, rot: np.ndarray, n: int, dims: int) -> int:
    S = table.shape[0]
    shift = int(S).bit_length() - 1
    if S != 1 << shift:
        raise ValueError(f"samples per point must be a power of two, got {S}")
    if table.shape[1] < dims or rot.shape[1] < dims or len(rot) != n:
        raise ValueError(f"sample table {table.shape} / rotations {rot.shape} too small for {n} points "
                         f"({dims} dimensions)")
    return shift


def irradiance(data: SceneData, lights: LightSet, x: np.ndarray, n: np.ndarray, inst: np.ndarray,
               table: np.ndarray, rot: np.ndarray, max_bounces: int, rr_start: int, counter: RayCounter,
               clamp: float | None = None, keep_direct: bool = False,
               ws: Workspace | None = None, g: np.ndarray | None = None) -> tuple[np.ndarray, DirectSamples | None]:
    """Irradiance (E/π, (N, 3)) at points ``x`` (instances ``inst``) with unit normals ``n``; the
    number of samples (rows of ``table``) must be a power of two. Sample s of point i uses
    ``table[s] + rot[i]`` (mod 1), dims 0 .. stream_dims(max_bounces)[0]. ``clamp`` caps the
    luminance each indirect contribution adds (suppresses fireflies from small bright lamp
    shades; None = unbiased); light reaching the first vertex directly is never capped."""
    N, S = len(x), table.shape[0]
    shift = _check_table(table, rot, N, stream_dims(max_bounces)[0])
    M = N * S
    ws = (ws or Workspace()).ensure(M)
    off = np.float32(SHADOW_OFFSET)
    x = np.ascontiguousarray(x, np.float32)
    n = np.ascontiguousarray(n, np.float32)
    e, shadow, ldir, lpdf, contrib = ws.e[:M], ws.shadow[:M], ws.ldir[:M], ws.lpdf[:M], ws.contrib[:M]
    kernels.first_vertex(x, n, np.asarray(inst, np.int64), lights.inst_room, lights.room_mask, table, rot, S, 0, off,
                         *lights.arrays, contrib, e, ldir, lpdf, shadow, ws.rays[0][:M], ws.prev[0][:M],
                         ws.prev_inst[0][:M])
    visible = (~_occluded_rays(data, shadow, counter)).astype(np.float32)[:, None]
    visible = _through_panes(data, shadow, visible, lpdf <= 0.0, counter)
    leaves = None
    if g is not None:  # normal-mapped points: nothing through the geometric back (kernels._below)
        gg = np.repeat(np.asarray(g, np.float32), S, axis=0)
        visible = visible * (np.einsum("ij,ij->i", ldir, gg) > 0)[:, None]
        leaves = np.einsum("ij,ij->i", ws.rays[0][:M, 3:6], gg) > 0
    total = contrib * visible
    direct = None
    if keep_direct:
        direct = DirectSamples((e * visible).reshape(N, S, 3), ldir.reshape(N, S, 3).copy(),
                               lpdf.reshape(N, S).copy())
    idx = ws.idx[0][:M]
    idx[:] = np.arange(M)
    ws.beta[0][:M] = 1.0 if leaves is None else leaves[:, None]
    trace_paths(data, lights, table, rot, shift, DIMS_FIRST, M, max_bounces, rr_start, total, clamp, counter, ws)
    return total.reshape(N, S, 3).mean(axis=1), direct


def specular_paths(data: SceneData, lights: LightSet, x: np.ndarray, n: np.ndarray, view: np.ndarray,
                   inst: np.ndarray, rough: np.ndarray, f0: np.ndarray, strength: np.ndarray, counts: np.ndarray,
                   direct: DirectSamples, table: np.ndarray, rot: np.ndarray, dim: int, max_bounces: int,
                   rr_start: int, counter: RayCounter, clamp: float | None = None,
                   ws: Workspace | None = None, g: np.ndarray | None = None) -> np.ndarray:
    """Radiance (N, 3) the GGX specular lobe reflects towards ``view`` at the camera's hits: the
    irradiance's light samples (``direct``) reweighted by MIS, plus ``counts[i]`` (≤ rows of
    ``table``) VNDF-sampled paths per point, traced like the irradiance's after their first
    vertex; their stream starts at dimension ``dim``."""
    N, S = len(x), table.shape[0]
    shift = _check_table(table, rot, N, dim + stream_dims(max_bounces)[1])
    if counts.max(initial=0) > S:
        raise ValueError(f"at most {S} specular paths per point, got {counts.max()}")
    M = N * S
    ws = (ws or Workspace()).ensure(M)
    out = np.empty((N, 3), np.float32)
    c = 1  # rows are written to buffer 1 (p·S + r), then the real paths are packed into buffer 0
    kernels.specular_first_vertex(
        np.ascontiguousarray(x, np.float32), np.ascontiguousarray(n, np.float32),
        np.ascontiguousarray(view, np.float32), np.asarray(inst, np.int64), np.asarray(rough, np.float32),
        np.ascontiguousarray(f0, np.float32), np.asarray(strength, np.float32), np.asarray(counts, np.int64), S,
        direct.irradiance.shape[1], direct.irradiance, direct.direction, direct.pdf, table, rot, dim,
        np.float32(SHADOW_OFFSET), lights.inst_room, lights.room_mask, lights.area_center, lights.area_total,
        lights.area_lum, lights.pt_pos, lights.pt_lum, lights.pt_dir, lights.pt_cos, lights.sun_dir, lights.sun_lum,
        out, ws.rays[c][:M], ws.beta[c][:M], ws.prev[c][:M], ws.prev_inst[c][:M], ws.alive[:M])
    ws.idx[c][:M] = np.arange(M)
    if g is not None:  # normal-mapped points: no path through the geometric back (kernels._below)
        ws.alive[:M] &= np.einsum("ij,ij->i", ws.rays[c][:M, 3:6], np.repeat(np.asarray(g, np.float32), S, axis=0)) > 0
    m = kernels.compact(ws.alive[:M], ws.rays[c][:M], ws.beta[c][:M], ws.prev[c][:M], ws.prev_inst[c][:M],
                        ws.idx[c][:M], ws.rays[0], ws.beta[0], ws.prev[0], ws.prev_inst[0], ws.idx[0])
    total = np.zeros((M, 3), np.float32)
    if m:
        trace_paths(data, lights, table, rot, shift, dim + DIMS_SPECULAR_FIRST, m, max_bounces, rr_start, total,
                    clamp, counter, ws)
    paths = total.reshape(N, S, 3).sum(axis=1) / np.maximum(counts, 1)[:, None]
    return out + paths


def glass_paths(data: SceneData, lights: LightSet, x: np.ndarray, n: np.ndarray, view: np.ndarray,
                front: np.ndarray, inst: np.ndarray, albedo: np.ndarray, rough: np.ndarray, diel: np.ndarray,
                counts: np.ndarray, table: np.ndarray, rot: np.ndarray, dim: int,
                max_bounces: int, rr_start: int, counter: RayCounter, clamp: float | None = None,
                ws: Workspace | None = None) -> np.ndarray:
    """Radiance (N, 3) the dielectric lobe of transmissive materials sends towards ``view`` at
    the camera's hits (``front``: seen from the outside; ``albedo`` tints the transmitted light;
    ``diel``: transmission, ior, thin per point): ``counts[i]`` paths per point that
    start with a sample of the lobe (reflected or transmitted, :func:`kernels._dielectric_sample`)
    and are traced like the specular lobe's — they use its stream (from ``dim``), and the
    irradiance stream's dim 0 for the Fresnel choice. Emitters and sky they hit next count with
    full weight (nothing light-samples a dielectric lobe)."""
    N, S = len(x), table.shape[0]
    shift = _check_table(table, rot, N, dim + stream_dims(max_bounces)[1])
    if counts.max(initial=0) > S:
        raise ValueError(f"at most {S} glass paths per point, got {counts.max()}")
    M = N * S
    ws = (ws or Workspace()).ensure(M)
    c = 1
    inst = np.asarray(inst, np.int64)
    kernels.dielectric_first_vertex(
        np.ascontiguousarray(x, np.float32), np.ascontiguousarray(n, np.float32),
        np.ascontiguousarray(view, np.float32), np.asarray(front, np.bool_), inst,
        np.ascontiguousarray(albedo, np.float32), np.asarray(rough, np.float32), np.ascontiguousarray(diel, np.float32),
        np.asarray(counts, np.int64), S, table, rot, dim, np.float32(SHADOW_OFFSET),
        ws.rays[c][:M], ws.beta[c][:M], ws.prev[c][:M], ws.prev_inst[c][:M], ws.alive[:M])
    ws.idx[c][:M] = np.arange(M)
    m = kernels.compact(ws.alive[:M], ws.rays[c][:M], ws.beta[c][:M], ws.prev[c][:M], ws.prev_inst[c][:M],
                        ws.idx[c][:M], ws.rays[0], ws.beta[0], ws.prev[0], ws.prev_inst[0], ws.idx[0])
    total = np.zeros((M, 3), np.float32)
    if m:
        trace_paths(data, lights, table, rot, shift, dim + DIMS_SPECULAR_FIRST, m, max_bounces, rr_start, total,
                    clamp, counter, ws)
    return total.reshape(N, S, 3).sum(axis=1) / np.maximum(counts, 1)[:, None]


def trace_paths(data: SceneData, lights: LightSet, table: np.ndarray, rot: np.ndarray, shift: int, dim: int, m: int,
                max_bounces: int, rr_start: int, total: np.ndarray, clamp: float | None, counter: RayCounter,
                ws: Workspace) -> None:
    """Follow the ``m`` path rays in the workspace's buffer 0 (rays, β, idx, MIS state) for up to
    ``max_bounces`` vertices, adding each sample's radiance to ``total[idx]``; bounce b reads
    dims dim + DIMS_BOUNCE·(b − 1) onwards."""
    limit = np.float32(np.inf if clamp is None else clamp)
    off = np.float32(SHADOW_OFFSET)
    env, env_u = data.env.table, np.float64(data.env.u_offset)
    cur = ci = 0  # buffers holding the live paths' state (rays, β, MIS state) and their idx
    for bounce in range(1, max_bounces + 2):  # (max_bounces + 1: the last dielectric rays' hits only)
        rays, beta, idx = ws.rays[cur][:m], ws.beta[cur][:m], ws.idx[ci][:m]
        ans = cast(data, rays, counter)
        nxt = 1 - cur
        contrib, shadow, alive = ws.contrib[:m], ws.shadow[:m], ws.alive[:m]
        # Row-aligned survivors go to the other buffers first, then get packed back into these
        # (the parallel pack needs distinct input and output; idx alternates between its two).
        tmp_rays, tmp_beta, tmp_prev, tmp_inst = ws.rays[nxt][:m], ws.beta[nxt][:m], ws.prev[nxt][:m], \
            ws.prev_inst[nxt][:m]
        last, emit_only = bounce == max_bounces, bounce > max_bounces
        kernels.path_vertex(
            rays, ans["t_hit"], ans["geometry_ids"], ans["primitive_ids"], ans["primitive_uvs"],
            ans["primitive_normals"], beta, idx, ws.prev[cur][:m],
            ws.prev_inst[cur][:m], shift, lights.inst_room, lights.room_mask, lights.inst_light, table, rot,
            dim + DIMS_BOUNCE * (bounce - 1), bounce >= rr_start, last, emit_only,
            np.float32(np.inf) if bounce == 1 else limit,
            total, limit, off, env, env_u, data.rc.geometry_to_instance,
            data.base_color, data.roughness, data.metallic, data.specular, data.emission, data.two_sided, data.tex,
            *lights.arrays,
            data.dielectric, contrib, shadow, tmp_rays, tmp_beta, tmp_prev, tmp_inst, alive, ws.delta[:m])
        if emit_only:
            break
        occluded = _occluded_rays(data, shadow, counter)
        if data.has_panes:  # blocked delta-light rays may be blocked by panes only: re-trace those rows
            rows = np.flatnonzero(occluded & ws.delta[:m])
            if len(rows):
                counter.rays += len(rows)
                blocked, trans = through_panes(data.rc.scene, data.rc.geometry_to_instance, data.dielectric,
                                               data.base_color, shadow[rows], SHADOW_TFAR, data.threads)
                contrib[rows] *= trans
                occluded[rows] = blocked
        kernels.accumulate(total, idx, contrib, occluded, limit)
        m = kernels.compact(alive, tmp_rays, tmp_beta, tmp_prev, tmp_inst, idx, ws.rays[cur], ws.beta[cur],
                            ws.prev[cur], ws.prev_inst[cur], ws.idx[1 - ci])
        ci = 1 - ci
        if m == 0:
            break


def _through_panes(data: SceneData, rays: np.ndarray, visible: np.ndarray, delta: np.ndarray,
                   counter: RayCounter) -> np.ndarray:
    """Visibility (rows, 1 or 3) of shadow rays with those of delta lights (``delta``) that were
    blocked re-traced across thin panes (:mod:`shadows`): their transmittance where only panes
    were in the way."""
    if not data.has_panes:
        return visible
    rows = np.nonzero((visible[:, 0] == 0.0) & delta)[0]
    if not len(rows):
        return visible
    counter.rays += len(rows)
    _, trans = through_panes(data.rc.scene, data.rc.geometry_to_instance, data.dielectric, data.base_color,
                                   rays[rows], SHADOW_TFAR, data.threads)
    out = np.repeat(visible, 3, axis=1) if visible.shape[1] == 1 else visible.copy()
    out[rows] = trans
    return out


def _occluded_rays(data: SceneData, rays: np.ndarray, counter: RayCounter) -> np.ndarray:
    """Whether each shadow ray (origin, vector to the light) is blocked before ``SHADOW_TFAR``:
    Embree's occlusion test, or — in a scene with cut-outs, which must not block — the closest
    hit through the alpha loop of :func:`cast`."""
    rays = np.ascontiguousarray(rays)
    if data.has_alpha:
        return cast(data, rays, counter)["t_hit"] < SHADOW_TFAR
    counter.rays += len(rays)
    return data.rc.scene.test_occlusions(o3d.core.Tensor.from_numpy(rays), tnear=0.0, tfar=SHADOW_TFAR,
                                         nthreads=data.threads).numpy()
