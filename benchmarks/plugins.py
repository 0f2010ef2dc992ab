"""Loading classes that other packages declare through entry points (methods, inverse models):
one place that says how a broken or wrong plugin is reported, by name, when it is asked for."""

from __future__ import annotations

from typing import Any, Callable, Mapping

from .common import BenchmarkError


def load_plugin(kind: str, name: str, ep: Any, base: type, base_name: str) -> type:
    """The class behind entry point ``ep``; a :class:`BenchmarkError` naming it when it fails to
    import or is not a subclass of ``base`` (``base_name``: how the error names it)."""
    try:
        obj = ep.load()
    except Exception as exc:  # an installed plugin can fail in any way on import
        raise BenchmarkError(f"{kind} {name!r} (entry point {ep.value} in group {getattr(ep, 'group', '?')}) failed "
                             f"to load: {type(exc).__name__}: {exc}") from exc
    if not (isinstance(obj, type) and issubclass(obj, base)):
        raise BenchmarkError(f"{kind} {name!r}: entry point {ep.value} is {obj!r}, not a {base_name} subclass")
    return obj


def describe(builtin: Mapping[str, type], eps: Mapping[str, Any], load: Callable[[str, Any], type]) -> dict[str, str]:
    """Name → one-line description of the built-ins and the entry points (those that fail say why)."""
    out = {name: cls.description for name, cls in builtin.items()}
    for name, ep in sorted(eps.items()):
        try:
            out[name] = load(name, ep).description or f"(from {ep.value})"
        except BenchmarkError as exc:
            out[name] = f"(unavailable: {exc})"
    return out


__all__ = ["describe", "load_plugin"]
