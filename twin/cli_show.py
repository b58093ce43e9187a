"""Showcase commands: ``twin view`` (live 3D web viewer) and ``twin export`` (glTF layout)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from .cli import _duration, _fail, app, out
from .errors import TwinError, UsageError


@app.command()
def view(
    scene: Annotated[Path, typer.Argument(help="scene YAML file")],
    host: Annotated[str, typer.Option(help="address to listen on (0.0.0.0: every interface)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="HTTP port of the page (0: any free port)")] = 8080,
    speed: Annotated[float, typer.Option(help="simulated seconds per wall second (the page can change it)")] = 10.0,
    until: Annotated[str | None, typer.Option(help="stop after this much simulated time (default: run until "
                                                   "interrupted)")] = None,
    seed: Annotated[int | None, typer.Option(help="random seed (default: scene sim.seed)")] = None,
    rate_hz: Annotated[float, typer.Option(help="frames per second sent to browsers")] = 10.0,
    open_browser: Annotated[bool | None, typer.Option("--open/--no-open", help="open the page in this machine's "
                                                      "browser (default: when a desktop is there)")] = None,
) -> None:
    """Run a scene live and show it in the browser: the factory in 3D, station states, parts, KPIs."""
    from .orchestrator import Twin
    from .scene import load_scene
    from .viz.viewer import Viewer, run_live

    if not (speed > 0 and math.isfinite(speed)):
        _fail(UsageError(f"--speed must be > 0, got {speed}"))
    if not (0 < rate_hz <= 60):
        _fail(UsageError(f"--rate-hz must be in (0, 60], got {rate_hz}"))
    until_s = _duration("--until", until)
    try:
        model = load_scene(scene)
        tw = Twin(model, seed=seed, trace=False)
    except TwinError as exc:
        _fail(exc)
    try:
        viewer = Viewer(tw, host=host, port=port, rate_hz=rate_hz)
    except OSError as exc:
        _fail(UsageError(f"--port {port}: cannot listen on {host}:{port} ({exc.strerror or exc}); "
                         "is another viewer running? Try another --port"))
    out.print(f"viewing {model.name or scene.stem} at {viewer.url} ({speed:g}x real time; Ctrl-C stops)",
              highlight=False)
    if open_browser if open_browser is not None else _has_desktop():
        import webbrowser

        webbrowser.open(viewer.url)
    try:
        run_live(tw, viewer, until_s, speed)
    except KeyboardInterrupt:
        pass
    finally:
        viewer.close()
    out.print(f"stopped at t={tw.time_s:.1f} s; {viewer.frames_sent} frames sent", highlight=False)


def _has_desktop() -> bool:
    """Whether a graphical browser can be opened here (not over SSH or in a container's shell)."""
    import os
    import sys

    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


@app.command()
def export(
    scene: Annotated[Path, typer.Argument(help="scene YAML file")],
    output: Annotated[Path, typer.Option("--out", help="file to write: .glb (binary) or .gltf (JSON)")],
) -> None:
    """Export the scene's 3D layout to glTF, for Blender, three.js editors and other tools."""
    from .scene import load_scene
    from .viz.gltf import export_gltf

    try:
        model = load_scene(scene)
        path = export_gltf(model, output)
    except TwinError as exc:
        _fail(exc)
    out.print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)", highlight=False)
