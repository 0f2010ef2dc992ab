"""The clip contract's material model as a Mitsuba 3 BSDF plugin (``"type": "x2v"``), so the
reference renders exactly our model rather than ``principled``'s (Disney diffuse, exact
dielectric Fresnel).

The model (:mod:`brdf`, per ray in ``kernels._lobes`` / ``_bsdf`` / ``_sample_dir``), in the
local frame of the side the ray comes from (our surfaces shade from whichever side is hit, so
the plugin is two-sided: both directions are mirrored when ``wi`` is below the surface):

    f = (1 − m)(1 − F(n·v))·base/π + D·V·F(v·h),   F(c) = (F0 + (1 − F0)(1 − c)⁵)·strength,
    F0 = (1 − m)·0.04·specular + m·base,   strength = (1 − m)·specular + m,
    D = GGX(α² = max(roughness², 2e-3)²),   V = height-correlated Smith G2 / (4 n·l n·v)

Sampling: the specular lobe (GGX visible normals, Dupuy & Benyoub 2023) with probability p_s —
its Fresnel luminance against the diffuse colour's, clamped to [0.1, 0.9] when both lobes exist —
else cosine (ours: r = √u₁, φ = 2πu₂, not Mitsuba's concentric map, so the same sample numbers
give the same directions); pdf = (1 − p_s)·cos/π + p_s·D·G1(v)/(4 n·v), weight = f·cos/pdf.

A Python plugin works in every JIT variant (``llvm_ad_rgb``, ``cuda_ad_rgb``): Dr.Jit traces
these methods once into the render kernel. The class is built per variant (it derives from the
variant's ``mi.BSDF``) and registered by :func:`register`.
"""

from __future__ import annotations

import math
from typing import Any

DIELECTRIC_F0 = 0.04  # as brdf.DIELECTRIC_F0 (not imported: this module needs only Mitsuba)
ALPHA_MIN = 2e-3  # as brdf.alpha_from_roughness
LUMA = (0.2126, 0.7152, 0.0722)
PLUGIN = "x2v"
_registered: dict[str, type] = {}


def register(mi: Any) -> type:
    """Register the ``x2v`` BSDF with Mitsuba for the current variant (once); returns its class."""
    variant = mi.variant()
    if variant in _registered:
        return _registered[variant]
    import drjit as dr

    def pow5(x):
        x2 = x * x
        return x2 * x2 * x

    def luminance(c):
        return LUMA[0] * c[0] + LUMA[1] * c[1] + LUMA[2] * c[2]

    class X2VBSDF(mi.BSDF):
        """Lambert (1 − m)(1 − F)·base + GGX·Schlick, two-sided (see the module docstring)."""

        def __init__(self, props: mi.Properties):
            mi.BSDF.__init__(self, props)
            self.base_color = props.get_texture("base_color", 0.5)
            self.roughness = float(props.get("roughness", 0.5))
            self.metallic = float(props.get("metallic", 0.0))
            self.specular = float(props.get("specular", 1.0))
            for name in ("roughness", "metallic", "specular"):
                v = getattr(self, name)
                if not (0.0 <= v <= 1.0) or math.isnan(v):
                    raise ValueError(f"x2v BSDF: {name} must be in [0, 1], got {v}")
            kd = 1.0 - self.metallic
            self.strength = kd * self.specular + self.metallic
            alpha = max(self.roughness * self.roughness, ALPHA_MIN)
            self.a2 = alpha * alpha
            flags = mi.BSDFFlags.FrontSide | mi.BSDFFlags.BackSide
            lobes = [mi.BSDFFlags.DiffuseReflection | flags]
            if self.strength > 0.0:
                lobes.append(mi.BSDFFlags.GlossyReflection | flags)
            self.m_components = lobes
            f = lobes[0]
            for c in lobes[1:]:
                f = f | c
            self.m_flags = f

        # -- the model in the frame of the side ``wi`` is on ---------------------------------------
        def _lobes(self, si, n_v, active):
            base = self.base_color.eval(si, active)
            kd = 1.0 - self.metallic
            f0 = kd * DIELECTRIC_F0 * self.specular + self.metallic * base
            F = (f0 + (1.0 - f0) * pow5(1.0 - n_v)) * self.strength
            cd = kd * (1.0 - F) * base
            lum_d, lum_s = luminance(cd), luminance(F)
            if self.strength <= 0.0:
                p_s = mi.Float(0.0)
            else:
                p_s = dr.select(lum_d <= 0.0, 1.0, dr.clip(lum_s / dr.maximum(lum_s + lum_d, 1e-30), 0.1, 0.9))
            return cd, f0, p_s

        @staticmethod
        def _side(si):
            """Mirror factor (±1) that puts ``wi`` above the surface, and the mirrored ``wi``."""
            s = dr.select(si.wi.z < 0.0, -1.0, 1.0)
            return s, mi.Vector3f(si.wi.x, si.wi.y, si.wi.z * s)

        def _eval_pdf(self, si, wi, wo, active):
            n_v = dr.maximum(wi.z, 1e-4)
            n_l = wo.z
            cd, f0, p_s = self._lobes(si, n_v, active)
            value = cd * dr.inv_pi
            pdf = (1.0 - p_s) * n_l * dr.inv_pi
            if self.strength > 0.0:
                a2 = self.a2
                h = wi + wo
                hn = dr.norm(h)
                ok = hn > 1e-12
                inv = dr.select(ok, dr.rcp(hn), 0.0)
                n_h = dr.minimum(h.z * inv, 1.0)
                v_h = dr.clip(dr.dot(wi, h) * inv, 0.0, 1.0)
                d = n_h * n_h * (a2 - 1.0) + 1.0
                D = a2 / (dr.pi * d * d)
                vis = 0.5 / (n_l * dr.sqrt(n_v * n_v * (1.0 - a2) + a2) + n_v * dr.sqrt(n_l * n_l * (1.0 - a2) + a2))
                k = D * vis * self.strength
                value += dr.select(ok, (f0 + (1.0 - f0) * pow5(1.0 - v_h)) * k, 0.0)
                g1v = 2.0 * n_v / (n_v + dr.sqrt(a2 + (1.0 - a2) * n_v * n_v))
                pdf += dr.select(ok, p_s * D * g1v / (4.0 * n_v), 0.0)
            up = active & (n_l > 0.0)
            return dr.select(up, value * n_l, 0.0), dr.select(up, pdf, 0.0)

        def _vndf(self, wi, u):
            alpha = math.sqrt(self.a2)
            w = dr.normalize(mi.Vector3f(alpha * wi.x, alpha * wi.y, wi.z))
            phi = 2.0 * dr.pi * u.x
            z = (1.0 - u.y) * (1.0 + w.z) - w.z
            st = dr.sqrt(dr.clip(1.0 - z * z, 0.0, 1.0))
            sp, cp = dr.sincos(phi)
            m = dr.normalize(mi.Vector3f(alpha * (st * cp + w.x), alpha * (st * sp + w.y), z + w.z))
            return 2.0 * dr.dot(wi, m) * m - wi

        @staticmethod
        def _cosine(u):
            r = dr.sqrt(u.x)
            sp, cp = dr.sincos(2.0 * dr.pi * u.y)
            return mi.Vector3f(r * cp, r * sp, dr.sqrt(dr.maximum(0.0, 1.0 - u.x)))

        # -- mi.BSDF interface ------------------------------------------------------------------------
        def eval(self, ctx, si, wo, active=True):
            s, wi = self._side(si)
            return self._eval_pdf(si, wi, mi.Vector3f(wo.x, wo.y, wo.z * s), active)[0]

        def pdf(self, ctx, si, wo, active=True):
            s, wi = self._side(si)
            return self._eval_pdf(si, wi, mi.Vector3f(wo.x, wo.y, wo.z * s), active)[1]

        def eval_pdf(self, ctx, si, wo, active=True):
            s, wi = self._side(si)
            return self._eval_pdf(si, wi, mi.Vector3f(wo.x, wo.y, wo.z * s), active)

        def sample(self, ctx, si, sample1, sample2, active=True):
            s, wi = self._side(si)
            n_v = dr.maximum(wi.z, 1e-4)
            _, _, p_s = self._lobes(si, n_v, active)
            glossy = sample1 < p_s
            if self.strength > 0.0:
                wo = dr.select(glossy, self._vndf(wi, sample2), self._cosine(sample2))
            else:
                wo = self._cosine(sample2)
            value, pdf = self._eval_pdf(si, wi, wo, active)
            ok = active & (pdf > 0.0)
            bs = dr.zeros(mi.BSDFSample3f)
            bs.wo = mi.Vector3f(wo.x, wo.y, wo.z * s)
            bs.pdf = dr.select(ok, pdf, 0.0)
            bs.eta = 1.0
            bs.sampled_type = dr.select(glossy, mi.UInt32(+mi.BSDFFlags.GlossyReflection),
                                        mi.UInt32(+mi.BSDFFlags.DiffuseReflection))
            bs.sampled_component = dr.select(glossy, mi.UInt32(1), mi.UInt32(0))
            return bs, dr.select(ok, value / dr.maximum(pdf, 1e-30), 0.0)

        def eval_diffuse_reflectance(self, si, active=True):
            """The base colour: what our albedo pass (and Mitsuba's ``albedo`` AOV) shows."""
            return self.base_color.eval(si, active)

        def traverse(self, callback):
            callback.put("base_color", self.base_color, mi.ParamFlags.NonDifferentiable)

        def parameters_changed(self, keys):
            pass

        def to_string(self):
            return (f"X2VBSDF[roughness={self.roughness}, metallic={self.metallic}, specular={self.specular}, "
                    f"base_color={self.base_color}]")

    mi.register_bsdf(PLUGIN, lambda props: X2VBSDF(props))
    _registered[variant] = X2VBSDF
    return X2VBSDF
