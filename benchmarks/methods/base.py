"""What a method adapter is: inputs it receives (:class:`MethodInput`), what it returns (:class:`MethodOutput`),
and the :class:`Method` base class every adapter — built in or from an entry point — derives from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np

SPACES = ("linear", "display")


@dataclass
class MethodInput:
    """One call of a method on one task and clip.

    ``intrinsics``: pass → (T, H, W, C) float32 in the schema layout (a subset for render-partial).
    ``local_prompts``: ((T, H, W) bool mask, text) pairs. ``reference``: (H, W, 3) linear HDR or None.
    ``camera``: K (3, 3) and poses (T, 4, 4) (OpenCV, ``interiorvideo.schema``). ``ground_truth`` is
    given only to methods with ``needs_ground_truth`` (the oracle); None otherwise.
    ``call``: which call of the unit this is (``main``, ``base``, ``dim``: see :mod:`benchmarks.tasks`).
    """

    task: str
    clip: str
    call: str
    intrinsics: dict[str, np.ndarray]
    prompt: str
    seed: int
    fps: float
    camera: dict
    frames: int
    local_prompts: tuple[tuple[np.ndarray, str], ...] = ()
    reference: np.ndarray | None = None
    ground_truth: np.ndarray | None = None


@dataclass
class MethodOutput:
    """``frames``: (T, H, W, 3); ``space="linear"``: float linear HDR radiance, ``"display"``: sRGB
    (uint8, or floats in [0, 1]). ``seconds``/``model_calls``: the method's own cost, if it knows it."""

    frames: np.ndarray
    space: str = "linear"
    seconds: float | None = None
    model_calls: int | None = None
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.space not in SPACES:
            raise ValueError(f"output space must be one of {SPACES}, got {self.space!r}")


class Method:
    """A method adapter. Subclasses set ``name`` and ``description`` and implement :meth:`run`.

    ``in_process = True`` runs the method's units in the driver process instead of Ray tasks (a GPU
    model loaded once). ``needs_ground_truth`` gives :attr:`MethodInput.ground_truth` (oracles only).
    Options reach :meth:`from_options` as a mapping (``checkpoint``, ``steps``, ``root``…); an adapter
    takes the ones it knows.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    needs_ground_truth: ClassVar[bool] = False
    in_process: ClassVar[bool] = False

    @classmethod
    def from_options(cls, name: str, options: Mapping[str, Any]) -> "Method":
        obj = cls()
        obj.name = name
        return obj

    def fingerprint(self) -> dict:
        """What determines this method's outputs besides its inputs (e.g. checkpoint, steps): a unit
        computed under another fingerprint is not reused by a resumed run."""
        return {}

    def check(self, units: Sequence[tuple[str, str, tuple[str, ...]]]) -> None:
        """Pre-flight check before a run over ``(task, clip, calls)`` units; raise a clear error early."""

    def run(self, inp: MethodInput) -> MethodOutput:
        raise NotImplementedError
