"""Smooth, collision-free camera walks through a room.

free-space map at camera height (open3d distances) → waypoints → shortest paths on a
clearance-weighted cost grid (scikit-image's minimum-cost-path) → smoothing spline (SciPy) →
arc-length timing at walking speed with raised-cosine ease-in/out → gently varying height and
pitch → a yaw track chosen by dynamic programming over ray-cast view depth, so the camera looks
into the room rather than at a wall → look-at poses. Every candidate is then measured against
the real geometry (``checks.measure``); a room where no candidate passes gets a clear error.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import interpolate
from scipy.ndimage import gaussian_filter1d
from skimage.graph import route_through_array

from ..scene.model import Scene
from ..scene.raycast import RaycastScene, build_raycast_scene
from .camera import Trajectory, intrinsics, look_at
from .checks import MotionLimits, measure
from .freespace import FreeSpaceMap, free_space_map


class NoValidTrajectoryError(ValueError):
    """A room offers no path that meets the motion and clearance guarantees."""


@dataclass(frozen=True)
class TrajectorySettings:
    limits: MotionLimits = field(default_factory=MotionLimits)
    hfov_deg: float = 70.0
    width: int = 512
    height: int = 512
    camera_height: tuple[float, float] = (1.25, 1.6)  # metres above the floor
    height_wobble: tuple[float, float] = (0.01, 0.04)  # amplitude of the slow bob, metres
    pitch_deg: tuple[float, float] = (-14.0, -4.0)  # negative looks down
    cruise_speed: tuple[float, float] = (0.3, 0.5)  # m/s
    ease_s: float = 1.5  # ramp duration; clips shorter than 3 ramps move at constant speed
    planning_margin: float = 0.12  # clearance the planner keeps beyond limits.min_clearance
    grid_resolution: float = 0.05
    yaw_step_deg: float = 5.0
    yaw_station_s: float = 0.25
    max_attempts: int = 10
    floor_tolerance: float = 0.08  # m: a horizontal surface this close to the floor height is walkable (rugs)
    body_radius: float = 0.25  # the walker keeps this far from non-walkable footprints
    max_curvature: float = 2.5  # 1/m: no turn tighter than a 0.4 m radius


def _polyline_length(p: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(p, axis=0), axis=1).sum()) if len(p) > 1 else 0.0


def _resample_polyline(p: np.ndarray, step: float) -> np.ndarray:
    seg = np.linalg.norm(np.diff(p, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    if s[-1] < step:
        return p[[0, -1]]
    t = np.linspace(0.0, s[-1], int(np.ceil(s[-1] / step)) + 1)
    return np.stack([np.interp(t, s, p[:, 0]), np.interp(t, s, p[:, 1])], axis=1)


class _Walk:
    """One attempt: waypoints and grid paths for a given random stream."""

    def __init__(self, fmap: FreeSpaceMap, rng: np.random.Generator, min_clear: float):
        self.fmap, self.rng = fmap, rng
        c = np.where(fmap.free, fmap.clearance, np.inf)
        # Cheap in open space, expensive near things: paths keep to the middle of free space.
        self.cost = np.where(fmap.free, 1.0 + 0.6 / np.maximum(c - min_clear + 0.05, 0.05), np.inf)
        self.cost[~fmap.free] = 1e6
        self.cells = np.argwhere(fmap.free)

    def path(self, length_needed: float, max_waypoints: int = 12) -> np.ndarray:
        weights = np.minimum(self.fmap.clearance[tuple(self.cells.T)], 1.5)
        weights = weights / weights.sum()
        cur = self.cells[self.rng.choice(len(self.cells), p=weights)]
        pts = [self.fmap.cell_to_world(cur)[None]]
        heading = None
        total = 0.0
        for _ in range(max_waypoints):
            cand = self.cells[self.rng.choice(len(self.cells), size=min(64, len(self.cells)), replace=False)]
            d = np.linalg.norm((cand - cur) * self.fmap.resolution, axis=1)
            score = np.minimum(d, 3.0) + 0.3 * self.rng.random(len(cand))
            if heading is not None:
                v = (cand - cur)[:, ::-1].astype(np.float64)
                cosang = (v @ heading) / np.maximum(np.linalg.norm(v, axis=1), 1e-9)
                score = score * (0.25 + 0.75 * (1 + cosang) / 2)  # prefer to keep walking forward
                score[cosang < -0.2] = -np.inf  # no U-turns: a cusp means a jerk spike
            score[d < 0.6] = -np.inf
            if not np.isfinite(score).any():
                break
            nxt = cand[int(np.argmax(score))]
            idx, _ = route_through_array(self.cost, tuple(cur), tuple(nxt), fully_connected=True, geometric=True)
            seg = self.fmap.cell_to_world(np.asarray(idx))
            pts.append(seg[1:])
            total += _polyline_length(seg)
            heading = (seg[-1] - seg[max(0, len(seg) - 6)])
            heading = heading / max(np.linalg.norm(heading), 1e-9)
            cur = nxt
            if total >= length_needed:
                break
        return np.concatenate(pts)


def _smooth_path(fmap: FreeSpaceMap, poly: np.ndarray, min_ok: float,
                 max_curvature: float) -> tuple[np.ndarray, np.ndarray] | None:
    """Fit a smoothing spline, relaxing smoothing until the curve keeps its clearance.

    Returns dense points and their cumulative arc length, or None if no fit stays clear."""
    pts = _resample_polyline(poly, 0.15)
    if len(pts) < 4:
        pts = np.stack([np.linspace(pts[0, 0], pts[-1, 0], 4), np.linspace(pts[0, 1], pts[-1, 1], 4)], axis=1)
    for smooth in (0.02, 0.01, 0.004, 0.001, 0.0):
        try:
            tck, _ = interpolate.splprep(pts.T, s=smooth * len(pts), k=3)
        except (ValueError, TypeError):
            return None
        u = np.linspace(0.0, 1.0, max(400, 40 * len(pts)))
        dense = np.stack(interpolate.splev(u, tck), axis=1)
        if fmap.clearance_at(dense).min() >= min_ok:
            d1 = np.stack(interpolate.splev(u, tck, der=1), axis=1)
            d2 = np.stack(interpolate.splev(u, tck, der=2), axis=1)
            speed = np.maximum(np.linalg.norm(d1, axis=1), 1e-12)
            curvature = np.abs(d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]) / speed ** 3
            if curvature.max() > max_curvature:
                return None  # too tight a turn for a walking camera; try other waypoints
            s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(dense, axis=0), axis=1))])
            return dense, s
    return None


def _arc_length_at(times: np.ndarray, duration: float, ramp: float, v: float) -> np.ndarray:
    """Distance walked at each time: raised-cosine ramps up and down, cruising at ``v`` between
    (continuous acceleration, bounded jerk)."""
    t = np.asarray(times, dtype=np.float64)
    if ramp <= 0:
        return v * t
    up = v / 2 * (t - ramp / np.pi * np.sin(np.pi * t / ramp))
    s_ramp = v * ramp / 2
    mid = s_ramp + v * (t - ramp)
    tr = duration - t
    total = 2 * s_ramp + v * (duration - 2 * ramp)
    down = total - v / 2 * (tr - ramp / np.pi * np.sin(np.pi * tr / ramp))
    return np.where(t < ramp, up, np.where(t > duration - ramp, down, mid))


def _yaw_track(rc: RaycastScene, stations: np.ndarray, headings: np.ndarray, pitch: float, dt: float,
               s: TrajectorySettings) -> np.ndarray:
    """Per-station yaw maximising view depth, with bounded change between stations (Viterbi)."""
    step = np.radians(s.yaw_step_deg)
    yaws = np.arange(0.0, 2 * np.pi, step)
    half = np.radians(s.hfov_deg) / 2 * 0.9
    offsets = np.linspace(-half, half, 7)
    pitches = np.array([pitch, pitch - np.radians(12.0)])
    shape = (len(yaws), len(offsets), len(pitches))
    ang = np.broadcast_to(yaws[:, None, None] + offsets[None, :, None], shape)
    cp, sp = np.cos(pitches)[None, None, :], np.broadcast_to(np.sin(pitches)[None, None, :], shape)
    dirs = np.stack([cp * np.cos(ang), cp * np.sin(ang), sp], axis=-1)  # (yaw, offset, pitch, 3)
    K = len(stations)
    origins = np.broadcast_to(stations[:, None, None, None, :], (K,) + dirs.shape)
    t = rc.cast(origins, np.broadcast_to(dirs, origins.shape))["t_hit"]
    # A ray that leaves the model (a window, an open side) counts as no depth at all: look into
    # the room, not out of it.
    t = np.minimum(np.where(np.isfinite(t), t, 0.0), 6.0).reshape(K, len(yaws), -1)
    view = np.median(t, axis=2) - 2.0 * (t.min(axis=2) < 0.6)
    heading_yaw = np.arctan2(headings[:, 1], headings[:, 0])
    unary = -view + 1.0 * (1 - np.cos(yaws[None, :] - heading_yaw[:, None])) / 2
    max_bins = max(1, int(np.floor(np.radians(s.limits.max_angular_speed_deg) * 0.5 * dt / step)))
    shifts = np.arange(-max_bins, max_bins + 1)
    trans = 2.0 * (shifts * step) ** 2 / dt
    cost = unary[0].copy()
    back = np.zeros((K, len(yaws)), dtype=np.int64)
    for k in range(1, K):
        cand = np.stack([np.roll(cost, sh) for sh in shifts]) + trans[:, None]  # cand[i, j]: from j - shift
        best = np.argmin(cand, axis=0)
        back[k] = (np.arange(len(yaws)) - shifts[best]) % len(yaws)
        cost = cand[best, np.arange(len(yaws))] + unary[k]
    j = int(np.argmin(cost))
    path = [j]
    for k in range(K - 1, 0, -1):
        j = int(back[k, j])
        path.append(j)
    return np.unwrap(yaws[np.array(path[::-1])])


def plan_trajectory(scene: Scene, room_id: int, frames: int, fps: float, seed: int,
                    settings: TrajectorySettings | None = None, rc: RaycastScene | None = None) -> Trajectory:
    """Plan ``frames`` camera poses at ``fps`` through room ``room_id``, deterministically from ``seed``."""
    s = settings or TrajectorySettings()
    lim = s.limits
    if frames < 2:
        raise ValueError(f"a trajectory needs at least 2 frames, got {frames}")
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    room = scene.room(room_id)
    rc = rc or build_raycast_scene(scene)
    base_rng = np.random.default_rng([seed, room_id])
    h0 = float(base_rng.uniform(*s.camera_height))
    amp = float(base_rng.uniform(*s.height_wobble))
    band = (h0 - amp - 0.05, h0, h0 + amp + 0.05)
    plan_clear = lim.min_clearance + s.planning_margin
    fmap = free_space_map(rc, room, band, plan_clear, s.grid_resolution, s.body_radius, s.floor_tolerance)
    if fmap.free_area < 0.3:
        raise NoValidTrajectoryError(
            f"room {room_id} ({room.kind}) of {scene.name}: only {fmap.free_area:.2f} m² of free space at camera "
            f"height {h0:.2f} m with {plan_clear:.2f} m clearance; a camera path needs at least 0.30 m² "
            f"({fmap.clear_area:.2f} m² is that far from every surface, {fmap.floor_area:.2f} m² is above a floor: a "
            f"horizontal surface within {s.floor_tolerance} m of the room's floor height {room.floor_z:.2f} m)")

    duration = (frames - 1) / fps
    ramp = s.ease_s if duration >= 3 * s.ease_s else 0.0
    times = np.arange(frames) / fps
    failures: list[str] = []
    for attempt in range(s.max_attempts):
        rng = np.random.default_rng([seed, room_id, attempt + 1])
        v = float(rng.uniform(*s.cruise_speed))
        needed = v * (duration - ramp)
        poly = _Walk(fmap, rng, plan_clear).path(needed + 0.3)
        fit = _smooth_path(fmap, poly, lim.min_clearance + s.planning_margin / 2, s.max_curvature)
        if fit is None:
            failures.append("no smooth path kept its clearance and turn radius")
            continue
        dense, arclen = fit
        if arclen[-1] < needed:
            v *= arclen[-1] / needed  # a small room: walk more slowly rather than leave it
            needed = arclen[-1]
        dist = _arc_length_at(times, duration, ramp, v)
        xy = np.stack([np.interp(dist, arclen, dense[:, 0]), np.interp(dist, arclen, dense[:, 1])], axis=1)
        period, phase = float(rng.uniform(4.0, 8.0)), float(rng.uniform(0, 2 * np.pi))
        z = room.floor_z + h0 + amp * np.sin(2 * np.pi * times / period + phase)
        positions = np.concatenate([xy, z[:, None]], axis=1)

        pitch0 = np.radians(float(rng.uniform(*s.pitch_deg)))
        n_st = max(2, int(np.ceil(duration / s.yaw_station_s)) + 1)
        st_times = np.linspace(0.0, duration, n_st)
        st_dist = _arc_length_at(st_times, duration, ramp, v)
        st_xy = np.stack([np.interp(st_dist, arclen, dense[:, 0]), np.interp(st_dist, arclen, dense[:, 1])], axis=1)
        st_pos = np.concatenate([st_xy, np.full((n_st, 1), room.floor_z + h0)], axis=1)
        ahead = np.stack([np.interp(st_dist + 0.05, arclen, dense[:, 0]),
                          np.interp(st_dist + 0.05, arclen, dense[:, 1])], axis=1) - st_xy
        if np.linalg.norm(ahead, axis=1).max() < 1e-6:
            ahead = np.tile([[1.0, 0.0]], (n_st, 1))
        yaw_st = _yaw_track(rc, st_pos, ahead, pitch0, st_times[1] - st_times[0], s)
        yaw = np.interp(times, st_times, yaw_st)
        yaw = gaussian_filter1d(yaw, sigma=max(1.0, 0.5 * fps), mode="nearest")
        pitch = pitch0 + np.radians(1.5) * np.sin(2 * np.pi * times / (period * 1.3) + phase / 2)
        look = np.stack([np.cos(pitch) * np.cos(yaw), np.cos(pitch) * np.sin(yaw), np.sin(pitch)], axis=1)
        poses = look_at(positions, positions + 2.0 * look)
        traj = Trajectory(intrinsics(s.width, s.height, s.hfov_deg), poses, float(fps), s.width, s.height,
                          scene.name, room_id, seed, {**asdict(s), "attempt": attempt + 1})
        report = measure(traj, rc, room, lim)
        if report.ok:
            traj.report = report.to_dict()
            return traj
        failures.append("; ".join(report.violations))
    raise NoValidTrajectoryError(
        f"room {room_id} ({room.kind}) of {scene.name}: no trajectory of {frames} frames at {fps} fps met the "
        f"guarantees after {s.max_attempts} attempts; last problems: {failures[-1] if failures else 'none'}")
