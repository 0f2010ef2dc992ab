"""The glTF JSON document of a ``.glb``/``.gltf`` file, read directly (not through trimesh):
trimesh drops what the glTF reader still needs from it — node order, unnamed nodes' mesh names
and ``KHR_materials_emissive_strength`` — and a hand-checked header gives clear errors for
empty, truncated or non-glTF files before trimesh sees them.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from trimesh.util import unique_name

from .common import err


def gltf_json(path: Path) -> dict:
    """The glTF JSON document (the first GLB chunk, or the whole ``.gltf`` file)."""
    data = path.read_bytes()
    if not data.strip():
        raise err(path, "not a valid glTF file (the file is empty)")
    try:
        if path.suffix.lower() == ".glb":
            if len(data) < 20:
                raise ValueError(f"only {len(data)} bytes, shorter than a GLB header")
            magic, _version, _length = struct.unpack_from("<4sII", data, 0)
            if magic != b"glTF":
                raise ValueError("missing the 'glTF' magic bytes")
            chunk_len, chunk_type = struct.unpack_from("<II", data, 12)
            if chunk_type != 0x4E4F534A:
                raise ValueError("first chunk is not JSON")
            header = json.loads(data[20:20 + chunk_len].decode("utf-8"))
        else:
            header = json.loads(data.decode("utf-8"))
    except (struct.error, ValueError, UnicodeDecodeError) as exc:
        raise err(path, f"not a valid glTF file ({exc})") from exc
    if not isinstance(header, dict):
        raise err(path, "not a valid glTF file (top level is not an object)")
    return header


def node_order(header: dict) -> tuple[dict[str, int], dict[int, int]]:
    """trimesh's frame names → glTF node index, and node index → depth-first rank."""

    nodes = header.get("nodes", []) or []
    name_index: dict[str, int] = {}
    counts: dict = {}
    for i, n in enumerate(nodes):  # the same naming trimesh's glTF loader applies
        name_index[unique_name(n.get("name", str(i)), name_index, counts=counts)] = i
    rank: dict[int, int] = {}
    scenes = header.get("scenes") or [{"nodes": list(range(len(nodes)))}]
    roots = scenes[header.get("scene", 0) if isinstance(header.get("scene", 0), int) else 0].get("nodes", [])
    stack = list(reversed(roots))
    while stack:
        i = stack.pop()
        if not isinstance(i, int) or i in rank or i >= len(nodes):
            continue
        rank[i] = len(rank)
        stack.extend(reversed(nodes[i].get("children", []) or []))
    return name_index, rank


def transmission_params(header: dict) -> dict[str, tuple[float, float, bool]]:
    """Material name → (transmission, ior, thin) of materials with ``KHR_materials_transmission``
    (trimesh ignores it): its ``transmissionFactor`` (default 0), ``KHR_materials_ior``'s
    ``ior`` (default 1.5) and thin unless ``KHR_materials_volume`` gives the material a
    thickness (glTF: transmission without a volume is thin-walled). A ``transmissionTexture`` is
    not read (the factor alone). The first material of a name wins."""
    out: dict[str, tuple[float, float, bool]] = {}
    for m in header.get("materials", []) or []:
        ext = m.get("extensions") or {}
        if "KHR_materials_transmission" not in ext or m.get("name") is None:
            continue
        t = float((ext["KHR_materials_transmission"] or {}).get("transmissionFactor", 0.0))
        ior = float((ext.get("KHR_materials_ior") or {}).get("ior", 1.5))
        volume = ext.get("KHR_materials_volume")
        thin = volume is None or float((volume or {}).get("thicknessFactor", 0.0)) <= 0.0
        out.setdefault(m["name"], (min(max(t, 0.0), 1.0), min(max(ior, 1.0), 4.0), thin))
    return out


def specular_factors(header: dict) -> dict[str, float]:
    """Material name → ``KHR_materials_specular``'s ``specularFactor`` (default 1; trimesh ignores
    the extension): the strength of the dielectric specular lobe, which is ``Material.specular``
    — 0 makes the surface Lambertian. ``specularColorFactor`` and the textures are not read. The
    first material of a name wins."""
    out: dict[str, float] = {}
    for m in header.get("materials", []) or []:
        ext = (m.get("extensions") or {}).get("KHR_materials_specular")
        if ext is None or m.get("name") is None:
            continue
        out.setdefault(m["name"], min(max(float((ext or {}).get("specularFactor", 1.0)), 0.0), 1.0))
    return out


def emissive_strengths(header: dict) -> dict[str, float]:
    """Material name → ``KHR_materials_emissive_strength`` (the first material of a name wins)."""
    strength: dict[str, float] = {}
    for m in header.get("materials", []) or []:
        s = ((m.get("extensions") or {}).get("KHR_materials_emissive_strength") or {}).get("emissiveStrength")
        if s is not None and m.get("name") is not None:
            strength.setdefault(m["name"], float(s))
    return strength


def normal_scales(header: dict) -> dict[str, float]:
    """Material name → its ``normalTexture.scale`` (trimesh does not keep it; the first of a name wins)."""
    out: dict[str, float] = {}
    for m in header.get("materials", []) or []:
        s = ((m or {}).get("normalTexture") or {}).get("scale")
        if isinstance(s, (int, float)) and not isinstance(s, bool):
            out.setdefault(str(m.get("name", "")), float(s))
    return out
