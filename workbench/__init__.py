"""The composition layer: what spans the five packages and belongs to none of them.

* :mod:`workbench.demo` — the main job end to end (build → train → bench → report), ``x2v demo``;
* :mod:`workbench.cli` — the three command lines as users see them, each a package's own commands
  plus the verbs that chain packages: ``interiorvideo`` (+ ``build`` from :mod:`pipelines`),
  ``x2v`` (+ ``demo``), ``x2v-bench`` (+ ``report`` from :mod:`leaderboard`).

It sits above every package (interiorvideo < pipelines < x2video < benchmarks < leaderboard <
workbench), so it may call any of them directly; no package imports it.
"""

from .demo import BASELINES, DemoConfig, DemoResult, DemoStageError, run_demo

__all__ = ["BASELINES", "DemoConfig", "DemoResult", "DemoStageError", "run_demo"]
