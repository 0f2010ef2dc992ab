"""Planning a build: scenes → rooms → trajectories → clip jobs, all derived from one seed.

The split is by scene (a scene's clips all land in one split), so no apartment leaks from
training into evaluation. Shards are assigned from the sorted keys of each split, so the same
config always puts the same clips in the same shard.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from interiorvideo.dataset import SPLITS
from interiorvideo.scene import generate_scene
from interiorvideo.scene.raycast import build_raycast_scene
from interiorvideo.shards import check_key
from interiorvideo.trajectory import NoValidTrajectoryError, TrajectorySettings, plan_trajectory

@dataclass(frozen=True)
class BuildConfig:
    scenes: int = 4
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

    def __post_init__(self) -> None:
        for name in ("scenes", "rooms_per_scene", "clips_per_room", "frames", "width", "height", "shard_size",
                     "samples"):
            if getattr(self, name) < 1:
                raise ValueError(f"build config: {name} must be at least 1, got {getattr(self, name)}")
        if self.frames < 2:
            raise ValueError(f"build config: frames must be at least 2, got {self.frames}")
        if abs(sum(self.split_fractions) - 1.0) > 1e-6 or min(self.split_fractions) < 0:
            raise ValueError(f"build config: split fractions {self.split_fractions} must be >= 0 and sum to 1")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["split_fractions"] = list(self.split_fractions)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "BuildConfig":
        return cls(**{**d, "split_fractions": tuple(d["split_fractions"])})


@dataclass(frozen=True)
class ClipJob:
    key: str
    split: str
    shard: str
    scene_index: int
    scene_seed: int
    room_id: int
    clip_index: int
    trajectory_seed: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Plan:
    config: BuildConfig
    jobs: list[ClipJob]
    skipped_rooms: list[str] = field(default_factory=list)

    def shards(self) -> dict[str, list[ClipJob]]:
        out: dict[str, list[ClipJob]] = {}
        for job in self.jobs:
            out.setdefault(job.shard, []).append(job)
        return out


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


def make_plan(config: BuildConfig) -> Plan:
    """Every clip job of the build. Rooms where no trajectory meets the guarantees are skipped
    (and listed) in favour of the scene's other rooms, so workers never get impossible jobs."""
    splits = assign_splits(config.scenes, config.split_fractions, config.seed)
    settings = TrajectorySettings(width=config.width, height=config.height)
    jobs: list[ClipJob] = []
    skipped: list[str] = []
    for i in range(config.scenes):
        s_seed = derived_seed(config.seed, 1, i)
        scene = generate_scene(s_seed)
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
                    skipped.append(f"scene {i} room {room.room_id}: {exc}")
                    room_jobs = []
                    break
                key = check_key(f"s{i:05d}r{room.room_id:02d}c{c:02d}")
                room_jobs.append(ClipJob(key, splits[i], "", i, s_seed, room.room_id, c, t_seed))
            if room_jobs:
                jobs.extend(room_jobs)
                taken += 1
    # Shards: per split, consecutive runs of sorted keys.
    final: list[ClipJob] = []
    for split in SPLITS:
        in_split = sorted((j for j in jobs if j.split == split), key=lambda j: j.key)
        for pos, job in enumerate(in_split):
            final.append(ClipJob(**{**job.to_dict(), "shard": f"{split}-{pos // config.shard_size:06d}"}))
    return Plan(config, final, skipped)
