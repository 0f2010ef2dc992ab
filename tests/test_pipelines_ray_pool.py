"""The one Ray helper: results come back with their inputs (a failed task as its error), work for the driver
runs between them, and a Ray that cannot start is a clear error."""

from __future__ import annotations

import json

import pytest
import ray

from pipelines import ray_pool
from pipelines.ray_pool import RayUnavailable, init_ray, map_unordered, ray_session


def test_map_unordered_returns_each_result_with_its_input_and_runs_local_work_between():
    local = []
    inputs = [(json.dumps(i),) for i in range(5)] + [("not json",)]
    with ray_session(workers=2) as resources:
        assert resources["CPU"] == 2
        loads = ray.remote(num_cpus=1, max_retries=0)(json.loads)  # an importable function: any worker has it
        got = {args[0]: (result, error) for args, result, error in
               map_unordered(loads, inputs, in_flight=2, between=[lambda i=i: local.append(i) for i in range(3)])}
    assert not ray.is_initialized()  # the session started this Ray, so it shut it down
    assert {k: r for k, (r, e) in got.items() if e is None} == {json.dumps(i): i for i in range(5)}
    assert "Expecting value" in str(got["not json"][1])
    assert local == [0, 1, 2]


def test_a_ray_that_cannot_start_is_a_clear_error(monkeypatch):
    def refuse(**kw):
        raise ConnectionError("GCS not reachable")

    monkeypatch.setattr(ray_pool.ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray_pool.ray, "init", refuse)
    with pytest.raises(RayUnavailable, match=r"could not start or reach the Ray cluster at 10.0.0.1:6379: "
                                             r"ConnectionError: GCS not reachable"):
        init_ray("10.0.0.1:6379")
    with pytest.raises(RayUnavailable, match="could not start or reach a local Ray instance"):
        with ray_session(workers=1):
            pass
