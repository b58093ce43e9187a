"""The ``twin`` command line.

Exit codes follow convention: 0 success, 1 the simulation failed (e.g. deadlock; results are still
written), 2 bad input (scene file, option value). Errors are one clear message, never a traceback.
"""

from __future__ import annotations

import csv
import json
import math
import sys
import time
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .errors import SceneError, SimulationError, TwinError, UsageError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="twin: digital twins of lights-out factory lines.")
out = Console()
err = Console(stderr=True)

SCENES_DIR = Path(__file__).resolve().parent.parent / "scenes"


def _fail(exc: Exception) -> None:
    code = 1 if isinstance(exc, SimulationError) else 2
    # the message itself is printed as text: "[low, high]" in it is not markup
    err.print(Text.assemble(("error:", "bold red"), f" {exc}"), highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _duration(option: str, value: str | None) -> float | None:
    from .scene.durations import parse_duration_s

    if value is None:
        return None
    try:
        return parse_duration_s(value)
    except ValueError as exc:
        _fail(UsageError(f"{option}: {exc}"))


@app.command()
def validate(scene: Annotated[Path, typer.Argument(help="scene YAML file")]) -> None:
    """Check a scene file without running it."""
    from .scene import load_scene
    from .scene.resolve import element_kinds

    try:
        model = load_scene(scene)
    except TwinError as exc:
        _fail(exc)
    kinds = element_kinds(model)
    counts = {k: sum(1 for v in kinds.values() if v == k) for k in sorted(set(kinds.values()))}
    summary = ", ".join(f"{n} {k}" for k, n in counts.items())
    out.print(f"OK {scene}: scene {model.name or scene.stem!r} ({summary}; {len(model.part_types)} part types)",
              highlight=False)


@app.command()
def schema(output: Annotated[Path | None, typer.Option("--out", help="write to this file")] = None) -> None:
    """Print the JSON Schema of scene files (for editors and CI checks)."""
    from .scene.schema import scene_json_schema

    text = json.dumps(scene_json_schema(), indent=2, sort_keys=True)
    if output:
        try:
            output.write_text(text + "\n")
        except OSError as exc:
            _fail(UsageError(f"--out: cannot write {output}: {exc.strerror}"))
        out.print(f"wrote {output}")
    else:
        sys.stdout.write(text + "\n")


@app.command()
def scenes() -> None:
    """List the bundled showcase scenes."""
    from .yamlfile import read_yaml_file

    table = Table("scene", "description")
    for path in sorted(SCENES_DIR.glob("*.yaml")):
        try:  # only the description: loading would measure robot cells and cameras
            data = read_yaml_file(path, "scene")
            desc = " ".join(str(data.get("description", "")).split()) if isinstance(data, dict) else ""
        except TwinError:
            desc = ""
        table.add_row(str(path.relative_to(SCENES_DIR.parent)), desc)
    out.print(table)


@app.command()
def run(
    scene: Annotated[Path, typer.Argument(help="scene YAML file")],
    until: Annotated[str | None, typer.Option(help="run length, e.g. 8h, 30min, 28800 (default: scene sim.until)")] = None,
    seed: Annotated[int | None, typer.Option(help="random seed (default: scene sim.seed)")] = None,
    warmup: Annotated[str | None, typer.Option(help="warm-up excluded from KPIs (default: scene sim.warmup_s)")] = None,
    replications: Annotated[int, typer.Option(min=1, help="independent replications (seeds seed..seed+N-1)")] = 1,
    output: Annotated[Path | None, typer.Option("--out", help="folder for kpis.json, stations.csv, trace")] = None,
    trace: Annotated[bool, typer.Option(help="write the per-part trace and parts table (first replication)")] = True,
    trace_format: Annotated[str, typer.Option(help="csv or parquet")] = "csv",
    workers: Annotated[int | None, typer.Option(help="processes for replications (default: cores)")] = None,
    gui: Annotated[bool, typer.Option(help="show the 3D world in PyBullet's window, stepping at the "
                                           "control step (needs a display)")] = False,
    capture: Annotated[list[str] | None, typer.Option(help="write this camera's frames (PNG images, PLY "
                                                           "clouds) under --out/frames/<camera>/; repeatable")] = None,
    max_frames: Annotated[int, typer.Option(min=1, help="stop writing a camera's frames after this many")] = 100,
) -> None:
    """Run a scene headless and report KPIs."""
    from .orchestrator import Twin
    from .replications import run_replications
    from .scene import load_scene

    if trace_format not in ("csv", "parquet"):
        _fail(UsageError(f"--trace-format must be 'csv' or 'parquet', got {trace_format!r}"))
    try:
        model = load_scene(scene)
    except TwinError as exc:
        _fail(exc)
    until_s = _duration("--until", until if until is not None else
                        (str(model.sim.until) if model.sim.until is not None else None))
    if until_s is None:
        _fail(UsageError("no run length: give --until (e.g. --until 8h) or set sim.until in the scene"))
    if until_s <= 0:
        _fail(UsageError(f"--until must be > 0, got {until!r}" if until is not None else
                         f"{scene}: sim.until must be > 0, got {model.sim.until!r}"))
    warmup_s = _duration("--warmup", warmup)
    warm = model.sim.warmup_s if warmup_s is None else warmup_s
    if warm >= until_s:
        _fail(UsageError(f"warm-up ({warm:g} s) must be shorter than the run ({until_s:g} s)"))
    seed_v = model.sim.seed if seed is None else seed
    if not 0 <= seed_v < 2**63 - max(replications, 1):
        _fail(UsageError(f"--seed must be in [0, 2**63 - replications), got {seed_v}"))
    if output:
        try:
            output.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            _fail(UsageError(f"--out: cannot create folder {output}: {exc.strerror}"))

    capture = list(capture or [])
    if capture:
        valid = [c.name for c in model.sensors.cameras]
        unknown = [c for c in capture if c not in valid]
        if unknown:
            _fail(UsageError(f"--capture: no camera named {unknown[0]!r} in the scene. Valid: {valid}"))
        if output is None:
            _fail(UsageError("--capture needs --out (the folder the frames are written to)"))
    started = time.perf_counter()
    failure: Exception | None = None
    try:
        tw = Twin(model, seed=seed_v, trace=trace and output is not None, warmup_s=warm, gui=gui,
                  physics=bool(capture))
    except TwinError as exc:
        _fail(exc)
    if capture:
        from .sensors.capture import FrameWriter

        writer = FrameWriter(output / "frames", capture, max_frames)
        tw.on_frame(writer)
    from .viz.timeline import Timeline  # KPIs over time for `twin report`

    timeline = Timeline(tw, until_s) if output else None
    try:
        if gui or capture:
            with tw:  # stepped, so that the window shows every control step
                while tw.time_s < until_s - 1e-9:
                    tw.step()
                    if timeline is not None:
                        timeline.sample_if_due()
            tw.check_deadlock()
        elif timeline is not None:
            timeline.run()
        else:
            tw.run(until=until_s)
    except SimulationError as exc:
        failure = exc
    kpis = tw.kpis()
    runs = [kpis]
    if replications > 1:
        runs += run_replications(model, replications - 1, until_s, seed_v + 1, warm, workers)
    elapsed = time.perf_counter() - started

    _print_kpis(model.name or scene.stem, kpis, runs, until_s, seed_v, elapsed)
    stuck = [(seed_v + i, r["deadlock"]) for i, r in enumerate(runs) if i > 0 and r.get("deadlock")]
    if stuck:
        seeds = ", ".join(str(sd) for sd, _ in stuck[:10]) + (" ..." if len(stuck) > 10 else "")
        failure = failure or SimulationError(
            f"{len(stuck)} of {len(runs)} replications ended deadlocked (seeds {seeds}); seed {stuck[0][0]}: "
            f"{', '.join(stuck[0][1])}")
    if output:
        _write_results(output, model, scene, kpis, runs, seed_v, until_s, warm)
        written = [output / "kpis.json", output / "stations.csv", output / "elements.csv", *timeline.write(output)]
        if len(runs) > 1:
            written.insert(2, output / "stations_summary.csv")
        if trace:
            written.append(tw.write_trace(output / f"trace.{trace_format}"))
            written.append(tw.write_parts(output / f"parts.{trace_format}"))
        if capture:
            writer.close()
            written.append(f"{output / 'frames'} ({writer.summary()})")
        out.print("wrote " + ", ".join(str(p) for p in written), highlight=False)
    if failure is not None:
        _fail(failure)


@app.command()
def serve(
    scene: Annotated[Path, typer.Argument(help="scene YAML file")],
    bind: Annotated[str, typer.Option(help="tcp://host:P; binds P (snapshots), P+1 (deltas), P+2 (device writes)")]
    = "tcp://127.0.0.1:5556",
    until: Annotated[str | None, typer.Option(help="stop after this much simulated time (default: run until "
                                                   "interrupted)")] = None,
    speed: Annotated[float, typer.Option(help="simulated seconds per wall second; 0 runs free (as fast as "
                                              "possible)")] = 1.0,
    seed: Annotated[int | None, typer.Option(help="random seed (default: scene sim.seed)")] = None,
    clock: Annotated[str, typer.Option(help="realtime (paced by --speed), free (as fast as possible), or "
                                            "lockstep (one step per partner STEP)")] = "realtime",
    strict: Annotated[bool, typer.Option(help="realtime: stop with exit code 1 when the twin falls more than "
                                              "one control step behind the wall clock")] = False,
    keys: Annotated[Path | None, typer.Option(help="keys folder (twin keys generate): CURVE encryption, only "
                                                   "allowed clients may connect")] = None,
    insecure: Annotated[bool, typer.Option(help="serve without encryption or authentication (local demos "
                                                "only)")] = False,
    record: Annotated[Path | None, typer.Option(help="record every message in and out to this MCAP file")] = None,
    opcua: Annotated[str | None, typer.Option(help="also serve OPC UA at this URL, e.g. opc.tcp://127.0.0.1:4840 "
                                                   "(docs/plc.md)")] = None,
    opcua_cert_dir: Annotated[Path | None, typer.Option(help="OPC UA certificates (twin certs generate): "
                                                             "Basic256Sha256 Sign/SignAndEncrypt, trusted clients "
                                                             "only")] = None,
    opcua_users: Annotated[Path | None, typer.Option(help="OPC UA users file (twin certs user); writers may write "
                                                          "and call methods")] = None,
    opcua_insecure: Annotated[bool, typer.Option(help="serve OPC UA without security, everyone may write (local "
                                                      "demos only)")] = False,
    modbus: Annotated[str | None, typer.Option(help="also serve Modbus TCP at HOST:PORT, e.g. 127.0.0.1:5020")]
    = None,
    tag_map: Annotated[Path | None, typer.Option(help="tag-map file (CSV/YAML, see twin tags --map): pinned "
                                                      "addresses, PLC-started robot cells")] = None,
    mirror: Annotated[Path | None, typer.Option(help="shadow mode: mirror plant devices into the twin per this "
                                                     "mapping file (docs/plc.md)")] = None,
    mirror_opcua: Annotated[str | None, typer.Option(help="shadow mode: the plant's OPC UA URL (overrides the "
                                                          "mapping file's)")] = None,
    mirror_modbus: Annotated[str | None, typer.Option(help="shadow mode: the plant's Modbus HOST:PORT (overrides "
                                                           "the mapping file's)")] = None,
    signals_file: Annotated[Path | None, typer.Option("--signals", help="signal-map YAML: signal groups with "
                                                                        "their rates, dead bands (docs/protocol.md)")]
    = None,
    device_timeout: Annotated[str | None, typer.Option(help="a written signal whose writer is silent this long "
                                                            "(simulated, e.g. 5s) goes stale and --fallback applies")]
    = None,
    fallback: Annotated[str, typer.Option(help="for a stale signal: hold (last written value), simulate (the "
                                               "scene's value) or safe (safe value, e.g. a stopped belt)")] = "hold",
) -> None:
    """Run a scene in real time (or faster) and serve its signals over the ZeroMQ bridge (and OPC UA, Modbus)."""
    from .bridge import BridgeServer
    from .orchestrator import Twin
    from .scene import load_scene

    if not (speed >= 0 and math.isfinite(speed)):
        _fail(UsageError(f"--speed must be >= 0, got {speed}"))
    if clock not in ("realtime", "free", "lockstep"):
        _fail(UsageError(f"--clock must be realtime, free or lockstep, got {clock!r}"))
    if clock == "free":
        speed = 0.0
    until_s = _duration("--until", until)
    if keys is None and not insecure:
        _fail(UsageError("give --keys <folder> (see `twin keys generate`) or, for a local demo, --insecure"))
    if keys is not None and insecure:
        _fail(UsageError("--keys and --insecure exclude each other"))
    timeout_s = None if device_timeout is None else _duration("--device-timeout", device_timeout)
    if timeout_s is not None and not timeout_s > 0:
        _fail(UsageError(f"--device-timeout must be > 0, got {device_timeout!r}"))
    if fallback not in ("hold", "simulate", "safe"):
        _fail(UsageError(f"--fallback must be hold, simulate or safe, got {fallback!r}"))
    try:
        model = load_scene(scene)
        tw = Twin(model, seed=seed, trace=False)
        server = BridgeServer(tw, bind, keys_dir=keys, lockstep=clock == "lockstep", record=record,
                              device_timeout_s=timeout_s, fallback=fallback)
    except TwinError as exc:
        _fail(exc)
    from .cli_plc import start_plc_adapters

    plc = start_plc_adapters(server, model.name or scene.stem, opcua=opcua, opcua_cert_dir=opcua_cert_dir,
                             opcua_users=opcua_users, opcua_insecure=opcua_insecure, modbus=modbus, tag_map=tag_map,
                             mirror=mirror, mirror_opcua=mirror_opcua, mirror_modbus=mirror_modbus)
    if signals_file is not None:  # after the adapters: their signals may be grouped too
        from .bridge.groups import load_signal_file

        try:
            groups, deadbands = load_signal_file(signals_file)
            try:
                server.set_groups(groups, deadbands)
            except UsageError as exc:  # a name the twin does not have: say which file
                raise UsageError(f"{signals_file}: {exc}") from None
        except TwinError as exc:
            server.close()
            if plc is not None:
                plc.close()
            _fail(exc)
    out.print(f"serving {model.name or scene.stem} on {bind} (snapshots), deltas on port +1, device writes on "
              f"port +2; epoch {server.epoch}; "
              f"{'lockstep' if clock == 'lockstep' else 'free-running' if speed == 0 else f'{speed:g}x real time'}",
              highlight=False)
    start = time.monotonic()
    behind = 0.0
    fell_behind = False
    try:
        while until_s is None or tw.time_s < until_s - 1e-9:
            if plc is not None:  # bridge_in of the OPC UA / Modbus side: client writes and commands
                plc.before_step()
            if clock == "lockstep":  # the partner's STEP requests advance the twin
                if server.commands.poll(100) or server.snapshot.poll(0):
                    server.poll_in()
                else:
                    server.publish_out()  # heartbeats while waiting
                if plc is not None:
                    plc.after_step()
                continue
            server.step()
            if plc is not None:
                plc.after_step()
            if speed > 0:  # pace: simulated time follows the wall clock (scaled); never block on peers
                ahead = tw.time_s / speed - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(min(ahead, 0.1))
                else:
                    behind = max(behind, -ahead)
                    if strict and -ahead > tw.control_step_s / speed:
                        fell_behind = True
                        break
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        if plc is not None:
            plc.close()
    out.print(f"stopped at t={tw.time_s:.2f} s; {server.stats}; worst lag behind the wall clock {behind:.3f} s",
              highlight=False)
    if plc is not None:
        out.print(f"PLC adapters: {plc.stats()}", highlight=False)
    if fell_behind:
        err.print(f"error: --strict: the twin fell {behind:.3f} s behind the wall clock at t={tw.time_s:.2f} s "
                  "(more than one control step)")
        raise typer.Exit(1)


@app.command()
def replay(
    recording: Annotated[Path, typer.Argument(help="MCAP file from twin serve --record")],
    scene: Annotated[Path, typer.Argument(help="the scene that was served")],
    seed: Annotated[int | None, typer.Option(help="the seed it was served with (default: scene sim.seed)")] = None,
    speed: Annotated[float, typer.Option(help="simulated seconds per wall second; 0: as fast as possible")] = 0.0,
) -> None:
    """Feed a recording's device writes back into a fresh twin and check it reproduces the run."""
    from .bridge.recording import read_recording
    from .bridge.recording import replay as replay_recording
    from .orchestrator import Twin
    from .scene import load_scene

    if not (speed >= 0 and math.isfinite(speed)):
        _fail(UsageError(f"--speed must be >= 0, got {speed}"))
    try:
        model = load_scene(scene)
        messages = read_recording(recording)
        report = replay_recording(Twin(model, seed=seed, trace=False), messages, speed)
    except TwinError as exc:
        _fail(exc)
    out.print(f"replayed {recording}: {report}", highlight=False)
    if report["deltas_matching"] != report["recorded_deltas"]:
        err.print("the replay diverged from the recording (a different scene or seed?)")
        raise typer.Exit(1)


keys_app = typer.Typer(help="CURVE keys for the bridge", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("generate")
def keys_generate(
    output: Annotated[Path, typer.Option("--out", help="keys folder to create or add to")],
    client: Annotated[list[str] | None, typer.Option(help="name of an allowed client; repeatable")] = None,
) -> None:
    """Make the twin's key pair and one allowed pair per client."""
    from .bridge.security import generate_keys

    names = client or ["client"]
    for name in names:
        if not name.replace("-", "").replace("_", "").isalnum():
            _fail(UsageError(f"--client names are letters, digits, - and _, got {name!r}"))
    files = generate_keys(output, names)
    out.print("wrote " + ", ".join(str(f) for f in files), highlight=False)


@app.command("scan-import")
def scan_import(
    cloud: Annotated[Path, typer.Argument(help="point cloud (PLY), metres")],
    name: Annotated[str, typer.Option(help="asset name: writes <name>.obj, <name>_collision.obj, <name>.urdf")],
    output: Annotated[Path, typer.Option("--out", help="folder for the asset files")] = Path("assets"),
    method: Annotated[str, typer.Option(help="poisson or ball_pivoting")] = "poisson",
    faces: Annotated[int, typer.Option(min=100, help="face budget of the mesh")] = 20_000,
) -> None:
    """Reconstruct a mesh asset from a scanned point cloud (scan-to-twin)."""
    import re

    from .scene.models import NAME_PATTERN
    from .sensors.pointcloud import read_ply
    from .sensors.scan import reconstruct, write_asset

    if not re.match(NAME_PATTERN, name) or "/" in name:
        _fail(UsageError(f"--name must be a simple name (letters, digits, _ and -), got {name!r}"))
    try:
        points = read_ply(cloud)
        mesh = reconstruct(points, method=method, target_faces=faces)
    except TwinError as exc:
        _fail(exc)
    urdf = write_asset(mesh, output, name)
    out.print(f"{cloud}: {len(points)} points -> {len(mesh.faces)} faces, "
              f"{'watertight' if mesh.is_watertight else 'not watertight'}, extents "
              f"{' x '.join(f'{1000 * e:.1f}' for e in mesh.extents)} mm", highlight=False)
    out.print(f"wrote {output / (name + '.obj')}, {output / (name + '_collision.obj')}, {urdf}", highlight=False)


@app.command()
def scan(
    scene: Annotated[Path, typer.Argument(help="scene YAML file")],
    body: Annotated[str, typer.Option("--object", help="the fixture or element (with geometry) to scan")],
    output: Annotated[Path, typer.Option("--out", help="PLY file to write")],
    views: Annotated[int, typer.Option(min=1, help="camera viewpoints around the object")] = 12,
) -> None:
    """Scan an object of the scene's 3D world with simulated depth cameras; write its point cloud."""
    from .orchestrator import Twin
    from .scene import load_scene
    from .sensors.pointcloud import write_ply
    from .sensors.scan import scan_body

    try:
        model = load_scene(scene)
        with Twin(model, physics=True) as tw:
            if body not in tw.world.names():
                valid = [n for n in tw.world.names() if n != "floor" and not n.startswith("part/")]
                raise UsageError(f"--object: no body named {body!r} in the scene's 3D world. Valid: {valid}")
            points = scan_body(tw.world, body, views=views)
    except TwinError as exc:
        _fail(exc)
    write_ply(output, points)
    out.print(f"wrote {output}: {len(points)} points of {body!r} from {views} views", highlight=False)


def _fmt(v: float, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, int) or (abs(v) >= 10 ** digits and float(v).is_integer()):
        return f"{int(v):,}"
    return f"{v:,.{digits}g}" if abs(v) < 10 ** digits else f"{v:,.0f}"


#: stations listed in the terminal table at most (a line of thousands would take minutes to print)
MAX_TABLE_STATIONS = 40


def _print_kpis(name: str, kpis: dict, runs: list[dict], until_s: float, seed: int, elapsed: float) -> None:
    from .replications import summarize

    out.print(f"[bold]{name}[/]: {until_s / 3600:g} h simulated (seed {seed}, {len(runs)} replication(s)) "
              f"in {elapsed:.2f} s wall time", highlight=False)
    head = Table()
    head.add_column("KPI")
    head.add_column("value" if len(runs) == 1 else f"run 1 (seed {seed})", justify="right")
    if len(runs) > 1:
        head.add_column(f"mean ± 95% CI ({len(runs)} runs)", justify="right")
        summary = summarize(runs)
    lt = kpis["lead_time_s"]
    rows = [
        ("throughput (parts/h)", kpis["throughput"]["per_hour"], "throughput_per_hour"),
        *[(f"  {ptype} (parts/h)", rate, f"throughput_per_hour/{ptype}")
          for ptype, rate in kpis["throughput"]["per_part_type_per_hour"].items()
          if len(kpis["throughput"]["per_part_type_per_hour"]) > 1],
        ("parts out (good)", kpis["good"], None),
        ("rejected / scrapped", f"{kpis['rejected']} / {kpis['scrapped']}", None),
        ("WIP (time-average)", kpis["wip_avg"], "wip_avg"),
        ("lead time mean (s)", lt["mean"], "lead_time_mean_s"),
        ("lead time p50 (s)", lt["p50"], "lead_time_p50_s"),
        ("lead time p95 (s)", lt["p95"], "lead_time_p95_s"),
        ("line OEE", kpis["line_oee"], "line_oee"),
        ("yield", kpis["yield"], "yield"),
        ("first-pass yield", kpis["first_pass_yield"], "first_pass_yield"),
        ("bottleneck (active period)", kpis["bottleneck"], None),
    ]
    for label, value, key in rows:
        cells = [label, value if isinstance(value, str) else _fmt(value, 4)]
        if len(runs) > 1:
            cells.append(f"{_fmt(summary[key]['mean'], 4)} ± {_fmt(summary[key]['ci95_half_width'], 2)}"
                         if key else "")
        head.add_row(*cells)
    out.print(head)
    several = len(runs) > 1
    title = f"stations: mean of {len(runs)} runs (OEE ± 95% CI)" if several else None
    shown = kpis["stations"]
    caption = None
    if len(shown) > MAX_TABLE_STATIONS:  # a long line: the busiest stations, the bottleneck among them
        busiest = sorted(shown, key=lambda st: (st["name"] != kpis["bottleneck"], -st["busy_frac"]))
        keep = {st["name"] for st in busiest[:MAX_TABLE_STATIONS]}
        shown = [st for st in shown if st["name"] in keep]
        caption = (f"the {MAX_TABLE_STATIONS} busiest of {len(kpis['stations'])} stations; all of them in "
                   "stations.csv (--out)")
    table = Table("station", "busy", "setup", "idle", "blocked", "down", "off", "OEE", title=title,
                  title_justify="left", caption=caption, caption_justify="left")
    for st in shown:
        name = st["name"] + ("  ◀ bottleneck" if st["name"] == kpis["bottleneck"] else "")

        def value(metric: str, st=st) -> float:
            return summary[f"station/{st['name']}/{metric}"]["mean"] if several else st[metric]

        oee = _fmt(value("oee"), 3)
        if several:
            oee += " ± " + _fmt(summary["station/" + st["name"] + "/oee"]["ci95_half_width"], 2)
        table.add_row(name, *[f"{100 * value(k):.1f}%" for k in (
            "busy_frac", "setup_frac", "idle_frac", "blocked_frac", "down_frac", "off_shift_frac")], oee)
    out.print(table)
    movers = kpis.get("transports", []) + kpis.get("storages", [])
    if movers:
        table = Table("transport / storage", "holding", "busy", "blocked", "parts through", title_justify="left")
        for r in movers:
            name = r["name"] + ("  ◀ bottleneck" if r["name"] == kpis["bottleneck"] else "")
            table.add_row(name, _fmt(r.get("avg_parts", float("nan")), 3), f"{100 * r.get('busy_frac', 0):.1f}%",
                          f"{100 * r.get('blocked_frac', 0):.1f}%", str(r.get("processed", 0)))
        out.print(table)
    if kpis.get("agv_fleets"):
        fleets = Table("AGV fleet", "AGVs", "orders", "done", "order s", "wait s", "breaks", "down",
                       title_justify="left")
        for f in kpis["agv_fleets"]:
            fleets.add_row(f["name"], str(f["vehicles"]), str(f["orders"]), str(f["delivered"]),
                           _fmt(f["mean_order_s"], 4), _fmt(f["mean_wait_for_pickup_s"], 4), str(f["breakdowns"]),
                           f"{100 * f['down_frac']:.1f}%")
        out.print(fleets)
    if kpis.get("storages"):
        racks = Table("storage", "slots", "stored", "retrieved", "in rack", "crane busy", title_justify="left")
        for r in kpis["storages"]:
            racks.add_row(r["name"], str(r["slots"]), str(r["stored"]), str(r["retrieved"]), str(r["in_rack"]),
                          f"{100 * r['crane_utilisation']:.1f}%")
        out.print(racks)
    if kpis.get("scheduled_faults"):
        faults = Table("scheduled fault", "kind", "target", "times", "active s", "effect", title_justify="left")
        for f in kpis["scheduled_faults"]:
            faults.add_row(f["name"], f["kind"], f["target"], str(f["occurrences"]), f"{f['active_s']:.0f}",
                           f["effect"])
        out.print(faults)


def _write_results(folder: Path, model, scene_path: Path, kpis: dict, runs: list[dict], seed: int,
                   until_s: float, warmup_s: float) -> None:
    from . import jsonout
    from .replications import summarize

    doc = {"scene": model.name or scene_path.stem, "scene_file": str(scene_path), "seed": seed,
           "until_s": until_s, "warmup_s": warmup_s, "replications": len(runs), **kpis}
    if len(runs) > 1:
        doc["summary"] = summary = summarize(runs)
        doc["runs"] = [{"seed": seed + i, **{k: v for k, v in r.items() if k not in ("stations", "elements")}}
                       for i, r in enumerate(runs)]
        with (folder / "stations_summary.csv").open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["name", "kpi", "mean", "ci95_half_width", "n"])
            for key, v in summary.items():
                if key.startswith("station/"):
                    name, metric = key[len("station/"):].rsplit("/", 1)
                    writer.writerow([name, metric, v["mean"], v["ci95_half_width"], v["n"]])
    (folder / "kpis.json").write_text(jsonout.dumps(doc, indent=2, default=float) + "\n")
    fields = list(dict.fromkeys(k for row in kpis["stations"] for k in row)) or ["name"]  # every row's keys
    with (folder / "stations.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, restval="")
        writer.writeheader()
        writer.writerows({k: json.dumps(v) if isinstance(v, dict) else v for k, v in row.items()}
                         for row in kpis["stations"])
    if kpis["elements"]:
        with (folder / "elements.csv").open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=["name", "kind", "capacity", "avg_parts", "max_parts",
                                                    "blocked_frac", "released", "dropped"])
            writer.writeheader()
            writer.writerows(kpis["elements"])


# Commands that live in their own modules register themselves on ``app`` when imported. They come last:
# they import ``app``, ``_fail``, ``_duration``, ``out`` and ``err`` from here.
from . import cli_bridge, cli_media, cli_plc, cli_show, cli_sweep  # noqa: E402,F401


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one line ('warning: <file>:<line>: <key>: ...'), not Python's source excerpt."""
    err.print(Text.assemble(("warning:", "bold yellow"), f" {message}"), highlight=False, soft_wrap=True)


def main() -> None:
    """Console-script entry point."""
    warnings.showwarning = _show_warning
    try:
        app()
    except SceneError as exc:  # pragma: no cover - commands catch these themselves
        _fail(exc)


if __name__ == "__main__":
    main()
