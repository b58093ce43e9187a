"""Small statistics helpers: means with Student-t 95% confidence intervals."""

from __future__ import annotations

import functools
import math

import numpy as np

__all__ = ["t_quantile_975", "mean_ci95"]


@functools.lru_cache(maxsize=1024)
def t_quantile_975(df: int) -> float:
    """The 0.975 quantile of Student's t with ``df`` degrees of freedom (exact, from SciPy)."""
    if df < 1:
        return float("nan")
    from scipy.stats import t  # imported on first use: a second or so that most runs never need

    return float(t.ppf(0.975, df))


def mean_ci95(values) -> tuple[float, float]:
    """(mean, half-width of the 95% confidence interval); half-width is nan for fewer than 2 values."""
    arr = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if arr.size == 0:
        return float("nan"), float("nan")
    if arr.size == 1:
        return float(arr[0]), float("nan")
    return float(arr.mean()), float(t_quantile_975(arr.size - 1) * arr.std(ddof=1) / math.sqrt(arr.size))
