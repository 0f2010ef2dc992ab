"""``--backend mitsuba``: clips of the same contract with rgb and irradiance rendered by Mitsuba 3
(``cuda_ad_rgb`` on NVIDIA GPUs, ``llvm_ad_rgb`` on CPUs) and the intrinsic passes from our own
primary ray cast.

Per frame: our camera rays (float32, exactly the CPU backend's) give the intrinsic passes through
:meth:`Renderer.render_frame` (pixel-centre hits: the CPU backend's bytes); rays through the
pixel filter's positions (``RenderSettings.pixel_samples``), ``samples / positions`` paths each,
go to the ``x2v_path`` integrator (:mod:`mitsuba_integrator`) in the scene :mod:`mitsuba_ref`
exports with the ``x2v`` BSDF (:mod:`mitsuba_bsdf`): rgb is its radiance, irradiance its AOV,
both averaged over the positions as on the CPU backend. Depth: ``max_bounces``
path vertices after the camera's hit = Mitsuba ``max_depth = max_bounces + 2``. Not carried
over: ``indirect_clamp`` (Mitsuba has no clamp: unbiased), ``rr_start`` (Mitsuba's Russian
roulette starts at depth 5), ``specular_samples``, ``hash_cell`` (per-pixel independent samples,
seeded from the render seed and the camera pose, so a frame's noise does not depend on which
frames were rendered before it). Differences of the scene export (see :mod:`mitsuba_ref`): two-sided
emitters get a reversed null-BSDF copy; the sky is a tabulated envmap.
"""

from __future__ import annotations

import ctypes
import zlib
from dataclasses import asdict

import numpy as np

from ..scene.model import Scene
from . import mitsuba_ref
from .integrator import Hits
from .renderer import RENDERER_VERSION, Renderer, RenderSettings, pixel_offsets

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
                       height: int, spp: int, salt: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """rgb and irradiance ((N, 3) float32) along the camera rays ``dirs`` from ``origin``:
        ``spp`` paths per ray, in passes of at most MAX_LANES paths; ``salt`` (the pixel
        position) varies the seed."""
        mi = self.mi
        import drjit as dr

        ms = self._mitsuba_scene(pose, width, height)
        integrator = ms.integrator()
        n_pix, spp = len(dirs), int(spp)
        per_pass = max(1, min(spp, MAX_LANES // max(n_pix, 1)))
        while spp % per_pass:
            per_pass -= 1
        acc = np.zeros((n_pix, 6), np.float64)
        d = mi.Float(np.ascontiguousarray(dirs, np.float32).ravel())
        # Opaque (not literal) origin and seed: the traced kernel is the same for every frame, so
        # Dr.Jit compiles it once per clip size instead of once per frame.
        o = mi.Point3f(*(dr.opaque(mi.Float, float(c)) for c in np.asarray(origin, np.float32)))
        seed = (self.frame_seed(pose) + salt * 0x85EBCA6B) & 0xFFFFFFFF
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

    def radiance(self, K: np.ndarray, pose: np.ndarray, width: int, height: int, centre: Hits,
                 centre_dirs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """rgb and irradiance from Mitsuba along our camera rays, averaged over the same pixel
        positions as the CPU backend's (``samples / positions`` paths each); the intrinsic passes
        stay :meth:`Renderer.render_frame`'s pixel-centre samples."""
        P = self.settings.pixel_positions
        R, origin = pose[:3, :3], pose[:3, 3]
        rgb = np.zeros((width * height, 3), np.float32)
        irr = np.zeros((width * height, 3), np.float32)
        for k, offset in enumerate(pixel_offsets(P)):
            dirs = centre_dirs if P == 1 else self._camera_rays(K, R, width, height, offset)[0]
            c, e = self.mitsuba_passes(origin, dirs.astype(np.float32), pose, width, height,
                                       self.settings.samples // P, salt=k)
            rgb += c
            irr += e
        return rgb / P, irr / P

    def renderer_meta(self) -> dict:
        """``meta.renderer``: backend, Mitsuba variant and version, and the settings used."""
        return {"name": "interiorvideo.render.mitsuba_backend", "backend": "mitsuba", "variant": self.variant,
                "mitsuba_version": self.mi.__version__, "version": RENDERER_VERSION, "bsdf": "x2v",
                "integrator": "x2v_path", "max_depth": self.max_depth,
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
