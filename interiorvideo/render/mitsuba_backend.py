"""``--backend mitsuba``: clips of the same contract with rgb and irradiance rendered by Mitsuba 3
(``cuda_ad_rgb`` on NVIDIA GPUs, ``llvm_ad_rgb`` on CPUs) and the intrinsic passes from our own
primary ray cast.

Per frame: our camera rays (one through each pixel centre, float32, exactly the rays of the CPU
backend) give albedo, normal, roughness, metallic, depth and instance through
:func:`integrator.trace` — the CPU backend's bytes. The same rays, ``samples`` per pixel, go to
the ``x2v_path`` integrator (:mod:`mitsuba_integrator`) in the scene :mod:`mitsuba_ref` exports
with the ``x2v`` BSDF (:mod:`mitsuba_bsdf`): rgb is its radiance, irradiance its AOV. Both are
therefore pixel-centre samples, as on the CPU backend (no pixel filter). Depth: ``max_bounces``
path vertices after the camera's hit = Mitsuba ``max_depth = max_bounces + 2``. Not carried
over: ``indirect_clamp`` (Mitsuba has no clamp: unbiased), ``rr_start`` (Mitsuba's Russian
roulette starts at depth 5), ``specular_samples``, ``hash_cell`` (per-pixel independent samples,
seeded from the render seed and the camera pose, so a frame's noise does not depend on which
frames were rendered before it). Differences of the scene export (see :mod:`mitsuba_ref`): area
emitters glow on their front side only; the sky is a tabulated envmap.
"""

from __future__ import annotations

import ctypes
import zlib
from dataclasses import asdict

import numpy as np

from ..scene.model import Scene
from . import mitsuba_ref
from .integrator import trace
from .renderer import RENDERER_VERSION, Renderer, RenderSettings

BACKENDS = ("cpu", "mitsuba")
VARIANTS = ("cuda_ad_rgb", "llvm_ad_rgb")
MAX_LANES = 1 << 22  # Mitsuba wavefront size per pass (memory: ~1 KB of JIT state per lane on llvm)


class MitsubaUnavailable(RuntimeError):
    """The requested Mitsuba variant cannot start on this machine (the message says what to install)."""


def cuda_available() -> bool:
    """True when the NVIDIA driver library loads (what Mitsuba's CUDA variants need)."""
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    return True


def default_variant() -> str:
    """``cuda_ad_rgb`` when a CUDA driver is present, else ``llvm_ad_rgb``."""
    return "cuda_ad_rgb" if cuda_available() else "llvm_ad_rgb"


def start_variant(variant: str):
    """Mitsuba with ``variant`` set and its JIT backend really started (a tiny kernel runs), or
    :class:`MitsubaUnavailable` naming what to install."""
    if variant not in VARIANTS:
        raise ValueError(f"--mitsuba-variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
    if variant.startswith("cuda") and not cuda_available():
        raise MitsubaUnavailable(f"Mitsuba's {variant} variant needs an NVIDIA GPU and its driver (libcuda.so.1), and "
                           "none was found: install the NVIDIA driver, or use --mitsuba-variant llvm_ad_rgb "
                           "(CPU; needs libLLVM >= 16, `apt-get install libllvm19`).")
    try:
        mi = mitsuba_ref.mitsuba(variant)
        import drjit as dr

        x = mi.Float([1.0, 2.0]) + 1.0
        dr.eval(x)
        if float(np.array(x).sum()) != 5.0:
            raise RuntimeError("the JIT computed a wrong result")
    except ImportError as exc:
        raise MitsubaUnavailable(f"Mitsuba is not installed ({exc}): `pip install mitsuba` (3.9 or newer).") from exc
    except Exception as exc:  # drjit raises RuntimeError/ImportError-like errors when a backend cannot load
        if "libllvm" in str(exc).lower():  # mitsuba_ref.mitsuba's own message already says what to install
            raise MitsubaUnavailable(str(exc)) from exc
        hint = ("the NVIDIA driver (libcuda.so.1)" if variant.startswith("cuda")
                else "libLLVM >= 16 (`apt-get install libllvm19`, or set DRJIT_LIBLLVM_PATH)")
        raise MitsubaUnavailable(f"Mitsuba's {variant} variant could not start ({exc}); install {hint}.") from exc
    return mi


class MitsubaRenderer(Renderer):
    """A :class:`Renderer` whose rgb and irradiance come from Mitsuba (see the module docstring);
    everything else — scene arrays, the intrinsic passes, ``render_clip``'s clip and meta — is the
    CPU backend's."""

    def __init__(self, scene: Scene, settings: RenderSettings | None = None, variant: str | None = None):
        super().__init__(scene, settings)
        self.variant = variant or default_variant()
        self.mi = start_variant(self.variant)
        if self.settings.threads and self.variant.startswith("llvm"):
            import drjit as dr

            dr.set_thread_count(self.settings.threads)  # the cores a build worker owns
        self.max_depth = self.settings.max_bounces + 2
        self._scene_cache: tuple | None = None

    def _mitsuba_scene(self, pose: np.ndarray, width: int, height: int):
        """The exported scene, loaded once. Its sensor is never used (the rays are ours), so it is a
        placeholder with square pixels, which Mitsuba's camera needs and our K need not have."""
        if self._scene_cache is None:
            square = np.array([[width, 0.0, width / 2.0], [0.0, width, height / 2.0], [0.0, 0.0, 1.0]])
            d = mitsuba_ref.scene_to_mitsuba(self.scene, square, pose, width, height, spp=1, max_depth=self.max_depth,
                                             aovs=False, bsdf="x2v",
                                             integrator={"type": "x2v_path", "max_depth": self.max_depth})
            self._scene_cache = (self.mi.load_dict(d),)
        return self._scene_cache[0]

    def frame_seed(self, pose: np.ndarray) -> int:
        """The frame's sampler seed: the render seed and the pose's bytes, so the same seed gives
        the same bytes whatever was rendered before."""
        return zlib.crc32(np.ascontiguousarray(pose, np.float64).tobytes(), int(self.settings.seed) & 0xFFFFFFFF)

    def mitsuba_passes(self, origin: np.ndarray, dirs: np.ndarray, pose: np.ndarray, width: int,
                       height: int) -> tuple[np.ndarray, np.ndarray]:
        """rgb and irradiance ((N, 3) float32) along the camera rays ``dirs`` from ``origin``:
        ``samples`` paths per ray, in passes of at most MAX_LANES paths."""
        mi = self.mi
        import drjit as dr

        ms = self._mitsuba_scene(pose, width, height)
        integrator = ms.integrator()
        n_pix, spp = len(dirs), int(self.settings.samples)
        per_pass = max(1, min(spp, MAX_LANES // max(n_pix, 1)))
        while spp % per_pass:
            per_pass -= 1
        acc = np.zeros((n_pix, 6), np.float64)
        d = mi.Float(np.ascontiguousarray(dirs, np.float32).ravel())
        # Opaque (not literal) origin and seed: the traced kernel is the same for every frame, so
        # Dr.Jit compiles it once per clip size instead of once per frame.
        o = mi.Point3f(*(dr.opaque(mi.Float, float(c)) for c in np.asarray(origin, np.float32)))
        seed = self.frame_seed(pose)
        for k in range(spp // per_pass):
            n = n_pix * per_pass
            sampler = mi.load_dict({"type": "independent", "sample_count": per_pass})
            sampler.seed(dr.opaque(mi.UInt32, (seed + k * 0x9E3779B9) & 0xFFFFFFFF), n)
            pix = dr.arange(mi.UInt32, n) // per_pass
            ray = mi.Ray3f(o, mi.Vector3f(dr.gather(mi.Float, d, 3 * pix), dr.gather(mi.Float, d, 3 * pix + 1),
                                          dr.gather(mi.Float, d, 3 * pix + 2)))
            spec, _, aovs = integrator.sample(ms, sampler, ray, None, mi.Bool(True))
            dr.eval(spec, aovs)
            chans = np.stack([np.array(spec[c], np.float32) for c in range(3)]
                             + [np.array(a, np.float32) for a in aovs], axis=-1)
            acc += chans.reshape(n_pix, per_pass, 6).sum(axis=1, dtype=np.float64)
        acc /= spp
        return acc[:, :3].astype(np.float32), acc[:, 3:].astype(np.float32)

    def render_frame(self, K: np.ndarray, pose: np.ndarray, width: int, height: int) -> dict[str, np.ndarray]:
        # The camera rays and intrinsic passes of Renderer.render_frame (test_render_mitsuba_backend
        # checks they are its bytes); rgb and irradiance from Mitsuba along the same rays.
        u, v = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
        cam = np.stack([u, v, np.ones_like(u)], axis=-1).reshape(-1, 3) @ np.linalg.inv(K).T
        cam /= np.linalg.norm(cam, axis=1, keepdims=True)
        R, origin = pose[:3, :3], pose[:3, 3]
        dirs = cam @ R.T
        h = trace(self.data, np.broadcast_to(origin, dirs.shape).astype(np.float64), dirs, self.counter)
        rgb, irr = self.mitsuba_passes(origin, dirs.astype(np.float32), pose, width, height)
        valid = h.valid
        normal_cam = np.where(valid[:, None], h.normal @ R, 0.0)
        depth = np.where(valid, h.t * cam[:, 2], 0.0)
        shape = (height, width)
        return {
            "rgb": rgb.reshape(*shape, 3),
            "albedo": np.where(valid[:, None], h.albedo, 0.0).reshape(*shape, 3).astype(np.float32),
            "normal": normal_cam.reshape(*shape, 3).astype(np.float32),
            "roughness": np.where(valid, h.roughness, 0.0).reshape(*shape, 1).astype(np.float32),
            "metallic": np.where(valid, h.metallic, 0.0).reshape(*shape, 1).astype(np.float32),
            "irradiance": irr.reshape(*shape, 3),
            "depth": depth.reshape(*shape, 1).astype(np.float32),
            "instance": np.where(valid, h.instance, 0).reshape(shape).astype(np.int32),
        }

    def renderer_meta(self) -> dict:
        """``meta.renderer``: backend, Mitsuba variant and version, and the settings used."""
        return {"name": "interiorvideo.render.mitsuba_backend", "backend": "mitsuba", "variant": self.variant,
                "mitsuba_version": self.mi.__version__, "version": RENDERER_VERSION, "bsdf": "x2v",
                "integrator": "x2v_path", "max_depth": self.max_depth, "pixel": "centre",
                **asdict(self.settings)}

    def render_clip(self, traj, width, height, progress=None) -> dict:
        clip = super().render_clip(traj, width, height, progress)
        clip["meta"]["renderer"] = self.renderer_meta()
        return clip


def make_renderer(scene: Scene, settings: RenderSettings, backend: str = "cpu",
                  variant: str | None = None) -> Renderer:
    """The renderer of ``backend`` ("cpu" or "mitsuba"; ``variant`` only for Mitsuba)."""
    if backend == "cpu":
        if variant is not None:
            raise ValueError("--mitsuba-variant is for --backend mitsuba only")
        return Renderer(scene, settings)
    if backend == "mitsuba":
        return MitsubaRenderer(scene, settings, variant)
    raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
