"""Reflectance models: a Lambertian lobe and a GGX (Trowbridge–Reitz) microfacet lobe with
Smith height-correlated masking and Schlick's Fresnel — the glTF metallic-roughness model.
These are the model's reference in numpy; the path tracer evaluates and samples the same model
per ray in :mod:`kernels` (``_lobes``, ``_bsdf``, ``_vndf_dir``)."""

from __future__ import annotations

import numpy as np

DIELECTRIC_F0 = 0.04


def orthonormal_basis(n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tangent frames for unit normals (Duff et al. 2017, branchless)."""
    sign = np.where(n[:, 2] >= 0, 1.0, -1.0).astype(n.dtype)
    a = -1.0 / (sign + n[:, 2])
    b = n[:, 0] * n[:, 1] * a
    t = np.stack([1.0 + sign * n[:, 0] ** 2 * a, sign * b, -sign * n[:, 0]], axis=1)
    bt = np.stack([b, sign + n[:, 1] ** 2 * a, -n[:, 1]], axis=1)
    return t, bt


def f0(albedo: np.ndarray, metallic: np.ndarray, specular: np.ndarray) -> np.ndarray:
    """Normal-incidence reflectance: 0.04·specular for dielectrics, the base colour for metals."""
    m = metallic[:, None]
    return (1.0 - m) * (DIELECTRIC_F0 * specular[:, None]) + m * albedo


def fresnel_schlick(f0_: np.ndarray, cos: np.ndarray, strength: np.ndarray) -> np.ndarray:
    """Schlick's Fresnel; ``strength`` 0 switches the lobe off entirely (pure Lambertian)."""
    c = np.clip(1.0 - cos, 0.0, 1.0)[:, None] ** 5
    return (f0_ + (1.0 - f0_) * c) * strength[:, None]


def smith_visibility(n_dot_l: np.ndarray, n_dot_v: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Height-correlated Smith G / (4 n·l n·v) (Heitz 2014), as in the glTF reference."""
    a2 = alpha * alpha
    gv = n_dot_l * np.sqrt(n_dot_v * n_dot_v * (1.0 - a2) + a2)
    gl = n_dot_v * np.sqrt(n_dot_l * n_dot_l * (1.0 - a2) + a2)
    return 0.5 / np.maximum(gv + gl, 1e-12)


def alpha_from_roughness(roughness: np.ndarray) -> np.ndarray:
    """Perceptual roughness squared, floored so a 'perfect' mirror stays numerically sane."""
    return np.maximum(roughness * roughness, 2e-3)


# -- dielectrics (transmission) ----------------------------------------------------------------------
# Below this perceptual roughness (α = roughness² < 2e-3, the opaque model's α floor) a solid
# dielectric is smooth: one delta reflection and one delta refraction (Mitsuba ``dielectric``).
SMOOTH_ROUGHNESS = 0.045


def fresnel_dielectric(cos_i: np.ndarray, eta: float | np.ndarray) -> np.ndarray:
    """Exact unpolarised Fresnel reflectance of light arriving at cosine ``cos_i`` > 0 on an
    interface with relative index ``eta`` = n_transmitted / n_incident (1 on total internal
    reflection): the dielectric's split between reflection and refraction."""
    cos_i = np.clip(np.asarray(cos_i, np.float64), 0.0, 1.0)
    eta = np.asarray(eta, np.float64)
    sin2_t = (1.0 - cos_i ** 2) / eta ** 2
    cos_t = np.sqrt(np.clip(1.0 - sin2_t, 0.0, 1.0))
    rs = (cos_i - eta * cos_t) / (cos_i + eta * cos_t)
    rp = (eta * cos_i - cos_t) / (eta * cos_i + cos_t)
    return np.where(sin2_t >= 1.0, 1.0, 0.5 * (rs * rs + rp * rp))


def thin_slab_reflectance(cos_i: np.ndarray, ior: float) -> np.ndarray:
    """Reflectance of a thin parallel slab with both faces' inter-reflections summed
    (R + T²R/(1 − R²) = 2R/(1 + R), T = 1 − R; Mitsuba ``thindielectric``); the slab transmits
    the rest, in the incident direction."""
    r = fresnel_dielectric(cos_i, ior)
    return 2.0 * r / (1.0 + r)
