"""Leaderboard reports: Parquet results → aggregated tables, plots, static HTML and Markdown."""
