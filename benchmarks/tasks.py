"""The x2v-bench task registry: what each task gives a method, how its ground truth is made, what it scores.

A task turns one dataset clip into a :class:`TaskInstance`: one or more method *calls* (``main``
always; ``base`` — the unedited input — for local-prompt, so leakage is measured on the method's
own output, and for edit-light, where it is the ×1 point of the light sweep with ``dim`` at ×0.25)
with their inputs and ground truth, plus what the metrics need (ground-truth flow, the edit mask,
the sweep). One method × task
× clip is one *unit* of a run (:mod:`benchmarks.runner`).

=================  =========================================================================
``render``         all five intrinsics + the global prompt → video, against the clip's RGB
``render-partial`` a subset of the intrinsics (one of :data:`PARTIAL_SUBSETS`, picked per clip by
                   a stable hash) → video, against the clip's RGB
``long``           ``render`` on clips of at least 4 model windows (option ``window``, default 8
                   frames: X2Video's default window); shorter clips are recorded as missing
``reference``      all intrinsics + frame 0's ground-truth RGB as reference; frames 1.. are scored
``revisit``        ``render`` on the clip there and back (frames 0 … T−1 … 0: the camera walks its path
                   back to where it started), so every viewpoint is seen again up to 2T−2 frames
                   later; the ``revisit`` metric scores whether the method renders it the same
``edit-color``     an object's albedo set to a palette colour (``interiorvideo.edits.intrinsic``
                   applied to the intrinsics); ground truth = the edited scene rendered by
                   ``interiorvideo.render``
``edit-material``  an object's roughness/metallic changed (plastic ↔ polished metal); same GT rule
``edit-light``     the room's brightest light ×3 (and ×0.25 for the sweep); the method gets the
                   edited scene's rendered irradiance; GT = the edited scene's render
``local-prompt``   a masked local prompt naming a new colour for one object; scored without
                   learned weights: the change must stay inside the mask (leakage)
=================  =========================================================================

Edit tasks score fidelity against the re-rendered edit over the whole frame (which includes what
the edit physically changes outside the object: inter-reflections, bounce light) and ΔE2000 inside
the edited region; *leakage* is not an edit metric because the true render changes outside the
mask too (the oracle's "leakage" is about 0.3–0.5 ΔE), so only local-prompt, which has no such
ground truth, scores it.

Edit ground truth is rendered with the clip's own renderer settings (``meta.renderer``) at the
clip's own cameras, from the scene regenerated from ``meta.scene_seed`` (an unedited re-render
reproduces the stored RGB bit for bit), and cached per clip + edit
(:func:`interiorvideo.render.edited.render_edited`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from interiorvideo.schema import INTRINSIC_PASSES

from .common import BenchmarkError, stable_seed

MAIN, BASE = "main", "base"
#: Channel subsets of ``render-partial`` (RGB↔X-style partial conditioning).
PARTIAL_SUBSETS: tuple[tuple[str, ...], ...] = (
    ("albedo", "normal", "irradiance"),
    ("albedo", "irradiance"),
    ("normal", "roughness", "metallic", "irradiance"),
    ("albedo", "normal", "roughness", "metallic"),
)
#: Linear base colours ``edit-color`` picks from (the one farthest from the object's own albedo).
PALETTE: dict[str, tuple[float, float, float]] = {
    "red": (0.65, 0.04, 0.03), "green": (0.06, 0.40, 0.08), "blue": (0.04, 0.08, 0.55),
    "yellow": (0.75, 0.55, 0.03), "purple": (0.35, 0.06, 0.45), "teal": (0.03, 0.35, 0.35),
}
LIGHT_SWEEP = {"dim": 0.25, BASE: 1.0, MAIN: 3.0}  # edit-light: call → intensity factor of the light
LONG_MIN_WINDOWS = 4
FIDELITY = ("psnr", "ssim", "lpips", "flip")
TEMPORAL = ("warp_error", "tof", "tlpips", "flicker", "drift_8", "drift_32", "drift_128")


class TaskNotApplicable(Exception):
    """A task that cannot be posed on a clip (too short, no scene seed, nothing to edit): every metric
    of the unit is recorded as missing with this reason."""


@dataclass
class Call:
    """One method call of a unit: its inputs, and the ground truth an oracle would return for it."""

    name: str
    intrinsics: dict[str, np.ndarray]  # pass → (T, H, W, C) float32, schema layout
    ground_truth: np.ndarray  # (T, H, W, 3) float32 linear HDR
    prompt: str = ""
    local_prompts: tuple[tuple[np.ndarray, str], ...] = ()  # ((T, H, W) bool mask, text)
    reference: np.ndarray | None = None  # (H, W, 3) float32 linear HDR


@dataclass
class TaskInstance:
    """A task posed on one clip."""

    task: str
    clip: str
    scene: str | None
    fps: float
    camera: dict  # K (3, 3), poses (T, 4, 4)
    frames: int  # T
    calls: dict[str, Call] = field(default_factory=dict)
    start: int = 0  # first scored frame (the reference task gives frame 0 away)
    flow: dict | None = None  # ground-truth flow of the scored frames (optical_flow's dict)
    mask: np.ndarray | None = None  # (T, H, W) bool control region of the scored frames
    sweep: tuple[tuple[str, float], ...] = ()  # (call, parameter) for monotonicity
    details: dict = field(default_factory=dict)  # JSON-able: edits, subset, instance, text
    skip_reason: str | None = None
    depth: np.ndarray | None = None  # (T, H, W) ground-truth z-depth of every frame (with ``camera``: geometry)

    @property
    def main(self) -> Call:
        return self.calls[MAIN]

    @property
    def scored_frames(self) -> int:
        return self.frames - self.start

    @property
    def geometry(self) -> dict | None:
        """Depth and cameras of the scored frames, for the long-range metrics (None without depth)."""
        if self.depth is None:
            return None
        s = self.start
        return {"depth": self.depth[s:], "K": self.camera["K"], "poses": self.camera["poses"][s:]}


@dataclass(frozen=True)
class TaskContext:
    seed: int = 0
    cache: Path | None = None  # where edit ground-truth renders are cached (None: not cached)
    options: Mapping[str, Any] = field(default_factory=dict)
    need_flow: bool = True


@dataclass(frozen=True)
class Task:
    name: str
    description: str
    gives: str  # what the method receives
    ground_truth: str  # how the ground truth is made
    metrics: tuple[str, ...]
    prepare_fn: Callable[["Task", dict, str, TaskContext], TaskInstance] = field(repr=False)
    calls: tuple[str, ...] = (MAIN,)
    set_metrics: tuple[str, ...] = ()  # scored over all clips at once (FVD)
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def prepare(self, clip: dict, key: str, ctx: TaskContext | None = None) -> TaskInstance:
        ctx = ctx or TaskContext()
        opts = {**self.defaults, **dict(ctx.options)}
        unknown = sorted(set(opts) - set(self.defaults))
        if unknown:
            raise BenchmarkError(f"task {self.name!r} has no option(s) {unknown}; options: "
                                 f"{', '.join(self.defaults) or 'none'}")
        ctx = dataclasses.replace(ctx, options=opts)
        try:
            inst = self.prepare_fn(self, clip, key, ctx)
        except TaskNotApplicable as exc:
            inst = _instance(self, clip, key)
            inst.skip_reason = f"task {self.name} does not apply to clip {key}: {exc}"
            return inst
        if ctx.need_flow and inst.scored_frames >= 2:
            from interiorvideo.render.flow import optical_flow

            geometry = inst.geometry
            inst.flow = optical_flow(geometry["depth"], geometry["K"], geometry["poses"])
        return inst


TASKS: dict[str, Task] = {}


def register_task(task: Task) -> Task:
    if task.name in TASKS:
        raise ValueError(f"task {task.name!r} registered twice")
    TASKS[task.name] = task
    return task


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise BenchmarkError(f"unknown task {name!r}; known tasks: {', '.join(TASKS)}") from None


# -- building blocks ---------------------------------------------------------------------------


def _f32(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32)


def intrinsics_of(clip: Mapping[str, Any], passes=INTRINSIC_PASSES) -> dict[str, np.ndarray]:
    missing = [p for p in passes if p not in clip]
    if missing:
        raise BenchmarkError(f"clip {clip.get('meta', {}).get('key', '?')} lacks pass(es) {missing}")
    return {p: _f32(clip[p]) for p in passes}


def _instance(task: Task, clip: dict, key: str) -> TaskInstance:
    meta = clip.get("meta", {})
    T = int(clip["rgb"].shape[0])
    depth = np.asarray(clip["depth"], np.float32)
    return TaskInstance(task=task.name, clip=key, scene=meta.get("scene_id"), fps=float(meta.get("fps", 24.0)),
                        camera={"K": np.asarray(clip["camera"]["K"]), "poses": np.asarray(clip["camera"]["poses"])},
                        frames=T, depth=depth[..., 0] if depth.ndim == 4 else depth)


def _with_main(task: Task, clip: dict, key: str, passes=INTRINSIC_PASSES, **call_kw) -> TaskInstance:
    inst = _instance(task, clip, key)
    inst.calls[MAIN] = Call(MAIN, intrinsics_of(clip, passes), _f32(clip["rgb"]),
                            prompt=clip["meta"].get("prompt", ""), **call_kw)
    return inst


def instance_fractions(instance: np.ndarray) -> dict[int, np.ndarray]:
    """Per visible instance id: the fraction of each frame's pixels it covers, (T,)."""
    T = instance.shape[0]
    flat = instance.reshape(T, -1)
    out = {}
    for iid in np.unique(flat):
        if iid != 0:
            out[int(iid)] = (flat == iid).mean(axis=1)
    return out


def pick_instance(clip: Mapping[str, Any], rng: np.random.Generator, exclude=(), lo: float = 0.01,
                  hi: float = 0.4) -> int:
    """An object to edit: seen in every frame on at least ``lo`` of the pixels and on average at most
    ``hi`` (not a whole wall); failing that, the one with the largest smallest coverage. Seeded choice."""
    fr = {i: f for i, f in instance_fractions(clip["instance"]).items() if i not in set(exclude)}
    good = sorted(i for i, f in fr.items() if f.min() >= lo and f.mean() <= hi)
    if good:
        return int(good[rng.integers(len(good))])
    seen = sorted((i for i, f in fr.items() if f.min() > 0 and f.mean() <= hi), key=lambda i: (-fr[i].min(), i))
    if not seen:
        raise TaskNotApplicable("no object is visible in every frame")
    return int(seen[0])


def _rng(task: str, key: str, seed: int) -> np.random.Generator:
    return np.random.default_rng(stable_seed("task", task, key, seed))


# -- edit ground truth: interiorvideo.render.edited renders the edited scene at the clip's cameras ----
# (imported where used: the scene package loads open3d, which x2v-bench's other commands do not need)


def _scene(clip: Mapping[str, Any]):
    """The clip's regenerated scene; a clip whose scene cannot be regenerated is not applicable."""
    from interiorvideo.render.edited import SceneNotReproducible, regenerate_scene

    try:
        return regenerate_scene(clip)
    except SceneNotReproducible as exc:
        raise TaskNotApplicable(str(exc)) from exc


# -- the tasks ----------------------------------------------------------------------------------


def _render(task: Task, clip: dict, key: str, ctx: TaskContext) -> TaskInstance:
    return _with_main(task, clip, key)


def _render_partial(task: Task, clip: dict, key: str, ctx: TaskContext) -> TaskInstance:
    subset = PARTIAL_SUBSETS[stable_seed("render-partial", key, ctx.seed) % len(PARTIAL_SUBSETS)]
    inst = _with_main(task, clip, key, passes=subset)
    inst.details = {"channels": list(subset)}
    return inst


def _long(task: Task, clip: dict, key: str, ctx: TaskContext) -> TaskInstance:
    window = int(ctx.options["window"])
    if window < 1:
        raise BenchmarkError(f"task long: window must be ≥ 1 frame, got {window}")
    T = int(clip["rgb"].shape[0])
    need = LONG_MIN_WINDOWS * window
    if T < need:
        raise TaskNotApplicable(f"it has {T} frames; long needs at least {need} ({LONG_MIN_WINDOWS} windows of "
                                f"{window}; set the task option window, e.g. --long-window)")
    inst = _with_main(task, clip, key)
    inst.details = {"window": window, "windows": T / window}
    return inst


def _reference(task: Task, clip: dict, key: str, ctx: TaskContext) -> TaskInstance:
    if clip["rgb"].shape[0] < 2:
        raise TaskNotApplicable("it has a single frame; the reference task scores frames after the reference")
    inst = _with_main(task, clip, key, reference=_f32(clip["rgb"][0]))
    inst.start = 1
    inst.details = {"reference_frame": 0}
    return inst


PER_FRAME_KEYS = ("rgb", *INTRINSIC_PASSES, "depth", "instance")


def there_and_back(clip: Mapping[str, Any]) -> dict:
    """The clip played forward then backward (0 … T−1 … 0, 2T−1 frames): every pass, depth, instance
    ids and camera pose in that order. The scene is static, so the return leg's ground truth is exact."""
    T = int(clip["rgb"].shape[0])
    order = np.r_[np.arange(T), np.arange(T - 2, -1, -1)]
    out = {k: v for k, v in clip.items() if k not in PER_FRAME_KEYS and k != "camera"}
    out.update({k: np.asarray(clip[k])[order] for k in PER_FRAME_KEYS if k in clip})
    out["camera"] = {**clip["camera"], "poses": np.asarray(clip["camera"]["poses"])[order]}
    return out


def _revisit(task: Task, clip: dict, key: str, ctx: TaskContext) -> TaskInstance:
    T = int(clip["rgb"].shape[0])
    if T < 3:
        raise TaskNotApplicable(f"it has {T} frames; revisit needs at least 3 so the way back is ≥ 4 frames long")
    inst = _with_main(task, there_and_back(clip), key)
    inst.details = {"frames_forward": T, "frames": 2 * T - 1}
    return inst


def _edit_instance(task: Task, clip: dict, key: str, ctx: TaskContext, scene_edit, scene, details: dict
                   ) -> TaskInstance:
    """An albedo/material edit: intrinsics edited by its intrinsic counterpart, ground truth rendered."""
    from interiorvideo.edits.bridge import from_scene_edit
    from interiorvideo.edits.intrinsic import apply_edits
    from interiorvideo.edits.serialise import scene_edit_to_dict
    from interiorvideo.render.edited import render_edited

    inst = _with_main(task, clip, key)
    call = inst.main
    edited = apply_edits(call.intrinsics, from_scene_edit(scene_edit, scene=scene), instance=clip["instance"])
    gt = render_edited(clip, [scene_edit], ctx.cache, scene)
    call.intrinsics = {p: _f32(edited[p]) for p in call.intrinsics}
    call.ground_truth = _f32(gt["rgb"])
    inst.mask = clip["instance"] == scene_edit.instance_id
    inst.details = {"edit": scene_edit_to_dict(scene_edit), **details}
    return inst


def _emissive_ids(scene) -> set[int]:
    return {o.instance_id for o in scene.objects if o.material.is_emissive}


def _edit_color(task: Task, clip: dict, key: str, ctx: TaskContext) -> TaskInstance:
    from interiorvideo.edits.scene import AlbedoEdit

    scene = _scene(clip)
    iid = pick_instance(clip, _rng(task.name, key, ctx.seed), exclude=_emissive_ids(scene))
    sel = clip["instance"] == iid
    mean = clip["albedo"][sel].astype(np.float64).mean(axis=0)
    name = max(PALETTE, key=lambda n: (float(np.linalg.norm(np.asarray(PALETTE[n]) - mean)), n))
    edit = AlbedoEdit(instance_id=iid, color=PALETTE[name])
    label = clip["meta"].get("labels", {}).get(str(iid), "")
    return _edit_instance(task, clip, key, ctx, edit, scene, {"instance": iid, "label": label, "color_name": name})


def _edit_material(task: Task, clip: dict, key: str, ctx: TaskContext) -> TaskInstance:
    from interiorvideo.edits.scene import MaterialEdit

    scene = _scene(clip)
    iid = pick_instance(clip, _rng(task.name, key, ctx.seed), exclude=_emissive_ids(scene))
    mat = scene.object(iid).material
    if mat.metallic < 0.5:
        edit, what = MaterialEdit(instance_id=iid, roughness=0.15, metallic=1.0), "polished metal"
    else:
        edit, what = MaterialEdit(instance_id=iid, roughness=0.9, metallic=0.0), "matte dielectric"
    label = clip["meta"].get("labels", {}).get(str(iid), "")
    return _edit_instance(task, clip, key, ctx, edit, scene, {"instance": iid, "label": label, "to": what})


def _edit_light(task: Task, clip: dict, key: str, ctx: TaskContext) -> TaskInstance:
    from interiorvideo.edits.scene import LightEdit
    from interiorvideo.edits.serialise import scene_edit_to_dict
    from interiorvideo.render.edited import render_edited

    scene = _scene(clip)
    room = clip["meta"].get("room_id")
    lights = sorted((lt for lt in scene.lights if lt.room_id == room and lt.kind != "sun"),
                    key=lambda lt: (-lt.intensity, lt.name))
    lights = lights or [lt for lt in scene.lights if lt.kind == "sun"]
    if not lights or lights[0].intensity <= 0:
        raise TaskNotApplicable(f"room {room} of scene {scene.name} has no light to edit")
    light = lights[0]
    inst = _with_main(task, clip, key)
    base = inst.calls.pop(MAIN)
    base.name = BASE
    edits = {}
    for call, factor in LIGHT_SWEEP.items():
        if call == BASE:
            inst.calls[BASE] = base
            continue
        edit = LightEdit(name=light.name, intensity=light.intensity * factor)
        gt = render_edited(clip, [edit], ctx.cache, scene)
        # The exact intrinsic counterpart of the edit is the edited scene's irradiance (from_scene_edit's
        # whole-frame scale is exact only for a sole light), so the method is scored on rendering, not on
        # that approximation.
        intr = {**base.intrinsics, "irradiance": _f32(gt["irradiance"])}
        inst.calls[call] = Call(call, intr, _f32(gt["rgb"]), base.prompt)
        edits[call] = scene_edit_to_dict(edit)
    inst.calls = {c: inst.calls[c] for c in (MAIN, BASE, "dim")}
    inst.mask = np.ones(clip["instance"].shape, bool)  # a light changes the whole frame
    inst.sweep = tuple((c, f) for c, f in sorted(LIGHT_SWEEP.items(), key=lambda kv: kv[1]))
    inst.details = {"light": light.name, "intensity": light.intensity, "factors": LIGHT_SWEEP, "edits": edits}
    return inst


COLOR_WORDS = ("red", "green", "blue", "yellow", "purple", "orange")


def _local_prompt(task: Task, clip: dict, key: str, ctx: TaskContext) -> TaskInstance:
    rng = _rng(task.name, key, ctx.seed)
    iid = pick_instance(clip, rng)
    meta = clip["meta"]
    label = meta.get("labels", {}).get(str(iid)) or "object"
    old = meta.get("local_prompts", {}).get(str(iid), "")
    words = [w for w in COLOR_WORDS if w not in old.lower()]
    text = f"a bright {words[rng.integers(len(words))]} {label}"
    inst = _with_main(task, clip, key)
    base = inst.calls[MAIN]
    mask = clip["instance"] == iid
    inst.calls = {MAIN: dataclasses.replace(base, local_prompts=((mask, text),)),
                  BASE: dataclasses.replace(base, name=BASE)}
    inst.mask = mask
    inst.details = {"instance": iid, "label": label, "text": text, "original": old}
    return inst


RENDER_METRICS = FIDELITY + TEMPORAL
EDIT_METRICS = ("psnr", "ssim", "lpips", "delta_e_edit", "warp_error", "flicker")

register_task(Task(
    "render", "All intrinsics → video, against the ground-truth RGB",
    gives="albedo, normal, roughness, metallic, irradiance; global prompt",
    ground_truth="the clip's rendered RGB", metrics=RENDER_METRICS, prepare_fn=_render, set_metrics=("fvd",)))
register_task(Task(
    "render-partial", "A subset of the intrinsics → video (subset picked per clip from PARTIAL_SUBSETS)",
    gives="one of: " + "; ".join("+".join(s) for s in PARTIAL_SUBSETS) + "; global prompt",
    ground_truth="the clip's rendered RGB", metrics=RENDER_METRICS, prepare_fn=_render_partial,
    set_metrics=("fvd",)))
register_task(Task(
    "long", f"Clips of ≥ {LONG_MIN_WINDOWS} model windows (option window, default 8 frames)",
    gives="all intrinsics of a long clip; global prompt", ground_truth="the clip's rendered RGB",
    metrics=RENDER_METRICS, prepare_fn=_long, set_metrics=("fvd",), defaults={"window": 8}))
register_task(Task(
    "reference", "All intrinsics + frame 0's RGB as reference; frames 1.. scored",
    gives="all intrinsics; global prompt; reference frame = ground-truth RGB of frame 0",
    ground_truth="the clip's rendered RGB, frames 1..T-1", metrics=RENDER_METRICS, prepare_fn=_reference,
    set_metrics=("fvd",)))
register_task(Task(
    "revisit", "All intrinsics of the clip there and back (0 … T−1 … 0): the same viewpoints seen again",
    gives="all intrinsics of the clip played forward then backward; global prompt",
    ground_truth="the clip's rendered RGB in the same order (the scene is static)",
    metrics=RENDER_METRICS + ("revisit",), prepare_fn=_revisit, set_metrics=("fvd",)))
register_task(Task(
    "edit-color", "An object's albedo recoloured; scored against the re-rendered edited scene",
    gives="intrinsics with interiorvideo.edits AlbedoChange (from_scene_edit) on one object; global prompt",
    ground_truth="interiorvideo.render of the scene with AlbedoEdit, at the clip's cameras",
    metrics=EDIT_METRICS, prepare_fn=_edit_color))
register_task(Task(
    "edit-material", "An object's roughness/metallic changed; scored against the re-rendered edited scene",
    gives="intrinsics with interiorvideo.edits MaterialChange (from_scene_edit) on one object; global prompt",
    ground_truth="interiorvideo.render of the scene with MaterialEdit, at the clip's cameras",
    metrics=EDIT_METRICS, prepare_fn=_edit_material))
register_task(Task(
    "edit-light", "The room's brightest light ×3 (sweep ×0.25, ×1, ×3); against the re-rendered scene",
    gives="intrinsics with the edited scene's rendered irradiance (main ×3, dim ×0.25) and unedited (base)",
    ground_truth="interiorvideo.render of the scene with LightEdit, at the clip's cameras",
    metrics=("psnr", "ssim", "lpips", "delta_e_edit", "monotonicity", "warp_error", "flicker"),
    prepare_fn=_edit_light, calls=(MAIN, BASE, "dim")))
register_task(Task(
    "local-prompt", "A masked local prompt recolours one object; the change must stay inside its mask",
    gives="all intrinsics; global prompt; main adds one (mask, 'a bright <colour> <label>') local prompt, base none",
    ground_truth="none needed: leakage compares the method's main and base outputs outside the mask",
    metrics=("leakage",), prepare_fn=_local_prompt, calls=(MAIN, BASE)))
