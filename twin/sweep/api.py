"""``twin.sweep(...)``: run every configuration of a design study, with replications, and tabulate it.

Seeds and common random numbers: replication ``i`` of *every* configuration uses seed
``seed + i`` (``seed`` defaults to the scene's ``sim.seed``). Every random stream is derived from
(seed, entity name, purpose), so configuration A and B see the same arrivals, process times and
failures wherever their elements are the same; differences between them are then the design's,
not noise. The warm-up is the scene's ``sim.warmup_s`` (per configuration, so it can be swept)
unless ``warmup`` is given.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import UsageError
from ..scene.durations import parse_duration_s
from ..scene.models import Scene
from . import execute
from .params import SceneTemplate
from .runner import KPI_COLUMNS, Task
from .spec import Parameter, SweepSpec, parse_set, parse_values
from .store import SweepFolder
from .summary import summarize, summary_records

__all__ = ["sweep", "SweepResult", "EXECUTORS", "prepare"]

EXECUTORS = ("auto", "serial", "batch", "dask", "processes")
MAX_CHUNK = 128  # replications per task at most (default chunking)


@dataclass
class SweepResult:
    """What a sweep returns.

    Attributes:
        runs: the results table, one row per run (columns in docs/experiments.md).
        summary: one row per configuration with means and 95% CI half-widths.
        parameters: the swept parameter names (columns of both tables).
        executor: where the runs ran; ``ran``: runs run now (the rest came from a resumed folder).
        wall_s: wall time of the runs; ``folder``: the output folder, if any.
    """

    runs: pd.DataFrame
    summary: pd.DataFrame
    parameters: list[str]
    executor: str
    ran: int
    wall_s: float
    folder: Path | None = None
    failed: pd.DataFrame = field(default_factory=pd.DataFrame)

    def _repr_html_(self) -> str:  # notebooks show the summary
        return self.summary._repr_html_()


def _spec(parameters: Any, design: str, samples: int | None, sample_seed: int) -> SweepSpec:
    if isinstance(parameters, SweepSpec):
        return parameters
    params = []
    if isinstance(parameters, dict):
        for name, values in parameters.items():
            vals, lo, hi, integer = parse_values(f"parameter {name}", values)
            params.append(Parameter(str(name), vals, lo, hi, integer))
    elif parameters:
        params = [parse_set(text) for text in parameters]
    return SweepSpec(params, design=design, samples=samples, sample_seed=sample_seed)


def _cell(value: Any) -> Any:
    """A table cell: scalars as they are, mappings and lists as JSON text (Parquet needs one type)."""
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list | tuple) else value


@dataclass
class Prepared:
    """A validated sweep, ready to run: scene template, configurations and run settings."""

    template: SceneTemplate
    spec: SweepSpec
    configurations: list[dict[str, Any]]
    scenes: list[Scene]
    replications: int
    seed: int
    until_s: float
    warmup_s: float | None
    scene_label: str

    def manifest(self) -> dict:
        import hashlib

        data = json.dumps(self.template.source.data, sort_keys=True, default=str).encode()
        return {"scene": self.scene_label, "scene_sha256": hashlib.sha256(data).hexdigest(),
                "parameters": [p.name for p in self.spec.parameters], "design": self.spec.design,
                "configurations": [{k: _cell(v) for k, v in c.items()} for c in self.configurations],
                "replications": self.replications, "seed": self.seed, "until_s": self.until_s,
                "warmup_s": self.warmup_s, "seeds": f"replication i uses seed {self.seed} + i in every configuration"}


def _seconds(what: str, value: Any) -> float:
    try:
        return parse_duration_s(value)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{what}: {exc}") from None


def prepare(scene: str | Path | Scene, parameters: Any = None, *, replications: int = 10,
            until: float | str | None = None, warmup: float | str | None = None, seed: int | None = None,
            design: str = "grid", samples: int | None = None, sample_seed: int = 0) -> Prepared:
    """Validate a sweep completely (names, values, every configuration's scene) before anything runs."""
    if isinstance(scene, Scene):
        template, label = SceneTemplate.from_scene(scene), scene.name or "<scene>"
    else:
        template, label = SceneTemplate.from_path(scene), str(scene)
    spec = _spec(parameters, design, samples, sample_seed)
    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 1:
        raise UsageError(f"replications must be an integer >= 1, got {replications!r}")
    for p in spec.parameters:
        template.resolve(p.name)
    configurations = spec.configurations()
    scenes = [template.build(c) for c in configurations]
    base = template.base
    if until is None and base.sim.until is None:
        raise UsageError("no run length: give until (--until 8h) or set sim.until in the scene")
    until_s = _seconds("until", until if until is not None else base.sim.until)
    if not until_s > 0:
        raise UsageError(f"until must be > 0, got {until!r}")
    warmup_s = None if warmup is None else _seconds("warmup", warmup)
    for config, sc in zip(configurations, scenes, strict=True):
        warm = sc.sim.warmup_s if warmup_s is None else warmup_s
        if warm >= until_s:
            shown = f" (configuration {config})" if config else ""
            raise UsageError(f"warm-up ({warm:g} s) must be shorter than the run ({until_s:g} s){shown}")
    seed_v = base.sim.seed if seed is None else int(seed)
    if seed_v < 0:
        raise UsageError(f"seed must be >= 0, got {seed_v}")
    return Prepared(template, spec, configurations, scenes, replications, seed_v, until_s, warmup_s, label)


def _tasks(prep: Prepared, done: set[tuple[int, int]], chunk: int, mode: str) -> list[Task]:
    tasks = []
    for cid in range(len(prep.configurations)):
        missing = [r for r in range(prep.replications) if (cid, r) not in done]
        for i in range(0, len(missing), chunk):
            reps = tuple(missing[i:i + chunk])
            tasks.append(Task(cid, reps, tuple(prep.seed + r for r in reps), prep.until_s,
                              prep.warmup_s, mode))
    return tasks


def sweep(scene: str | Path | Scene, parameters: Any = None, *, replications: int = 10,
          until: float | str | None = None, warmup: float | str | None = None, seed: int | None = None,
          design: str = "grid", samples: int | None = None, sample_seed: int = 0,
          executor: str = "auto", scheduler: str | None = None, client: Any = None, workers: int | None = None,
          chunk: int | None = None, retries: int = 2, out: str | Path | None = None, resume: bool = False,
          table_format: str = "parquet", plots: bool = True,
          progress: Callable[[int, int], None] | bool | None = None) -> SweepResult:
    """Run a sweep and return its results table and per-configuration summary.

    Args:
        scene: a scene file or a loaded :class:`Scene`.
        parameters: {name: values} (values as on the command line: ``"2..10"``, ``[0.8, 1.0]``, a
            scalar), a list of ``"NAME=VALUES"`` strings, or a :class:`SweepSpec`.
        replications: runs per configuration; replication ``i`` uses seed ``seed + i`` everywhere.
        until, warmup: run length and warm-up (seconds or ``"8h"``); default the scene's ``sim``.
        design, samples, sample_seed: ``grid``, or ``lhs`` with ``samples`` points.
        executor: ``serial`` / ``batch`` (this process), ``dask`` (a LocalCluster, ``scheduler``, or
            ``client``), ``processes`` (a process pool); ``auto``: Dask when there is work for more
            than one worker (a process pool without Dask), else batch here.
        chunk: replications per task (default: enough tasks to balance the workers).
        retries: times a failed task is run again before its runs are reported as failed.
        out: folder for sweep.json, runs.jsonl, runs.parquet/csv, summary.json/csv, plots/.
        resume: finish the sweep already in ``out`` (only the missing runs are run).
        table_format: ``parquet`` or ``csv`` for runs and summary tables.
        progress: True for a progress bar, or a function called with (runs done, runs total).

    Raises:
        UsageError: a bad parameter name or value, run length, option or unreachable scheduler.
    """
    if executor not in EXECUTORS:
        raise UsageError(f"executor must be one of {list(EXECUTORS)}, got {executor!r}")
    if table_format not in ("parquet", "csv"):
        raise UsageError(f"table format must be 'parquet' or 'csv', got {table_format!r}")
    if chunk is not None and chunk < 1:
        raise UsageError(f"chunk must be >= 1, got {chunk}")
    prep = prepare(scene, parameters, replications=replications, until=until, warmup=warmup, seed=seed,
                   design=design, samples=samples, sample_seed=sample_seed)
    names = [p.name for p in prep.spec.parameters]
    folder = SweepFolder(out, prep.manifest(), resume) if out is not None else None
    finished = folder.finished() if folder else {}
    total = len(prep.configurations) * prep.replications
    todo = total - len(finished)
    n_workers = workers or os.cpu_count() or 1
    if executor == "auto":
        if scheduler is not None or client is not None:
            executor = "dask"
        elif n_workers > 1 and todo > n_workers:
            executor = "dask" if execute.dask_available() else "processes"
        else:
            executor = "batch"
    if executor == "dask" and client is None and not execute.dask_available():
        raise UsageError("executor 'dask' needs the distributed package (pip install distributed); "
                         "use executor 'processes' instead")
    mode = "serial" if executor == "serial" else "batch"

    def make_tasks(n_workers: int) -> list[Task]:
        size = chunk
        if size is None:
            # in this process: a configuration per task; on workers: about four tasks per worker, to
            # balance. Capped, because a batch holds every replication's state (and lead-time log) at once.
            share = prep.replications if executor in ("serial", "batch") else math.ceil(todo / (4 * n_workers))
            size = max(1, min(prep.replications, share, MAX_CHUNK))
        return _tasks(prep, set(finished), size, mode)

    rows: list[dict] = list(finished.values())
    configs = prep.configurations
    report = _progress(progress, total)
    if rows:
        report(len(rows))  # a resumed sweep starts where it stopped

    def done(task: Task, task_rows: list[dict] | None, exc: BaseException | None) -> None:
        if task_rows is None:  # retried and still failing: every run of the task is reported
            message = f"{type(exc).__name__}: {exc}".splitlines()[0]
            task_rows = [{"config_id": task.config_id, "replication": r, "seed": s, "status": "failed",
                          "error": message} for r, s in zip(task.replications, task.seeds, strict=True)]
        for row in task_rows:
            row.update({n: _cell(configs[task.config_id][n]) for n in names})
        if folder:
            folder.append(task_rows)
        rows.extend(task_rows)
        report(len(rows))

    started = time.perf_counter()
    scenes = prep.scenes
    try:
        if todo == 0:
            pass
        elif executor in ("serial", "batch"):
            execute.run_inprocess(scenes, make_tasks(1), done, retries)
        elif executor == "processes":
            execute.run_processes(scenes, make_tasks(n_workers), done, retries, n_workers)
        else:
            own = client is None
            dask_client = execute.connect(scheduler, workers) if own else client
            try:
                threads = sum(dask_client.nthreads().values())
                execute.run_dask(dask_client, scenes, make_tasks(max(1, threads)), done, retries)
            finally:
                if own:
                    _close(dask_client)
    finally:
        report(None)
    wall = time.perf_counter() - started

    runs = _table(rows, names)
    summary = summarize(runs, names)
    result = SweepResult(runs, summary, names, executor, len(rows) - len(finished), wall,
                         Path(out) if out is not None else None, runs[runs["status"] != "ok"])
    if folder:
        _write(folder.folder, result, prep, table_format, plots)
    return result


def _close(client) -> None:
    cluster = client.cluster
    client.close()
    if cluster is not None:
        cluster.close()


def _table(rows: list[dict], names: list[str]) -> pd.DataFrame:
    columns = ["config_id", "replication", "seed", *names, "status", "error", *KPI_COLUMNS]
    df = pd.DataFrame(rows, columns=columns)
    df = df.sort_values(["config_id", "replication"], kind="stable").reset_index(drop=True)
    df["deadlock"] = df["deadlock"].fillna(False).astype(bool)
    df["bottleneck"] = df["bottleneck"].fillna("").astype(str)
    df["error"] = df["error"].fillna("").astype(str)
    df["good"] = df["good"].astype("Int64")
    return df


def _write(folder: Path, result: SweepResult, prep: Prepared, table_format: str, plots: bool) -> None:
    if table_format == "parquet":
        result.runs.to_parquet(folder / "runs.parquet", index=False)
    else:
        result.runs.to_csv(folder / "runs.csv", index=False)
    result.summary.to_csv(folder / "summary.csv", index=False)  # small: always readable as text
    doc = {**prep.manifest(), "executor": result.executor, "runs_total": len(result.runs),
           "runs_ok": int((result.runs["status"] == "ok").sum()), "runs_failed": len(result.failed),
           "runs_this_session": result.ran, "wall_s": round(result.wall_s, 3),
           "failed": result.failed[["config_id", "replication", "seed", "error"]].to_dict("records"),
           "summary": summary_records(result.summary, result.parameters)}
    (folder / "summary.json").write_text(json.dumps(doc, indent=2, default=str) + "\n")
    if plots and result.parameters:
        from .plots import write_plots

        write_plots(result.summary, result.runs, result.parameters, folder / "plots")


def _progress(progress, total: int) -> Callable[[int | None], None]:
    """A function called with runs done (None at the end) that drives ``progress``."""
    if callable(progress):
        return lambda n: progress(n, total) if n is not None else None
    if not progress:
        return lambda n: None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="run", desc="sweep", dynamic_ncols=True)

    def update(n: int | None) -> None:
        if n is None:
            bar.close()
        else:
            bar.update(n - bar.n)

    return update
