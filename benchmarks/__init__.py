"""x2v-bench: tasks, metrics, method adapters and the runner writing Parquet results."""

__version__ = "0.1.0"
