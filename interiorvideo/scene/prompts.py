"""Text prompts from what the generator placed: a global prompt per room and a local prompt per
instance ("a navy blue fabric sofa"). X2Video trains on them and x2v-bench scores local-prompt
control against the instance masks, so they must describe what is really there."""

from __future__ import annotations

from .materials import KINDS
from .model import Material, Opening, SceneObject

# Labels whose prompt does not read well as "<colour> <material> <label>".
_SPECIAL = {
    "books": lambda m: "a row of colourful books",
    "plant": lambda m: f"a leafy {m.color_name} house plant",
    "mirror": lambda m: "a wall mirror",
    "painting": lambda m: f"a painting in {m.color_name} tones",
    "ceiling light": lambda m: "a glowing ceiling light panel",
    "tv": lambda m: f"a {m.color_name} flat-screen tv",
    "ceiling": lambda m: f"a {m.color_name} ceiling",
    "window": lambda m: f"a {m.color_name} window frame",
    "window pane": lambda m: "a clear glass window pane",
}

# Parts too small or too secondary to headline a room description.
_MINOR = {"lampshade", "books", "painting", "plant pot", "countertop", "bedding", "wall", "floor", "ceiling",
          "window", "window pane", "ceiling light", "chair", "table lamp", "picture frame", "mirror", "tv"}


def with_article(phrase: str) -> str:
    return ("an " if phrase[:1].lower() in "aeiou" else "a ") + phrase


def local_prompt(label: str, material: Material) -> str:
    if label in _SPECIAL:
        text = _SPECIAL[label](material)
        return with_article(text[2:]) if text.startswith("a ") else text
    word = KINDS[material.kind].word if material.kind in KINDS else material.kind
    if material.kind == "metal" and material.color_name in ("silver", "gold", "copper"):
        return with_article(f"{material.color_name} metal {label}")
    return with_article(f"{material.color_name} {word} {label}")


_ADJECTIVES = {
    "living room": ("cozy", "bright", "modern", "spacious", "warm"),
    "bedroom": ("quiet", "cozy", "calm", "minimalist", "warm"),
    "kitchen": ("clean", "bright", "modern", "compact"),
    "dining room": ("elegant", "bright", "warm", "simple"),
    "study": ("tidy", "quiet", "cozy", "functional"),
}


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def room_prompt(kind: str, objects: list[SceneObject], openings: tuple[Opening, ...], adjective_index: int) -> str:
    """A sentence naming the room's main pieces, its walls and floor, and its light sources."""
    adjectives = _ADJECTIVES.get(kind, ("plain",))
    adj = adjectives[adjective_index % len(adjectives)]
    by_size = sorted((o for o in objects if not o.structural and o.label not in _MINOR),
                     key=lambda o: -float((o.mesh.bounds()[1] - o.mesh.bounds()[0]).prod()))
    seen, items = set(), []
    for o in by_size:
        if o.label in seen:
            continue
        seen.add(o.label)
        items.append(o.prompt)
        if len(items) == 3:
            break
    walls = next((o for o in objects if o.label == "wall"), None)
    floor = next((o for o in objects if o.label == "floor"), None)
    parts = [f"A {adj} {kind}"]
    if items:
        parts.append(f" with {_join(items)}")
    finish = []
    if walls is not None:
        finish.append(f"{walls.material.color_name} walls")
    if floor is not None:
        finish.append(with_article(f"{KINDS[floor.material.kind].word} floor") if floor.material.kind in KINDS
                      else "a floor")
    if finish:
        parts.append(f", {_join(finish)}")
    lights = ["a ceiling light"] if any(o.label == "ceiling light" for o in objects) else []
    lamps = sorted({o.label for o in objects if o.label in ("floor lamp", "table lamp")})
    lights += [f"a {lamp}" for lamp in lamps]
    if any(op.kind == "window" for op in openings):
        lights.append("daylight through a window")
    if lights:
        parts.append(f", lit by {_join(lights)}")
    return "".join(parts) + "."
