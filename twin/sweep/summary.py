"""Per-configuration means and 95% confidence intervals of a sweep's runs.

Each configuration's KPI is averaged over its successful replications with a Student-t 95%
interval (``twin.stats.mean_ci95``). Because replication ``i`` uses the same seed in every
configuration (common random numbers), the difference between a configuration and the first one
is also given as a *paired* interval over the replications: it is usually much tighter than the
two separate intervals suggest, which is the point of common random numbers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..replications import SUMMARY_KEYS
from ..stats import mean_ci95

__all__ = ["summarize", "summary_records", "SUMMARY_KPIS"]

SUMMARY_KPIS = list(SUMMARY_KEYS)


def summarize(runs: pd.DataFrame, parameters: list[str], reference: int | None = None) -> pd.DataFrame:
    """One row per configuration: its parameters, ``n`` (ok runs), ``failed``, ``deadlocks``, and for
    every KPI ``<kpi>_mean`` and ``<kpi>_ci95``; for throughput also ``throughput_per_hour_diff`` and
    ``throughput_per_hour_diff_ci95``, paired over replications against configuration ``reference``
    (default: the first).
    """
    rows = []
    ok = runs[runs["status"] == "ok"]
    ref_id = int(runs["config_id"].min()) if reference is None else reference
    ref = ok[ok["config_id"] == ref_id].set_index("replication")["throughput_per_hour"]
    for cid, group in runs.groupby("config_id", sort=True):
        good = group[group["status"] == "ok"]
        row: dict[str, Any] = {"config_id": int(cid)}
        row.update({p: group[p].iloc[0] for p in parameters})
        row.update(n=len(good), failed=int((group["status"] != "ok").sum()),
                   deadlocks=int(good["deadlock"].astype(bool).sum()) if len(good) else 0)
        for kpi in SUMMARY_KPIS:
            mean, half = mean_ci95(good[kpi].astype(float).tolist())
            row[f"{kpi}_mean"], row[f"{kpi}_ci95"] = mean, half
        paired = good.set_index("replication")["throughput_per_hour"].sub(ref).dropna()
        row["throughput_per_hour_diff"], row["throughput_per_hour_diff_ci95"] = mean_ci95(paired.tolist())
        rows.append(row)
    return pd.DataFrame(rows)


def _clean(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def summary_records(summary: pd.DataFrame, parameters: list[str]) -> list[dict]:
    """The summary as JSON-ready records: parameters, counts, and {kpi: {mean, ci95_half_width}}."""
    out = []
    for _, r in summary.iterrows():
        rec = {"config_id": int(r["config_id"]), "parameters": {p: _clean(r[p]) for p in parameters},
               "n": int(r["n"]), "failed": int(r["failed"]), "deadlocks": int(r["deadlocks"]), "kpis": {}}
        for kpi in SUMMARY_KPIS:
            rec["kpis"][kpi] = {"mean": _clean(r[f"{kpi}_mean"]), "ci95_half_width": _clean(r[f"{kpi}_ci95"])}
        rec["throughput_per_hour_diff_vs_reference"] = {
            "mean": _clean(r["throughput_per_hour_diff"]),
            "ci95_half_width": _clean(r["throughput_per_hour_diff_ci95"])}
        out.append(rec)
    return out
