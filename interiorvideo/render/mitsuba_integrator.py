"""The clip contract's rgb *and* irradiance passes in Mitsuba 3: a path tracer with MIS
(``"type": "x2v_path"``, a Python ``mi.SamplingIntegrator``) that returns radiance as its image
and the irradiance pass as three AOVs (``irradiance.R/G/B``).

Irradiance is E/π at the camera's first hit, the first vertex treated as a white two-sided
Lambertian (the ``x2v`` BSDF with base 1, metallic 0, specular 0) and the rest of the path
physical; no emission of the first hit, nothing where the camera ray misses. It is a second
path per camera sample, traced by the same loop with the first vertex's BSDF swapped.

The loop is the standard unidirectional estimator (as Mitsuba's ``path``): at every vertex an
emitter sample MIS-weighted (power heuristic) against BSDF sampling, a BSDF-sampled
continuation whose emitter hits are weighted the other way, Russian roulette from ``rr_depth``
on; ``max_depth`` counts vertices as ``path`` does (1: visible emitters only, 2: direct light).
Written with Dr.Jit's symbolic loop (``@dr.syntax``), so it runs in ``llvm_ad_rgb`` and
``cuda_ad_rgb`` alike.
"""

from __future__ import annotations

from typing import Any

PLUGIN = "x2v_path"
AOV_NAMES = ["irradiance.R", "irradiance.G", "irradiance.B"]
_registered: dict[str, type] = {}


def register(mi: Any) -> type:
    """Register the ``x2v_path`` integrator for the current variant (once); returns its class."""
    variant = mi.variant()
    if variant in _registered:
        return _registered[variant]
    import drjit as dr

    from .mitsuba_bsdf import register as register_bsdf

    register_bsdf(mi)

    class X2VPathIntegrator(mi.SamplingIntegrator):
        """rgb (the image) and the contract's irradiance (AOVs) by MIS path tracing."""

        def __init__(self, props: mi.Properties):
            mi.SamplingIntegrator.__init__(self, props)
            self.max_depth = int(props.get("max_depth", 8))
            self.rr_depth = int(props.get("rr_depth", 5))
            if self.max_depth < 1 or self.rr_depth < 1:
                raise ValueError(f"x2v_path: max_depth and rr_depth must be >= 1, got {self.max_depth}, "
                                 f"{self.rr_depth}")
            self.white = mi.load_dict({"type": "x2v", "base_color": {"type": "rgb", "value": [1.0, 1.0, 1.0]},
                                       "roughness": 1.0, "metallic": 0.0, "specular": 0.0})

        @staticmethod
        def _mis_weight(pdf_a, pdf_b):
            """Power heuristic (0 where both pdfs are 0)."""
            a2 = pdf_a * pdf_a
            w = a2 / (a2 + pdf_b * pdf_b)
            return dr.select(dr.isfinite(w), w, 0.0)

        def aov_names(self):
            return AOV_NAMES

        def sample(self, scene, sampler, ray, medium=None, active=True):
            rgb, valid = self._path(scene, sampler, ray, mi.Bool(active), False)
            irr, _ = self._path(scene, sampler, ray, mi.Bool(active), True)
            return rgb, valid, [irr[0], irr[1], irr[2]]

        @dr.syntax
        def _path(self, scene, sampler, ray_in, active, white_first: bool):
            # (@dr.syntax recompiles this function at module scope: no closure variables inside.)
            import drjit as dr
            import mitsuba as mi

            mis_weight = self._mis_weight
            ctx = mi.BSDFContext()
            ray = mi.Ray3f(ray_in)
            depth = mi.UInt32(0)
            L = mi.Spectrum(0.0)
            beta = mi.Spectrum(1.0)
            valid = mi.Bool(False)
            prev_si = dr.zeros(mi.SurfaceInteraction3f)
            prev_pdf = mi.Float(1.0)
            prev_delta = mi.Bool(True)
            white = mi.BSDFPtr(self.white)
            while dr.hint(active, max_iterations=self.max_depth, label="x2v_path"):
                si = scene.ray_intersect(ray, ray_flags=mi.RayFlags.All, coherent=(depth == 0), active=active)
                valid |= (depth == 0) & si.is_valid()
                bsdf = si.bsdf(ray)
                first = depth == 0
                if white_first:
                    bsdf = dr.select(first, white, bsdf)
                # Emitters hit by the previous vertex's BSDF sample (MIS-weighted; weight 1 at the camera).
                ds = mi.DirectionSample3f(scene, si=si, ref=prev_si)
                mis = mis_weight(prev_pdf, scene.pdf_emitter_direction(prev_si, ds, ~prev_delta))
                Le = beta * mis * ds.emitter.eval(si, active)
                if white_first:
                    Le = dr.select(first, 0.0, Le)
                active_next = active & si.is_valid() & (depth + 1 < self.max_depth)
                # Emitter sampling at this vertex.
                active_em = active_next & mi.has_flag(bsdf.flags(), mi.BSDFFlags.Smooth)
                dse, em_weight = scene.sample_emitter_direction(si, sampler.next_2d(), True, active_em)
                active_em &= dse.pdf != 0.0
                val_em, pdf_em = bsdf.eval_pdf(ctx, si, si.to_local(dse.d), active_em)
                mis_em = dr.select(dse.delta, 1.0, mis_weight(dse.pdf, pdf_em))
                Lr = dr.select(active_em, beta * mis_em * val_em * em_weight, 0.0)
                # BSDF sampling: the next ray.
                bs, weight = bsdf.sample(ctx, si, sampler.next_1d(), sampler.next_2d(), active_next)
                L = L + Le + Lr
                ray = si.spawn_ray(si.to_world(bs.wo))
                beta *= weight
                prev_si = dr.detach(si, True)
                prev_pdf = bs.pdf
                prev_delta = mi.has_flag(bs.sampled_type, mi.BSDFFlags.Delta)
                beta_max = dr.max(beta)
                active_next &= beta_max != 0.0
                rr = depth >= self.rr_depth
                q = dr.minimum(beta_max, 0.95)
                beta[rr] *= dr.rcp(q)
                active_next &= ~rr | (sampler.next_1d() < q)
                depth[si.is_valid()] += 1
                active = active_next
            return L, valid

        def to_string(self):
            return f"X2VPathIntegrator[max_depth={self.max_depth}, rr_depth={self.rr_depth}]"

    mi.register_integrator(PLUGIN, lambda props: X2VPathIntegrator(props))
    _registered[variant] = X2VPathIntegrator
    return X2VPathIntegrator
