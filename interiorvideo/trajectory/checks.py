"""Measuring a trajectory against the scene: the guarantees the planner promises, checked with
open3d on the real geometry rather than on the planner's own grid."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..scene.model import Room
from ..scene.raycast import RaycastScene
from .camera import Trajectory


@dataclass(frozen=True)
class MotionLimits:
    """Defaults that look like a person walking slowly with a gimbal camera."""

    min_clearance: float = 0.3  # m from any surface
    max_speed: float = 0.8  # m/s
    max_angular_speed_deg: float = 35.0  # deg/s
    max_jerk: float = 3.0  # m/s³
    min_view_depth: float = 1.0  # m, median ray distance over the frame
    max_roll_deg: float = 0.5


@dataclass(frozen=True)
class TrajectoryReport:
    min_clearance: float
    max_speed: float
    max_angular_speed_deg: float
    max_jerk: float
    min_view_depth: float
    max_roll_deg: float
    inside_room: bool
    path_length: float
    violations: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_dict(self) -> dict:
        d = asdict(self)
        d["violations"] = list(self.violations)
        return {k: (round(v, 5) if isinstance(v, float) else v) for k, v in d.items()}


def speeds(positions: np.ndarray, fps: float) -> np.ndarray:
    return np.linalg.norm(np.diff(positions, axis=0), axis=1) * fps


def angular_speeds_deg(poses: np.ndarray, fps: float) -> np.ndarray:
    """Rotation angle between consecutive camera orientations, per second."""
    r = poses[:, :3, :3]
    rel = np.einsum("tji,tjk->tik", r[:-1], r[1:])
    cos = np.clip((np.trace(rel, axis1=1, axis2=2) - 1.0) / 2.0, -1.0, 1.0)
    return np.degrees(np.arccos(cos)) * fps


def jerks(positions: np.ndarray, fps: float) -> np.ndarray:
    if len(positions) < 4:
        return np.zeros(0)
    return np.linalg.norm(np.diff(positions, n=3, axis=0), axis=1) * fps ** 3


def roll_deg(poses: np.ndarray) -> np.ndarray:
    """Angle of the camera's x axis out of the horizontal plane (a level gimbal keeps it 0)."""
    return np.degrees(np.abs(np.arcsin(np.clip(poses[:, 2, 0], -1.0, 1.0))))


def view_depths(rc: RaycastScene, traj: Trajectory, grid: tuple[int, int] = (16, 12)) -> np.ndarray:
    """Median ray distance per frame over a grid of pixels: a frame filled by one nearby wall
    has a small median. A ray that hits nothing (out of a window, past an open side of the
    model) counts as depth 0, not as far away: a camera staring into empty space is not
    looking into the room, so a frame that is mostly sky fails the view-depth guarantee."""
    gx, gy = grid
    u = (np.arange(gx) + 0.5) / gx * traj.width
    v = (np.arange(gy) + 0.5) / gy * traj.height
    uu, vv = np.meshgrid(u, v)
    pix = np.stack([uu.ravel(), vv.ravel(), np.ones(uu.size)], axis=1)
    cam = pix @ np.linalg.inv(traj.K).T
    cam /= np.linalg.norm(cam, axis=1, keepdims=True)
    dirs = np.einsum("tij,nj->tni", traj.poses[:, :3, :3], cam)
    origins = np.broadcast_to(traj.positions[:, None, :], dirs.shape)
    t = rc.cast(origins, dirs)["t_hit"]
    t = np.where(np.isfinite(t), t, 0.0)
    return np.median(t, axis=1)


def measure(traj: Trajectory, rc: RaycastScene, room: Room, limits: MotionLimits) -> TrajectoryReport:
    p = traj.positions
    clearance = np.where(rc.occupied(p), 0.0, rc.distance(p))  # inside an object counts as touching it
    sp = speeds(p, traj.fps)
    ang = angular_speeds_deg(traj.poses, traj.fps)
    jk = jerks(p, traj.fps)
    depth = view_depths(rc, traj)
    rolls = roll_deg(traj.poses)
    inside = bool(np.all(room.contains_xy(p[:, :2])) and np.all(p[:, 2] > room.floor_z)
                  and np.all(p[:, 2] < room.ceiling_z))
    rep = dict(
        min_clearance=float(clearance.min()), max_speed=float(sp.max(initial=0.0)),
        max_angular_speed_deg=float(ang.max(initial=0.0)), max_jerk=float(jk.max(initial=0.0)),
        min_view_depth=float(depth.min()), max_roll_deg=float(rolls.max()), inside_room=inside,
        path_length=float(np.linalg.norm(np.diff(p, axis=0), axis=1).sum()),
    )
    v = []
    if rep["min_clearance"] < limits.min_clearance:
        v.append(f"camera {rep['min_clearance']:.3f} m from a surface (< {limits.min_clearance} m)")
    if rep["max_speed"] > limits.max_speed:
        v.append(f"speed {rep['max_speed']:.3f} m/s (> {limits.max_speed})")
    if rep["max_angular_speed_deg"] > limits.max_angular_speed_deg:
        v.append(f"angular speed {rep['max_angular_speed_deg']:.1f} deg/s (> {limits.max_angular_speed_deg})")
    if rep["max_jerk"] > limits.max_jerk:
        v.append(f"jerk {rep['max_jerk']:.3f} m/s^3 (> {limits.max_jerk})")
    if rep["min_view_depth"] < limits.min_view_depth:
        v.append(f"view depth {rep['min_view_depth']:.3f} m (< {limits.min_view_depth})")
    if rep["max_roll_deg"] > limits.max_roll_deg:
        v.append(f"roll {rep['max_roll_deg']:.2f} deg (> {limits.max_roll_deg})")
    if not inside:
        v.append("camera leaves the room")
    return TrajectoryReport(**rep, violations=tuple(v))
