"""The sky models a :class:`~interiorvideo.scene.model.Sky` names, evaluated along directions, and
the user's HDR environment maps read from disk.

Physical sky: Preetham, Shirley & Smits, "A Practical Analytic Model for Daylight" (SIGGRAPH 1999),
appendix A.2: zenith luminance and chromaticity from turbidity T and the sun's zenith angle θs,
and the Perez distribution F(θ, γ) = (1 + A·e^(B/cos θ))·(1 + C·e^(D·γ) + E·cos²γ) per channel Y, x, y
(θ the view zenith angle, γ the angle to the sun). Chosen over Hosek–Wilkie (Mitsuba 3's
``sunsky``) because it is closed form: numpy evaluates it exactly and deterministically in
milliseconds with no renderer variant or data tables, and its zenith formula can be checked
against the paper. The model is the sky without the sun's disc: the sun is the scene's ``sun``
light, so nothing is counted twice. Colours: CIE xyY → XYZ → linear Rec.709/sRGB (the
project's working space), scaled so the zenith's luminance is ``Sky.intensity``.

Environment maps are read with Mitsuba's ``Bitmap`` (OpenEXR and Radiance .hdr, no variant
needed) and pinned by the SHA-256 of their bytes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from .model import Light, Sky

# Preetham et al. 1999, appendix A.2: Perez coefficients (A..E) = a·T + b, per channel.
PEREZ_Y = np.array([[0.1787, -1.4630], [-0.3554, 0.4275], [-0.0227, 5.3251], [0.1206, -2.5771], [-0.0670, 0.3703]])
PEREZ_X = np.array([[-0.0193, -0.2592], [-0.0665, 0.0008], [-0.0004, 0.2125], [-0.0641, -0.8989], [-0.0033, 0.0452]])
PEREZ_YC = np.array([[-0.0167, -0.2608], [-0.0950, 0.0092], [-0.0079, 0.2102], [-0.0441, -1.6537], [-0.0109, 0.0529]])
# Zenith chromaticity: x_z, y_z = [T², T, 1] · M · [θs³, θs², θs, 1].
ZENITH_X = np.array([[0.00166, -0.00375, 0.00209, 0.0], [-0.02903, 0.06377, -0.03202, 0.00394],
                     [0.11693, -0.21196, 0.06052, 0.25886]])
ZENITH_Y = np.array([[0.00275, -0.00610, 0.00317, 0.0], [-0.04214, 0.08970, -0.04153, 0.00516],
                     [0.15346, -0.26756, 0.06670, 0.26688]])
XYZ_TO_SRGB = np.array([[3.2404542, -1.5371385, -0.4985314], [-0.9692660, 1.8760108, 0.0415560],
                        [0.0556434, -0.2040259, 1.0572252]])
GROUND_ALBEDO = 0.3  # below the horizon: a grey ground lit by the sky (the gradient's 0.3·horizon)
DEFAULT_SUN = (0.5, -0.5, 0.70710678)  # 45° elevation, from the south-east, for scenes without a sun
DEFAULT_TURBIDITY = 3.0  # a clear day


def preetham_zenith(turbidity: float, theta_sun: float) -> tuple[float, float, float]:
    """Zenith luminance Y (kcd/m²) and chromaticity x, y for turbidity T and sun zenith angle θs (rad)."""
    t = float(turbidity)
    chi = (4.0 / 9.0 - t / 120.0) * (np.pi - 2.0 * theta_sun)
    lum = (4.0453 * t - 4.9710) * np.tan(chi) - 0.2155 * t + 2.4192
    tv, sv = np.array([t * t, t, 1.0]), np.array([theta_sun ** 3, theta_sun ** 2, theta_sun, 1.0])
    return float(lum), float(tv @ ZENITH_X @ sv), float(tv @ ZENITH_Y @ sv)


def perez(cos_theta: np.ndarray, gamma: np.ndarray, coeffs: np.ndarray, turbidity: float) -> np.ndarray:
    """The Perez distribution F(θ, γ) with coefficients (A..E) = coeffs[:, 0]·T + coeffs[:, 1]."""
    a, b, c, d, e = coeffs[:, 0] * turbidity + coeffs[:, 1]
    cos_theta = np.maximum(cos_theta, 1e-4)  # at the horizon e^(B/cos θ) → 0 (B < 0)
    return (1.0 + a * np.exp(b / cos_theta)) * (1.0 + c * np.exp(d * gamma) + e * np.cos(gamma) ** 2)


def preetham_xyY(directions: np.ndarray, sun_direction, turbidity: float) -> np.ndarray:
    """CIE x, y and relative luminance Y/Y_zenith of the clear sky along unit ``directions`` (N, 3)
    with z ≥ 0 (world Z-up), for the sun towards ``sun_direction``."""
    d = np.asarray(directions, np.float64)
    s = np.asarray(sun_direction, np.float64)
    s = s / np.linalg.norm(s)
    theta_s = float(np.arccos(np.clip(s[2], -1.0, 1.0)))
    cos_t = np.clip(d[:, 2], 0.0, 1.0)
    gamma = np.arccos(np.clip(d @ s, -1.0, 1.0))
    t = float(turbidity)
    _, xz, yz = preetham_zenith(t, theta_s)
    up, ts = np.ones(1), np.array([theta_s])  # the zenith: cos θ = 1, γ = θs
    out = np.empty((len(d), 3))
    for c, (coeffs, zen) in enumerate(((PEREZ_X, xz), (PEREZ_YC, yz), (PEREZ_Y, 1.0))):
        out[:, c] = zen * perez(cos_t, gamma, coeffs, t) / perez(up, ts, coeffs, t)
    return out


def xyY_to_linear_srgb(xyY: np.ndarray) -> np.ndarray:
    x, y, lum = xyY[:, 0], xyY[:, 1], xyY[:, 2]
    xyz = np.stack([x * lum / y, lum, (1.0 - x - y) * lum / y], axis=1)
    return xyz @ XYZ_TO_SRGB.T


def physical_radiance(sky: Sky, directions: np.ndarray) -> np.ndarray:
    """Linear-sRGB radiance of a physical sky along unit ``directions`` at or above the horizon
    (zenith luminance = ``sky.intensity``; negative components of out-of-gamut colours clipped)."""
    rgb = xyY_to_linear_srgb(preetham_xyY(directions, sky.sun_direction, sky.turbidity))
    return np.maximum(rgb, 0.0) * sky.intensity


def gradient_radiance(sky: Sky, directions: np.ndarray) -> np.ndarray:
    """The gradient sky: horizon → zenith colour by √(up), a dim 0.3·horizon ground below."""
    z = np.asarray(directions, np.float64)[:, 2:3]
    zen, hor = np.asarray(sky.zenith, np.float64), np.asarray(sky.horizon, np.float64)
    above = hor + (zen - hor) * np.sqrt(np.clip(z, 0.0, 1.0))
    return sky.intensity * np.where(z >= 0, above, GROUND_ALBEDO * hor)


def physical_sky(lights: tuple[Light, ...] = (), turbidity: float = DEFAULT_TURBIDITY,
                 intensity: float = 1.0) -> Sky:
    """The built-in default sky: Preetham daylight with the sun where the scene's sun light is
    (the first ``sun`` light above the horizon), else at :data:`DEFAULT_SUN`."""
    sun = next((li.direction for li in lights if li.kind == "sun" and li.direction[2] > 0), DEFAULT_SUN)
    d = np.asarray(sun, np.float64)
    d = tuple(round(float(v), 6) for v in d / np.linalg.norm(d))
    return Sky(intensity=float(intensity), kind="physical", sun_direction=d, turbidity=float(turbidity))


def map_sky(path: str | Path, intensity: float = 1.0, rotation_deg: float = 0.0) -> Sky:
    """A sky from a user's equirectangular HDR file, read once now so a bad file fails here,
    pinned by its SHA-256."""
    path = Path(path).resolve()
    read_envmap(path)
    return Sky(intensity=float(intensity), kind="map", map_path=str(path), map_sha256=file_sha256(path),
               rotation_deg=float(rotation_deg))


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_envmap(path: str | Path, sha256: str | None = None) -> np.ndarray:
    """An equirectangular .exr/.hdr as linear float32 (H, W, 3): row 0 looks at the zenith, columns
    run once around the horizon. ``sha256``, when given, must match the file's bytes."""
    import mitsuba as mi  # Bitmap needs no variant

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"environment map not found: {path}")
    if path.suffix.lower() not in (".exr", ".hdr"):
        raise ValueError(f"environment map {path}: expected an .exr or .hdr file")
    if sha256 is not None and file_sha256(path) != sha256:
        raise ValueError(f"environment map {path}: its SHA-256 differs from the one recorded with the scene "
                         f"({sha256}); the file changed since the scene was saved")
    try:
        img = np.array(mi.Bitmap(str(path)), dtype=np.float32)
    except Exception as exc:  # Mitsuba raises RuntimeError with its own wording
        raise ValueError(f"cannot read environment map {path}: {exc}") from exc
    if img.ndim == 2:
        img = img[..., None]
    if img.shape[-1] in (1, 2):  # luminance (+ alpha)
        img = np.repeat(img[..., :1], 3, axis=-1)
    img = np.ascontiguousarray(img[..., :3])
    if img.shape[0] < 2 or img.shape[1] < 2:
        raise ValueError(f"environment map {path}: {img.shape[1]}×{img.shape[0]} texels; need at least 2×2")
    if not np.isfinite(img).all() or img.min() < 0.0:
        raise ValueError(f"environment map {path}: has negative or non-finite texels")
    return img


def sky_from_spec(spec: str, lights: tuple[Light, ...] = (), strength: float = 1.0,
                  rotation_deg: float = 0.0) -> Sky:
    """A sky from a short user choice (the CLI's ``--sky``): ``physical`` (sun from ``lights``),
    ``gradient``, or the path of an .exr/.hdr map; ``strength`` is the sky's intensity."""
    if spec == "physical":
        return physical_sky(lights, intensity=strength)
    if spec == "gradient":
        return Sky(intensity=float(strength))
    if Path(spec).suffix.lower() not in (".exr", ".hdr"):
        raise ValueError(f"sky must be 'physical', 'gradient' or an .exr/.hdr file, got {spec!r}")
    return map_sky(spec, strength, rotation_deg)
