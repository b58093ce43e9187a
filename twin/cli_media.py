"""Media commands: ``twin record`` (video along the scene's camera path) and ``twin report`` (HTML KPI report)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .cli import _duration, _fail, app, err, out
from .errors import TwinError, UsageError


@app.command()
def record(
    scene: Annotated[Path, typer.Argument(help="scene YAML file")],
    output: Annotated[Path | None, typer.Option("--out", help=".mp4 or .gif file (default: <scene>.mp4)")] = None,
    duration: Annotated[str, typer.Option(help="video length, e.g. 60 or 1min")] = "20",
    fps: Annotated[float, typer.Option(help="frames per second of video (GIF: a divisor of 100)")] = 30.0,
    width: Annotated[int, typer.Option(help="frame width in pixels")] = 1280,
    height: Annotated[int, typer.Option(help="frame height in pixels")] = 720,
    speed: Annotated[float | None, typer.Option(help="simulated seconds per video second (default 60)")] = None,
    sim_seconds: Annotated[str | None, typer.Option(help="simulated time the whole video covers, e.g. 2h "
                                                         "(instead of --speed)")] = None,
    start: Annotated[str | None, typer.Option(help="simulated time of the first frame (default: the scene's "
                                                   "warm-up, sim.warmup_s)")] = None,
    seed: Annotated[int | None, typer.Option(help="random seed (default: scene sim.seed)")] = None,
    caption: Annotated[bool, typer.Option(help="caption each frame with simulated time, parts out, WIP")] = True,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
) -> None:
    """Render a video of the running line along the scene's camera path (viz.camera_path)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from .scene import load_scene
    from .viz.record import RecordSettings, check_settings
    from .viz.record import record as record_video

    if speed is not None and sim_seconds is not None:
        _fail(UsageError("give --speed or --sim-seconds, not both"))
    duration_s = _duration("--duration", duration)
    try:
        model = load_scene(scene)
    except TwinError as exc:
        _fail(exc)
    if sim_seconds is not None:
        covered = _duration("--sim-seconds", sim_seconds)
        if not covered > 0:
            _fail(UsageError(f"--sim-seconds must be > 0, got {sim_seconds!r}"))
        speed = covered / duration_s if duration_s > 0 else 0.0
    start_s = model.sim.warmup_s if start is None else _duration("--start", start)
    settings = RecordSettings(duration_s=duration_s, fps=fps, width=width, height=height,
                              speed=60.0 if speed is None else speed, start_s=start_s, caption=caption)
    path = output if output is not None else Path(f"{scene.stem}.mp4")
    try:
        check_settings(path, settings)
    except UsageError as exc:
        _fail(exc)
    columns = (TextColumn("recording"), BarColumn(), MofNCompleteColumn(), TextColumn("frames"),
               TimeRemainingColumn())
    with Progress(*columns, console=err, disable=not progress, transient=True) as bar:
        task = bar.add_task("record", total=settings.frames)
        try:
            result = record_video(model, path, settings, seed=seed,
                                  on_frame=lambda done, total: bar.update(task, completed=done))
        except TwinError as exc:
            _fail(exc)
    out.print(f"wrote {result.path}: {result.frames} frames, {result.width}x{result.height} at {result.fps:g} fps "
              f"({result.video_s:g} s of video) showing simulated {result.sim_start_s:g}-{result.sim_end_s:g} s; "
              f"{result.renderer} renderer {result.render_fps:.1f} frames/s, {result.wall_s:.1f} s in all",
              highlight=False)


@app.command()
def report(
    results: Annotated[Path, typer.Argument(help="results folder written by `twin run --out`")],
    output: Annotated[Path | None, typer.Option("--out", help="HTML file (default: <results>/report.html); "
                                                             "one PNG per plot is written beside it")] = None,
) -> None:
    """Write an HTML KPI report with plots (and a PNG of each plot) for a run's results."""
    from .viz.report import write_report

    try:
        rep = write_report(results, output)
    except TwinError as exc:
        _fail(exc)
    out.print(f"wrote {rep.html} and {len(rep.pngs)} plots ({', '.join(p.name for p in rep.pngs.values())})",
              highlight=False)
