"""``twin optimize``: the cheapest configuration that meets a KPI constraint.

The search evaluates every configuration of the design (a grid, or a Latin hypercube sample for
large spaces) with replications under common random numbers, through :func:`sweep`, then ranks.
It is exhaustive over the design rather than clever: with the batch runner and Dask a grid of a
few hundred configurations of a line model takes seconds to minutes, and the answer comes with
every alternative's confidence interval, which an engineer needs to trust it.

Cost: the sum of the named parameters' values (``--minimize b1.capacity,b2.capacity``; default all
swept parameters), e.g. total buffer space. Constraint: ``KPI >= X``, ``KPI <= X`` or
``KPI >= F * max`` (``max``: the best configuration's mean of that KPI), e.g.
``throughput_per_hour >= 0.95 * max``. A configuration is *feasible* when its mean meets the
constraint, and *surely feasible* when its whole 95% confidence interval does.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import UsageError
from .api import SweepResult, sweep
from .summary import SUMMARY_KPIS

__all__ = ["optimize", "OptimizeResult", "parse_constraint"]

_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=)\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"
                         r"\s*(\*\s*max|%\s*(?:of\s*)?max)?\s*$")


@dataclass(frozen=True)
class Constraint:
    kpi: str
    op: str
    value: float
    relative: bool  # value is a fraction of the best configuration's mean

    def threshold(self, summary: pd.DataFrame) -> float:
        if not self.relative:
            return self.value
        col = summary[f"{self.kpi}_mean"]
        return self.value * (col.max() if self.op == ">=" else col.min())

    def __str__(self) -> str:
        return f"{self.kpi} {self.op} {self.value:g}{' * max' if self.relative else ''}"


def parse_constraint(text: str) -> Constraint:
    """Parse ``KPI >= X``, ``KPI <= X``, ``KPI >= F * max`` or ``KPI >= P% of max``."""
    m = _CONSTRAINT.match(text)
    if not m:
        raise UsageError(f"--constraint {text!r}: expected 'KPI >= VALUE', 'KPI <= VALUE' or "
                         "'KPI >= FRACTION * max', e.g. 'throughput_per_hour >= 0.95 * max'")
    kpi, op, value, rel = m.group(1), m.group(2), float(m.group(3)), m.group(4)
    if kpi not in SUMMARY_KPIS:
        import difflib

        close = difflib.get_close_matches(kpi, SUMMARY_KPIS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UsageError(f"--constraint: unknown KPI {kpi!r}.{hint} Valid: {SUMMARY_KPIS}")
    if rel and "%" in rel:
        value /= 100.0
    return Constraint(kpi, op, value, bool(rel))


@dataclass
class OptimizeResult:
    """The answer, and the evidence for it.

    Attributes:
        best: the chosen configuration's parameters (None when no configuration is feasible).
        best_row: its summary row (means and CIs).
        ranking: every configuration with ``cost``, ``feasible``, ``surely_feasible``, cheapest first.
        threshold: the constraint's value in KPI units; ``sweep``: the underlying sweep.
    """

    best: dict[str, Any] | None
    best_row: pd.Series | None
    ranking: pd.DataFrame
    constraint: Constraint
    threshold: float
    cost_of: list[str]
    sweep: SweepResult

    def to_json(self) -> dict:
        return {"constraint": str(self.constraint), "threshold": self.threshold, "cost": " + ".join(self.cost_of),
                "best": self.best,
                "best_cost": None if self.best_row is None else float(self.best_row["cost"]),
                "best_kpi_mean": None if self.best_row is None else float(self.best_row[f"{self.constraint.kpi}_mean"]),
                "best_kpi_ci95": None if self.best_row is None else float(self.best_row[f"{self.constraint.kpi}_ci95"]),
                "best_surely_feasible": None if self.best_row is None else bool(self.best_row["surely_feasible"]),
                "configurations": len(self.ranking),
                "feasible": int(self.ranking["feasible"].sum())}


def optimize(scene, parameters: Any, *, constraint: str = "throughput_per_hour >= 0.95 * max",
             minimize: list[str] | None = None, **sweep_kwargs) -> OptimizeResult:
    """Search ``parameters`` for the cheapest configuration meeting ``constraint``.

    Args:
        scene, parameters: as for :func:`sweep` (the parameters to search and their values).
        constraint: see the module docstring.
        minimize: parameters whose values sum to the cost (default: all searched parameters).
        sweep_kwargs: passed to :func:`sweep` (replications, until, executor, out, ...).
    """
    cons = parse_constraint(constraint)
    result = sweep(scene, parameters, **sweep_kwargs)
    names = result.parameters
    if not names:
        raise UsageError("optimize needs at least one parameter to search (--set NAME=VALUES)")
    cost_of = list(minimize or names)
    unknown = [c for c in cost_of if c not in names]
    if unknown:
        raise UsageError(f"--minimize {unknown[0]!r} is not a searched parameter. Valid: {names}")
    ranking = result.summary.copy()
    for c in cost_of:
        if not pd.api.types.is_numeric_dtype(ranking[c]):
            raise UsageError(f"--minimize {c!r}: its values are not numbers, so they cannot add up to a cost")
    ranking["cost"] = ranking[cost_of].sum(axis=1)
    threshold = cons.threshold(ranking)
    mean, half = ranking[f"{cons.kpi}_mean"], ranking[f"{cons.kpi}_ci95"].fillna(0.0)
    if cons.op == ">=":
        ranking["feasible"], ranking["surely_feasible"] = mean >= threshold, mean - half >= threshold
    else:
        ranking["feasible"], ranking["surely_feasible"] = mean <= threshold, mean + half <= threshold
    # cheapest first; among equal costs the better KPI first
    ranking = ranking.sort_values(["cost", f"{cons.kpi}_mean"], ascending=[True, cons.op == "<="],
                                  kind="stable").reset_index(drop=True)
    feasible = ranking[ranking["feasible"]]
    best_row = feasible.iloc[0] if len(feasible) else None
    best = None if best_row is None else {n: _plain(best_row[n]) for n in names}
    res = OptimizeResult(best, best_row, ranking, cons, float(threshold), cost_of, result)
    if result.folder is not None:
        Path(result.folder, "optimize.json").write_text(json.dumps(res.to_json(), indent=2, default=str) + "\n")
    return res


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v
