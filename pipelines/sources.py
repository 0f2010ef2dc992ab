"""The scenes of a build: generated apartments (from a seed) and the user's own scenes.

A user scene source is one path, given as the user typed it:

* ``folder`` — a scene folder written by ``interiorvideo scene`` / ``interiorvideo import``
  (``scene.json`` + ``scene.glb``), read exactly by :func:`interiorvideo.scene.io.load_scene`;
* ``file`` — one mesh file (``.glb``/``.gltf``/``.obj``/``.ply``), imported with default flags by
  :func:`interiorvideo.scene.importers.import_scene`.

Each source is resolved once, when the build is planned: every file the scene is read from is
hashed (the folder's two files; the mesh file, plus for OBJ its ``.mtl`` files and the textures
they name, for ``.gltf``/``.glb`` their external buffers and images), and the scene is frozen
into the build folder as a scene folder, ``.work/scenes/s<index>/`` (written under a temporary
name and renamed): a byte copy of a folder source, or the imported scene saved by
:func:`~interiorvideo.scene.io.save_scene`. Planning and every render read that frozen copy, so
a file is imported once per build, not once per clip, and a source edited while the build runs
cannot reach half of its clips. A re-run (resume) hashes the sources again and stops, naming the
file, when one changed: the clips of two versions of one scene never mix in one dataset.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable
from urllib.parse import unquote

from interiorvideo.fileio import atomic_directory, atomic_write_bytes, canonical_json
from interiorvideo.scene.importers import SUPPORTED_EXTENSIONS, import_scene
from interiorvideo.scene.io import GLB_NAME, JSON_NAME, load_scene, save_scene, scene_folder_files
from interiorvideo.scene.model import Scene
from interiorvideo.shards import sha256_file

SOURCE_KINDS = ("generated", "folder", "file")
SCENES_DIR = "scenes"  # under the build's .work/: one frozen scene folder per user source


class SourceError(ValueError):
    """A scene source that cannot be used (missing, unsupported, changed since the build was
    planned); the message names the path or file."""


@dataclass(frozen=True)
class SceneSource:
    """One scene of a build, as the plan records it."""

    index: int  # the scene index (the ``s#####`` of its clip keys)
    kind: str  # generated | folder | file
    source: str  # the path as given; for a generated scene ``generate_scene(<seed>)``
    name: str = ""  # the scene's name (``meta.scene_id`` of its clips)
    seed: int | None = None  # generated scenes only
    sha256: str | None = None  # user sources: checksum over ``files`` (None for generated scenes)
    files: dict[str, str] = field(default_factory=dict)  # file read → its sha256 (paths as resolved)
    frozen: str | None = None  # the frozen scene folder, relative to the build folder
    frozen_sha256: str | None = None  # checksum over the frozen folder's scene.glb + scene.json
    notes: tuple[str, ...] = ()  # what the importer assumed or warned about
    default_lights: bool = False  # mesh files: imported with the default light rig when they bring no light

    @property
    def label(self) -> str:
        return f"scene {self.index} ({self.source})"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["notes"] = list(self.notes)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "SceneSource":
        return cls(**{**d, "notes": tuple(d.get("notes", ()))})

    def manifest_columns(self) -> dict:
        return {"source": self.source, "source_kind": self.kind, "source_sha256": self.sha256}


# -- checking paths -----------------------------------------------------------------------------
def source_kind(given: str) -> str:
    """``folder`` or ``file`` for a usable path; a :class:`SourceError` naming it otherwise."""
    path = Path(given)
    hint = " (the number of generated apartments is now --generated N)" if re.fullmatch(r"\d+", given) else ""
    if not path.exists():
        raise SourceError(f"scene source not found: {given}{hint}")
    if path.is_dir():
        if not (path / JSON_NAME).is_file():
            raise SourceError(f"scene source {given} is a folder without {JSON_NAME}: give a scene folder written "
                              f"by `interiorvideo scene` or `interiorvideo import`, or the mesh files themselves "
                              f"({', '.join(sorted(SUPPORTED_EXTENSIONS))})")
        if not (path / GLB_NAME).is_file():
            raise SourceError(f"scene source {given}: {path / GLB_NAME} is missing beside {JSON_NAME}")
        return "folder"
    if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
        raise SourceError(f"scene source {given}: unsupported file type {path.suffix or '(no extension)'!r} "
                          f"(a scene folder, or a mesh file: {', '.join(sorted(SUPPORTED_EXTENSIONS))})")
    return "file"


def check_sources(given: Iterable[str]) -> list[str]:
    """The kind of every source, in order; the first bad one (missing, unsupported type, a folder
    without ``scene.json``, the same path twice) raises a :class:`SourceError` naming it."""
    kinds, seen = [], {}
    for g in given:
        kinds.append(source_kind(g))
        resolved = Path(g).resolve()
        if resolved in seen:
            raise SourceError(f"scene source {g} is given twice (also as {seen[resolved]}): one scene would "
                              f"count as two and could land in two splits")
        seen[resolved] = g
    return kinds


# -- the files a scene is read from ---------------------------------------------------------------
_MTL_MAP = re.compile(r"^[ \t]*(map_\w+|bump|disp|decal|norm|refl)[ \t]+(.+?)[ \t]*$", re.MULTILINE)


def _obj_dependencies(obj: Path) -> list[Path]:
    """The ``.mtl`` files an OBJ names (``mtllib``) and the texture files those name (``map_*``)."""
    out: list[Path] = []
    text = obj.read_bytes().decode("utf-8", errors="replace")
    for line in re.findall(r"^[ \t]*mtllib[ \t]+(.+?)[ \t]*$", text, re.MULTILINE):
        whole = obj.parent / line
        mtls = [whole] if whole.is_file() else [obj.parent / n for n in line.split()]
        for mtl in mtls:
            if not mtl.is_file():
                continue
            out.append(mtl)
            for _, rest in _MTL_MAP.findall(mtl.read_bytes().decode("utf-8", errors="replace")):
                # Options (-s 1 1 1, -bm 0.5 …) come first; the file name is the rest of the line's end.
                tokens = rest.split()
                for k in range(len(tokens)):
                    candidate = mtl.parent / " ".join(tokens[k:])
                    if candidate.is_file():
                        out.append(candidate)
                        break
    return out


def _gltf_dependencies(path: Path) -> list[Path]:
    """External buffers and images of a glTF/GLB (``uri`` that is not a ``data:`` URI)."""
    from interiorvideo.scene.importers.gltf_header import gltf_json

    try:
        header = gltf_json(path)
    except ValueError:
        return []  # a corrupt file: the import names it
    out = []
    for entry in [*(header.get("buffers") or []), *(header.get("images") or [])]:
        uri = entry.get("uri") if isinstance(entry, dict) else None
        if isinstance(uri, str) and not uri.startswith("data:"):
            dep = path.parent / unquote(uri)
            if dep.is_file():
                out.append(dep)
    return out


def source_files(given: str, kind: str) -> list[Path]:
    """Every file the scene of this source is read from (those that exist), main file first."""
    path = Path(given)
    if kind == "folder":
        return scene_folder_files(path)
    files = [path]
    ext = path.suffix.lower()
    if ext == ".obj":
        files += _obj_dependencies(path)
    elif ext in (".gltf", ".glb"):
        files += _gltf_dependencies(path)
        if path.name == GLB_NAME and (path.parent / JSON_NAME).is_file():
            files.append(path.parent / JSON_NAME)  # import_scene then reads the exact scene.json
    unique: dict[Path, None] = {}
    for f in files:
        unique.setdefault(f, None)
    return list(unique)


def hash_files(files: Iterable[Path]) -> dict[str, str]:
    return {str(f): sha256_file(f) for f in files}


def checksum(files: dict[str, str], base: Path) -> str:
    """One sha256 for a scene: over (name relative to ``base``, sha256) of every file it is read from,
    so the same files in a moved folder give the same checksum."""
    rel = {os.path.relpath(name, base): sha for name, sha in files.items()}
    return hashlib.sha256(canonical_json(rel).encode()).hexdigest()


def _base(given: str, kind: str) -> Path:
    return Path(given) if kind == "folder" else Path(given).parent


def frozen_checksum(folder: Path) -> str:
    return checksum(hash_files([folder / JSON_NAME, folder / GLB_NAME]), folder)


# -- freezing a source into the build folder ----------------------------------------------------
def freeze(given: str, kind: str, dest: Path, default_lights: bool = False) -> tuple[dict[str, str], tuple[str, ...]]:
    """Write the scene of ``given`` as a scene folder at ``dest`` (replacing one there); returns the
    hashes of the source files it was read from and the importer's notes. A file that changes while
    it is read raises a :class:`SourceError` naming it."""
    path = Path(given)
    notes: tuple[str, ...] = ()
    with atomic_directory(dest, replace=True) as tmp:
        if kind == "folder":
            files = {}
            for f in source_files(given, kind):
                data = f.read_bytes()  # hash exactly the bytes the copy holds
                atomic_write_bytes(tmp / f.name, data)
                files[str(f)] = hashlib.sha256(data).hexdigest()
            try:
                load_scene(tmp)
            except (ValueError, KeyError, TypeError, FileNotFoundError) as exc:
                raise SourceError(f"scene source {given}: not a readable scene folder ({exc})") from exc
        else:
            before = hash_files(source_files(given, kind))
            try:
                scene = import_scene(path, default_lights=default_lights)
            except (ValueError, OSError) as exc:
                raise SourceError(f"scene source {given}: cannot import it ({exc})") from exc
            files = hash_files(source_files(given, kind))
            for name in sorted(set(before) | set(files)):
                if before.get(name) != files.get(name):
                    raise SourceError(f"scene source {given}: {name} changed while it was being imported; re-run")
            save_scene(scene, tmp, floorplan=False)
            src = scene.source or {}
            notes = tuple([*(f"assumed {a}" for a in src.get("assumptions", [])), f"rooms: {src.get('rooms')}",
                           *src.get("warnings", [])])
    return files, notes


def resolve_user_source(index: int, given: str, kind: str, out_dir: Path, scenes_dir: Path,
                        default_lights: bool = False) -> tuple[SceneSource, Scene]:
    """Hash and freeze one user source; returns its record and the frozen scene."""
    dest = scenes_dir / f"s{index:05d}"
    files, notes = freeze(given, kind, dest, default_lights)
    scene = load_scene(dest)
    record = SceneSource(index=index, kind=kind, source=given, name=scene.name, sha256=checksum(files, _base(given, kind)),
                         files=files, frozen=os.path.relpath(dest, out_dir), frozen_sha256=frozen_checksum(dest),
                         notes=notes, default_lights=default_lights)
    return record, scene


def check_unchanged(sources: Iterable[SceneSource]) -> None:
    """Every user source still has the files it had when the build was planned; else a
    :class:`SourceError` naming the first file that changed, went missing or appeared."""
    for src in sources:
        if src.kind == "generated":
            continue
        kind = source_kind(src.source)
        now = source_files(src.source, kind)
        for name, sha in src.files.items():
            if not Path(name).is_file():
                raise SourceError(f"{src.label}: {name} is missing; it was read when this build was planned "
                                  f"(restore it, or build into a new --out)")
            if sha256_file(name) != sha:
                raise SourceError(f"{src.label}: {name} changed since this build was planned (sha256 {sha[:12]}… "
                                  f"then); its clips would mix two versions of the scene — restore the file, or "
                                  f"build into a new --out")
        for f in now:
            if str(f) not in src.files:
                raise SourceError(f"{src.label}: {f} is now read with it but was not when this build was planned "
                                  f"(build into a new --out)")


def ensure_frozen(src: SceneSource, out_dir: Path) -> Path:
    """The frozen scene folder of a (checked) user source; written again from the source when it is
    missing or damaged, and then it must be the same scene."""
    assert src.frozen is not None
    folder = out_dir / src.frozen
    try:
        ok = frozen_checksum(folder) == src.frozen_sha256
    except OSError:
        ok = False
    if not ok:
        freeze(src.source, src.kind, folder, src.default_lights)
        if frozen_checksum(folder) != src.frozen_sha256:
            shutil.rmtree(folder, ignore_errors=True)
            raise SourceError(f"{src.label}: importing it again gives another scene than the one this build was "
                              f"planned with (the importer changed?); build into a new --out")
    return folder


def read_frozen(src: SceneSource, out_dir: Path) -> Scene:
    return load_scene(ensure_frozen(src, out_dir))


__all__ = ["SOURCE_KINDS", "SceneSource", "SourceError", "check_sources", "check_unchanged", "ensure_frozen",
           "freeze", "read_frozen", "resolve_user_source", "source_files", "source_kind"]
