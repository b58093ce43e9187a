"""PLC adapter commands: ``twin tags`` (the OPC UA / Modbus tag map) and ``twin certs`` (OPC UA security)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from .cli import _fail, app, err, out  # noqa: F401
from .errors import TwinError, UsageError


def plc_tag_map(scene_path: Path, map_file: Path | None):
    """(scene model, tag map) exactly as ``twin serve --opcua/--modbus`` builds it."""
    from .bridge.adapters.commands import LineCommands
    from .bridge.adapters.robotcell import RobotCell
    from .bridge.adapters.tagmap import build_tag_map, load_overrides, load_robot_cells
    from .bridge.signals import SignalMap
    from .orchestrator import Twin
    from .scene import load_scene

    model = load_scene(scene_path)
    signals = SignalMap(Twin(model, trace=False))
    commands = LineCommands(signals)
    overrides = load_overrides(map_file) if map_file is not None else None
    for c in load_robot_cells(map_file):
        RobotCell(signals.twin, signals, c["station"], c["conveyor"], float(c["cycle_s"]),
                  float(c.get("jam_after_s", 1.0)), commands=commands)
    return model, build_tag_map(signals, model.name or scene_path.stem, overrides,
                                source=str(map_file) if map_file else "tag map")


@app.command()
def tags(
    scene: Annotated[Path, typer.Argument(help="scene YAML file")],
    output: Annotated[Path | None, typer.Option("--out", help="also write the tag map to this CSV file")] = None,
    map_file: Annotated[Path | None, typer.Option("--map", help="tag-map file (CSV or YAML) pinning NodeIds and "
                                                                "Modbus addresses; the rest are assigned around them")]
    = None,
) -> None:
    """Print the tag map a PLC programmer needs: every signal's OPC UA NodeId and Modbus location."""
    try:
        model, tagmap = plc_tag_map(scene, map_file)
    except TwinError as exc:
        _fail(exc)
    table = Table(title=f"{model.name or scene.stem}: OPC UA namespace {tagmap.namespace}; Modbus addresses are "
                        "0-based; 32-bit values high word first unless noted")
    for col in ("signal", "NodeId (s=)", "dir", "type", "unit", "range", "Modbus", "dtype", "scale"):
        table.add_column(col)
    for t in tagmap.tags:
        rng = "" if t.low is None else f"{t.low:g}..{t.high:g}"
        where = "-" if not t.table else f"unit {t.modbus_unit} {t.table} {t.address}" + \
            (f"-{t.address + t.registers - 1}" if t.registers > 1 else "")
        dtype = "" if not t.table else t.dtype + (" (low word first)" if t.word_order == "little" and t.registers > 1
                                                  else "")
        table.add_row(t.signal, t.node_id, "rw" if t.writable else "r", t.type, t.unit, rng, where, dtype,
                      f"{t.scale:g}" if t.table else "")
    from rich.console import Console

    Console(width=max(out.width, 190) if not out.is_terminal else None).print(table)
    if output is not None:
        try:
            output.write_text(tagmap.csv())
        except OSError as exc:
            _fail(UsageError(f"--out: cannot write {output}: {exc.strerror}"))
        out.print(f"wrote {output} ({len(tagmap.tags)} tags)", highlight=False)


certs_app = typer.Typer(help="OPC UA certificates and users", no_args_is_help=True)
app.add_typer(certs_app, name="certs")


@certs_app.command("generate")
def certs_generate(
    output: Annotated[Path, typer.Option("--out", help="certificate folder to create or add to")],
    client: Annotated[list[str] | None, typer.Option(help="make a trusted client certificate with this name; "
                                                          "repeatable")] = None,
) -> None:
    """Make the twin's OPC UA certificate (if missing) and trusted client certificates."""
    from .bridge.adapters.certs import generate

    try:
        files = generate(output, client or [])
    except TwinError as exc:
        _fail(exc)
    except OSError as exc:
        _fail(UsageError(f"--out: cannot write in {output}: {exc.strerror}"))
    out.print("wrote " + (", ".join(str(f) for f in files) or "nothing (the twin's certificate exists)"),
              highlight=False)


@certs_app.command("user")
def certs_user(
    name: Annotated[str, typer.Argument(help="user name")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, help="the user's password")],
    write: Annotated[bool, typer.Option(help="the user may write signals and call methods")] = False,
) -> None:
    """Print a users-file entry (YAML) for --opcua-users."""
    from .bridge.adapters.certs import hash_password

    if not name or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        _fail(UsageError(f"user names are letters, digits, '.', '-' and '_', got {name!r}"))
    if len(password) < 8:
        _fail(UsageError("the password must have at least 8 characters"))
    out.print(f"  {name}: {{password_hash: \"{hash_password(password)}\", write: {str(write).lower()}}}",
              highlight=False, soft_wrap=True)


def start_plc_adapters(server, scene_name: str, *, opcua, opcua_cert_dir, opcua_users, opcua_insecure, modbus,
                       tag_map, mirror, mirror_opcua, mirror_modbus):
    """``twin serve``'s OPC UA / Modbus / shadow side, started; None when none was asked for.

    Any bad option, file or busy port closes the ZeroMQ ``server`` and exits with code 2.
    """
    from .bridge.adapters.certs import load_server_certs, load_users
    from .bridge.adapters.host import PlcAdapters, parse_host_port
    from .bridge.adapters.shadow import load_mirror_map
    from .bridge.adapters.tagmap import load_overrides, load_robot_cells

    if not (opcua or modbus or mirror or tag_map):
        if opcua_cert_dir or opcua_users or opcua_insecure or mirror_opcua or mirror_modbus:
            server.close()
            _fail(UsageError("--opcua-*/--mirror-* options need --opcua, --modbus or --mirror"))
        return None
    plc = None
    try:
        if opcua and opcua_cert_dir is None and not opcua_insecure:
            raise UsageError("--opcua needs --opcua-cert-dir (see `twin certs generate`) or, for a local demo, "
                             "--opcua-insecure")
        if opcua_cert_dir is not None and opcua_insecure:
            raise UsageError("--opcua-cert-dir and --opcua-insecure exclude each other")
        if (mirror_opcua or mirror_modbus) and mirror is None:
            raise UsageError("--mirror-opcua/--mirror-modbus need --mirror FILE (which signals to mirror)")
        certs = load_server_certs(opcua_cert_dir) if opcua_cert_dir is not None else None
        users = load_users(opcua_users) if opcua_users is not None else None
        endpoint = parse_host_port("--modbus", modbus) if modbus else None
        mirror_map = None
        if mirror is not None:
            mirror_map = load_mirror_map(mirror, server.signals, mirror_opcua,
                                         parse_host_port("--mirror-modbus", mirror_modbus) if mirror_modbus else None)
        plc = PlcAdapters(server.signals, scene_name, overrides=load_overrides(tag_map) if tag_map else None,
                          opcua_url=opcua, certs=certs, users=users, insecure=opcua_insecure, modbus=endpoint,
                          mirror=mirror_map)
        plc.add_robot_cells(load_robot_cells(tag_map))
        plc.start()
    except TwinError as exc:
        server.close()
        if plc is not None:
            plc.close()
        _fail(exc)
    parts = [f"OPC UA on {opcua} ({'no security' if certs is None else 'Basic256Sha256'})" if opcua else "",
             f"Modbus TCP on {modbus}" if modbus else "", f"mirroring per {mirror}" if mirror else ""]
    out.print("; ".join(p for p in parts if p) + f"; {len(plc.tagmap.tags)} tags (twin tags)", highlight=False)
    return plc
