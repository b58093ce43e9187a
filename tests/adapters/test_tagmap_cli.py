"""The tag map (defaults, pins, conflicts), the robot cell's fault checks, and the CLI's exit codes."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

import twin
from tests.adapters.conftest import SCENE, free_port
from twin.bridge.adapters.commands import LineCommands
from twin.bridge.adapters.robotcell import RobotCell
from twin.bridge.adapters.tagmap import build_tag_map, load_overrides
from twin.bridge.signals import SignalMap
from twin.cli import app
from twin.errors import UsageError

CELL = Path(__file__).resolve().parents[2] / "examples" / "commissioning"


def _signals():
    sm = SignalMap(twin.Twin(twin.load_scene_text(SCENE), trace=False))
    LineCommands(sm)
    return sm


def test_default_tables_follow_type_and_direction():
    tm = build_tag_map(_signals(), "t")
    t = tm.by_signal
    assert (t["belt.motor_on"].table, t["belt.motor_on"].address) == ("coil", 0)
    assert (t["belt/eye.blocked"].table, t["belt/eye.blocked"].dtype) == ("discrete_input", "bool")
    assert (t["belt.speed_mps"].table, t["belt.speed_mps"].dtype, t["belt.speed_mps"].registers) == \
        ("holding_register", "float32", 2)
    assert (t["t_s"].table, t["t_s"].address) == ("input_register", 0)
    assert (t["line.throughput_total"].dtype, t["line.throughput_total"].address) == ("uint32", 2)
    assert (t["press.state"].dtype, t["press.state"].registers) == ("uint16", 1)
    assert tm.namespace == "urn:twin:t" and t["belt.speed_mps"].node_id == "belt.speed_mps"
    # no two tags share a Modbus address
    cells = [(x.modbus_unit, x.table, x.address + k) for x in tm.tags if x.table for k in range(x.registers)]
    assert len(cells) == len(set(cells))


def test_pins_are_kept_and_the_rest_fill_around(tmp_path):
    (tmp_path / "m.yaml").write_text("tags:\n  belt.parts: {address: 0, dtype: uint16}\n"
                                     "  belt.speed_mps: {address: 100, dtype: int16, scale: 1000, modbus_unit: 2}\n"
                                     "  t_s: {node_id: SimTime, word_order: little}\n  feed.released: {table: none}\n")
    tm = build_tag_map(_signals(), "t", load_overrides(tmp_path / "m.yaml"))
    t = tm.by_signal
    assert (t["belt.parts"].address, t["belt.parts"].registers) == (0, 1)
    assert t["t_s"].address == 1 and t["t_s"].word_order == "little" and t["t_s"].node_id == "SimTime"
    assert (t["belt.speed_mps"].modbus_unit, t["belt.speed_mps"].address, t["belt.speed_mps"].scale) == (2, 100, 1000)
    assert t["feed.released"].table is None and tm.units == [1, 2]
    # the CSV that `twin tags --out` writes reads back as the same map
    (tmp_path / "tags.csv").write_text(tm.csv())
    again = build_tag_map(_signals(), "t", load_overrides(tmp_path / "tags.csv"))
    assert again.csv() == tm.csv()


@pytest.mark.parametrize("text, message", [
    ("tags:\n  belt.sped_mps: {address: 1}\n", "unknown signal 'belt.sped_mps'. Did you mean 'belt.speed_mps'"),
    ("tags:\n  line.throughput_total: {address: 4}\n  feed.released: {address: 5}\n", "address conflict"),
    ("tags:\n  t_s: {node_id: belt.parts}\n", "NodeId clash"),
    ("tags:\n  t_s: {table: holding_register}\n", "read-only signal cannot be a holding_register"),
    ("tags:\n  belt.speed_mps: {dtype: float32, scale: 10}\n", "scale applies to integer"),
    ("tags:\n  belt.motor_on: {address: 70000}\n", "address must be in 0..65535"),
])
def test_bad_tag_maps_are_one_clear_error(tmp_path, text, message):
    (tmp_path / "m.yaml").write_text(text)
    with pytest.raises(UsageError, match=message):
        build_tag_map(_signals(), "t", load_overrides(tmp_path / "m.yaml"), source="m.yaml")


def test_robot_cell_reports_a_jam_when_the_belt_runs_against_a_waiting_part():
    tw = twin.Twin(twin.load_scene(CELL / "cell.yaml"), trace=False)
    sm = SignalMap(tw)
    commands = LineCommands(sm)
    cell = RobotCell(tw, sm, "cell/robot", "cell/infeed", cycle_s=2.5, jam_after_s=1.0, commands=commands)
    while tw.time_s < 20 and not cell.fault:
        tw.step()  # no controller: the belt keeps running, nobody starts the robot
        sm.read()  # as a served twin publishes each step (the history is sampled there)
    assert cell.report()["fault"] == "jam"
    arrived = next(t for t, name, v in cell.report()["history"] if name == "cell/robot.part_present" and v)
    assert cell.fault_t == pytest.approx(arrived + 1.0, abs=0.03)
    assert sm.read()["cell/infeed.speed_mps"] == 0.0 and sm.read()["cell/robot.fault"] == 1  # safe state
    commands.run("reset")
    assert cell.fault == 0 and sm.read()["cell/infeed.speed_mps"] == 0.5
    sm.write("cell/infeed.motor_on", False)
    sm.write("cell/robot.start", True)
    t0 = tw.time_s
    while not sm.read()["cell/robot.done"]:
        tw.step()
    assert tw.time_s - t0 == pytest.approx(2.5, abs=0.03) and cell.cycles == 1


runner = CliRunner()


def test_cli_tags_prints_and_exports(tmp_path):
    r = runner.invoke(app, ["tags", str(CELL / "cell.yaml"), "--map", str(CELL / "tags.yaml"), "--out",
                            str(tmp_path / "t.csv")])
    assert r.exit_code == 0, r.output
    rows = (tmp_path / "t.csv").read_text().splitlines()
    assert rows[0].startswith("signal,node_id,type,unit,low,high,direction,modbus_unit,table,address")
    assert "cell/robot.start,cell/robot.start,bool,,,,both,1,coil,1,1,bool,big,1" in rows


def test_cli_bad_input_exits_2_with_one_message(tmp_path):
    (tmp_path / "clash.yaml").write_text("tags:\n  t_s: {node_id: line.running}\n")
    r = runner.invoke(app, ["tags", str(CELL / "cell.yaml"), "--map", str(tmp_path / "clash.yaml")])
    assert r.exit_code == 2 and "NodeId clash" in r.output
    base = ["serve", str(CELL / "cell.yaml"), "--insecure", "--bind", f"tcp://127.0.0.1:{free_port()}", "--until", "1"]
    r = runner.invoke(app, [*base, "--opcua", "opc.tcp://127.0.0.1:4840"])
    assert r.exit_code == 2 and "--opcua-insecure" in r.output
    r = runner.invoke(app, [*base, "--opcua", "opc.tcp://127.0.0.1:4840", "--opcua-cert-dir", str(tmp_path)])
    assert r.exit_code == 2 and "cannot read certificate" in r.output
    r = runner.invoke(app, [*base, "--modbus", "localhost"])
    assert r.exit_code == 2 and "host:port" in r.output
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        r = runner.invoke(app, [*base, "--modbus", f"127.0.0.1:{busy.getsockname()[1]}"])
    assert r.exit_code == 2 and "port is in use" in r.output
    r = runner.invoke(app, [*base, "--modbus", f"127.0.0.1:{free_port()}", "--tag-map", str(tmp_path / "none.yaml")])
    assert r.exit_code == 2 and "cannot read tag-map file" in r.output


def test_cli_serve_runs_with_modbus_and_opcua():
    r = runner.invoke(app, ["serve", str(CELL / "cell.yaml"), "--insecure", "--bind",
                            f"tcp://127.0.0.1:{free_port()}", "--until", "1", "--speed", "0", "--modbus",
                            f"127.0.0.1:{free_port()}", "--opcua", f"opc.tcp://127.0.0.1:{free_port()}",
                            "--opcua-insecure", "--tag-map", str(CELL / "tags.yaml")])
    assert r.exit_code == 0, r.output
    assert "OPC UA on opc.tcp://" in r.output and "17 tags" in r.output and "stopped at t=1.00 s" in r.output


def test_cli_certs_generate_and_user(tmp_path):
    from twin.bridge.adapters.certs import load_server_certs, load_users

    r = runner.invoke(app, ["certs", "generate", "--out", str(tmp_path / "pki"), "--client", "scada"])
    assert r.exit_code == 0, r.output
    certs = load_server_certs(tmp_path / "pki")
    assert (certs.trusted / "scada.der").exists() and (tmp_path / "pki" / "clients" / "scada" / "key.pem").exists()
    r = runner.invoke(app, ["certs", "user", "operator", "--password", "s3cret-pass", "--write"])
    assert r.exit_code == 0, r.output
    (tmp_path / "users.yaml").write_text("users:\n" + r.output)
    users = load_users(tmp_path / "users.yaml")
    assert users.check("operator", "s3cret-pass") is True and users.check("operator", "nope") is None
    r = runner.invoke(app, ["certs", "user", "bob", "--password", "short"])
    assert r.exit_code == 2 and "at least 8" in r.output
