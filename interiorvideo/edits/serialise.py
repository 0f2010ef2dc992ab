"""Edits as text: the JSON form of scene edits and the CLI string form of edits.

Scene edits (:mod:`.scene`) are JSON objects ``{"kind": "albedo" | "material" | "light", their
fields}`` (e.g. ``{"kind": "albedo", "instance_id": 12, "color": [0.8, 0.1, 0.1]}``): the edits
file of ``interiorvideo render --edits`` and the edits a benchmark run records.

Intrinsic edits (:mod:`.intrinsic`) have a compact string form (``x2v sample --edit TEXT``)::

    TEXT   := KIND (":" KEY "=" VALUE)*
    VALUE  := NUMBER | NUMBER "," NUMBER "," NUMBER | PATH
    albedo:     color=R,G,B | scale=S | tint=R,G,B                        (+ region keys)
    material:   roughness=V metallic=V roughness_scale=S metallic_scale=S (+ region keys)
    normal:     amplitude=A seed=N size=PX | angle=DEG axis=X,Y,Z        (+ region keys)
    irradiance: scale=S tint=R,G,B                                        (+ region keys)
    light:      name=NAME intensity=I color=R,G,B   (a scene LightEdit; needs the scene)
    region keys: instance=ID | mask=PATH.npy   (neither: the whole frame)

e.g. ``albedo:instance=12:color=0.8,0.1,0.1``, ``material:instance=3:roughness=0.2:metallic=1``,
``normal:instance=5:amplitude=0.3:seed=1``, ``irradiance:scale=0.5:tint=1,0.9,0.8``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import numpy as np

from ..scene.model import Scene
from .bridge import NoIntrinsicCounterpart, from_scene_edit
from .intrinsic import EDIT_TYPES, IntrinsicEdit
from .region import Region
from .scene import SCENE_EDIT_TYPES, LightEdit, SceneEdit

REGION_KEYS = ("instance", "mask")
SCENE_LIGHT_KEYS = ("name", "intensity", "color", "position")
_VECTOR_KEYS = {"color", "tint", "axis", "position"}
_INT_KEYS = {"seed", "instance"}


# -- scene edits as JSON -----------------------------------------------------------------------


def scene_edit_to_dict(edit: SceneEdit) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(edit).items() if v is not None}


def scene_edit_from_dict(d: Mapping[str, Any]) -> SceneEdit:
    kind = d.get("kind")
    if kind not in SCENE_EDIT_TYPES:
        raise ValueError(f"unknown edit kind {kind!r}; known: {', '.join(SCENE_EDIT_TYPES)}")
    values = {k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items()}
    try:
        return SCENE_EDIT_TYPES[kind](**values)
    except TypeError as exc:
        raise ValueError(f"bad {kind} edit {dict(d)}: {exc}") from exc


# -- CLI strings -------------------------------------------------------------------------------


def edit_keys(kind: str) -> tuple[str, ...]:
    """The keys an edit kind takes in its string form, region keys included."""
    if kind == "light":
        return SCENE_LIGHT_KEYS
    return tuple(f.name for f in fields(EDIT_TYPES[kind]) if f.name != "region") + REGION_KEYS


def _load_mask(path: str) -> np.ndarray:
    try:
        return np.load(Path(path), allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"mask={path!r}: cannot read a .npy mask ({exc})") from exc


def _kinds_help() -> str:
    return "; ".join(f"{k}: {', '.join(edit_keys(k))}" for k in (*EDIT_TYPES, "light"))


def _build(kind: str, values: Mapping[str, Any], text: str) -> IntrinsicEdit:
    """One intrinsic edit from its kind and its parsed (already checked) key → value fields."""
    kw = {k: v for k, v in values.items() if k not in REGION_KEYS}
    try:
        mask = _load_mask(values["mask"]) if "mask" in values else None
        region = Region(instance=values.get("instance"), mask=mask)
        return EDIT_TYPES[kind](region=region, **kw)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"bad edit {text!r}: {exc}") from exc


def _parse_value(key: str, raw: str, text: str) -> Any:
    if key in ("mask", "name"):
        return raw
    try:
        if key in _VECTOR_KEYS:
            return tuple(float(x) for x in raw.split(","))
        if key in _INT_KEYS:
            return int(raw)
        return float(raw)
    except ValueError:
        want = "comma-separated numbers" if key in _VECTOR_KEYS else "an integer" if key in _INT_KEYS else "a number"
        raise ValueError(f"bad edit {text!r}: {key}={raw!r} is not {want}") from None


def parse_edit(text: str, *, scene: Scene | None = None) -> IntrinsicEdit:
    """An edit from its CLI form ``kind:key=value:...`` (grammar in the module docstring).
    ``light:...`` is a scene LightEdit, converted with :func:`~.bridge.from_scene_edit` (needs
    ``scene``)."""
    parts = str(text).strip().split(":")
    kind = parts[0].strip()
    valid_kinds = (*EDIT_TYPES, "light")
    if kind not in valid_kinds:
        raise ValueError(f"bad edit {text!r}: unknown kind {kind!r}; valid kinds and keys: {_kinds_help()}")
    values: dict[str, Any] = {}
    for part in parts[1:]:
        key, eq, raw = part.partition("=")
        key, raw = key.strip(), raw.strip()
        if not eq or not key or not raw:
            raise ValueError(f"bad edit {text!r}: {part!r} is not key=value; "
                             f"valid keys for {kind}: {', '.join(edit_keys(kind))}")
        if key not in edit_keys(kind):
            raise ValueError(f"bad edit {text!r}: unknown key {key!r} for {kind}; "
                             f"valid keys: {', '.join(edit_keys(kind))}")
        if key in values:
            raise ValueError(f"bad edit {text!r}: key {key!r} given twice")
        values[key] = _parse_value(key, raw, text)
    if kind == "light":
        return _parse_light(values, text, scene)
    return _build(kind, values, text)


def _parse_light(values: dict[str, Any], text: str, scene: Scene | None) -> IntrinsicEdit:
    if "name" not in values:
        raise ValueError(f"bad edit {text!r}: a light edit needs name=LIGHT")
    try:
        return from_scene_edit(LightEdit(**values), scene=scene)
    except NoIntrinsicCounterpart:
        raise
    except ValueError as exc:
        raise ValueError(f"bad edit {text!r}: {exc}") from exc


def parse_edits(texts: Sequence[str], *, scene: Scene | None = None) -> list[IntrinsicEdit]:
    """Several ``--edit`` strings, in order."""
    return [parse_edit(t, scene=scene) for t in texts]

