"""One task of a sweep: some replications of one configuration, run where the task lands.

This is the code a worker process executes. It receives the configured scene ready-made (built
and validated once, in the process that starts the sweep, robot-cell cycles included; Dask ships
each configuration's scene to a worker once), and ``warm_up`` loads numba's kernels once per
worker process, so a task only runs.

A task runs its replications with the batch runner (``twin.core.batch``: the scene compiled once,
one state reset between replications) when the scene is core-only, else one ``Twin`` after another. Both give identical results for a seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import TwinError
from ..replications import SUMMARY_KEYS
from ..scene.models import Scene

__all__ = ["Task", "run_task", "kpi_row", "KPI_COLUMNS", "MODES", "warm_up"]

#: KPI columns of the results table, one value per run (see docs/experiments.md).
KPI_COLUMNS = [*SUMMARY_KEYS, "good", "deadlock", "bottleneck"]
#: How a task runs its replications: ``batch`` (the batch runner, core-only scenes, else serial),
#: ``serial`` (one Twin per replication).
MODES = ("batch", "serial")

@dataclass(frozen=True)
class Task:
    """Replications ``replications`` (seeds ``seeds``) of configuration ``config_id``."""

    config_id: int
    replications: tuple[int, ...]
    seeds: tuple[int, ...]
    until_s: float
    warmup_s: float | None  # None: the configured scene's sim.warmup_s
    mode: str = "batch"

    @property
    def key(self) -> str:
        return f"c{self.config_id}-r{self.replications[0]}-{self.replications[-1]}"


def kpi_row(kpis: dict) -> dict[str, Any]:
    """The results-table KPI columns of one run's KPI dict."""
    row: dict[str, Any] = {key: float(get(kpis)) for key, get in SUMMARY_KEYS.items()}
    row["good"] = int(kpis["good"])
    row["deadlock"] = bool(kpis.get("deadlock"))
    row["bottleneck"] = kpis.get("bottleneck") or ""
    return row


def _serial(scene, seed: int, until_s: float, warmup_s: float) -> dict:
    from ..orchestrator import Twin

    tw = Twin(scene, seed=seed, trace=False, warmup_s=warmup_s)
    tw.run(until=until_s, check_deadlock=False)
    kpis = tw.kpis()
    kpis["deadlock"] = tw.deadlocked()
    return kpis


def run_task(scene: Scene, task: Task) -> list[dict[str, Any]]:
    """Run ``task`` on ``scene`` (its configuration, built and validated by the caller); one row per
    replication: ids, seed, status, error and the KPI columns.

    A run that fails with a :class:`TwinError` (a zero-time loop, say) is a row with status
    ``failed`` and its message: it would fail the same way again. Any other exception (a worker
    out of memory, a lost connection) propagates, so that the executor retries the task.
    """
    from ..core.batch import batch_supported, run_replications_batch

    warmup = scene.sim.warmup_s if task.warmup_s is None else task.warmup_s
    results: list[dict | TwinError] = []
    if task.mode == "batch" and batch_supported(scene):
        try:
            results = list(run_replications_batch(scene, list(task.seeds), task.until_s, warmup))
        except TwinError:
            results = []  # find which replication failed, one by one
    if not results:
        for seed in task.seeds:
            try:
                results.append(_serial(scene, seed, task.until_s, warmup))
            except TwinError as exc:
                results.append(exc)
    rows = []
    for rep, seed, res in zip(task.replications, task.seeds, results, strict=True):
        row: dict[str, Any] = {"config_id": task.config_id, "replication": rep, "seed": seed}
        if isinstance(res, TwinError):
            row.update(status="failed", error=str(res).splitlines()[0])
            row.update({k: math.nan for k in SUMMARY_KEYS})
        else:
            row.update(status="ok", error="")
            row.update(kpi_row(res))
        rows.append(row)
    return rows


def warm_up() -> float:
    """Load (or compile) the numba kernels in this process; return the seconds it took."""
    import time

    from ..core.batch import run_replications_batch
    from ..scene.loader import scene_from_data

    t0 = time.perf_counter()
    scene = scene_from_data({"version": 1, "part_types": [{"name": "p"}],
                             "sources": [{"name": "src", "to": "m", "always_available": True}],
                             "stations": [{"name": "m", "to": "out", "process_time": 1.0}],
                             "sinks": [{"name": "out"}]})
    run_replications_batch(scene, [0], 5.0, 0.0)
    _serial(scene, 0, 5.0, 0.0)
    return time.perf_counter() - t0
