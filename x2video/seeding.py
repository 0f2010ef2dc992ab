"""Seeded generators as pure functions of (seed, coordinates): a training step's or a frame's
randomness does not depend on what ran before it, which makes resume exact and samples stable."""

from __future__ import annotations

import numpy as np
import torch


def step_generator(seed: int, *parts: int) -> torch.Generator:
    """A CPU generator for (seed, *parts), e.g. (seed, step, micro-batch, rank) or (seed, frame)."""
    state = np.random.SeedSequence([int(seed), *map(int, parts)]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))
