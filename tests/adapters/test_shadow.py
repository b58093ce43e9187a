"""Shadow mode: the twin mirrors a plant's OPC UA server and Modbus device (stand-ins started here)."""

from __future__ import annotations

import time

import pytest
from asyncua import Server, ua
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

import twin
from tests.adapters.conftest import SCENE, Served, free_port
from twin.bridge.adapters.aio import AsyncThread
from twin.bridge.adapters.shadow import load_mirror_map
from twin.bridge.signals import SignalMap
from twin.errors import UsageError

pytestmark = pytest.mark.timeout(120)


class OpcUaPlant:
    """A plant's OPC UA server with one variable, ns=2;s=Belt.Speed."""

    def __init__(self, thread: AsyncThread, port: int, speed: float) -> None:
        self.thread, self.url = thread, f"opc.tcp://127.0.0.1:{port}"

        async def start():
            server = Server()
            await server.init()
            server.set_endpoint(self.url)
            server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
            idx = await server.register_namespace("urn:plant")
            assert idx == 2
            folder = await server.nodes.objects.add_folder(ua.NodeId("Belt", idx), "Belt")
            self.var = await folder.add_variable(ua.NodeId("Belt.Speed", idx), "Speed", speed)
            await server.start()
            return server

        self.server = thread.run(start())

    def set(self, speed: float) -> None:
        self.thread.run(self.var.write_value(speed))

    def stop(self) -> None:
        self.thread.run(self.server.stop())


class ModbusPlant:
    """A plant's Modbus device, unit 1: holding register 10 is the belt motor (0/1)."""

    def __init__(self, thread: AsyncThread, port: int, motor: int) -> None:
        self.thread = thread

        async def start():
            device = SimDevice(1, simdata=([SimData(0, values=False, datatype=DataType.BITS)],
                                           [SimData(0, values=False, datatype=DataType.BITS)],
                                           [SimData(10, values=[motor, 0], datatype=DataType.REGISTERS)],
                                           [SimData(0, values=0, datatype=DataType.REGISTERS)]))
            server = ModbusTcpServer(device, address=("127.0.0.1", port))
            await server.serve_forever(background=True)
            return server

        self.server = thread.run(start())

    def set(self, motor: int) -> None:
        async def write():
            return await self.server.async_setValues(1, 6, 10, [motor])

        self.thread.run(write())

    def stop(self) -> None:
        self.thread.run(self.server.shutdown())


def _wait(cond, timeout_s=6.0):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return False


def test_mirror_arrives_goes_stale_falls_back_and_resyncs(tmp_path):
    ua_port, mb_port = free_port(), free_port()
    (tmp_path / "mirror.yaml").write_text(
        f"timeout_s: 0.5\nfallback: safe\nmax_backoff_s: 0.5\n"
        f"opcua: {{url: 'opc.tcp://127.0.0.1:{ua_port}', nodes: {{belt.speed_mps: 'ns=2;s=Belt.Speed'}}}}\n"
        f"modbus: {{host: 127.0.0.1, port: {mb_port}, unit: 1, poll_s: 0.05,\n"
        f"         tags: {{belt.motor_on: {{table: holding_register, address: 10, dtype: uint16}}}}}}\n")
    sm = SignalMap(twin.Twin(twin.load_scene_text(SCENE), trace=False))
    mirror = load_mirror_map(tmp_path / "mirror.yaml", sm)
    plants = AsyncThread("plants")
    served = Served(mirror=mirror)
    ex, signals = served.adapters.exchange, served.signals
    try:
        # nothing received yet: no value is invented, and commands wait for a sync
        served.wait_steps(2)
        assert ex.snapshot.quality["belt.speed_mps"] == "waiting"
        assert ex.snapshot.quality["belt.motor_on"] == "waiting"
        with pytest.raises(ValueError, match="resyncing"):
            ex.submit_command("stop").result(5)
        opc, mb = OpcUaPlant(plants, ua_port, 0.3), ModbusPlant(plants, mb_port, 1)
        assert _wait(lambda: ex.in_sync() and signals._setpoint["belt"] == pytest.approx(0.3))
        served.wait_steps(2)
        assert "belt.speed_mps" not in ex.snapshot.quality and "belt.motor_on" not in ex.snapshot.quality
        # the plant changes: the twin follows (subscription / polling)
        opc.set(0.2)
        mb.set(0)
        assert _wait(lambda: signals._setpoint["belt"] == pytest.approx(0.2) and signals.read()["belt.motor_on"] is False)
        mb.set(1)
        assert _wait(lambda: signals.read()["belt.speed_mps"] == pytest.approx(0.2))
        # the plant goes away: uncertain at once, then no communication and the safe fallback
        opc.stop()
        mb.stop()
        assert _wait(lambda: ex.snapshot.quality.get("belt.speed_mps") in ("uncertain", "no_comm"), 4)
        assert _wait(lambda: ex.snapshot.quality.get("belt.motor_on") == "no_comm"
                     and ex.snapshot.quality.get("belt.speed_mps") == "no_comm", 6)
        served.wait_steps(2)
        assert signals.read()["belt.speed_mps"] == 0.0  # safe: the belt stands
        assert "belt.motor_on" in signals.stale and "belt.speed_mps" in signals.stale
        with pytest.raises(ValueError, match="resyncing"):
            ex.submit_command("start").result(5)
        # a client may not write a mirrored signal (the plant owns it)
        assert ex.check("belt.speed_mps", 0.1) == "signal is mirrored from the plant (read-only here)"
        # the plant comes back with new values: resync, fresh, commands accepted again
        opc, mb = OpcUaPlant(plants, ua_port, 0.45), ModbusPlant(plants, mb_port, 1)
        assert _wait(lambda: ex.in_sync(), 8)
        served.wait_steps(3)
        assert signals.read()["belt.speed_mps"] == pytest.approx(0.45)
        assert not signals.stale and not ex.snapshot.quality
        assert ex.submit_command("start").result(5) == "started 1 conveyors"
        stats = {m.kind: m.stats for m in served.adapters.mirrors}
        assert stats["opcua"]["connects"] == 2 and stats["modbus"]["connects"] == 2
        assert stats["opcua"]["losses"] >= 1 and stats["modbus"]["losses"] >= 1
        opc.stop()
        mb.stop()
    finally:
        served.close()
        plants.close()


def test_bad_mirror_maps_are_one_clear_error(tmp_path):
    sm = SignalMap(twin.Twin(twin.load_scene_text(SCENE), trace=False))
    cases = {
        "opcua: {url: 'opc.tcp://h:1', nodes: {t_s: 'ns=2;s=X'}}": "computed by the twin",
        "opcua: {url: 'opc.tcp://h:1', nodes: {belt.sped_mps: 'ns=2;s=X'}}": "unknown signal",
        "opcua: {url: 'http://h:1', nodes: {belt.speed_mps: 'ns=2;s=X'}}": "opc.tcp://",
        "modbus: {host: h, tags: {belt.motor_on: {table: coil}}}": "needs table and address",
        "fallback: explode\nopcua: {url: 'opc.tcp://h:1', nodes: {belt.speed_mps: 'ns=2;s=X'}}": "hold, simulate or safe",
    }
    for text, message in cases.items():
        (tmp_path / "m.yaml").write_text(text)
        with pytest.raises(UsageError, match=message):
            load_mirror_map(tmp_path / "m.yaml", sm)

