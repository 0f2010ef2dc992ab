"""Cameras in the clip contract's convention: pinhole intrinsics K and camera-to-world poses,
OpenCV axes (x right, y down, z forward), world +Z up, metres."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..fileio import atomic_write_json, read_json

TRAJECTORY_FORMAT_VERSION = 1
CONVENTION = "camera-to-world poses, OpenCV camera axes (x right, y down, z forward), world +Z up, metres"
WORLD_UP = np.array([0.0, 0.0, 1.0])


class TrajectoryFile(BaseModel):
    """The trajectory JSON's fields and their ranges: every number finite, sizes and fps positive."""

    model_config = ConfigDict(extra="allow")
    K: list[list[float]] = Field(min_length=3, max_length=3)
    poses: list[list[list[float]]] = Field(min_length=1)
    fps: float = Field(gt=0, allow_inf_nan=False)
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    scene: str = ""
    room_id: int = -1
    seed: int | None = None
    settings: dict = {}
    report: dict = {}

    @field_validator("K", "poses")
    @classmethod
    def _finite(cls, value: list) -> list:
        try:
            finite = np.isfinite(np.asarray(value, np.float64)).all()
        except ValueError:  # ragged rows: the shape check after validation names it
            return value
        if not finite:
            raise ValueError("holds a value that is not finite (NaN or inf)")
        return value


def intrinsics(width: int, height: int, hfov_deg: float) -> np.ndarray:
    """K for square pixels with the principal point at the image centre."""
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    if not 1.0 < hfov_deg < 179.0:
        raise ValueError(f"horizontal field of view must lie in (1, 179) degrees, got {hfov_deg}")
    f = 0.5 * width / np.tan(np.radians(hfov_deg) / 2)
    return np.array([[f, 0.0, width / 2.0], [0.0, f, height / 2.0], [0.0, 0.0, 1.0]])


def scale_intrinsics(K: np.ndarray, from_size: tuple[int, int], to_size: tuple[int, int]) -> np.ndarray:
    """K for the same camera at another resolution (pixel-centre convention preserved)."""
    sx, sy = to_size[0] / from_size[0], to_size[1] / from_size[1]
    out = np.array(K, dtype=np.float64).copy()
    out[0] *= sx
    out[1] *= sy
    return out


def look_at(positions: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Camera-to-world poses (T, 4, 4) looking from ``positions`` at ``targets``, no roll."""
    p = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    fwd = np.asarray(targets, dtype=np.float64).reshape(-1, 3) - p
    fwd /= np.linalg.norm(fwd, axis=1, keepdims=True)
    right = np.cross(fwd, WORLD_UP)
    norm = np.linalg.norm(right, axis=1, keepdims=True)
    if np.any(norm < 1e-6):
        raise ValueError("camera looks straight up or down: roll is undefined")
    right /= norm
    down = np.cross(fwd, right)
    poses = np.tile(np.eye(4), (len(p), 1, 1))
    poses[:, :3, 0], poses[:, :3, 1], poses[:, :3, 2], poses[:, :3, 3] = right, down, fwd, p
    return poses


@dataclass
class Trajectory:
    """T camera poses at ``fps`` with intrinsics for ``width``×``height``, plus provenance."""

    K: np.ndarray
    poses: np.ndarray
    fps: float
    width: int
    height: int
    scene: str = ""
    room_id: int = -1
    seed: int | None = None
    settings: dict = field(default_factory=dict)
    report: dict = field(default_factory=dict)

    @property
    def frames(self) -> int:
        return int(len(self.poses))

    @property
    def positions(self) -> np.ndarray:
        return self.poses[:, :3, 3]

    @property
    def forward(self) -> np.ndarray:
        return self.poses[:, :3, 2]

    def to_dict(self) -> dict:
        return {
            "format_version": TRAJECTORY_FORMAT_VERSION, "convention": CONVENTION, "scene": self.scene,
            "room_id": self.room_id, "seed": self.seed, "fps": self.fps, "frames": self.frames, "width": self.width,
            "height": self.height, "K": np.round(self.K, 9).tolist(), "poses": np.round(self.poses, 9).tolist(),
            "settings": self.settings, "report": self.report,
        }

    def save(self, path: str | Path) -> Path:
        return atomic_write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> "Trajectory":
        """A trajectory JSON, every field checked (:class:`TrajectoryFile`) before it is used."""
        d = read_json(path, "trajectory")
        if not isinstance(d, dict):
            raise ValueError(f"{path}: a trajectory is a JSON object, got a {type(d).__name__}")
        if d.get("format_version") != TRAJECTORY_FORMAT_VERSION:
            raise ValueError(f"{path}: trajectory format version {d.get('format_version')!r}, "
                             f"expected {TRAJECTORY_FORMAT_VERSION}")
        try:
            f = TrajectoryFile.model_validate(d)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"][:1])
            raise ValueError(f"{path}: malformed trajectory: {where}: {first['msg'].removeprefix('Value error, ')}") from None
        try:
            K, poses = np.asarray(f.K, np.float64), np.asarray(f.poses, np.float64)
        except ValueError:
            raise ValueError(f"{path}: K must be 3x3 and poses (T, 4, 4) (rows of unequal length)") from None
        if K.shape != (3, 3) or poses.ndim != 3 or poses.shape[1:] != (4, 4) or len(poses) < 1:
            raise ValueError(f"{path}: K must be 3x3 and poses (T, 4, 4); got {K.shape} and {poses.shape}")
        R = poses[:, :3, :3]
        bad = np.flatnonzero(np.abs(R @ R.transpose(0, 2, 1) - np.eye(3)).max(axis=(1, 2)) > 1e-4)
        if len(bad):
            raise ValueError(f"{path}: pose {bad[0]} is not a rotation and translation (its 3x3 part is not orthonormal)")
        return cls(K, poses, f.fps, f.width, f.height, f.scene, f.room_id, f.seed, f.settings, f.report)
