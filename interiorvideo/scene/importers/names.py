"""Words from names: semantic labels from node/object names, material kinds from material and
object names, and room kinds from the labels in a room. Foreign files carry no semantics but
their names, and prompts need a label and a kind for every object.
"""

from __future__ import annotations

import re

_IGNORED_SEGMENTS = frozenset({
    "room", "south", "north", "east", "west", "left", "right", "front", "back", "top", "bottom", "upper",
    "lower", "inner", "outer", "mesh", "meshes", "object", "obj", "geometry", "geo", "node", "gltf", "primitive",
    "prim", "default", "group", "untitled", "sm", "model", "polysurface", "shape", "lod", "part", "mat", "material",
})

_KIND_HINTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("mirror", ("mirror",)),
    ("fabric", ("fabric", "cloth", "textile", "cotton", "linen", "wool", "velvet", "carpet", "rug", "curtain",
                "upholster", "cushion", "bedding", "pillow", "lampshade", "shade")),
    ("leather", ("leather",)),
    ("wood", ("wood", "oak", "walnut", "pine", "timber", "plank", "parquet", "veneer", "birch", "maple", "teak")),
    ("stone", ("stone", "marble", "granite", "concrete", "slate", "terrazzo", "countertop")),
    ("tile", ("tile",)),
    ("ceramic", ("ceramic", "porcelain", "pottery", "clay", "pot")),
    ("plastic", ("plastic", "rubber", "vinyl", "acrylic")),
    ("plant", ("plant", "leaf", "leaves", "foliage", "grass")),
    ("metal", ("metal", "steel", "chrome", "iron", "alumin", "brass", "copper", "gold", "silver")),
)
_MATERIAL_WORDS = frozenset(w for _, words in _KIND_HINTS for w in words) - {"rug", "curtain", "cushion", "pillow",
                                                                             "plant", "pot", "mirror", "countertop",
                                                                             "lampshade", "shade", "bedding"}

_MULTIWORD_LABELS = frozenset({
    "ceiling light", "ceiling lamp", "ceiling fan", "floor lamp", "table lamp", "desk lamp", "wall lamp",
    "coffee table", "side table", "dining table", "end table", "bedside table", "night stand", "tv stand",
    "kitchen cabinet", "wall cabinet", "office chair", "dining chair", "picture frame", "plant pot", "bed frame",
    "kitchen island", "washing machine", "range hood", "shower curtain", "window frame", "door frame",
    "window pane",
})
_MAX_PHRASE_WORDS = max(len(p.split()) for p in _MULTIWORD_LABELS)

_ROOM_KIND_VOTES = {
    "bed": "bedroom", "bed frame": "bedroom", "bedding": "bedroom", "wardrobe": "bedroom", "nightstand": "bedroom",
    "dresser": "bedroom", "sofa": "living room", "couch": "living room", "tv": "living room",
    "tv stand": "living room", "coffee table": "living room", "armchair": "living room",
    "refrigerator": "kitchen", "fridge": "kitchen", "kitchen cabinet": "kitchen", "countertop": "kitchen",
    "stove": "kitchen", "oven": "kitchen", "sink": "kitchen", "dining table": "dining room",
    "sideboard": "dining room", "desk": "study", "office chair": "study",
}


def label_from_name(name: str) -> str:
    """A semantic label from a node/object name: ``"Chair.001"`` → ``"chair"``,
    ``"room0_wall_south"`` → ``"wall"``, ``"SM_OfficeChair_02"`` → ``"office chair"``; ``""`` when the
    name holds nothing but numbers, directions or generic words."""
    s = re.sub(r"\.\d+$", "", str(name).strip())
    s = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", s)
    segments = []
    for seg in re.split(r"[_/|:.]+", s):
        seg = re.sub(r"[-\s]+", " ", seg).strip().lower()
        words = [w for w in seg.split() if not w.isdigit()]
        seg = re.sub(r"\s*\d+$", "", " ".join(words))
        seg = re.sub(r"^\d+\s*", "", seg).strip()
        if not seg or seg in _IGNORED_SEGMENTS or not re.search(r"[a-z]", seg):
            continue
        segments.append(seg)
    if not segments:
        return ""
    non_material = [k for k, seg in enumerate(segments) if seg not in _MATERIAL_WORDS]
    last = non_material[-1] if non_material else len(segments) - 1
    # Multi-word labels split at underscores ("Ceiling_Light", "Floor_Lamp_01"): the longest known
    # phrase that ends with the chosen segment.
    words = " ".join(segments[: last + 1]).split()
    for n in range(min(len(words), _MAX_PHRASE_WORDS), len(segments[last].split()), -1):
        phrase = " ".join(words[-n:])
        if phrase in _MULTIWORD_LABELS:
            return phrase
    return segments[last]


def guess_kind(hint: str, metallic: float, emission) -> str:
    """Material kind: emission > 0 → ``emissive``; metallic > 0.5 → ``metal`` (``mirror`` when the
    name says so); else a kind named in ``hint`` (wood, fabric, leather, stone, …); else ``paint``."""
    hint = hint.lower()
    if max(emission) > 0.0:
        return "emissive"
    if metallic > 0.5:
        return "mirror" if "mirror" in hint else "metal"
    for kind, words in _KIND_HINTS:
        if kind in ("metal", "mirror"):
            continue
        if any(w in hint for w in words):
            return kind
    return "paint"


def guess_room_kind(labels: list[str]) -> str:
    """The room kind most of the labels vote for (bed → bedroom, sofa → living room, …), else ``room``."""
    votes: dict[str, int] = {}
    for lab in labels:
        kind = _ROOM_KIND_VOTES.get(lab)
        if kind:
            votes[kind] = votes.get(kind, 0) + 1
    if not votes:
        return "room"
    return max(sorted(votes), key=lambda k: votes[k])
