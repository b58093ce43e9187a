"""JSON output that every parser accepts: NaN and infinities (undefined KPIs, such as a lead time
with no part out yet) become ``null``; NumPy numbers become plain ones."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

__all__ = ["dumps", "plain"]


def plain(value: Any) -> Any:
    """``value`` with non-finite floats as None, NumPy scalars and arrays as Python numbers and lists."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps(value: Any, **kwargs) -> str:
    """``json.dumps`` of :func:`plain` ``(value)``; never writes NaN or Infinity."""
    return json.dumps(plain(value), allow_nan=False, **kwargs)
