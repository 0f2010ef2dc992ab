"""Ray orchestration of InteriorVideo dataset builds (plan → render → shard → index).

Holds no rendering logic: it calls :mod:`interiorvideo`. Arrives with the dataset build issue.
"""
