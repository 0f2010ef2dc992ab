"""``pbr-composite``: the analytic baseline, no learning — what the intrinsic channels give by themselves.

Per pixel, with ``v`` the direction to the camera (from K and the pixel centre), ``n`` the normal::

    F0   = 0.04·(1 − metallic) + albedo·metallic
    rgb  = (1 − metallic)·(1 − F_schlick(F0, n·v))·albedo·irradiance            (diffuse, as the renderer)
         + EnvBRDF(F0, roughness, n·v)·irradiance                                (specular)

The specular term treats the surroundings as a uniform environment whose radiance equals the
pixel's (1/π-folded) irradiance, and integrates the GGX lobe with Karis' analytic fit of the
split-sum environment BRDF ("Physically Based Shading on Mobile", 2014). It cannot show
highlights of individual lights or mirror reflections — what a learned renderer must add.
Pixels with no surface (normal 0) are black: the sky seen through windows is not in the intrinsics.
Missing channels (render-partial) fall back to neutral values: albedo 0.5, roughness 0.5,
metallic 0, irradiance 1 (the renderer's nominal indoor level), normal facing the camera.
"""

from __future__ import annotations

import numpy as np

from interiorvideo.schema import pixel_rays

from .base import Method, MethodInput, MethodOutput

DIELECTRIC_F0 = 0.04
DEFAULTS = {"albedo": 0.5, "roughness": 0.5, "metallic": 0.0, "irradiance": 1.0}


def env_brdf_approx(f0: np.ndarray, roughness: np.ndarray, n_dot_v: np.ndarray) -> np.ndarray:
    """Karis' analytic fit of the split-sum GGX environment BRDF: ``f0·A + B`` (…, 3)."""
    c0 = np.array([-1.0, -0.0275, -0.572, 0.022])
    c1 = np.array([1.0, 0.0425, 1.04, -0.04])
    r = roughness[..., None] * c0 + c1
    a004 = np.minimum(r[..., 0] ** 2, np.exp2(-9.28 * n_dot_v)) * r[..., 0] + r[..., 1]
    a = -1.04 * a004 + r[..., 2]
    b = 1.04 * a004 + r[..., 3]
    return f0 * a[..., None] + b[..., None]


def pbr_composite(intrinsics: dict[str, np.ndarray], K: np.ndarray | None = None) -> np.ndarray:
    """(T, H, W, 3) float32 linear HDR from whichever intrinsic channels are given."""
    shape = next(iter(intrinsics.values())).shape[:3]

    def get(name: str, channels: int) -> np.ndarray:
        a = intrinsics.get(name)
        if a is None:
            return np.full((*shape, channels), DEFAULTS[name], np.float64)
        return np.asarray(a, np.float64)

    albedo, irr = get("albedo", 3), np.maximum(get("irradiance", 3), 0.0)
    rough, metal = get("roughness", 1)[..., 0], get("metallic", 1)[..., 0]
    normal = intrinsics.get("normal")
    if normal is not None and K is not None:
        n = np.asarray(normal, np.float64)
        rays = pixel_rays(K, shape[2], shape[1])
        view = -rays / np.linalg.norm(rays, axis=-1, keepdims=True)
        n_dot_v = np.clip(np.einsum("thwc,hwc->thw", n, view), 1e-4, 1.0)
        surface = np.any(n != 0, axis=-1)
    else:
        n_dot_v = np.ones(shape)
        surface = np.any(albedo > 0, axis=-1) if "albedo" in intrinsics else np.ones(shape, bool)
    m = metal[..., None]
    f0 = (1.0 - m) * DIELECTRIC_F0 + m * albedo
    fresnel = f0 + (1.0 - f0) * (1.0 - n_dot_v[..., None]) ** 5
    rgb = (1.0 - m) * (1.0 - fresnel) * albedo * irr + env_brdf_approx(f0, rough, n_dot_v) * irr
    return np.where(surface[..., None], rgb, 0.0).astype(np.float32)


class PBRComposite(Method):
    name = "pbr-composite"
    description = "Analytic albedo·irradiance + split-sum specular approximation (no learning)"

    def run(self, inp: MethodInput) -> MethodOutput:
        return MethodOutput(pbr_composite(inp.intrinsics, inp.camera.get("K")), "linear", model_calls=0)
