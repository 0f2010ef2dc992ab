"""Inverse models for the intrinsic round trip: a method's video → the intrinsics it shows.

X2Video is asked to render given intrinsics; an inverse renderer (RGB↔X's rgb-to-x, a user's
intrinsic decomposition) estimates them back from the rendered video, and the round-trip metrics
(:mod:`benchmarks.metrics.roundtrip`) score how well they match what the method was given — a
check of control that needs no re-rendered ground truth. x2v-bench ships no inverse model;
a package adds one as it adds a method::

    [project.entry-points."x2v_bench.inverse"]
    my-decomposer = "my_package.bench:MyDecomposer"   # a benchmarks.methods.inverse.InverseModel subclass

and a run names it with ``x2v-bench run --inverse my-decomposer`` (options reach
:meth:`InverseModel.from_options` from ``--inverse-option KEY=VALUE``). The entry point's name is
recorded with the results; a model that fails to load is reported by name before any unit runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, ClassVar, Mapping

import numpy as np

from ..common import BenchmarkError
from ..plugins import describe, load_plugin

INVERSE_GROUP = "x2v_bench.inverse"
#: Inverse models known without an entry point (tests and in-process use add to it).
BUILTIN_INVERSE: dict[str, type["InverseModel"]] = {}


@dataclass
class InverseInput:
    """One video to decompose: ``frames`` (T, H, W, 3) linear HDR radiance, with where it came from
    (task, clip, method: for caching or logging, not for looking up the answer)."""

    frames: np.ndarray
    task: str
    clip: str
    method: str
    camera: dict


class InverseModel:
    """An inverse renderer. ``run`` returns pass → (T, H, W, C) arrays in the clip-contract layout
    (``interiorvideo.schema``) for the passes it estimates (any subset of albedo, normal,
    roughness, metallic, irradiance)."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    @classmethod
    def from_options(cls, name: str, options: Mapping[str, Any]) -> "InverseModel":
        obj = cls()
        obj.name = name
        return obj

    def fingerprint(self) -> dict:
        """What determines its estimates besides the video (weights, steps); part of every unit's fingerprint."""
        return {}

    def run(self, inp: InverseInput) -> dict[str, np.ndarray]:
        raise NotImplementedError


def _entry_points() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=INVERSE_GROUP) if ep.name not in BUILTIN_INVERSE}


def available_inverse_models() -> dict[str, str]:
    return describe(BUILTIN_INVERSE, _entry_points(), _load)


def inverse_class(name: str) -> type[InverseModel]:
    if name in BUILTIN_INVERSE:
        return BUILTIN_INVERSE[name]
    eps = _entry_points()
    if name not in eps:
        known = ", ".join([*BUILTIN_INVERSE, *sorted(eps)]) or "none installed"
        raise BenchmarkError(f"unknown inverse model {name!r} (known: {known}); a package adds one through the "
                             f"{INVERSE_GROUP!r} entry point group")
    return _load(name, eps[name])


def _load(name: str, ep: Any) -> type[InverseModel]:
    return load_plugin("inverse model", name, ep, InverseModel, "benchmarks.methods.inverse.InverseModel")


def make_inverse(name: str, options: Mapping[str, Any] | None = None) -> InverseModel:
    return inverse_class(name).from_options(name, dict(options or {}))


__all__ = ["BUILTIN_INVERSE", "INVERSE_GROUP", "InverseInput", "InverseModel", "available_inverse_models",
           "inverse_class", "make_inverse"]
