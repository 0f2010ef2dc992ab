"""x2v-bench: score video renderers on fidelity, temporal consistency and controllability into
Parquet results. Public names, by module:

* :mod:`.runner` — ``RunConfig``, ``run_benchmark`` (Ray over clips, resumable), ``RunReport``;
* :mod:`.tasks` — the task registry (``TASKS``, ``get_task``, ``register_task``);
* :mod:`.metrics` — the metric registry (``METRICS``, ``compute``, ``compute_set``; FVD and paired
  metrics are cards like any other), :mod:`.metrics.lpips_offline` — LPIPS backbones offline;
* :mod:`.methods` — method adapters (``make_method``, ``available_methods``; entry points
  ``x2v_bench.methods``); :mod:`.scoring` — one unit scored; :mod:`.units` — the resumable unit
  store; :mod:`.tables` — units merged into the tables and ``run.json``;
* :mod:`.results` — the results contract (schemas, version, ``read_table``/``write_table``);
* :mod:`.compare` — two clips scored directly; :mod:`.cli` — ``x2v-bench`` (less ``report``, which
  the leaderboard adds through the workbench).
"""

__version__ = "0.1.0"
