"""Independent replications of a scene, run in parallel across cores, summarised with 95% CIs.

Replication ``i`` uses seed ``seed + i``: every random stream is derived from (seed, entity, purpose)
by a hash, so replications are independent and any one of them can be re-run alone. Workers are
processes (one per core); numba's on-disk cache means compilation is paid once per machine, not per
worker. A scene the core runs alone (``twin.core.batch.batch_supported``) is run in chunks of
replications by one ``BatchRun`` per process, compiled once and reset in place between seeds
(``BatchRun.replicate``), which saves the per-run Python set-up and gives exactly the KPIs of one
``Twin`` per seed; other scenes build one ``Twin`` per replication.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

from .orchestrator import Twin
from .scene.models import Scene
from .stats import mean_ci95

__all__ = ["run_replications", "summarize", "SUMMARY_KEYS", "STATION_SUMMARY_KEYS"]

#: Scalar KPIs summarised across replications: name -> function of one replication's KPI dict.
SUMMARY_KEYS: dict[str, Callable[[dict], float]] = {
    "throughput_per_hour": lambda k: k["throughput"]["per_hour"],
    "throughput_total": lambda k: k["throughput"]["total"],
    "wip_avg": lambda k: k["wip_avg"],
    "lead_time_mean_s": lambda k: k["lead_time_s"]["mean"],
    "lead_time_p50_s": lambda k: k["lead_time_s"]["p50"],
    "lead_time_p95_s": lambda k: k["lead_time_s"]["p95"],
    "line_oee": lambda k: k["line_oee"],
    "yield": lambda k: k["yield"],
    "first_pass_yield": lambda k: k["first_pass_yield"],
    "scrapped": lambda k: k["scrapped"],
    "rejected": lambda k: k["rejected"],
}

_WORKER_SCENE: Scene | None = None
_WORKER_BATCH = None  # this process's BatchRun of _WORKER_SCENE, kept between the chunks of one call


def _init_worker(scene: Scene) -> None:
    """Set the scene of this process's replications. Its batch is built again on the next chunk:
    one ``run_replications`` call never sees a changed scene, but a later call might (a scene
    object's lists can be changed in place, and its identity would not tell)."""
    global _WORKER_SCENE, _WORKER_BATCH
    _WORKER_SCENE = scene
    _WORKER_BATCH = None


def _run_one(args: tuple[int, float, float | None]) -> dict:
    seed, until, warmup = args
    tw = Twin(_WORKER_SCENE, seed=seed, trace=False, warmup_s=warmup)
    tw.run(until=until, check_deadlock=False)
    kpis = tw.kpis()
    kpis["seed"] = seed
    kpis["deadlock"] = tw.deadlocked()
    return kpis


def _run_chunk(args: tuple[list[int], float, float | None]) -> list[dict]:
    """Replications of a core-only scene, one per seed, in this process's batch (same KPIs as
    ``_run_one``). The batch is built on a process's first chunk and reset for each replication."""
    from .core.batch import BatchRun

    global _WORKER_BATCH
    seeds, until, warmup = args
    scene = _WORKER_SCENE
    if _WORKER_BATCH is None:
        _WORKER_BATCH = BatchRun(scene, [seeds[0]])
    out = _WORKER_BATCH.replicate(seeds, until, scene.sim.warmup_s if warmup is None else warmup)
    for seed, kpis in zip(seeds, out, strict=True):
        kpis["seed"] = seed
    return out


def _run_twins(args: tuple[list[int], float, float | None]) -> list[dict]:
    """Replications of any scene, one ``Twin`` per seed."""
    seeds, until, warmup = args
    return [_run_one((seed, until, warmup)) for seed in seeds]


def _chunks(n: int, workers: int) -> list[tuple[int, int]]:
    """(first index, size) of each task: at most 20 replications (about 1 ms of set-up each, and smooth
    progress), shrinking as the end nears (guided scheduling: a quarter of each worker's share of what
    is left), so that the workers finish within a replication or two of each other instead of one
    waiting for the other's last 20 (0.4 s of the benchmark line's shifts)."""
    out = []
    i = 0
    while i < n:
        size = max(1, min(20, -(-(n - i) // (4 * workers))))
        out.append((i, size))
        i += size
    return out


def run_replications(scene: Scene, n: int, until: float, seed: int, warmup_s: float | None = None,
                     workers: int | None = None, progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """Run ``n`` replications (seeds ``seed .. seed+n-1``) and return their KPI dicts in seed order.

    Args:
        workers: processes to use; default one per core (1 runs in this process).
        progress: called with (done, n) after each chunk of replications.
    """
    from .core.batch import batch_supported

    workers = min(n, workers or os.cpu_count() or 1)
    tasks = [([seed + j for j in range(i, i + size)], until, warmup_s) for i, size in _chunks(n, workers)]
    run = _run_chunk if batch_supported(scene) else _run_twins
    if run is _run_chunk and workers > 1:  # load the kernels once here: forked workers inherit them
        _init_worker(scene)
        _run_chunk(([seed], 1.0, 0.0))
    results: list[dict] = []

    def collect(out: list[dict]) -> None:
        results.extend(out)
        if progress:
            progress(len(results), n)

    if workers <= 1:
        _init_worker(scene)
        for task in tasks:
            collect(run(task))
        return results
    # fork starts workers in milliseconds with the compiled kernels already loaded
    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(scene,)) as pool:
        for out in pool.map(run, tasks):
            collect(out)
    return results


#: per-station KPIs summarised across replications, as ``station/<name>/<kpi>``
STATION_SUMMARY_KEYS = ("busy_frac", "setup_frac", "idle_frac", "blocked_frac", "down_frac", "off_shift_frac",
                        "availability", "performance", "quality", "oee", "processed")


def summarize(runs: list[dict]) -> dict[str, dict[str, float]]:
    """Mean and 95% CI half-width across ``runs`` of each :data:`SUMMARY_KEYS` KPI, of each part
    type's throughput (``throughput_per_hour/<type>``) and of each station's
    :data:`STATION_SUMMARY_KEYS` (``station/<name>/<kpi>``)."""
    out = {}

    def add(key: str, values) -> None:
        mean, half = mean_ci95([float(v) for v in values])
        out[key] = {"mean": mean, "ci95_half_width": half, "n": len(runs)}

    for key, get in SUMMARY_KEYS.items():
        add(key, [get(k) for k in runs])
    for ptype in runs[0]["throughput"]["per_part_type_per_hour"]:
        add(f"throughput_per_hour/{ptype}", [k["throughput"]["per_part_type_per_hour"][ptype] for k in runs])
    for i, station in enumerate(runs[0]["stations"]):
        for metric in STATION_SUMMARY_KEYS:
            add(f"station/{station['name']}/{metric}", [k["stations"][i][metric] for k in runs])
    return out
