"""Dielectrics (issue 16): thin panes, smooth and rough solid glass, checked in closed form and
against Mitsuba 3.

- Fresnel and the thin slab: the kernels' exact Fresnel equals Mitsuba's ``fresnel`` (and
  numpy's ``brdf.fresnel_dielectric``) at every angle, both ways through the interface; the
  slab reflectance 2R/(1 + R) is 0.0769 at normal incidence (ior 1.5) and is the fraction of
  reflections Mitsuba's ``thindielectric`` samples.
- The sampled lobes: the mean reflected and transmitted weight of our rough (GGX, Walter 2007)
  sampler equals Mitsuba ``roughdielectric``'s, entering and leaving (fast, no rendering).
- White furnace: a glass sphere in a closed box of black walls emitting radiance 1 shows
  radiance 1 (smooth and thin glass conserve energy exactly; paths are cut at the bounce
  limit only); rough glass loses what Mitsuba's single-scattering microfacet loses.
- Shadow rays of a delta light (the sun) cross a thin pane with its transmittance
  (1 − 2R/(1 + R))·tint, in closed form.
- The glass room (smooth block, rough block, thin pane in the Cornell room) per region against
  Mitsuba within K_SIGMA·σ + BIAS, σ from two seeds per renderer; determinism.
"""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit
from scipy.ndimage import binary_erosion

from interiorvideo.render import Renderer, RenderSettings, kernels, mitsuba_ref
from interiorvideo.render.brdf import fresnel_dielectric, thin_slab_reflectance
from interiorvideo.render.mitsuba_ref import region_ratio, render_mitsuba
from interiorvideo.scene import Light, Room, Scene, SceneObject, Sky
from interiorvideo.scene import reference as ref
from interiorvideo.trajectory import Trajectory, intrinsics, look_at

K_SIGMA = 4.0
BIAS = 0.005  # as test_render_mitsuba.py: float32 geometry, shadow-ray offsets
W, H = 64, 48
SPP = 64
BOUNCES = 6  # ours: the camera's hit + 6 path vertices = Mitsuba max_depth 8


# -- closed form and per-sample checks ----------------------------------------------------------------
COS = np.array([1.0, 0.9, 0.7, 0.5, 0.3, 0.1, 0.02])


@pytest.mark.parametrize("eta", [1.5, 1.0 / 1.5, 1.33])
def test_fresnel_equals_mitsubas(eta):
    """Kernel and numpy Fresnel against mi.fresnel, entering (η > 1) and leaving (η < 1, total
    internal reflection beyond the critical angle)."""
    mi = mitsuba_ref.mitsuba()
    theirs = np.array(mi.fresnel(mi.Float(COS), mi.Float(eta))[0])
    ours = np.array([kernels._fresnel_dielectric(c, eta)[0] for c in COS])
    np.testing.assert_allclose(ours, theirs, atol=2e-6)
    np.testing.assert_allclose(fresnel_dielectric(COS, eta), theirs, atol=2e-6)
    if eta < 1:
        assert ours[-1] == 1.0  # beyond the critical angle: total internal reflection


def test_thin_slab_reflectance_closed_form_and_mitsuba():
    """R_slab = R + T²R/(1 − R²) = 2R/(1 + R): 0.04 → 0.0769 at normal incidence; and the
    fraction of reflected samples of Mitsuba's thindielectric at each angle."""
    assert thin_slab_reflectance(np.array([1.0]), 1.5)[0] == pytest.approx(2 * 0.04 / 1.04, abs=1e-9)
    mi = mitsuba_ref.mitsuba()
    import drjit as dr

    bsdf = mi.load_dict({"type": "thindielectric", "int_ior": 1.5, "ext_ior": 1.0})
    n = 200_000
    rng = np.random.default_rng(0)
    for c in (1.0, 0.6, 0.2):
        si = dr.zeros(mi.SurfaceInteraction3f, n)
        si.wi = mi.Vector3f(float(np.sqrt(1 - c * c)), 0.0, float(c))
        bs, _ = bsdf.sample(mi.BSDFContext(), si, mi.Float(rng.random(n)), mi.Point2f(rng.random(n), rng.random(n)))
        reflected = float(np.mean(np.array(bs.wo.z) > 0))
        expect = thin_slab_reflectance(np.array([c]), 1.5)[0]
        assert reflected == pytest.approx(expect, abs=4 * np.sqrt(expect / n) + 1e-4), c


@njit(cache=True)
def _our_weights(cos_v, front, ior, rough, n, seed):
    """Mean weight f·|cos|/pdf of reflected and of transmitted samples, over all samples, and
    the mean squares (for the noise)."""
    np.random.seed(seed)
    vx, vz = np.sqrt(1.0 - cos_v * cos_v), cos_v
    refl, trans, refl2, trans2 = 0.0, 0.0, 0.0, 0.0
    for _ in range(n):
        _lx, _ly, _lz, w, through = kernels._dielectric_sample(0.0, 0.0, 1.0, vx, 0.0, vz, front, ior, False, rough,
                                                            np.random.random(), np.random.random(),
                                                            np.random.random())
        if through:
            trans += w
            trans2 += w * w
        else:
            refl += w
            refl2 += w * w
    return refl / n, trans / n, refl2 / n, trans2 / n


# Inside the glass only near-normal views: beyond the critical angle (cos < 0.745) both reflect
# everything, which the Fresnel test covers.
@pytest.mark.parametrize("front,cos_v", [(True, 0.95), (True, 0.6), (True, 0.3), (False, 0.95), (False, 0.8)])
@pytest.mark.parametrize("rough", [0.0, 0.3, 0.6])
def test_dielectric_sampler_weights_equal_mitsubas(front, cos_v, rough):
    """Reflected and transmitted energy per sample (radiance transport: 1/η² on refraction)
    of our sampler against Mitsuba's dielectric / roughdielectric (visible normals, α =
    roughness²), from outside (front) and inside."""
    mi = mitsuba_ref.mitsuba()
    import drjit as dr

    m = ref.glass("g", roughness=rough)
    bsdf = mi.load_dict(mitsuba_ref.dielectric_bsdf_dict(m))
    n = 200_000
    rng = np.random.default_rng(1)
    si = dr.zeros(mi.SurfaceInteraction3f, n)
    si.wi = mi.Vector3f(float(np.sqrt(1 - cos_v ** 2)), 0.0, float(cos_v if front else -cos_v))
    bs, w = bsdf.sample(mi.BSDFContext(), si, mi.Float(rng.random(n)), mi.Point2f(rng.random(n), rng.random(n)))
    w = np.array(w)[0]  # (channels, n): the tint is white
    wo_z = np.array(bs.wo.z)
    same_side = wo_z * (1 if front else -1) > 0
    theirs = (np.mean(w * same_side), np.mean(w * ~same_side))
    theirs2 = (np.mean((w * same_side) ** 2), np.mean((w * ~same_side) ** 2))
    *ours, r2, t2 = _our_weights(cos_v, front, 1.5, rough, n, 2)
    for a, b, a2, b2 in zip(ours, theirs, (r2, t2), theirs2):
        sigma = np.sqrt((a2 - a * a + b2 - b * b) / n)  # of the difference of the two means
        assert abs(a - b) < K_SIGMA * sigma + 1e-4, (ours, theirs, sigma)


@njit(cache=True)
def _reflection_consistency(cos_v, front, rough, n, seed):
    """(E over uniform upper-hemisphere directions of 2π·f·cos, E of the sampler's reflected
    weights; E over uniform directions of 2π·pdf, the fraction of reflected samples)."""
    np.random.seed(seed)
    vx, vz = np.sqrt(1.0 - cos_v * cos_v), cos_v
    ref_f, est, mass, frac = 0.0, 0.0, 0.0, 0.0
    for _ in range(n):
        z = np.random.random()
        phi = 2.0 * np.pi * np.random.random()
        r = np.sqrt(1.0 - z * z)
        f, pdf = kernels._rough_reflection(0.0, 0.0, 1.0, vx, 0.0, vz, r * np.cos(phi), r * np.sin(phi), z, front,
                                           1.5, False, rough)
        ref_f += 2.0 * np.pi * f * z
        mass += 2.0 * np.pi * pdf
        _lx, _ly, _lz, w, through = kernels._dielectric_sample(0.0, 0.0, 1.0, vx, 0.0, vz, front, 1.5, False, rough,
                                                               np.random.random(), np.random.random(),
                                                               np.random.random())
        if w > 0.0 and not through:
            est += w
            frac += 1.0
    return ref_f / n, est / n, mass / n, frac / n


@pytest.mark.parametrize("front,cos_v", [(True, 0.9), (True, 0.4), (False, 0.95)])
@pytest.mark.parametrize("rough", [0.3, 0.6])
def test_rough_reflection_eval_and_pdf_agree_with_the_sampler(front, cos_v, rough):
    """The rough glass's reflection is light-sampled too (MIS per lobe): its evaluated f·cos
    integrates to the sampler's mean reflected weight, and its pdf integrates to the fraction
    of samples the sampler reflects — so light samples and reflected rays share one density."""
    ref_f, est, mass, frac = _reflection_consistency(cos_v, front, rough, 400_000, 3)
    assert est == pytest.approx(ref_f, rel=0.03, abs=2e-3)
    assert mass == pytest.approx(frac, rel=0.03, abs=2e-3)


# -- furnace --------------------------------------------------------------------------------------------
def _furnace(material, seed=0, samples=16):
    scene, traj = ref.furnace(material=material)
    r = Renderer(scene, RenderSettings(samples=samples, max_bounces=8, seed=seed, indirect_clamp=None,
                                       pixel_samples=1))
    f = r.render_frame(traj.K, traj.poses[0], traj.width, traj.height)
    return scene, traj, f


@pytest.mark.parametrize("material", [ref.glass("smooth"), ref.glass("thin", thin=True),
                                      ref.glass("tinted thin", thin=True, tint=(0.9, 0.6, 0.3))])
def test_white_furnace_smooth_and_thin_glass_conserve_energy(material):
    """A sphere of smooth or thin glass in a uniformly glowing box shows the box's radiance: the
    Fresnel split, refraction's 1/η² and η² on the way out, internal reflections all balance.
    A tinted thin sphere (both ends of a chord meet the view at the same angle) shows
    R + a²/(1 − R), a = (1 − R)·tint, R = R_slab(cos) at the pixel's first hit: the series of
    reflections between its two walls."""
    _, traj, f = _furnace(material)
    sel = f["instance"] == ref.BLOCK
    px = f["rgb"][sel].astype(np.float64)
    assert len(px) > 500
    mean, sem = px.mean(axis=0), px.std(axis=0) / np.sqrt(len(px))
    if material.base_color == (1.0, 1.0, 1.0):
        np.testing.assert_allclose(mean, 1.0, atol=float(4 * sem.max() + 0.005))
        return
    v, u = np.nonzero(sel)
    d = np.stack([u + 0.5, v + 0.5, np.ones_like(u, dtype=float)], axis=1) @ np.linalg.inv(traj.K).T
    cos = np.abs(np.einsum("ij,ij->i", d / np.linalg.norm(d, axis=1, keepdims=True), f["normal"][sel]))
    r = thin_slab_reflectance(cos, material.ior)[:, None]
    a = (1.0 - r) * np.asarray(material.base_color)
    expect = (r + a * a / (1.0 - r)).mean(axis=0)
    np.testing.assert_allclose(mean, expect, atol=float(4 * sem.max() + 0.005))


@pytest.mark.slow
def test_white_furnace_rough_glass_loses_what_mitsuba_loses():
    """Rough glass (roughness 0.3) loses energy to single scattering (no multiple microfacet
    bounces, as Mitsuba's roughdielectric): ours / Mitsuba's radiance within the noise."""
    material = ref.glass("rough", roughness=0.3)
    (scene, traj, f1), (_, _, f2) = _furnace(material, 0), _furnace(material, 1)
    m1, m2 = (render_mitsuba(scene, traj.K, traj.poses[0], traj.width, traj.height, spp=16, max_depth=10, seed=s)
              for s in (0, 1))
    mask = binary_erosion(f1["instance"] == ref.BLOCK, iterations=1)
    r, s = region_ratio((f1["rgb"], f2["rgb"]), (m1["rgb"], m2["rgb"]), mask)
    print(f"rough furnace: ours {f1['rgb'][mask].mean():.4f}, ours / Mitsuba {r:.4f} ± {s:.4f}")
    assert f1["rgb"][mask].mean() < 0.99
    assert abs(r - 1.0) < K_SIGMA * s + BIAS


# -- shadow rays through thin panes ---------------------------------------------------------------------
def test_sun_shines_through_a_thin_pane_with_its_transmittance():
    """A black floor under the sun, half of it under a horizontal tinted pane: the irradiance
    there is the open floor's × t·(1 − R_slab(cos))·tint, exactly (one delta light, black sky,
    black floor: direct light only)."""
    cos = 0.8
    sun = (0.6, 0.0, cos)
    floor = SceneObject(1, "floor", "floor", 0, ref.quad((-2, -2, 0), (4, 0, 0), (0, 4, 0)),
                        ref.lambertian("m_floor", (0.0, 0.0, 0.0)), structural=True)
    tint = (0.9, 0.8, 0.7)
    pane = SceneObject(2, "pane", "window", 0, ref.quad((-2.5, -2.5, 0.5), (2.5, 0, 0), (0, 5, 0)),
                       ref.glass("m_pane", thin=True, tint=tint))
    room = Room(0, "yard", ((-2, -2), (2, -2), (2, 2), (-2, 2)), 0.0, 3.0)
    scene = Scene("pane", (floor, pane), (Light("sun", "sun", (1.0, 1.0, 1.0), 3.0, direction=sun),),
                  (room,), sky=Sky(intensity=0.0))
    poses = look_at(np.array([[0.0, -0.3, 0.3]]), np.array([[0.0, 0.0, 0.0]]))
    traj = Trajectory(intrinsics(32, 32, 90.0), poses, 24.0, 32, 32, "pane", 0, 0)
    # Pixel centres: the shadow's edge is then a step between two exact levels, not a blend.
    f = Renderer(scene, RenderSettings(samples=4, max_bounces=2, pixel_samples=1)).render_frame(traj.K, traj.poses[0],
                                                                                               32, 32)
    irr = f["irradiance"][f["instance"] == 1].astype(np.float64)  # floor pixels: two exact levels
    lum = irr.mean(axis=1)
    open_, shaded = irr[lum > 0.999 * lum.max()], irr[lum < 0.99 * lum.max()]
    assert len(open_) > 50 and len(shaded) > 50 and len(open_) + len(shaded) == len(irr)
    expect = (1.0 - thin_slab_reflectance(np.array([cos / np.linalg.norm(sun)]), 1.5)[0]) * np.asarray(tint)
    np.testing.assert_allclose(open_.mean(axis=0), 3.0 * cos / np.linalg.norm(sun) / np.pi, rtol=1e-4)
    np.testing.assert_allclose(shaded.mean(axis=0) / open_.mean(axis=0), expect, rtol=1e-4)


# -- the glass room against Mitsuba ---------------------------------------------------------------------
def ours(scene, traj, seed, samples=SPP, bounces=BOUNCES):
    r = Renderer(scene, RenderSettings(samples=samples, max_bounces=bounces, seed=seed, indirect_clamp=None,
                                       pixel_samples=1))  # pixel centres, as Mitsuba here
    return r.render_frame(traj.K, traj.poses[0], traj.width, traj.height)


def theirs(scene, traj, seed, spp=SPP, max_depth=BOUNCES + 2):
    return render_mitsuba(scene, traj.K, traj.poses[0], traj.width, traj.height, spp=spp, max_depth=max_depth,
                          seed=seed)


@pytest.mark.slow
def test_glass_room_matches_mitsuba():
    """Smooth and rough solid glass blocks and a thin pane in the Cornell room lit by its ceiling
    (an area light, so caustics and light through glass are frequent enough to measure): every
    region — the glass, what is seen through it and the room it lights — within K_SIGMA·σ + BIAS."""
    scene, traj = ref.glass_room(ceiling_light=True), ref.glossy_camera(W, H)
    f = [ours(scene, traj, s) for s in (0, 1)]
    m = [theirs(scene, traj, s) for s in (0, 1)]
    results = {}
    for name, i in ref.GLASS_REGIONS.items():
        mask = binary_erosion(f[0]["instance"] == i, iterations=1)
        assert mask.sum() > 30, name
        results[name] = region_ratio((f[0]["rgb"], f[1]["rgb"]), (m[0]["rgb"], m[1]["rgb"]), mask)
    print("glass room ratios (ours / Mitsuba, 1σ):", {k: f"{r:.4f} ± {s:.4f}" for k, (r, s) in results.items()})
    failed = {k: f"{r:.4f} ± {s:.4f}" for k, (r, s) in results.items()
              if not (s < 0.03 and abs(r - 1.0) < K_SIGMA * s + BIAS)}
    assert not failed, failed


def test_glass_renders_are_deterministic_and_glass_is_seen_through():
    """Same seed, same bytes; the glass pixels carry the glass's own passes (instance, albedo =
    tint, roughness) and show the lit room behind them (not black)."""
    scene, traj = ref.glass_room(ceiling_light=True), ref.glossy_camera(24, 18)
    a, b = (ours(scene, traj, 3, samples=4, bounces=3) for _ in range(2))
    for name in ("rgb", "irradiance"):
        assert a[name].tobytes() == b[name].tobytes(), name
    for i in (ref.SMOOTH_GLASS, ref.ROUGH_GLASS, ref.PANE):
        sel = a["instance"] == i
        assert sel.sum() > 3 and a["rgb"][sel].mean() > 0.05
        np.testing.assert_allclose(a["albedo"][sel], 1.0)
    assert np.allclose(a["roughness"][a["instance"] == ref.ROUGH_GLASS], 0.3)


# -- the generator's panes and glass edits --------------------------------------------------------------
def test_generated_windows_have_thin_glass_panes():
    """Every window opening gets one thin pane (transmission 1, ior 1.5) filling it, appended after
    every other object so their instance ids and materials are those of the scene without panes;
    the same seed gives the same scene."""
    from interiorvideo.scene import generate_scene

    a, b = generate_scene(3), generate_scene(3)
    panes = [o for o in a.objects if o.label == "window pane"]
    windows = sum(op.kind == "window" for r in a.rooms for op in r.openings)
    assert windows > 0 and len(panes) == windows
    assert all(o.material.transmission == 1.0 and o.material.thin and o.structural for o in panes)
    assert min(o.instance_id for o in panes) > max(o.instance_id for o in a.objects if o.label != "window pane")
    for o, p in zip(a.objects, b.objects):
        assert o.name == p.name and o.material == p.material and np.array_equal(o.mesh.vertices, p.mesh.vertices)
    frames = [o for o in a.objects if o.label == "window"]
    for pane in panes:  # each pane lies inside its frame's bounding box
        frame = next(f for f in frames if f.name == pane.name.removesuffix("_pane"))
        lo, hi = frame.mesh.vertices.min(axis=0), frame.mesh.vertices.max(axis=0)
        assert np.all(pane.mesh.vertices >= lo - 1e-9) and np.all(pane.mesh.vertices <= hi + 1e-9)


def test_glass_material_edit_renders_through_the_new_transport():
    """A MaterialEdit making the Cornell room's white block glass: its ground truth shows the
    room through the block (the block's pixels change, the rest of the frame stays lit), and the
    edit has no intrinsic counterpart (the contract has no transmission channel)."""
    from interiorvideo.edits.bridge import NoIntrinsicCounterpart, from_scene_edit
    from interiorvideo.edits.scene import MaterialEdit, apply_scene_edits

    scene, traj = ref.cornell_room(), ref.cornell_camera(24, 18)
    edit = MaterialEdit(ref.BLOCK, roughness=0.0, transmission=1.0)
    glass = apply_scene_edits(scene, [edit])
    assert glass.object(ref.BLOCK).material.transmission == 1.0
    a, b = (ours(s, traj, 0, samples=8, bounces=3) for s in (scene, glass))
    sel = a["instance"] == ref.BLOCK
    assert sel.sum() > 10
    assert abs(b["rgb"][sel].mean() - a["rgb"][sel].mean()) > 0.05 * a["rgb"][sel].mean()
    np.testing.assert_array_equal(a["albedo"], b["albedo"])
    with pytest.raises(NoIntrinsicCounterpart):
        from_scene_edit(edit)
