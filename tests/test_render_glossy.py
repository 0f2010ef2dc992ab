"""Glossy and metal transport against Mitsuba 3 (issue 16), and the sampling behind it.

The path tracer samples the material model's GGX lobe (visible normals) and its diffuse lobe at
every vertex and combines light samples with BSDF-sampled rays by MIS. Checked here:

- the per-ray sampling is consistent: for every lobe mix, E[f·cos/pdf] over the sampler's own
  directions equals ∫ f·cos computed independently (uniform directions), so throughputs and MIS
  pdfs agree with the BRDF (fast);
- rendered radiance per region in the reference room with a rough copper block (roughness 0.3)
  and a silver mirror block (roughness 0.05) equals Mitsuba's within K_SIGMA·σ + BIAS (σ from
  two seeds per renderer, as in test_render_mitsuba.py), and the irradiance pass equals Mitsuba
  rgb / albedo on the Lambertian surfaces (the rest of each path is physical);
- with glossy dielectric walls (roughness 0.3, specular 1) too, within a wider, stated band:
  Mitsuba's ``principled`` dielectric (Disney diffuse with its grazing retro-reflection, its own
  specular lobe) is not our (1 − F)·Lambert + Schlick GGX by construction. Measured directional
  albedo (``bsdf.eval`` against our kernel, white base, roughness 0.3), ours / principled:
  0.97 at normal view, 0.96 at 45°, 0.93 at 60°, 0.87 at 70°, 0.75 at 80° (copper: 1.000 to
  0.999). Ours must therefore lie below Mitsuba by at most that: GLOSSY_BAND, on the walls and on
  everything they light.

For metallic 1, ``principled`` is a GGX conductor with Schlick's F0 = base colour, as ours; its
separable Smith G differs from our height-correlated one by < 0.02 % of the lobe's albedo at
view angles up to 65° (0.3 % at 80°) for α = 0.09, inside BIAS.
"""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit
from scipy.ndimage import binary_erosion

from interiorvideo.render import Renderer, RenderSettings, kernels
from interiorvideo.render.mitsuba_ref import region_ratio, render_mitsuba
from interiorvideo.scene import reference as ref

K_SIGMA = 4.0
BIAS = 0.005  # as test_render_mitsuba.py: float32 geometry, shadow-ray offsets
GLOSSY_BAND = (0.75, 1.0)  # glossy dielectric room: ours / principled's albedo ratio range (see above)
W, H = 64, 48
SPP = 64
BOUNCES = 6  # ours: the camera's hit + 6 path vertices = Mitsuba max_depth 8
LAMBERTIAN = ("floor", "left wall", "right wall", "back wall")


# -- sampling consistency (fast) ----------------------------------------------------------------------
@njit(cache=True)
def _estimates(nv, a2, albedo, metal, spec, n_samples, seed):
    """(E over the lobe-mix sampler of f·cos/pdf, E over uniform directions of 2π·f·cos,
    E over uniform directions of 2π·pdf, fraction of sampled directions above the surface)."""
    np.random.seed(seed)
    vx, vy, vz = np.sqrt(1.0 - nv * nv), 0.0, nv
    cdr, cdg, cdb, f0r, f0g, f0b, st, _, p_s = kernels._lobes(albedo, albedo, albedo, 0.5, metal, spec, nv)
    est, ref_, mass, above = 0.0, 0.0, 0.0, 0.0
    for _ in range(n_samples):
        lx, ly, lz = kernels._sample_dir(0.0, 0.0, 1.0, vx, vy, vz, a2, p_s, np.random.random(), np.random.random(),
                                         np.random.random())
        fr, _, _, pdf = kernels._bsdf(0.0, 0.0, 1.0, vx, vy, vz, lx, ly, lz, nv, cdr, cdg, cdb, f0r, f0g, f0b, st, a2,
                                      p_s)
        if lz > 0.0 and pdf > 0.0:
            est += fr * lz / pdf
            above += 1.0
        z = np.random.random()
        phi = 2.0 * np.pi * np.random.random()
        r = np.sqrt(1.0 - z * z)
        ux, uy = r * np.cos(phi), r * np.sin(phi)
        fr, _, _, pdf = kernels._bsdf(0.0, 0.0, 1.0, vx, vy, vz, ux, uy, z, nv, cdr, cdg, cdb, f0r, f0g, f0b, st, a2,
                                      p_s)
        ref_ += 2.0 * np.pi * fr * z
        mass += 2.0 * np.pi * pdf
    return est / n_samples, ref_ / n_samples, mass / n_samples, above / n_samples


@pytest.mark.parametrize("roughness", [0.3, 0.6])
@pytest.mark.parametrize("nv", [0.95, 0.5, 0.2])
@pytest.mark.parametrize("metal,spec", [(1.0, 1.0), (0.0, 1.0), (0.0, 0.0), (0.5, 0.5)])
def test_sampled_throughput_and_pdf_agree_with_the_brdf(roughness, nv, metal, spec):
    """The weight a path carries after sampling (f·cos/pdf) has the expectation ∫ f·cos (the
    reflectance), and the pdf MIS uses is the density the sampler draws from (its integral over
    the upper hemisphere is the fraction of samples that land there)."""
    a2 = max(roughness ** 2, 2e-3) ** 2
    est, expect, mass, above = _estimates(nv, a2, 0.7, metal, spec, 400_000, 1)
    assert est == pytest.approx(expect, rel=0.02, abs=1e-3)
    assert mass == pytest.approx(above, rel=0.02, abs=2e-3)


# -- against Mitsuba ------------------------------------------------------------------------------------
def ours(scene, traj, seed, samples=SPP, bounces=BOUNCES):
    r = Renderer(scene, RenderSettings(samples=samples, max_bounces=bounces, seed=seed, indirect_clamp=None,
                                       pixel_samples=1))
    return r.render_frame(traj.K, traj.poses[0], traj.width, traj.height)


def theirs(scene, traj, seed, spp=SPP, max_depth=BOUNCES + 2, **kw):
    return render_mitsuba(scene, traj.K, traj.poses[0], traj.width, traj.height, spp=spp, max_depth=max_depth,
                          seed=seed, **kw)


def ratios(f, m, key="rgb", regions=ref.GLOSSY_REGIONS, reference=None):
    (f1, f2), (m1, m2) = f, m
    r1, r2 = reference or (m1[key], m2[key])
    out = {}
    for name, i in regions.items():
        mask = binary_erosion(f1["instance"] == i, iterations=1)
        assert mask.sum() > 30, name
        out[name] = region_ratio((f1[key], f2[key]), (r1, r2), mask)
    return out


def check(results, bias, max_sigma=0.03, band=(1.0, 1.0)):
    """Every region's ratio within K_SIGMA·σ + bias of ``band`` (1 by default), with σ small
    enough for the check to mean something."""
    failed = {k: f"{r:.4f} ± {s:.4f}" for k, (r, s) in results.items()
              if not (s < max_sigma and band[0] - K_SIGMA * s - bias[k] < r < band[1] + K_SIGMA * s + bias[k])}
    assert not failed, failed


@pytest.fixture(scope="module")
def metal_room():
    scene, traj = ref.glossy_room(), ref.glossy_camera(W, H)
    return [ours(scene, traj, s) for s in (0, 1)], [theirs(scene, traj, s) for s in (0, 1)]


@pytest.mark.slow
def test_metal_blocks_and_the_room_around_them_match_mitsuba(metal_room):
    """Rough copper, a near-mirror and the Lambertian room they reflect and light: per-region
    radiance within the noise + BIAS (before this change: 0.46–0.81)."""
    results = ratios(*metal_room)
    print("metal room ratios (ours / Mitsuba, 1σ):", {k: f"{r:.4f} ± {s:.4f}" for k, (r, s) in results.items()})
    check(results, dict.fromkeys(results, BIAS))


@pytest.mark.slow
def test_irradiance_pass_in_the_metal_room_is_mitsuba_rgb_over_albedo(metal_room):
    """The irradiance pass's paths are physical after the first vertex: on the Lambertian
    surfaces it equals Mitsuba's radiance / albedo, light reflected by the metals included."""
    f, (m1, m2) = metal_room
    e = tuple(m["rgb"] / np.maximum(m["albedo"], 1e-6) for m in (m1, m2))
    regions = {k: ref.GLOSSY_REGIONS[k] for k in LAMBERTIAN}
    results = ratios(f, (m1, m2), "irradiance", regions, reference=e)
    print("metal room irradiance ratios:", {k: f"{r:.4f} ± {s:.4f}" for k, (r, s) in results.items()})
    check(results, dict.fromkeys(results, BIAS))


@pytest.mark.slow
def test_glossy_walls_match_mitsuba_within_the_model_difference():
    """Glossy dielectric side and back walls with both metal blocks: every region (the walls,
    and the floor and metals they light) within GLOSSY_BAND, the documented difference between
    principled's dielectric and ours. (With the exact ``x2v`` BSDF the ratios are strict:
    tests/test_render_mitsuba_backend.py.)"""
    scene, traj = ref.glossy_room(glossy_walls=True), ref.glossy_camera(W, H)
    results = ratios([ours(scene, traj, s) for s in (0, 1)],
                     [theirs(scene, traj, s, bsdf="principled") for s in (0, 1)])
    print("glossy room ratios (ours / Mitsuba, 1σ):", {k: f"{r:.4f} ± {s:.4f}" for k, (r, s) in results.items()})
    check(results, dict.fromkeys(results, BIAS), band=GLOSSY_BAND)


def test_glossy_renders_are_deterministic_and_lit():
    """Same seed, same bytes; the metal blocks are lit (not black) in a tiny render."""
    scene, traj = ref.glossy_room(glossy_walls=True), ref.glossy_camera(24, 18)
    a, b = (ours(scene, traj, 3, samples=4, bounces=3) for _ in range(2))
    for name in ("rgb", "irradiance"):
        assert a[name].tobytes() == b[name].tobytes(), name
    for i in (ref.BLOCK, ref.MIRROR):
        assert a["rgb"][a["instance"] == i].mean() > 0.02
