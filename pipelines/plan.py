"""Planning a build: scenes → rooms → trajectories → clip jobs, all derived from one seed.

The scenes are ``generated`` apartments (scene indices 0..G-1, each regenerated from its seed)
followed by the user's scene sources in the order given (indices G.., see :mod:`.sources`).
The split is by scene (a scene's clips all land in one split), over all of them, so no apartment
leaks from training into evaluation. Shards are assigned from the sorted keys of each split, so
the same config always puts the same clips in the same shard.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from interiorvideo.dataset import SPLITS
from interiorvideo.render import RenderSettings
from interiorvideo.render.mitsuba_backend import BACKENDS, VARIANTS
from interiorvideo.scene import generate_scene
from interiorvideo.scene.model import Scene
from interiorvideo.scene.raycast import build_raycast_scene
from interiorvideo.shards import check_key
from interiorvideo.trajectory import NoValidTrajectoryError, TrajectorySettings, plan_trajectory

from .sources import SCENES_DIR, SceneSource, SourceError, check_sources, resolve_user_source

WORK_DIR = ".work"  # a build folder's working files (finished clips, statistics, frozen scenes)

#: Generated apartments when no user scene is given (with user scenes the default is none).
DEFAULT_GENERATED = 4


@dataclass(frozen=True)
class BuildConfig:
    """What a build makes. ``scenes``: the user's scene sources (scene folders or mesh files), as
    given; ``generated``: how many apartments to generate besides them — ``None`` means
    :data:`DEFAULT_GENERATED` without user scenes and 0 with them (the stored config holds the
    number)."""

    scenes: tuple[str, ...] = ()
    generated: int | None = None
    rooms_per_scene: int = 2
    clips_per_room: int = 1
    frames: int = 16
    width: int = 128
    height: int = 128
    fps: float = 24.0
    seed: int = 0
    shard_size: int = 8  # clips per shard
    samples: int = 32  # irradiance samples per pixel
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)  # train, val, test (by scene)
    default_lights: bool = False  # mesh-file scenes without a light get the default rig on import
    backend: str = "cpu"  # cpu | mitsuba (rgb and irradiance by Mitsuba 3; interiorvideo.render.mitsuba_backend)
    mitsuba_variant: str | None = None  # backend mitsuba: cuda_ad_rgb | llvm_ad_rgb (the build resolves None)

    def __post_init__(self) -> None:
        if isinstance(self.scenes, (int, np.integer)) and not isinstance(self.scenes, bool):
            raise TypeError(f"build config: scenes is the list of user scene paths; for {self.scenes} generated "
                            f"apartments use generated={self.scenes}")
        if isinstance(self.scenes, (str, os.PathLike)):
            raise TypeError("build config: scenes is a list of paths, got a single path; wrap it in a list")
        object.__setattr__(self, "scenes", tuple(os.fspath(p) for p in self.scenes))
        if self.generated is None:
            object.__setattr__(self, "generated", 0 if self.scenes else DEFAULT_GENERATED)
        if self.generated < 0:
            raise ValueError(f"build config: generated must be at least 0, got {self.generated}")
        if self.generated + len(self.scenes) < 1:
            raise ValueError("build config: no scenes to build from (give user scenes, or generated >= 1)")
        for name in ("rooms_per_scene", "clips_per_room", "frames", "width", "height", "shard_size", "samples"):
            if getattr(self, name) < 1:
                raise ValueError(f"build config: {name} must be at least 1, got {getattr(self, name)}")
        if self.frames < 2:
            raise ValueError(f"build config: frames must be at least 2, got {self.frames}")
        if self.seed < 0:
            raise ValueError(f"build config: seed must be at least 0, got {self.seed}")
        if not (math.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"build config: fps must be a positive finite number, got {self.fps}")
        try:  # the renderer's own checks (samples a power of two), now rather than in every worker
            RenderSettings(samples=self.samples)
        except ValueError as exc:
            raise ValueError(f"build config: {exc}") from None
        if self.backend not in BACKENDS:
            raise ValueError(f"build config: backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if self.mitsuba_variant is not None and (self.backend != "mitsuba" or self.mitsuba_variant not in VARIANTS):
            raise ValueError(f"build config: mitsuba_variant is one of {', '.join(VARIANTS)} and only for backend "
                             f"mitsuba, got {self.mitsuba_variant!r} with backend {self.backend!r}")
        if abs(sum(self.split_fractions) - 1.0) > 1e-6 or min(self.split_fractions) < 0:
            raise ValueError(f"build config: split fractions {self.split_fractions} must be >= 0 and sum to 1")

    @property
    def num_scenes(self) -> int:
        return self.generated + len(self.scenes)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["scenes"] = list(self.scenes)
        d["split_fractions"] = list(self.split_fractions)
        if self.backend == "cpu":  # plans written before backends existed stay the same (and resumable)
            del d["backend"], d["mitsuba_variant"]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "BuildConfig":
        return cls(**{**d, "scenes": tuple(d.get("scenes", ())), "split_fractions": tuple(d["split_fractions"])})


@dataclass(frozen=True)
class ClipJob:
    key: str
    split: str
    shard: str
    scene_index: int
    scene_seed: int | None  # generated scenes; None for a user scene (its frozen copy is the scene)
    room_id: int
    clip_index: int
    trajectory_seed: int
    source_kind: str = "generated"  # generated | folder | file

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Plan:
    config: BuildConfig
    jobs: list[ClipJob]
    skipped_rooms: list[str] = field(default_factory=list)
    scenes: list[SceneSource] = field(default_factory=list)  # by scene index

    def shards(self) -> dict[str, list[ClipJob]]:
        out: dict[str, list[ClipJob]] = {}
        for job in self.jobs:
            out.setdefault(job.shard, []).append(job)
        return out

    def scenes_without_clips(self) -> list[str]:
        """One line per scene that gives no clip (no room admits a valid trajectory)."""
        used = {j.scene_index for j in self.jobs}
        return [f"{s.label}: no room admits a valid trajectory, so it gives no clips (see the skipped rooms)"
                for s in self.scenes if s.index not in used]


def derived_seed(*parts: int) -> int:
    """A 31-bit seed from a tuple of integers (numpy's SeedSequence hashing)."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0] & 0x7FFFFFFF)


def assign_splits(n_scenes: int, fractions: tuple[float, float, float], seed: int) -> list[str]:
    """Split scenes into train/val/test; with 3+ scenes every non-zero fraction gets ≥ 1 scene."""
    order = np.random.default_rng(derived_seed(seed, 101)).permutation(n_scenes)
    counts = [int(round(f * n_scenes)) for f in fractions]
    for i in (1, 2):
        if fractions[i] > 0 and counts[i] == 0 and n_scenes >= 3:
            counts[i] = 1
    counts[0] = n_scenes - counts[1] - counts[2]
    if counts[0] < 0:
        raise ValueError(f"cannot split {n_scenes} scenes by {fractions}")
    labels = ["train"] * counts[0] + ["val"] * counts[1] + ["test"] * counts[2]
    out = [""] * n_scenes
    for pos, scene in enumerate(order):
        out[int(scene)] = labels[pos]
    return out


def iter_scenes(config: BuildConfig, out_dir: Path | None = None) -> Iterator[tuple[SceneSource, Scene]]:
    """Each scene of the build with its record, one at a time, by scene index: the generated
    apartments, then the user's sources — each hashed and frozen into
    ``out_dir/.work/scenes/`` (:mod:`.sources`), which user sources need."""
    kinds = check_sources(config.scenes)
    for i in range(config.generated):
        s_seed = derived_seed(config.seed, 1, i)
        scene = generate_scene(s_seed)
        yield SceneSource(i, "generated", f"generate_scene({s_seed})", name=scene.name, seed=s_seed), scene
    if config.scenes and out_dir is None:
        raise ValueError("make_plan: user scenes need the build folder (out_dir) to freeze their copies into")
    for k, (given, kind) in enumerate(zip(config.scenes, kinds)):
        yield resolve_user_source(config.generated + k, given, kind, Path(out_dir), frozen_dir(Path(out_dir)),
                                  config.default_lights)


def frozen_dir(out_dir: Path) -> Path:
    """Where the frozen copies of user scenes live in a build folder."""
    return out_dir / WORK_DIR / SCENES_DIR


def make_plan(config: BuildConfig, out_dir: str | Path | None = None) -> Plan:
    """Every clip job of the build. Rooms where no trajectory meets the guarantees are skipped
    (and listed) in favour of the scene's other rooms, so workers never get impossible jobs.
    ``out_dir``: the build folder, where user scenes are frozen (needed only with user scenes)."""
    splits = assign_splits(config.num_scenes, config.split_fractions, config.seed)
    settings = TrajectorySettings(width=config.width, height=config.height)
    jobs: list[ClipJob] = []
    skipped: list[str] = []
    records: list[SceneSource] = []
    for src, scene in iter_scenes(config, None if out_dir is None else Path(out_dir)):
        i = src.index
        twin = next((r for r in records if r.sha256 is not None and r.sha256 == src.sha256), None)
        if twin is not None:
            raise SourceError(f"{src.label} holds the same files as {twin.label}: one scene would count as two "
                              f"and could land in two splits")
        records.append(src)
        rc = build_raycast_scene(scene)
        order = np.random.default_rng(derived_seed(config.seed, 2, i)).permutation(len(scene.rooms))
        taken = 0
        for r in order:
            if taken == config.rooms_per_scene:
                break
            room = scene.rooms[int(r)]
            room_jobs = []
            for c in range(config.clips_per_room):
                t_seed = derived_seed(config.seed, 3, i, room.room_id, c)
                try:
                    plan_trajectory(scene, room.room_id, config.frames, config.fps, t_seed, settings, rc=rc)
                except NoValidTrajectoryError as exc:
                    where = f"scene {i}" if src.kind == "generated" else src.label
                    skipped.append(f"{where} room {room.room_id}: {exc}")
                    room_jobs = []
                    break
                key = check_key(f"s{i:05d}r{room.room_id:02d}c{c:02d}")
                room_jobs.append(ClipJob(key, splits[i], "", i, src.seed, room.room_id, c, t_seed, src.kind))
            if room_jobs:
                jobs.extend(room_jobs)
                taken += 1
    # Shards: per split, consecutive runs of sorted keys.
    final: list[ClipJob] = []
    for split in SPLITS:
        in_split = sorted((j for j in jobs if j.split == split), key=lambda j: j.key)
        for pos, job in enumerate(in_split):
            final.append(ClipJob(**{**job.to_dict(), "shard": f"{split}-{pos // config.shard_size:06d}"}))
    return Plan(config, final, skipped, records)
