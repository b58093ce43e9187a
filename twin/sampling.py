"""Draws of scene distributions for the Python-side models (AGV fleets, per-part inspection timing).

The core draws from its own numba streams; these models use NumPy generators seeded per entity
from the scene seed (``twin.core.rng.stream_seed``), with the same semantics (a normal truncated at
0 by resampling, a lognormal given by its mean and standard deviation).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["draw"]


def draw(dist, rng: np.random.Generator) -> float:
    """One draw of scene distribution ``dist`` from ``rng``."""
    kind = dist.dist
    if kind == "constant":
        return float(dist.value)
    if kind == "exponential":
        return float(rng.exponential(dist.mean))
    if kind == "uniform":
        return float(rng.uniform(dist.low, dist.high))
    if kind == "triangular":
        return float(rng.triangular(dist.low, dist.mode, dist.high))
    if kind == "normal":  # truncated at 0 by resampling, as in the core
        while True:
            x = float(rng.normal(dist.mean, dist.std))
            if x >= 0.0:
                return x
    if kind == "lognormal":
        sigma2 = math.log(1.0 + (dist.std / dist.mean) ** 2)
        return float(rng.lognormal(math.log(dist.mean) - 0.5 * sigma2, math.sqrt(sigma2)))
    if kind == "empirical":
        return float(dist.samples[int(rng.integers(len(dist.samples)))])
    raise ValueError(f"unsupported distribution {kind!r}")
