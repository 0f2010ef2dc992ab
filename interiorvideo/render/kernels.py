"""Per-ray shading kernels, compiled with numba.

Embree (through open3d) finds hits and occlusions in batches; everything done per ray between two
batches — turning hits into surface attributes, choosing and sampling a light, Russian roulette,
drawing the next direction, accumulating — runs here in parallel loops, so the renderer spends
its time casting rays rather than in Python. Kernels are plain functions of arrays.

Sample values: row r uses sample ``sample[r]`` of point ``point[r]``'s stream, i.e.
``frac(table[sample, dim] + rot[point, dim])`` (see :mod:`sampling`; the dimensions each
kernel reads are listed in :mod:`integrator`).

Every path vertex uses the contract's material model (:mod:`brdf`): (1 − m)(1 − F(n·v))·Lambert
plus GGX·Schlick with F0 = lerp(0.04·specular, base, m), α = roughness². Directions come from
one of the two lobes (cosine or GGX visible normals), chosen per vertex; light samples and
BSDF-sampled rays that hit an emitter are combined by multiple importance sampling (power
heuristic); delta lights (point, spot, sun) and the sky have one technique each.
"""

from __future__ import annotations

import math
import os

# Idle OpenMP threads sleep instead of spinning. Embree (TBB, through open3d) and these kernels
# (OpenMP) take turns on the same cores many times per frame; spinning OpenMP workers held a core
# through every ray cast, and 2 threads gave 1.25-1.55x of one instead of ~1.9x (issue 16,
# docs/performance.md). libgomp reads this when it loads, which is at the first parallel kernel.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba
import numpy as np
from numba import njit, prange

from .brdf import DIELECTRIC_F0, SMOOTH_ROUGHNESS

# OpenMP first: the TBB on some machines is too old for numba and only produces a warning.
numba.config.THREADING_LAYER_PRIORITY = ["omp", "workqueue", "tbb"]

# Numba-level inlining (inline="always") is kept for the small helpers every path vertex calls;
# the glass, emitter-hit and light-pick helpers are left to LLVM: with all of them inlined the
# kernels took 327 s to compile on a fresh machine (cache empty), with these not inlined 133 s,
# the next frame's time unchanged within the noise (0.39 against 0.42 s at 64², 16 spp).
# Fast math without the "no NaN / no inf" flags: a miss is t = inf and must stay detectable.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}
INV_PI = 1.0 / math.pi
CHUNK = 2048  # rows per parallel work item
LUMA_R, LUMA_G, LUMA_B = 0.2126, 0.7152, 0.0722


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _u(table, rot, s, p, d):
    v = table[s, d] + rot[p, d]  # both in [0, 1): a compare is cheaper than floor
    return v - 1.0 if v >= 1.0 else v


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _add_clamped(total, j, cr, cg, cb, clamp):
    """total[j] += c, with c's luminance capped at ``clamp`` (firefly suppression)."""
    lum = LUMA_R * cr + LUMA_G * cg + LUMA_B * cb
    if lum > clamp:
        sc = clamp / lum
        cr, cg, cb = cr * sc, cg * sc, cb * sc
    total[j, 0] += cr
    total[j, 1] += cg
    total[j, 2] += cb


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _basis(nx, ny, nz):
    """Tangent and bitangent of a unit normal (Duff et al. 2017, branchless)."""
    sign = 1.0 if nz >= 0 else -1.0
    a = -1.0 / (sign + nz)
    b = nx * ny * a
    return 1.0 + sign * nx * nx * a, sign * b, -sign * nx, b, sign + ny * ny * a, -1.0 * ny


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _cosine_dir(nx, ny, nz, u1, u2):
    r = math.sqrt(u1)
    phi = 2.0 * math.pi * u2
    x, y, z = r * math.cos(phi), r * math.sin(phi), math.sqrt(max(0.0, 1.0 - u1))
    tx, ty, tz, bx, by, bz = _basis(nx, ny, nz)
    return tx * x + bx * y + nx * z, ty * x + by * y + ny * z, tz * x + bz * y + nz * z


# -- textures: one bilinear texel lookup serves every map (scenedata.SceneData.tex) -------------------
# Columns of tex[0] (inst_tex) and tex[1] (inst_texf), as in scenedata.
_BASE, _ROUGH, _ROUGH_CH, _METAL, _METAL_CH, _NORMAL, _ALPHA, _ALPHA_CH = 0, 1, 2, 3, 4, 5, 6, 7
_NORMAL_SCALE, _ALPHA_FACTOR, _ALPHA_CUTOFF = 0, 1, 2


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _uv(tex, k, prim, b1, b2):
    """The texture coordinate of instance ``k``'s triangle ``prim`` at barycentrics (b1, b2)."""
    tri_uvs = tex[6]
    row = tex[5][k] + prim
    b0 = 1.0 - b1 - b2
    u = b0 * tri_uvs[row, 0, 0] + b1 * tri_uvs[row, 1, 0] + b2 * tri_uvs[row, 2, 0]
    v = b0 * tri_uvs[row, 0, 1] + b1 * tri_uvs[row, 1, 1] + b2 * tri_uvs[row, 2, 1]
    return u, v


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _texel(tex, ti, u, v):
    """Texture ``ti`` at (u, v): bilinear, wrapping (v = 0 at the bottom row); its four linear
    channels (grey textures fill RGB, a missing alpha is 1)."""
    tex_offset, tex_shape, tex_pixels = tex[2], tex[3], tex[4]
    h, w = tex_shape[ti, 0], tex_shape[ti, 1]
    x = u * w - 0.5
    y = (1.0 - v) * h - 0.5
    x0, y0 = math.floor(x), math.floor(y)
    fx, fy = x - x0, y - y0
    ix0, iy0 = int(x0) % w, int(y0) % h
    ix1, iy1 = (ix0 + 1) % w, (iy0 + 1) % h
    o = tex_offset[ti]
    a00, a01 = o + iy0 * w + ix0, o + iy0 * w + ix1
    a10, a11 = o + iy1 * w + ix0, o + iy1 * w + ix1
    w00, w01, w10, w11 = (1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy
    t0 = tex_pixels[a00, 0] * w00 + tex_pixels[a01, 0] * w01 + tex_pixels[a10, 0] * w10 + tex_pixels[a11, 0] * w11
    t1 = tex_pixels[a00, 1] * w00 + tex_pixels[a01, 1] * w01 + tex_pixels[a10, 1] * w10 + tex_pixels[a11, 1] * w11
    t2 = tex_pixels[a00, 2] * w00 + tex_pixels[a01, 2] * w01 + tex_pixels[a10, 2] * w10 + tex_pixels[a11, 2] * w11
    t3 = tex_pixels[a00, 3] * w00 + tex_pixels[a01, 3] * w01 + tex_pixels[a10, 3] * w10 + tex_pixels[a11, 3] * w11
    return t0, t1, t2, t3


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _channel(t0, t1, t2, t3, c):
    if c == 0:
        return t0
    if c == 1:
        return t1
    if c == 2:
        return t2
    return t3


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _surface(k, prim, b1, b2, dx, dy, dz, gx, gy, gz, base_color, roughness, metallic, tex):
    """The material at a hit on instance ``k`` by a ray along d with geometric normal g: shading
    normal facing the ray (the normal map's, in the triangle's tangent frame; seen from the back,
    mirrored through the surface, as Mitsuba's ``twosided`` does), albedo (base colour ×
    texture), roughness and metallic (factor × their map's channel)."""
    nx, ny, nz = gx, gy, gz
    if nx * dx + ny * dy + nz * dz > 0:
        nx, ny, nz = -nx, -ny, -nz
    ar, ag, ab = base_color[k, 0], base_color[k, 1], base_color[k, 2]
    ro, me = roughness[k], metallic[k]
    maps = tex[0]
    ti, tr, tm, tn = maps[k, _BASE], maps[k, _ROUGH], maps[k, _METAL], maps[k, _NORMAL]
    if ti < 0 and tr < 0 and tm < 0 and tn < 0:
        return nx, ny, nz, ar, ag, ab, ro, me
    u, v = _uv(tex, k, prim, b1, b2)
    if ti >= 0:
        t0, t1, t2, t3 = _texel(tex, ti, u, v)
        ar, ag, ab = ar * t0, ag * t1, ab * t2
    if tr >= 0:
        t0, t1, t2, t3 = _texel(tex, tr, u, v)
        ro = ro * _channel(t0, t1, t2, t3, maps[k, _ROUGH_CH])
    if tm >= 0:
        t0, t1, t2, t3 = _texel(tex, tm, u, v)
        me = me * _channel(t0, t1, t2, t3, maps[k, _METAL_CH])
    if tn >= 0:
        t0, t1, t2, t3 = _texel(tex, tn, u, v)
        sc = tex[1][k, _NORMAL_SCALE]
        x, y, z = (2.0 * t0 - 1.0) * sc, (2.0 * t1 - 1.0) * sc, 2.0 * t2 - 1.0
        f = tex[7][tex[5][k] + prim]
        sx = f[0] * x + f[3] * y + f[6] * z
        sy = f[1] * x + f[4] * y + f[7] * z
        sz = f[2] * x + f[5] * y + f[8] * z
        if f[6] * dx + f[7] * dy + f[8] * dz > 0:  # the back: mirror through the surface
            c = 2.0 * (sx * f[6] + sy * f[7] + sz * f[8])
            sx, sy, sz = sx - c * f[6], sy - c * f[7], sz - c * f[8]
        sn = math.sqrt(sx * sx + sy * sy + sz * sz)
        if sn > 1e-12:
            nx, ny, nz = sx / sn, sy / sn, sz / sn
    return nx, ny, nz, ar, ag, ab, ro, me


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _below(k, gx, gy, gz, dx, dy, dz, lx, ly, lz, tex):
    """Whether direction l leaves a normal-mapped surface (hit along d, geometric normal g) through
    its geometric back: such directions carry nothing (Mitsuba's ``normalmap`` rejects them too)
    instead of re-hitting the surface from the front. Never for surfaces without a normal map."""
    if tex[0][k, _NORMAL] < 0:
        return False
    return (gx * lx + gy * ly + gz * lz) * (gx * dx + gy * dy + gz * dz) >= 0.0


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _hidden(k, nx, ny, nz, dx, dy, dz, tex):
    """Whether a ray along d sees a normal-mapped surface from below its shading normal's horizon:
    the surface reflects nothing then (as Mitsuba's BSDFs in the perturbed frame)."""
    return tex[0][k, _NORMAL] >= 0 and nx * dx + ny * dy + nz * dz >= 0.0


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _cut(k, prim, b1, b2, tex):
    """Whether a hit on instance ``k`` lands on a cut-out texel (alpha below the cutoff)."""
    cutoff = tex[1][k, _ALPHA_CUTOFF]
    if cutoff < 0.0:
        return False
    a = tex[1][k, _ALPHA_FACTOR]
    ta = tex[0][k, _ALPHA]
    if ta >= 0:
        u, v = _uv(tex, k, prim, b1, b2)
        t0, t1, t2, t3 = _texel(tex, ta, u, v)
        a = a * _channel(t0, t1, t2, t3, tex[0][k, _ALPHA_CH])
    return a < cutoff


@njit(parallel=True, cache=True, error_model="numpy", fastmath=FASTMATH)
def alpha_cut(t_hit, geom, prim, bary, geom_to_inst, tex, cut):
    """``cut[i]``: ray i hit a cut-out texel, so the hit does not count; returns how many did."""
    m = t_hit.shape[0]
    for i in prange(m):
        cut[i] = math.isfinite(t_hit[i]) and _cut(geom_to_inst[geom[i]], prim[i], bary[i, 0], bary[i, 1], tex)
    return cut.sum()


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _env(dx, dy, dz, env, u_offset):
    """Radiance along a unit direction from the sky's equirectangular table (:mod:`environment`:
    column i at φ = 2π(i + ½)/W from +Y towards +X, row j at θ = πj/(H − 1) from +Z; bilinear,
    wrapping in φ, clamped in θ — Mitsuba's envmap lookup)."""
    h, w = env.shape[0], env.shape[1]
    u = math.atan2(dx, dy) * (0.5 * INV_PI) + u_offset
    u -= math.floor(u)
    x = u * w - 0.5
    y = math.acos(min(max(dz, -1.0), 1.0)) * INV_PI * (h - 1)
    x0, y0 = math.floor(x), math.floor(y)
    fx, fy = x - x0, y - y0
    ix0 = int(x0) % w
    ix1 = (ix0 + 1) % w
    iy0 = min(max(int(y0), 0), h - 1)
    iy1 = min(iy0 + 1, h - 1)
    w00, w01, w10, w11 = (1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy
    return (env[iy0, ix0, 0] * w00 + env[iy0, ix1, 0] * w01 + env[iy1, ix0, 0] * w10 + env[iy1, ix1, 0] * w11,
            env[iy0, ix0, 1] * w00 + env[iy0, ix1, 1] * w01 + env[iy1, ix0, 1] * w10 + env[iy1, ix1, 1] * w11,
            env[iy0, ix0, 2] * w00 + env[iy0, ix1, 2] * w01 + env[iy1, ix0, 2] * w10 + env[iy1, ix1, 2] * w11)


@njit(parallel=True, cache=True, error_model="numpy", fastmath=FASTMATH)
def env_radiance(dirs, env, u_offset, out):
    """The sky along each unit direction (camera rays that miss the scene), into ``out``."""
    for i in prange(dirs.shape[0]):
        out[i, 0], out[i, 1], out[i, 2] = _env(dirs[i, 0], dirs[i, 1], dirs[i, 2], env, u_offset)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _light_weights(px, py, pz, nx, ny, nz, w, mask, area_center, area_total, area_lum, pt_pos, pt_lum, pt_dir,
                   pt_cos, sun_dir, sun_lum):
    """Unshadowed-contribution estimates of the lights at a point, scaled by ``mask`` (0 leaves a
    light out, the sun gets its room's visible fraction), into ``w``; returns their sum with a
    small floor per allowed light so each stays possible, and that floor (so a light's pick
    probability can be recomputed later from its own weight, see :func:`_area_pick`)."""
    n_area, n_pt, n_sun = area_center.shape[0], pt_pos.shape[0], sun_dir.shape[0]
    n_all = n_area + n_pt + n_sun
    total = 0.0
    n_on = 0
    for k in range(n_all):
        w[k] = 0.0
    for k in range(n_area):
        if mask[k] == 0.0:
            continue
        n_on += 1
        dx, dy, dz = area_center[k, 0] - px, area_center[k, 1] - py, area_center[k, 2] - pz
        d2 = dx * dx + dy * dy + dz * dz
        facing = 1.0 if nx * dx + ny * dy + nz * dz > 0 else 0.05
        w[k] = mask[k] * area_lum[k] * facing / max(d2, area_total[k])
        total += w[k]
    for k in range(n_pt):
        if mask[n_area + k] == 0.0:
            continue
        n_on += 1
        dx, dy, dz = pt_pos[k, 0] - px, pt_pos[k, 1] - py, pt_pos[k, 2] - pz
        d2 = max(dx * dx + dy * dy + dz * dz, 1e-4)
        inv = 1.0 / math.sqrt(d2)
        cos = (nx * dx + ny * dy + nz * dz) * inv
        if cos <= 0.0:
            continue
        cs = -(pt_dir[k, 0] * dx + pt_dir[k, 1] * dy + pt_dir[k, 2] * dz) * inv
        tt = min(max((cs - pt_cos[k, 1]) / (pt_cos[k, 0] - pt_cos[k, 1]), 0.0), 1.0)
        w[n_area + k] = mask[n_area + k] * pt_lum[k] * cos * tt * tt * (3 - 2 * tt) / d2
        total += w[n_area + k]
    for k in range(n_sun):
        if mask[n_area + n_pt + k] == 0.0:
            continue
        n_on += 1
        w[n_area + n_pt + k] = mask[n_area + n_pt + k] * sun_lum[k] * max(
            nx * sun_dir[k, 0] + ny * sun_dir[k, 1] + nz * sun_dir[k, 2], 0.0)
        total += w[n_area + n_pt + k]
    floor = 1e-3 * total / max(n_on, 1) + 1e-12
    for k in range(n_all):
        if mask[k] != 0.0:
            w[k] += floor
    return total + floor * n_on, floor


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _area_pick(k, px, py, pz, nx, ny, nz, mask, area_center, area_total, area_lum, total, floor):
    """Probability that :func:`_light_sample` picks area light ``k`` at a point, given the point's
    weight sum and floor from :func:`_light_weights` (the same weight, for one light)."""
    if mask[k] == 0.0:
        return 0.0
    dx, dy, dz = area_center[k, 0] - px, area_center[k, 1] - py, area_center[k, 2] - pz
    d2 = dx * dx + dy * dy + dz * dz
    facing = 1.0 if nx * dx + ny * dy + nz * dz > 0 else 0.05
    return (mask[k] * area_lum[k] * facing / max(d2, area_total[k]) + floor) / total


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _light_sample(px, py, pz, nx, ny, nz, u0, u1, u2, u3, w, total, area_center, area_total, area_radiance,
                  area_tri_start, tri_cdf, tri_v0, tri_e1, tri_e2, tri_normal, pt_pos, pt_int, pt_dir, pt_cos,
                  sun_dir, sun_irr):
    """One NEE sample given the weights ``w`` (summing to ``total``): choose a light, sample a
    point on it. Returns E/p (before 1/π; L·cos/pdf for area lights), the vector to the light and
    the sample's solid-angle pdf for MIS (0 for delta lights: point, spot, sun)."""
    n_area, n_pt, n_sun = area_center.shape[0], pt_pos.shape[0], sun_dir.shape[0]
    n_all = n_area + n_pt + n_sun
    if n_all == 0:
        return 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0
    target = u0 * total
    pick = n_all - 1
    acc = 0.0
    for k in range(n_all):
        acc += w[k]
        if target < acc:
            pick = k
            break
    if w[pick] <= 0.0:  # rounding ran past the last allowed light: no sample
        return 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0
    p = w[pick] / total
    if pick < n_area:
        k = pick
        lo, hi = area_tri_start[k], area_tri_start[k + 1]
        t = hi - 1
        for j in range(lo, hi):
            if u3 <= tri_cdf[j]:
                t = j
                break
        su = math.sqrt(u1)
        b1, b2 = su * (1 - u2), su * u2
        dx = tri_v0[t, 0] + b1 * tri_e1[t, 0] + b2 * tri_e2[t, 0] - px
        dy = tri_v0[t, 1] + b1 * tri_e1[t, 1] + b2 * tri_e2[t, 1] - py
        dz = tri_v0[t, 2] + b1 * tri_e1[t, 2] + b2 * tri_e2[t, 2] - pz
        d2 = max(dx * dx + dy * dy + dz * dz, 1e-8)
        inv = 1.0 / math.sqrt(d2)
        cos_x = max((nx * dx + ny * dy + nz * dz) * inv, 0.0)
        cos_y = max(-(tri_normal[t, 0] * dx + tri_normal[t, 1] * dy + tri_normal[t, 2] * dz) * inv, 0.0)
        if cos_y <= 0.0:  # the back of the emitter: no light
            return 0.0, 0.0, 0.0, dx, dy, dz, 0.0
        g = cos_x * cos_y * area_total[k] / d2 / p
        pdf = p * d2 / (cos_y * area_total[k])
        return area_radiance[k, 0] * g, area_radiance[k, 1] * g, area_radiance[k, 2] * g, dx, dy, dz, pdf
    if pick < n_area + n_pt:
        k = pick - n_area
        dx, dy, dz = pt_pos[k, 0] - px, pt_pos[k, 1] - py, pt_pos[k, 2] - pz
        d2 = max(dx * dx + dy * dy + dz * dz, 1e-4)
        inv = 1.0 / math.sqrt(d2)
        cos = max((nx * dx + ny * dy + nz * dz) * inv, 0.0)
        cs = -(pt_dir[k, 0] * dx + pt_dir[k, 1] * dy + pt_dir[k, 2] * dz) * inv
        tt = min(max((cs - pt_cos[k, 1]) / (pt_cos[k, 0] - pt_cos[k, 1]), 0.0), 1.0)
        g = cos * tt * tt * (3 - 2 * tt) / d2 / p
        return pt_int[k, 0] * g, pt_int[k, 1] * g, pt_int[k, 2] * g, dx, dy, dz, 0.0
    k = pick - n_area - n_pt
    cos = max(nx * sun_dir[k, 0] + ny * sun_dir[k, 1] + nz * sun_dir[k, 2], 0.0) / p
    return (sun_irr[k, 0] * cos, sun_irr[k, 1] * cos, sun_irr[k, 2] * cos,
            sun_dir[k, 0] * 1000.0, sun_dir[k, 1] * 1000.0, sun_dir[k, 2] * 1000.0, 0.0)


@njit(parallel=True, cache=True, error_model="numpy", fastmath=FASTMATH)
def hit_attributes(origins, dirs, t_hit, geom, prim, bary, normals, geom_to_inst, base_color, roughness, metallic,
                   specular, emission, tex):
    """Surface attributes at hits: point, shading normal facing the ray, instance, textured
    albedo, roughness and metallic, specular factor, emission, and the geometric normal facing
    the ray. Misses get instance 0 and zeros."""
    m = t_hit.shape[0]
    point = np.zeros((m, 3), np.float32)
    nrm = np.zeros((m, 3), np.float32)
    geo = np.zeros((m, 3), np.float32)
    inst = np.zeros(m, np.int64)
    albedo = np.zeros((m, 3), np.float32)
    rough = np.zeros(m, np.float32)
    metal = np.zeros(m, np.float32)
    spec = np.zeros(m, np.float32)
    emis = np.zeros((m, 3), np.float32)
    for i in prange(m):
        t = t_hit[i]
        if not math.isfinite(t):
            continue
        k = geom_to_inst[geom[i]]
        inst[i] = k
        nx, ny, nz, r, g, b, ro, me = _surface(k, prim[i], bary[i, 0], bary[i, 1], dirs[i, 0], dirs[i, 1], dirs[i, 2],
                                               normals[i, 0], normals[i, 1], normals[i, 2], base_color, roughness,
                                               metallic, tex)
        nrm[i, 0], nrm[i, 1], nrm[i, 2] = nx, ny, nz
        gx, gy, gz = normals[i, 0], normals[i, 1], normals[i, 2]
        if gx * dirs[i, 0] + gy * dirs[i, 1] + gz * dirs[i, 2] > 0:
            gx, gy, gz = -gx, -gy, -gz
        geo[i, 0], geo[i, 1], geo[i, 2] = gx, gy, gz
        for c in range(3):
            point[i, c] = origins[i, c] + t * dirs[i, c]
            emis[i, c] = emission[k, c]
        albedo[i, 0], albedo[i, 1], albedo[i, 2] = r, g, b
        rough[i], metal[i], spec[i] = ro, me, specular[k]
    return point, nrm, inst, albedo, rough, metal, spec, emis, geo


# -- the material model at a vertex (brdf.py's model, per ray) ---------------------------------------
@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _pow5(x):
    """x⁵ by multiplication (``**`` calls pow, which shows in the path vertex's profile)."""
    x2 = x * x
    return x2 * x2 * x


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _lobes(ar, ag, ab, rough, metal, spec, n_v):
    """The contract's material at a vertex seen from a direction with cosine ``n_v``: diffuse
    colour (1 − m)(1 − F(n·v))·albedo, F0, lobe strength, α and the probability of sampling the
    specular lobe (its Fresnel luminance against the diffuse colour's, kept in [0.1, 0.9] when
    both lobes exist so neither is starved)."""
    kd = 1.0 - metal
    strength = kd * spec + metal
    f0r = kd * DIELECTRIC_F0 * spec + metal * ar
    f0g = kd * DIELECTRIC_F0 * spec + metal * ag
    f0b = kd * DIELECTRIC_F0 * spec + metal * ab
    c5 = _pow5(1.0 - n_v)
    fr, fg, fb = (f0r + (1.0 - f0r) * c5) * strength, (f0g + (1.0 - f0g) * c5) * strength, \
        (f0b + (1.0 - f0b) * c5) * strength
    cdr, cdg, cdb = kd * (1.0 - fr) * ar, kd * (1.0 - fg) * ag, kd * (1.0 - fb) * ab
    lum_d = LUMA_R * cdr + LUMA_G * cdg + LUMA_B * cdb
    lum_s = LUMA_R * fr + LUMA_G * fg + LUMA_B * fb
    if strength <= 0.0:
        p_s = 0.0
    elif lum_d <= 0.0:
        p_s = 1.0
    else:
        p_s = min(max(lum_s / (lum_s + lum_d), 0.1), 0.9)
    alpha = max(rough * rough, 2e-3)
    return cdr, cdg, cdb, f0r, f0g, f0b, strength, alpha * alpha, p_s


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _bsdf(nx, ny, nz, vx, vy, vz, lx, ly, lz, n_v, cdr, cdg, cdb, f0r, f0g, f0b, strength, a2, p_s):
    """f(v, l) (without the cosine) of Lambert cd/π + GGX·Schlick (height-correlated Smith), and
    the pdf (solid angle) with which :func:`_sample_dir` draws ``l``: (1 − p_s)·cos/π + p_s·VNDF."""
    n_l = nx * lx + ny * ly + nz * lz
    if n_l <= 0.0:
        return 0.0, 0.0, 0.0, 0.0
    fr, fg, fb = cdr * INV_PI, cdg * INV_PI, cdb * INV_PI
    pdf = (1.0 - p_s) * n_l * INV_PI
    if strength > 0.0:
        hx, hy, hz = vx + lx, vy + ly, vz + lz
        hn = math.sqrt(hx * hx + hy * hy + hz * hz)
        if hn > 1e-12:
            n_h = min((nx * hx + ny * hy + nz * hz) / hn, 1.0)
            v_h = min(max((vx * hx + vy * hy + vz * hz) / hn, 0.0), 1.0)
            d = n_h * n_h * (a2 - 1.0) + 1.0
            D = a2 / (math.pi * d * d)
            vis = 0.5 / (n_l * math.sqrt(n_v * n_v * (1.0 - a2) + a2) + n_v * math.sqrt(n_l * n_l * (1.0 - a2) + a2))
            c5 = _pow5(1.0 - v_h)
            k = D * vis * strength
            fr += (f0r + (1.0 - f0r) * c5) * k
            fg += (f0g + (1.0 - f0g) * c5) * k
            fb += (f0b + (1.0 - f0b) * c5) * k
            g1v = 2.0 * n_v / (n_v + math.sqrt(a2 + (1.0 - a2) * n_v * n_v))
            pdf += p_s * D * g1v / (4.0 * n_v)
    return fr, fg, fb, pdf


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _vndf_normal(nx, ny, nz, vx, vy, vz, a2, u1, u2):
    """A microfacet normal drawn from GGX's distribution of visible normals seen from ``v``
    (Dupuy & Benyoub 2023, spherical caps; isotropic α = √a2)."""
    tx, ty, tz, bx, by, bz = _basis(nx, ny, nz)
    alpha = math.sqrt(a2)
    wx, wy, wz = alpha * (vx * tx + vy * ty + vz * tz), alpha * (vx * bx + vy * by + vz * bz), vx * nx + vy * ny + vz * nz
    wn = math.sqrt(wx * wx + wy * wy + wz * wz)
    wx, wy, wz = wx / wn, wy / wn, wz / wn
    phi = 2.0 * math.pi * u1
    z = (1.0 - u2) * (1.0 + wz) - wz
    st = math.sqrt(min(max(1.0 - z * z, 0.0), 1.0))
    hx, hy, hz = alpha * (st * math.cos(phi) + wx), alpha * (st * math.sin(phi) + wy), z + wz
    hn = math.sqrt(hx * hx + hy * hy + hz * hz)
    hx, hy, hz = hx / hn, hy / hn, hz / hn
    return tx * hx + bx * hy + nx * hz, ty * hx + by * hy + ny * hz, tz * hx + bz * hy + nz * hz


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _vndf_dir(nx, ny, nz, vx, vy, vz, a2, u1, u2):
    """Reflect ``v`` about a microfacet normal drawn from GGX's visible normals (:func:`_vndf_normal`)."""
    mx, my, mz = _vndf_normal(nx, ny, nz, vx, vy, vz, a2, u1, u2)
    vm = 2.0 * (vx * mx + vy * my + vz * mz)
    return vm * mx - vx, vm * my - vy, vm * mz - vz


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _sample_dir(nx, ny, nz, vx, vy, vz, a2, p_s, u_lobe, u1, u2):
    """The next direction: the specular lobe (VNDF) with probability ``p_s``, else cosine."""
    if u_lobe < p_s:
        return _vndf_dir(nx, ny, nz, vx, vy, vz, a2, u1, u2)
    return _cosine_dir(nx, ny, nz, u1, u2)


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _power(p_this, p_other):
    """Power-heuristic MIS weight of the technique with pdf ``p_this``."""
    a, b = p_this * p_this, p_other * p_other
    return a / (a + b) if a + b > 0.0 else 0.0


# -- dielectrics: transmission (Material.transmission / ior / thin) ---------------------------------
# A transmissive material is f = (1 − t)·f_opaque + t·f_dielectric (glTF KHR_materials_transmission).
# Each vertex picks the dielectric lobe with probability t and samples it alone. Delta lobes
# (thin, smooth) and transmission are never light-sampled (a light behind solid glass is occluded
# by the glass itself; light samples are one-sided), so the emitter or sky such a ray hits counts
# with full weight (``prev[3]`` = 0 marks it). The light sample weighs each lobe by MIS on its
# own: the opaque part × (1 − t) against pdf (1 − t)·pdf_opaque, a rough solid's reflection × t
# against t·pdf_reflection (:func:`_rough_reflection`), the densities this vertex draws them with.
@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _fresnel_dielectric(cos_i, eta):
    """Exact unpolarised Fresnel reflectance at cosine ``cos_i`` > 0 into relative index ``eta``
    (n_transmitted / n_incident), and the refracted cosine (F = 1, cos_t = 0 on total internal
    reflection)."""
    sin2_t = (1.0 - cos_i * cos_i) / (eta * eta)
    if sin2_t >= 1.0:
        return 1.0, 0.0
    cos_t = math.sqrt(1.0 - sin2_t)
    rs = (cos_i - eta * cos_t) / (cos_i + eta * cos_t)
    rp = (eta * cos_i - cos_t) / (eta * cos_i + cos_t)
    return 0.5 * (rs * rs + rp * rp), cos_t


@njit(cache=True, inline="always", error_model="numpy", fastmath=FASTMATH)
def _smith_g1(c, a2):
    """Smith's GGX masking of a direction with cosine ``c`` to the normal (either side)."""
    c2 = c * c
    if c2 >= 1.0:
        return 1.0
    return 2.0 / (1.0 + math.sqrt(1.0 + a2 * (1.0 - c2) / max(c2, 1e-12)))


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _dielectric_sample(nx, ny, nz, vx, vy, vz, front, ior, thin, rough, u_lobe, u1, u2):
    """Sample the dielectric lobe seen from ``v`` (unit normal n on v's side; ``front``: v is on
    the side the geometric normal points to, outside a solid). Returns the direction l, the
    weight f·|cos|/pdf before the transmission tint (0: no sample) and whether l is transmitted.

    thin: a smooth slab, reflectance 2R/(1 + R) with both faces' inter-reflections (Mitsuba
    ``thindielectric``), transmitted straight on; solid: relative index η = ior entering, 1/ior
    leaving; smooth below SMOOTH_ROUGHNESS (Fresnel-chosen delta reflection or refraction,
    ``dielectric``), else a GGX visible-normal sample of the microfacet normal, reflected or
    refracted by its Fresnel (Walter et al. 2007, weight G1(l), ``roughdielectric``).
    Refraction scales radiance by 1/η² (the solid angle compresses), as Mitsuba does."""
    n_v = nx * vx + ny * vy + nz * vz
    if thin:
        r, _ = _fresnel_dielectric(min(max(n_v, 1e-6), 1.0), ior)
        if u_lobe < 2.0 * r / (1.0 + r):
            return 2.0 * n_v * nx - vx, 2.0 * n_v * ny - vy, 2.0 * n_v * nz - vz, 1.0, False
        return -vx, -vy, -vz, 1.0, True
    eta = ior if front else 1.0 / ior
    if rough < SMOOTH_ROUGHNESS:
        mx, my, mz, v_m = nx, ny, nz, n_v
        a2, g = 0.0, 1.0
    else:
        alpha = rough * rough
        a2 = alpha * alpha
        mx, my, mz = _vndf_normal(nx, ny, nz, vx, vy, vz, a2, u1, u2)
        v_m = vx * mx + vy * my + vz * mz
        if v_m <= 0.0:
            return 0.0, 0.0, 0.0, 0.0, False
    f, cos_t = _fresnel_dielectric(min(v_m, 1.0), eta)
    if u_lobe < f:
        lx, ly, lz = 2.0 * v_m * mx - vx, 2.0 * v_m * my - vy, 2.0 * v_m * mz - vz
        transmitted = False
    else:
        k = v_m / eta - cos_t
        lx, ly, lz = -vx / eta + k * mx, -vy / eta + k * my, -vz / eta + k * mz
        transmitted = True
    n_l = nx * lx + ny * ly + nz * lz
    if (n_l <= 0.0) != transmitted:  # a rough sample that went to the wrong side: no sample
        return 0.0, 0.0, 0.0, 0.0, False
    if a2 > 0.0:
        g = _smith_g1(n_l, a2)
    return lx, ly, lz, g / (eta * eta) if transmitted else g, transmitted


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _rough_reflection(nx, ny, nz, vx, vy, vz, lx, ly, lz, front, ior, thin, rough):
    """f (without the cosine) of a rough solid dielectric's reflection towards ``l`` (on v's
    side) and the pdf with which :func:`_dielectric_sample` draws it (visible normal × Fresnel
    choice): F·D·G1(v)G1(l)/(4 n·v n·l) and F·G1(v)·D/(4 n·v). 0 for thin or smooth glass
    (delta lobes) and below the surface."""
    if thin or rough < SMOOTH_ROUGHNESS:
        return 0.0, 0.0
    n_v, n_l = nx * vx + ny * vy + nz * vz, nx * lx + ny * ly + nz * lz
    if n_v <= 0.0 or n_l <= 0.0:
        return 0.0, 0.0
    hx, hy, hz = vx + lx, vy + ly, vz + lz
    hn = math.sqrt(hx * hx + hy * hy + hz * hz)
    if hn <= 1e-12:
        return 0.0, 0.0
    n_h, v_h = (nx * hx + ny * hy + nz * hz) / hn, (vx * hx + vy * hy + vz * hz) / hn
    alpha = rough * rough
    a2 = alpha * alpha
    d = n_h * n_h * (a2 - 1.0) + 1.0
    dist = a2 / (math.pi * d * d)
    f, _ = _fresnel_dielectric(min(max(v_h, 0.0), 1.0), ior if front else 1.0 / ior)
    g1v = _smith_g1(n_v, a2)
    return f * dist * g1v * _smith_g1(n_l, a2) / (4.0 * n_v * n_l), f * g1v * dist / (4.0 * n_v)


# -- path vertices ----------------------------------------------------------------------------------
@njit(parallel=True, cache=True, error_model="numpy", fastmath=FASTMATH)
def first_vertex(x, n, inst, inst_room, room_mask, table, rot, samples, dim, offset, area_center, area_total,
                 area_lum, area_radiance, area_tri_start, tri_cdf, tri_v0, tri_e1, tri_e2, tri_normal, pt_pos, pt_int,
                 pt_lum, pt_dir, pt_cos, sun_dir, sun_irr, sun_lum, contrib, e, ldir, lpdf, shadow, ray, prev, prev_inst):
    """The irradiance pass's first vertex (a white Lambertian) at N points, S samples each (rows
    i*S + s): a light sample in dims dim..dim+3 — E/p, its unit direction and solid-angle pdf
    (kept for the specular lobe), its shadow ray and its MIS-weighted irradiance contribution
    (E/π·w against cosine sampling) — and a cosine direction for the first path ray in dims
    dim+4, dim+5, with the vertex state MIS needs where that ray lands (``prev``: normal,
    direction pdf, light weight sum and floor; ``prev_inst``: instance)."""
    N = x.shape[0]
    S = samples
    n_lights = area_center.shape[0] + pt_pos.shape[0] + sun_dir.shape[0]
    for p in prange(N):
        w = np.empty(n_lights + 1)
        px, py, pz, nx, ny, nz = x[p, 0], x[p, 1], x[p, 2], n[p, 0], n[p, 1], n[p, 2]
        ox, oy, oz = px + offset * nx, py + offset * ny, pz + offset * nz
        total, floor = _light_weights(px, py, pz, nx, ny, nz, w, room_mask[inst_room[inst[p]]], area_center,
                                      area_total, area_lum, pt_pos, pt_lum, pt_dir, pt_cos, sun_dir, sun_lum)
        for s in range(S):
            i = p * S + s
            er, eg, eb, dx, dy, dz, lp = _light_sample(
                px, py, pz, nx, ny, nz, _u(table, rot, s, p, dim), _u(table, rot, s, p, dim + 1),
                _u(table, rot, s, p, dim + 2), _u(table, rot, s, p, dim + 3), w, total, area_center, area_total,
                area_radiance, area_tri_start, tri_cdf, tri_v0, tri_e1, tri_e2, tri_normal, pt_pos, pt_int, pt_dir,
                pt_cos, sun_dir, sun_irr)
            e[i, 0], e[i, 1], e[i, 2] = er, eg, eb
            norm = math.sqrt(dx * dx + dy * dy + dz * dz)
            lx, ly, lz = dx / norm, dy / norm, dz / norm
            ldir[i, 0], ldir[i, 1], ldir[i, 2] = lx, ly, lz
            lpdf[i] = lp
            wl = 1.0 if lp <= 0.0 else _power(lp, max(nx * lx + ny * ly + nz * lz, 0.0) * INV_PI)
            contrib[i, 0], contrib[i, 1], contrib[i, 2] = er * wl * INV_PI, eg * wl * INV_PI, eb * wl * INV_PI
            shadow[i, 0], shadow[i, 1], shadow[i, 2] = ox, oy, oz
            shadow[i, 3], shadow[i, 4], shadow[i, 5] = dx - offset * nx, dy - offset * ny, dz - offset * nz
            u1 = _u(table, rot, s, p, dim + 4)
            cx, cy, cz = _cosine_dir(nx, ny, nz, u1, _u(table, rot, s, p, dim + 5))
            ray[i, 0], ray[i, 1], ray[i, 2] = ox, oy, oz
            ray[i, 3], ray[i, 4], ray[i, 5] = cx, cy, cz
            prev[i, 0], prev[i, 1], prev[i, 2] = nx, ny, nz
            prev[i, 3], prev[i, 4], prev[i, 5] = math.sqrt(max(0.0, 1.0 - u1)) * INV_PI, total, floor
            prev_inst[i] = inst[p]


@njit(parallel=True, cache=True, error_model="numpy", fastmath=FASTMATH)
def specular_first_vertex(x, n, v, inst, rough, f0, strength, counts, samples, nee_samples, e, ldir, lpdf, table,
                          rot, dim, offset, inst_room, room_mask, area_center, area_total, area_lum, pt_pos, pt_lum,
                          pt_dir, pt_cos, sun_dir, sun_lum, out, ray, beta, prev, prev_inst, alive):
    """The specular lobe at the camera's hits: its light term from the irradiance's visible light
    samples (E/p, direction, pdf: ``nee_samples`` per point, MIS-weighted against VNDF sampling)
    into ``out``, and ``counts[p]`` VNDF-sampled path rays per point (rows p*S + r, dims dim,
    dim+1) with throughput F·G2/G1 and the state MIS needs where they land; the power heuristic
    uses the sample counts of both techniques."""
    N = x.shape[0]
    S = samples
    n_lights = area_center.shape[0] + pt_pos.shape[0] + sun_dir.shape[0]
    for p in prange(N):
        for r in range(S):
            alive[p * S + r] = False
        out[p, 0], out[p, 1], out[p, 2] = 0.0, 0.0, 0.0
        R = counts[p]
        if R == 0:
            continue
        w = np.empty(n_lights + 1)
        px, py, pz, nx, ny, nz = x[p, 0], x[p, 1], x[p, 2], n[p, 0], n[p, 1], n[p, 2]
        vx, vy, vz = v[p, 0], v[p, 1], v[p, 2]
        n_v = max(nx * vx + ny * vy + nz * vz, 1e-4)
        alpha = max(rough[p] * rough[p], 2e-3)
        a2 = alpha * alpha
        f0r, f0g, f0b, st = f0[p, 0], f0[p, 1], f0[p, 2], strength[p]
        acc_r, acc_g, acc_b = 0.0, 0.0, 0.0
        for q in range(nee_samples):
            lp = lpdf[p, q]
            fr, fg, fb, pg = _bsdf(nx, ny, nz, vx, vy, vz, ldir[p, q, 0], ldir[p, q, 1], ldir[p, q, 2], n_v,
                                   0.0, 0.0, 0.0, f0r, f0g, f0b, st, a2, 1.0)
            wl = 1.0 if lp <= 0.0 else _power(nee_samples * lp, R * pg)
            acc_r += fr * e[p, q, 0] * wl
            acc_g += fg * e[p, q, 1] * wl
            acc_b += fb * e[p, q, 2] * wl
        out[p, 0], out[p, 1], out[p, 2] = acc_r / nee_samples, acc_g / nee_samples, acc_b / nee_samples
        total, floor = _light_weights(px, py, pz, nx, ny, nz, w, room_mask[inst_room[inst[p]]], area_center,
                                      area_total, area_lum, pt_pos, pt_lum, pt_dir, pt_cos, sun_dir, sun_lum)
        ox, oy, oz = px + offset * nx, py + offset * ny, pz + offset * nz
        for r in range(R):
            i = p * S + r
            lx, ly, lz = _vndf_dir(nx, ny, nz, vx, vy, vz, a2, _u(table, rot, r, p, dim), _u(table, rot, r, p, dim + 1))
            fr, fg, fb, pg = _bsdf(nx, ny, nz, vx, vy, vz, lx, ly, lz, n_v, 0.0, 0.0, 0.0, f0r, f0g, f0b, st, a2, 1.0)
            n_l = nx * lx + ny * ly + nz * lz
            if pg <= 0.0 or n_l <= 0.0:
                continue
            ray[i, 0], ray[i, 1], ray[i, 2] = ox, oy, oz
            ray[i, 3], ray[i, 4], ray[i, 5] = lx, ly, lz
            beta[i, 0], beta[i, 1], beta[i, 2] = fr * n_l / pg, fg * n_l / pg, fb * n_l / pg
            prev[i, 0], prev[i, 1], prev[i, 2] = nx, ny, nz
            # Scaled so the landing vertex's power heuristic weighs R VNDF against nee_samples light samples.
            prev[i, 3], prev[i, 4], prev[i, 5] = pg * R / nee_samples, total, floor
            prev_inst[i] = inst[p]
            alive[i] = True


@njit(parallel=True, cache=True, error_model="numpy", fastmath=FASTMATH)
def dielectric_first_vertex(x, n, v, front, inst, albedo, rough, diel, counts, samples, table, rot, dim, offset, ray,
                            beta, prev, prev_inst, alive):
    """The dielectric lobe at the camera's hits: ``counts[p]`` path rays per point (rows p*S + r)
    from :func:`_dielectric_sample` — Fresnel choice from dim 0 of the row (the irradiance
    stream's light pick, unused by this lobe otherwise), microfacet normal from dims dim,
    dim+1 — with throughput weight × tint and ``prev[3]`` = 0 (no light sample to weigh
    against), leaving from the side they go to."""
    N = x.shape[0]
    S = samples
    for p in prange(N):
        for r in range(S):
            alive[p * S + r] = False
        nx, ny, nz = n[p, 0], n[p, 1], n[p, 2]
        for r in range(counts[p]):
            i = p * S + r
            lx, ly, lz, wd, through = _dielectric_sample(
                nx, ny, nz, v[p, 0], v[p, 1], v[p, 2], front[p], diel[p, 1], diel[p, 2] > 0.0, rough[p],
                _u(table, rot, r, p, 0), _u(table, rot, r, p, dim), _u(table, rot, r, p, dim + 1))
            if wd <= 0.0:
                continue
            side = -1.0 if through else 1.0
            for c in range(3):
                beta[i, c] = wd * albedo[p, c] if through else wd
                prev[i, c] = side * n[p, c]
                ray[i, c] = x[p, c] + side * offset * n[p, c]
            ray[i, 3], ray[i, 4], ray[i, 5] = lx, ly, lz
            prev[i, 3], prev[i, 4], prev[i, 5] = 0.0, 1.0, 0.0
            prev_inst[i] = inst[p]
            alive[i] = True


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _emitter_hit(i, hx, hy, hz, dx, dy, dz, gx, gy, gz, k, rays, prev, prev_inst, offset, inst_room, room_mask,
                 inst_light, emission, two_sided, area_center, area_total, area_lum, area_radiance):
    """Radiance a path ray (row ``i``, direction d, hitting instance ``k`` at h with geometric
    normal g) brings back from an emitter: the front side only unless the emitter is two-sided
    (whose light set holds each triangle twice, facing both ways), as next-event estimation lights;
    MIS-weighted (power heuristic) against the light sample its previous vertex could have drawn
    there — weight 1 for emitters next-event estimation leaves out (no light, or masked)."""
    cos_y = -(gx * dx + gy * dy + gz * dz)
    if cos_y <= 0.0:
        if not two_sided[k]:
            return 0.0, 0.0, 0.0
        cos_y = -cos_y
    li = inst_light[k]
    if li < 0:
        return emission[k, 0], emission[k, 1], emission[k, 2]
    mask = room_mask[inst_room[prev_inst[i]]]
    wgt = 1.0
    if mask[li] != 0.0 and prev[i, 3] > 0.0:  # (pdf 0: a dielectric-sampled ray, no light sample to weigh)
        nx, ny, nz = prev[i, 0], prev[i, 1], prev[i, 2]
        # The previous vertex: the ray's origin less its offset along the normal.
        px, py, pz = rays[i, 0] - offset * nx, rays[i, 1] - offset * ny, rays[i, 2] - offset * nz
        pick = _area_pick(li, px, py, pz, nx, ny, nz, mask, area_center, area_total, area_lum, prev[i, 4], prev[i, 5])
        d2 = (hx - px) ** 2 + (hy - py) ** 2 + (hz - pz) ** 2
        wgt = _power(prev[i, 3], pick * d2 / (cos_y * area_total[li]))
    return area_radiance[li, 0] * wgt, area_radiance[li, 1] * wgt, area_radiance[li, 2] * wgt


@njit(parallel=True, cache=True, error_model="numpy", fastmath=FASTMATH)
def path_vertex(rays, t_hit, geom, prim, bary, normals, beta, idx, prev, prev_inst, shift, inst_room, room_mask,
                inst_light, table, rot, dim, rr, last, emit_only, direct_clamp, total, clamp, offset, env, env_u_offset,
                geom_to_inst, base_color, roughness, metallic, specular, emission, two_sided, tex, area_center,
                area_total, area_lum, area_radiance, area_tri_start, tri_cdf, tri_v0, tri_e1, tri_e2, tri_normal,
                pt_pos, pt_int, pt_lum, pt_dir, pt_cos, sun_dir, sun_irr, sun_lum, dielectric, contrib, shadow, nxt,
                beta_out, prev_out, prev_inst_out, alive, delta):
    """One bounce of the first ``len(t_hit)`` live paths with the full material model. A miss adds
    β·sky (the environment table) and ends. A hit adds the emitter's MIS-weighted radiance (:func:`_emitter_hit`;
    luminance-capped at ``direct_clamp``), then at the new vertex: a light sample (dims
    dim..dim+3; β·f·E/p·w, w the power heuristic against BSDF sampling — 1 at the ``last`` vertex,
    which samples no direction — added once the shadow ray is tested), the next direction from
    the diffuse or the GGX lobe (dim+4 picks, dim+5, dim+6 draw), β ← β·f·cos/pdf(mixture) and
    Russian roulette when ``rr`` (dim+7). A transmissive material (``dielectric[k]``: transmission,
    ior, thin) takes the dielectric lobe with probability t at dim+4 (:func:`_dielectric_sample`,
    light-sampled only for a rough solid's reflection) — at the ``last`` vertex too, whose
    dielectric rays then only collect the emitter or sky they hit (a call with ``emit_only``), as
    Mitsuba's path ends: a delta vertex has no light sample to stand in for that ray.
    ``delta[i]`` flags light samples of delta lights (their shadow rays may cross thin panes).
    Path row i belongs to total row ``idx[i]`` = point · 2^shift + sample. Results go to the preallocated outputs (row-aligned; :func:`compact`
    packs the survivors)."""
    m = t_hit.shape[0]
    n_lights = area_center.shape[0] + pt_pos.shape[0] + sun_dir.shape[0]
    n_chunks = (m + CHUNK - 1) // CHUNK
    for chunk in prange(n_chunks):
        w = np.empty(n_lights + 1)  # light weights, one buffer per chunk of rows
        for i in range(chunk * CHUNK, min(m, (chunk + 1) * CHUNK)):
            dx, dy, dz = rays[i, 3], rays[i, 4], rays[i, 5]
            alive[i] = False
            delta[i] = False
            for c in range(3):
                contrib[i, c] = 0.0
                shadow[i, c] = 0.0
                shadow[i, 3 + c] = 0.0
            shadow[i, 5] = 1e-6  # a harmless dummy shadow ray for rows without a light sample
            t = t_hit[i]
            if not math.isfinite(t):
                sr, sg, sb = _env(dx, dy, dz, env, env_u_offset)
                _add_clamped(total, idx[i], beta[i, 0] * sr, beta[i, 1] * sg, beta[i, 2] * sb, direct_clamp)
                continue
            k = geom_to_inst[geom[i]]
            gx, gy, gz = normals[i, 0], normals[i, 1], normals[i, 2]
            px, py, pz = rays[i, 0] + t * dx, rays[i, 1] + t * dy, rays[i, 2] + t * dz
            if inst_light[k] >= 0 or emission[k, 0] > 0.0 or emission[k, 1] > 0.0 or emission[k, 2] > 0.0:
                lr, lg, lb = _emitter_hit(i, px, py, pz, dx, dy, dz, gx, gy, gz, k, rays, prev, prev_inst, offset,
                                          inst_room, room_mask, inst_light, emission, two_sided, area_center,
                                          area_total, area_lum, area_radiance)
                _add_clamped(total, idx[i], beta[i, 0] * lr, beta[i, 1] * lg, beta[i, 2] * lb, direct_clamp)
            if emit_only:  # the ray a last vertex's dielectric lobe sent: only what it hits counts
                continue
            nx, ny, nz, ar, ag, ab, ro, me = _surface(k, prim[i], bary[i, 0], bary[i, 1], dx, dy, dz, gx, gy, gz,
                                                      base_color, roughness, metallic, tex)
            vx, vy, vz = -dx, -dy, -dz
            n_v = max(nx * vx + ny * vy + nz * vz, 1e-4)
            if _hidden(k, nx, ny, nz, dx, dy, dz, tex):
                continue
            cdr, cdg, cdb, f0r, f0g, f0b, st, a2, p_s = _lobes(ar, ag, ab, ro, me, specular[k], n_v)
            s, p = idx[i] & ((1 << shift) - 1), idx[i] >> shift
            tr = dielectric[k, 0]  # transmission: the dielectric lobe's share
            total_w, floor = _light_weights(px, py, pz, nx, ny, nz, w, room_mask[inst_room[k]], area_center,
                                            area_total, area_lum, pt_pos, pt_lum, pt_dir, pt_cos, sun_dir, sun_lum)
            er, eg, eb, lx, ly, lz, lp = _light_sample(
                px, py, pz, nx, ny, nz, _u(table, rot, s, p, dim), _u(table, rot, s, p, dim + 1),
                _u(table, rot, s, p, dim + 2), _u(table, rot, s, p, dim + 3), w, total_w, area_center, area_total,
                area_radiance, area_tri_start, tri_cdf, tri_v0, tri_e1, tri_e2, tri_normal, pt_pos, pt_int, pt_dir,
                pt_cos, sun_dir, sun_irr)
            br, bg, bb = beta[i, 0], beta[i, 1], beta[i, 2]
            front = gx * dx + gy * dy + gz * dz < 0.0
            rough_glass = tr > 0.0 and dielectric[k, 2] == 0.0 and roughness[k] >= SMOOTH_ROUGHNESS
            if ((tr < 1.0 or rough_glass) and (er > 0.0 or eg > 0.0 or eb > 0.0)
                    and not _below(k, gx, gy, gz, dx, dy, dz, lx, ly, lz, tex)):  # (else nothing to evaluate)
                ln = math.sqrt(lx * lx + ly * ly + lz * lz)
                fr, fg, fb, pb = _bsdf(nx, ny, nz, vx, vy, vz, lx / ln, ly / ln, lz / ln, n_v, cdr, cdg, cdb, f0r,
                                       f0g, f0b, st, a2, p_s)
                wl = (1.0 if (lp <= 0.0 or last) else _power(lp, (1.0 - tr) * pb)) * (1.0 - tr)
                fr, fg, fb = fr * wl, fg * wl, fb * wl
                if rough_glass:  # its reflection, MIS-weighted per lobe (the last vertex samples it too)
                    fd, pd = _rough_reflection(nx, ny, nz, vx, vy, vz, lx / ln, ly / ln, lz / ln, front,
                                               dielectric[k, 1], False, roughness[k])
                    wd = tr * fd * (1.0 if lp <= 0.0 else _power(lp, tr * pd))
                    fr, fg, fb = fr + wd, fg + wd, fb + wd
                delta[i] = lp <= 0.0  # a delta light: its shadow ray may cross thin panes (shadows.py)
                contrib[i, 0], contrib[i, 1], contrib[i, 2] = br * fr * er, bg * fg * eg, bb * fb * eb
                shadow[i, 0], shadow[i, 1], shadow[i, 2] = px + offset * nx, py + offset * ny, pz + offset * nz
                shadow[i, 3], shadow[i, 4], shadow[i, 5] = lx - offset * nx, ly - offset * ny, lz - offset * nz
            u_lobe = _u(table, rot, s, p, dim + 4)
            if last and not (tr > 0.0 and u_lobe < tr):
                continue
            side = 1.0  # the side of the surface the next ray leaves from: -1 for transmission
            if tr > 0.0 and u_lobe < tr:
                cx, cy, cz, wd, through = _dielectric_sample(
                    nx, ny, nz, vx, vy, vz, front, dielectric[k, 1], dielectric[k, 2] > 0.0, roughness[k], u_lobe / tr,
                    _u(table, rot, s, p, dim + 5), _u(table, rot, s, p, dim + 6))
                if wd <= 0.0:
                    continue
                pb = 0.0  # delta lobes and transmission: no light sample to weigh against
                if through:  # transmitted light is tinted by the base colour (glTF)
                    side = -1.0
                    br, bg, bb = br * wd * ar, bg * wd * ag, bb * wd * ab
                else:
                    br, bg, bb = br * wd, bg * wd, bb * wd
                    if rough_glass:  # a rough reflection: weighed against the light sample where it lands
                        pb = tr * _rough_reflection(nx, ny, nz, vx, vy, vz, cx, cy, cz, front, dielectric[k, 1],
                                                    False, roughness[k])[1]
            else:
                if tr > 0.0:
                    u_lobe = (u_lobe - tr) / (1.0 - tr)
                cx, cy, cz = _sample_dir(nx, ny, nz, vx, vy, vz, a2, p_s, u_lobe, _u(table, rot, s, p, dim + 5),
                                         _u(table, rot, s, p, dim + 6))
                fr, fg, fb, pb = _bsdf(nx, ny, nz, vx, vy, vz, cx, cy, cz, n_v, cdr, cdg, cdb, f0r, f0g, f0b, st, a2,
                                       p_s)
                if pb <= 0.0 or _below(k, gx, gy, gz, dx, dy, dz, cx, cy, cz, tex):
                    continue
                n_l = nx * cx + ny * cy + nz * cz
                br, bg, bb = br * fr * n_l / pb, bg * fg * n_l / pb, bb * fb * n_l / pb
                pb *= 1.0 - tr
            nx, ny, nz = side * nx, side * ny, side * nz
            ox, oy, oz = px + offset * nx, py + offset * ny, pz + offset * nz
            if rr:
                q = min(max(max(br, max(bg, bb)), 0.05), 1.0)
                if _u(table, rot, s, p, dim + 7) >= q:
                    continue
                br, bg, bb = br / q, bg / q, bb / q
            nxt[i, 0], nxt[i, 1], nxt[i, 2] = ox, oy, oz
            nxt[i, 3], nxt[i, 4], nxt[i, 5] = cx, cy, cz
            beta_out[i, 0], beta_out[i, 1], beta_out[i, 2] = br, bg, bb
            prev_out[i, 0], prev_out[i, 1], prev_out[i, 2] = nx, ny, nz
            prev_out[i, 3], prev_out[i, 4], prev_out[i, 5] = pb, total_w, floor
            prev_inst_out[i] = k
            alive[i] = True


@njit(cache=True, error_model="numpy")
def _count_alive(alive, lo, hi):
    n = 0
    for i in range(lo, hi):
        if alive[i]:
            n += 1
    return n


@njit(cache=True, error_model="numpy")
def _pack_rows(alive, rays, beta, prev, prev_inst, idx, rays_out, beta_out, prev_out, prev_inst_out, idx_out, lo, hi,
               k):
    """Copy the live rows of [lo, hi) to the output rows from k on, in order."""
    for i in range(lo, hi):
        if alive[i]:
            for j in range(6):
                rays_out[k, j] = rays[i, j]
                prev_out[k, j] = prev[i, j]
            for j in range(3):
                beta_out[k, j] = beta[i, j]
            prev_inst_out[k] = prev_inst[i]
            idx_out[k] = idx[i]
            k += 1


@njit(parallel=True, cache=True, error_model="numpy")
def compact(alive, rays, beta, prev, prev_inst, idx, rays_out, beta_out, prev_out, prev_inst_out, idx_out):
    """Pack the surviving rows to the front of the output buffers, in order; returns how many
    survived. Two parallel passes (count per chunk, then copy from each chunk's prefix sum): run
    serially this was a tenth of the frame's time that a second thread could not share. Inputs
    and outputs must be distinct buffers: a chunk's rows may land where an earlier chunk's are
    still being read."""
    m = alive.shape[0]
    n_chunks = (m + CHUNK - 1) // CHUNK
    start = np.zeros(n_chunks + 1, np.int64)
    for c in prange(n_chunks):
        start[c + 1] = _count_alive(alive, c * CHUNK, min(m, (c + 1) * CHUNK))
    for c in range(n_chunks):
        start[c + 1] += start[c]
    for c in prange(n_chunks):
        _pack_rows(alive, rays, beta, prev, prev_inst, idx, rays_out, beta_out, prev_out, prev_inst_out, idx_out,
                   c * CHUNK, min(m, (c + 1) * CHUNK), start[c])
    return start[n_chunks]


@njit(parallel=True, cache=True, error_model="numpy", fastmath=FASTMATH)
def accumulate(total, idx, contrib, occluded, clamp):
    """Add the visible NEE contributions (luminance-clamped) to their samples' totals; ``idx``
    holds each row's sample row, unique within a call, so the parallel loop has no races."""
    for i in prange(contrib.shape[0]):
        if occluded[i]:
            continue
        _add_clamped(total, idx[i], contrib[i, 0], contrib[i, 1], contrib[i, 2], clamp)
