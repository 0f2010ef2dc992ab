"""The project's one way onto Ray: start a local Ray (or reach a cluster) with a clear error, and map a remote
function over many inputs with a bounded number of tasks in flight, yielding each result as it finishes.

Used by the dataset build (:mod:`pipelines.build`) and by x2v-bench's runner. Ray's own pools do not fit
these fan-outs: ``ray.util.ActorPool`` and ``ray.util.multiprocessing.Pool`` run on actors (no per-task
``max_retries`` / ``retry_exceptions`` / ``memory``) and raise a failed task's error without saying
which input it was; here every result comes back with its input and its error, so a caller records
the failure and carries on.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Sequence

import ray

#: Object store of a local Ray: enough for clips in flight, small enough for a laptop.
LOCAL_OBJECT_STORE_BYTES = 512 * 1024 * 1024


class RayUnavailable(RuntimeError):
    """Ray could not be started locally or reached at a cluster address; the message says which and why."""


def init_ray(address: str | None = None, workers: int | None = None) -> bool:
    """Connect to the Ray cluster at ``address``, else start a local Ray with ``workers`` CPUs (default: all).

    An already initialised Ray is used as it is. Returns whether this call started Ray. Raises
    :class:`RayUnavailable` when Ray cannot be started or reached.
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if ray.is_initialized():
        return False
    try:
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=workers or os.cpu_count(), include_dashboard=False, log_to_driver=False,
                     object_store_memory=LOCAL_OBJECT_STORE_BYTES)
    except Exception as exc:  # ConnectionError, RuntimeError, TimeoutError, ValueError…
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise RayUnavailable(f"could not start or reach {where}: {type(exc).__name__}: {exc}") from exc
    return True


@contextmanager
def ray_session(address: str | None = None, workers: int | None = None, keep: bool = False) -> Iterator[dict]:
    """Ray for the ``with`` block (see :func:`init_ray`); yields the cluster's resources. A local Ray this
    started is shut down afterwards, also on an error, unless ``keep``; a cluster or a Ray the caller
    started is left running."""
    started = init_ray(address, workers)
    try:
        yield dict(ray.cluster_resources())
    finally:
        if started and not address and not keep:
            ray.shutdown()


def default_in_flight() -> int:
    """Tasks in flight: two per CPU of the cluster (so no CPU idles while a result is handled)."""
    return max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))


_DONE = object()


def map_unordered(fn: Any, inputs: Iterable[Sequence[Any]], *, in_flight: int | None = None,
                  between: Iterable[Callable[[], Any]] = ()) -> Iterator[tuple[Sequence[Any], Any, Exception | None]]:
    """``fn.remote(*args)`` for every ``args`` of ``inputs`` (``fn``: a ``ray.remote`` function, its
    retries set there), at most ``in_flight`` at once (default :func:`default_in_flight`); yields
    ``(args, result, None)`` or ``(args, None, error)`` for each task as it finishes (a task that
    failed after its retries).

    ``between``: work for this process (e.g. methods that must run in the driver): one job runs per
    turn, while tasks are in flight, and every job has run when the iterator ends. An error in a job
    is raised to the caller.
    """
    cap = in_flight or default_in_flight()
    todo, jobs = iter(inputs), iter(between)
    pending: dict = {}
    submitting, local = True, True
    while True:
        while submitting and len(pending) < cap:
            args = next(todo, _DONE)
            if args is _DONE:
                submitting = False
            else:
                pending[fn.remote(*args)] = args
        if local:
            job = next(jobs, _DONE)
            if job is _DONE:
                local = False
            else:
                job()
        if not pending:
            if not (submitting or local):
                return
            continue
        ready, _ = ray.wait(list(pending), num_returns=1, timeout=0 if local else None)
        for ref in ready:
            args = pending.pop(ref)
            try:
                result, error = ray.get(ref), None
            except Exception as exc:  # the task failed (or its worker died) after its retries
                result, error = None, exc
            yield args, result, error


__all__ = ["RayUnavailable", "default_in_flight", "init_ray", "map_unordered", "ray_session"]
