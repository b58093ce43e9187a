"""Experiment commands: ``twin sweep`` and ``twin optimize``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from .cli import _fail, app, err, out
from .errors import TwinError, UsageError

_SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", help="NAME=VALUES: a scene parameter and its values: 2..10, 0.8..1.2:0.1, 0.8,1.0 or one value; "
                  "repeatable (every combination is run)")]
_SpecOpt = Annotated[Path | None, typer.Option("--spec", help="YAML sweep spec (parameters, design, replications, "
                                                             "until...); --set and other options add to it")]
_Reps = Annotated[int | None, typer.Option(help="replications per configuration (default 10); replication i "
                                                "uses seed SEED+i in every configuration")]
_Until = Annotated[str | None, typer.Option(help="run length, e.g. 8h (default: scene sim.until)")]
_Warm = Annotated[str | None, typer.Option(help="warm-up excluded from KPIs (default: scene sim.warmup_s)")]
_Seed = Annotated[int | None, typer.Option(help="first seed (default: scene sim.seed)")]
_Lhs = Annotated[int | None, typer.Option("--lhs", help="sample N configurations by Latin hypercube instead of "
                                                        "the full grid")]
_Out = Annotated[Path | None, typer.Option("--out", help="folder for runs, summary and plots")]
_Resume = Annotated[bool, typer.Option(help="finish the sweep already in --out (runs only the missing runs)")]
_Sched = Annotated[str | None, typer.Option(help="Dask scheduler address (tcp://host:8786); default: a local "
                                                 "cluster")]
_Exec = Annotated[str, typer.Option(help="auto, batch (this process, batch runner), serial (this process), dask, "
                                         "processes")]
_Workers = Annotated[int | None, typer.Option(min=1, help="local workers (default: cores)")]
_Format = Annotated[str, typer.Option("--format", help="runs table: parquet or csv")]


def _options(spec: Path | None, scene: Path | None, sets: list[str] | None, lhs: int | None,
             replications: int | None, until: str | None, warmup: str | None, seed: int | None):
    from .sweep.spec import SweepSpec, load_spec_file, parse_set

    base = load_spec_file(spec) if spec else SweepSpec([])
    params = list(base.parameters) + [parse_set(s) for s in sets or []]
    design, samples = ("lhs", lhs) if lhs is not None else (base.design, base.samples)
    scene_path = scene
    if scene_path is None and "scene" in base.settings:
        scene_path = (spec.parent / str(base.settings["scene"])) if spec else Path(base.settings["scene"])
    if scene_path is None:
        raise UsageError("give the scene file (twin sweep line.yaml ...) or 'scene:' in the --spec file")
    s = base.settings
    kwargs = dict(replications=replications if replications is not None else s.get("replications", 10),
                  until=until if until is not None else s.get("until"),
                  warmup=warmup if warmup is not None else s.get("warmup"),
                  seed=seed if seed is not None else s.get("seed"))
    return scene_path, SweepSpec(params, design=design, samples=samples, sample_seed=base.sample_seed), kwargs


def _run(kind: str, scene, spec_obj, kwargs: dict, **extra):
    from .sweep import optimize, sweep

    bar: Progress | None = None
    task = None

    def progress(done: int, total: int) -> None:
        nonlocal bar, task
        if bar is None:  # started by the first report, so that bad input shows no empty bar
            bar = Progress(TextColumn(f"[bold]{kind}[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("runs"),
                           TimeRemainingColumn(), console=err)
            bar.start()
            task = bar.add_task(kind, total=total)
        bar.update(task, completed=done, total=total)

    try:
        if kind == "optimize":
            return optimize(scene, spec_obj, progress=progress, **kwargs, **extra)
        return sweep(scene, spec_obj, progress=progress, **kwargs, **extra)
    except KeyboardInterrupt:
        if bar is not None:
            bar.stop()
        where = extra.get("out")
        err.print(f"interrupted: the finished runs are journalled in {where}/runs.jsonl; run the same command "
                  "with --resume to finish" if where else "interrupted (without --out nothing was kept)",
                  highlight=False)
        raise typer.Exit(130) from None
    finally:
        if bar is not None:
            bar.stop()


def _fmt(mean: float, half: float) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "-"
    return f"{mean:,.1f}" + ("" if half is None or math.isnan(half) else f" ± {half:,.1f}")


def _print_summary(result, limit: int = 40) -> None:
    s = result.summary
    table = Table(*result.parameters, "n", "throughput (parts/h)", "WIP", "lead time (s)", "OEE",
                  title=f"{len(s)} configuration(s) x {result.runs['replication'].nunique()} replication(s); "
                        f"mean ± 95% CI", title_justify="left")
    for r in s.head(limit).to_dict("records"):
        table.add_row(*[f"{r[p]:.4g}" if isinstance(r[p], float) else str(r[p]) for p in result.parameters], f"{r['n']}" + (f" ({r['failed']} failed)" if
                                                                             r["failed"] else ""),
                      _fmt(r["throughput_per_hour_mean"], r["throughput_per_hour_ci95"]),
                      _fmt(r["wip_avg_mean"], r["wip_avg_ci95"]),
                      _fmt(r["lead_time_mean_s_mean"], r["lead_time_mean_s_ci95"]),
                      f"{r['line_oee_mean']:.3f}" if not math.isnan(r["line_oee_mean"]) else "-")
    out.print(table)
    if len(s) > limit:
        out.print(f"... {len(s) - limit} more configuration(s) in the summary files", highlight=False)
    ran = f"{result.ran} run(s) in {result.wall_s:.1f} s on {result.executor}"
    out.print(ran + (f"; wrote {result.folder}/ (runs, summary.json, summary.csv, plots/)" if result.folder else ""),
              highlight=False)


def _failed(result) -> None:
    if len(result.failed):
        first = result.failed.iloc[0]
        err.print(f"error: {len(result.failed)} run(s) failed after retries (they are listed in summary.json; "
                  f"--resume reruns them); first: configuration {first['config_id']}, replication "
                  f"{first['replication']}: {first['error']}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)


@app.command("sweep")
def sweep_cmd(
    scene: Annotated[Path | None, typer.Argument(help="scene YAML file")] = None,
    sets: _SetOpt = None, spec: _SpecOpt = None, replications: _Reps = None, until: _Until = None,
    warmup: _Warm = None, seed: _Seed = None, lhs: _Lhs = None, output: _Out = None, resume: _Resume = False,
    scheduler: _Sched = None, executor: _Exec = "auto", workers: _Workers = None, table_format: _Format = "parquet",
    plots: Annotated[bool, typer.Option(help="write plots (main effects, throughput vs parameter)")] = True,
) -> None:
    """Run every configuration of scene parameters with replications; tabulate KPIs with 95% CIs."""
    try:
        scene_path, spec_obj, kwargs = _options(spec, scene, sets, lhs, replications, until, warmup, seed)
        result = _run("sweep", scene_path, spec_obj, kwargs, out=output, resume=resume, scheduler=scheduler,
                      executor=executor, workers=workers, table_format=table_format, plots=plots)
    except TwinError as exc:
        _fail(exc)
    _print_summary(result)
    _failed(result)


@app.command("optimize")
def optimize_cmd(
    scene: Annotated[Path | None, typer.Argument(help="scene YAML file")] = None,
    sets: _SetOpt = None, spec: _SpecOpt = None,
    constraint: Annotated[str, typer.Option(help="KPI >= VALUE, KPI <= VALUE or KPI >= FRACTION * max")]
    = "throughput_per_hour >= 0.95 * max",
    minimize: Annotated[str | None, typer.Option(help="comma-separated parameters whose sum is the cost "
                                                      "(default: all searched parameters)")] = None,
    replications: _Reps = None, until: _Until = None, warmup: _Warm = None, seed: _Seed = None, lhs: _Lhs = None,
    output: _Out = None, resume: _Resume = False, scheduler: _Sched = None, executor: _Exec = "auto",
    workers: _Workers = None, table_format: _Format = "parquet",
) -> None:
    """Find the cheapest configuration (sum of parameters) that meets a KPI constraint."""
    from .sweep.optimize import parse_constraint

    try:
        parse_constraint(constraint)  # a bad constraint fails before any run
        scene_path, spec_obj, kwargs = _options(spec, scene, sets, lhs, replications, until, warmup, seed)
        cost = [c.strip() for c in minimize.split(",") if c.strip()] if minimize else None
        result = _run("optimize", scene_path, spec_obj, kwargs, constraint=constraint, minimize=cost, out=output,
                      resume=resume, scheduler=scheduler, executor=executor, workers=workers,
                      table_format=table_format)
    except TwinError as exc:
        _fail(exc)
    _print_summary(result.sweep, limit=15)
    kpi = result.constraint.kpi
    if result.best is None:
        err.print(f"no configuration meets {result.constraint} (threshold {result.threshold:,.2f})")
        raise typer.Exit(1)
    row = result.best_row
    out.print(f"[bold]best[/]: {', '.join(f'{k}={v}' for k, v in result.best.items())} (cost {row['cost']:g}); "
              f"{kpi} {_fmt(row[f'{kpi}_mean'], row[f'{kpi}_ci95'])} against {result.constraint} = "
              f"{result.threshold:,.2f}"
              + ("" if row["surely_feasible"] else " (within the CI of the threshold: add replications to be sure)"),
              highlight=False)
    _failed(result.sweep)
