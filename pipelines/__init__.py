"""Ray orchestration of InteriorVideo dataset builds (plan → render → shard → index).

Holds no rendering logic: workers call :mod:`interiorvideo`. ``build_dataset`` runs on the local
machine by default and on an existing Ray cluster with an address.
"""

from .build import BuildReport, build_dataset
from .plan import BuildConfig, ClipJob, make_plan

__all__ = ["BuildConfig", "BuildReport", "ClipJob", "build_dataset", "make_plan"]
