"""Camera trajectories: smooth, collision-free walks through a room, in the clip contract's
OpenCV camera convention, with the guarantees measured against the scene geometry."""

from .camera import Trajectory, intrinsics, look_at
from .checks import MotionLimits, TrajectoryReport, measure
from .planner import NoValidTrajectoryError, TrajectorySettings, plan_trajectory

__all__ = [
    "MotionLimits", "NoValidTrajectoryError", "Trajectory", "TrajectoryReport", "TrajectorySettings", "intrinsics",
    "look_at", "measure", "plan_trajectory",
]
