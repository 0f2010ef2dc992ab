"""Ray orchestration of InteriorVideo dataset builds (plan → render → shard → index writer).

Holds no rendering logic (workers call :mod:`interiorvideo`) and reads no dataset (that is
:mod:`interiorvideo.dataset`). Public names: ``BuildConfig``, ``make_plan``, ``build_dataset``
(local Ray by default, a cluster with an address), ``BuildReport``, ``SceneSource`` and
``SourceError`` (:mod:`.sources` — user scenes: checked, hashed, frozen into the build folder);
:mod:`.ray_pool` — the one way onto Ray (``init_ray``, ``ray_session``, ``map_unordered``); :mod:`.cli` — the ``build`` verb.
"""

from .build import BuildReport, build_dataset
from .plan import BuildConfig, ClipJob, make_plan
from .sources import SceneSource, SourceError

__all__ = ["BuildConfig", "BuildReport", "ClipJob", "SceneSource", "SourceError", "build_dataset", "make_plan"]
