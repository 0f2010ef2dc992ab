"""Plan walks through every room of many generated scenes and report failures and the worst
measured guarantee values (what docs/performance.md quotes).

    python perf/trajectory_sweep.py --seeds 25
"""

from __future__ import annotations

import argparse

from interiorvideo.scene import generate_scene
from interiorvideo.scene.raycast import build_raycast_scene
from interiorvideo.trajectory import NoValidTrajectoryError, plan_trajectory

WORST = {"max_jerk": max, "max_angular_speed_deg": max, "max_speed": max, "min_clearance": min,
         "min_view_depth": min}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=25)
    ap.add_argument("--frames", type=int, nargs="+", default=[16, 96, 240])
    args = ap.parse_args()
    worst: dict[str, float] = {}
    attempts, n, failures = [], 0, []
    for seed in range(args.seeds):
        scene = generate_scene(seed)
        rc = build_raycast_scene(scene)
        for room in scene.rooms:
            for frames in args.frames:
                n += 1
                try:
                    traj = plan_trajectory(scene, room.room_id, frames, 24.0, seed, rc=rc)
                except NoValidTrajectoryError as exc:
                    failures.append(str(exc))
                    continue
                attempts.append(traj.settings["attempt"])
                for k, pick in WORST.items():
                    worst[k] = pick(worst.get(k, traj.report[k]), traj.report[k])
    print(f"{n} trajectories ({args.seeds} scenes x rooms x frames {args.frames}): {len(failures)} failed, "
          f"mean attempts {sum(attempts) / max(len(attempts), 1):.2f}, max attempts {max(attempts, default=0)}")
    print("worst measured: " + ", ".join(f"{k} {v:.3f}" for k, v in worst.items()))
    for f in failures:
        print("  FAILED:", f)


if __name__ == "__main__":
    main()
