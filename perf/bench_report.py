"""Leaderboard report generation time on a large synthetic evaluation.

    python perf/bench_report.py                  # 10 methods × 8 tasks × 200 clips, 16 frames
    python perf/bench_report.py --methods 3 --tasks 2 --clips 20 --repeats 1

Synthesises one results folder (metrics with control metrics on the edit tasks and one method's
LPIPS missing, per-frame tables for the fidelity and temporal metrics, preview videos for 4 clips),
then times :func:`leaderboard.build_report` on it (best of ``--repeats``) and prints the stage times
of one extra instrumented run, the row counts and the sizes of what it wrote.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from leaderboard import build_report

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the synthetic results fixture
from synthetic_results import tiny_mp4, write_synthetic  # noqa: E402

TASKS = ["rgb_from_x", "rgb_from_x_ref", "rgb_from_x_text", "long_video", "edit_albedo", "edit_material",
         "edit_lighting", "edit_local_text"]


def stage_times(results: Path, out: Path) -> dict[str, float]:
    """The report's stages timed one by one (same calls as build_report)."""
    from leaderboard.aggregate import aggregate
    from leaderboard.load import load_results
    from leaderboard.markdown import render_markdown
    from leaderboard.media import copy_previews, select_clips
    from leaderboard.render import render_page
    from leaderboard.report import make_plots

    t = {}
    s = time.perf_counter(); res = load_results([results]); t["load"] = time.perf_counter() - s
    s = time.perf_counter(); agg = aggregate(res.metrics); t["aggregate+bootstrap"] = time.perf_counter() - s
    s = time.perf_counter(); plots = make_plots(res, agg); t["plots"] = time.perf_counter() - s
    s = time.perf_counter(); prev = copy_previews(res, select_clips(res, None, 4), out); t["videos"] = time.perf_counter() - s
    s = time.perf_counter(); render_page(res, agg, plots=plots, previews=prev, seed=0); render_markdown(agg, 0)
    t["html+markdown"] = time.perf_counter() - s
    return t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--methods", type=int, default=10)
    ap.add_argument("--tasks", type=int, default=8)
    ap.add_argument("--clips", type=int, default=200)
    ap.add_argument("--clips-per-scene", type=int, default=4)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--keep", type=Path, default=None, help="write results and site here instead of a temp dir")
    a = ap.parse_args()

    tasks = (TASKS * (a.tasks // len(TASKS) + 1))[: a.tasks] if a.tasks <= len(TASKS) else [f"task{i}" for i in range(a.tasks)]
    methods = ["x2video"] + [f"baseline_{i}" for i in range(1, a.methods)]
    with tempfile.TemporaryDirectory() as tmp:
        root = a.keep or Path(tmp)
        s = time.perf_counter()
        results = write_synthetic(root / "results", methods, tasks, a.clips, clips_per_scene=a.clips_per_scene,
                                  frames=a.frames, missing={methods[-1]: "LPIPS weights not found (give --lpips-weights)"},
                                  videos=[(t, "clip0000") for t in tasks[:4]], video_bytes=tiny_mp4((90, 120, 160)))
        print(f"synthesised {len(methods)} methods × {len(tasks)} tasks × {a.clips} clips "
              f"({a.frames} frames) in {time.perf_counter() - s:.1f} s")
        best, summary = float("inf"), None
        for i in range(a.repeats):
            summary = build_report([results], root / "site")
            best = min(best, summary.seconds)
            print(f"  build_report run {i + 1}: {summary.seconds:.2f} s")
        for k, v in stage_times(results, root / "site").items():
            print(f"  stage {k:22s} {v:6.2f} s")
        size = lambda p: p.stat().st_size / 1e6  # noqa: E731
        pf = sum(size(p) for p in results.glob("*.parquet"))
        print(f"input: {summary.rows} metric rows ({summary.missing} missing), parquet {pf:.1f} MB")
        print(f"output: index.html {size(summary.index):.2f} MB, leaderboard.md {size(summary.markdown) * 1e3:.1f} kB, "
              f"leaderboard.parquet {size(summary.parquet) * 1e3:.1f} kB, {len(summary.media)} videos")
        print(f"report generation: {best:.2f} s (best of {a.repeats})")


if __name__ == "__main__":
    main()
