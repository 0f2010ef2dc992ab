"""Method adapters: a registry of built-ins extended by other packages through entry points.

A package adds a method by declaring, in its ``pyproject.toml``::

    [project.entry-points."x2v_bench.methods"]
    my-renderer = "my_package.bench:MyRenderer"

where ``MyRenderer`` subclasses :class:`benchmarks.methods.Method` (``description``, ``run``, and
optionally ``from_options``/``fingerprint``/``in_process``). The entry point's name is the
method's name in results. Built-in names cannot be taken over; an entry point that fails to load
is reported by name when it is asked for (and in ``x2v-bench list``), not at import.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any, Mapping

from ..common import BenchmarkError
from ..plugins import describe, load_plugin
from .base import Method, MethodInput, MethodOutput
from .external import External
from .gt import GroundTruth
from .pbr import PBRComposite
from .rgbx import RGBX
from .x2video import X2Video, X2VideoAutoregressive, X2VideoIndependent, X2VideoPerFrame

ENTRY_POINT_GROUP = "x2v_bench.methods"
BUILTIN: dict[str, type[Method]] = {c.name: c for c in (
    GroundTruth, PBRComposite, X2Video, X2VideoPerFrame, X2VideoAutoregressive, X2VideoIndependent, RGBX, External)}


def _entry_points() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name not in BUILTIN}


def available_methods() -> dict[str, str]:
    """Every method name → its one-line description (entry points that fail to load say why)."""
    return describe(BUILTIN, _entry_points(), _load_entry_point)


def _load_entry_point(name: str, ep: Any) -> type[Method]:
    return load_plugin("method", name, ep, Method, "benchmarks.methods.Method")


def method_class(name: str) -> type[Method]:
    if name in BUILTIN:
        return BUILTIN[name]
    eps = _entry_points()
    if name in eps:
        return _load_entry_point(name, eps[name])
    raise BenchmarkError(f"unknown method {name!r}; known methods: {', '.join([*BUILTIN, *sorted(eps)])} "
                         f"(or an external one: --external {name}=DIR)")


def make_method(name: str, options: Mapping[str, Any] | None = None, external: Mapping[str, Any] | None = None
                ) -> Method:
    """An adapter instance. ``external`` maps names given with ``--external NAME=DIR`` to their folders:
    such a name is an :class:`External` method reading that folder."""
    options = dict(options or {})
    if external and name in external:
        return External.from_options(name, {**options, "root": external[name]})
    return method_class(name).from_options(name, options)


__all__ = ["BUILTIN", "ENTRY_POINT_GROUP", "External", "GroundTruth", "Method", "MethodInput", "MethodOutput",
           "PBRComposite", "RGBX", "X2Video", "X2VideoAutoregressive", "X2VideoIndependent", "X2VideoPerFrame",
           "available_methods", "make_method", "method_class"]
