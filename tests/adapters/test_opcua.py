"""A real asyncua client against the twin's OPC UA server on 127.0.0.1 (no security here; see test_security)."""

from __future__ import annotations

import asyncio
import time

import pytest
from asyncua import Client, ua

pytestmark = pytest.mark.timeout(90)


async def _session(served, body):
    async with Client(served.opcua_url, timeout=4) as c:
        ns = await c.get_namespace_index(served.adapters.tagmap.namespace)
        return await body(c, ns)


def test_browse_the_address_space_and_read_every_signal(served):
    async def body(c, ns):
        root = c.get_node(ua.NodeId("twin:adapters_test", ns))
        found = {}
        folders = {}
        for child in await root.get_children():
            name = (await child.read_browse_name()).Name
            if await child.read_node_class() == ua.NodeClass.Object:
                folders[name] = child
                for var in await child.get_children():
                    if await var.read_node_class() == ua.NodeClass.Variable:
                        found[var.nodeid.Identifier] = var
        dvs = {name: await var.read_data_value() for name, var in found.items()}
        speed = found["belt.speed_mps"]
        props = {(await p.read_browse_name()).Name: await p.read_value() for p in await speed.get_properties()}
        access = await speed.read_attribute(ua.AttributeIds.AccessLevel)
        ro_access = await found["t_s"].read_attribute(ua.AttributeIds.AccessLevel)
        rate = await speed.read_attribute(ua.AttributeIds.MinimumSamplingInterval)
        dtype = await speed.read_data_type()
        return folders, dvs, props, access.Value.Value, ro_access.Value.Value, rate.Value.Value, dtype

    served.wait_steps(2)
    folders, dvs, props, access, ro_access, rate, dtype = asyncio.run(_session(served, body))
    assert set(folders) == {"line", "feed", "belt", "press", "belt/eye"}  # a folder per line element
    assert set(dvs) == set(served.signals.signals)  # every signal is a variable
    truth = served.adapters.exchange.snapshot.values
    for name, dv in dvs.items():
        assert dv.StatusCode.is_good(), name
        assert dv.SourceTimestamp is not None
        if name in ("belt.speed_mps", "belt.motor_on", "line.running", "press.state"):
            assert dv.Value.Value == truth[name]
    assert dvs["belt.speed_mps"].Value.VariantType == ua.VariantType.Double
    assert dvs["line.throughput_total"].Value.VariantType == ua.VariantType.Int64
    assert dtype == ua.NodeId(ua.ObjectIds.Double)
    assert props["EURange"].Low == 0 and props["EURange"].High == 10
    assert props["EngineeringUnits"].DisplayName.Text == "m/s"
    assert props["EngineeringUnits"].UnitId == (ord("M") << 16 | ord("T") << 8 | ord("S"))
    assert access & ua.AccessLevel.CurrentWrite.mask and not ro_access & ua.AccessLevel.CurrentWrite.mask
    assert rate == pytest.approx(50.0)  # the control step


class _Collect:
    def __init__(self):
        self.events = []

    def datachange_notification(self, node, value, data):
        self.events.append((time.monotonic(), node.nodeid.Identifier, value))


def test_subscription_delivers_changes_at_the_control_rate(served):
    async def body(c, ns):
        h = _Collect()
        sub = await c.create_subscription(50, h)
        await sub.subscribe_data_change([c.get_node(ua.NodeId("t_s", ns)), c.get_node(ua.NodeId("belt.parts", ns))],
                                        sampling_interval=50)
        await asyncio.sleep(2.2)
        await sub.delete()
        return h.events

    events = asyncio.run(_session(served, body))
    t_events = [e for e in events if e[1] == "t_s"]
    span = t_events[-1][0] - t_events[1][0]
    rate = (len(t_events) - 2) / span
    assert 14 <= rate <= 22, rate  # t_s changes every 50 ms control step: about 20 notifications/s
    values = [e[2] for e in t_events]
    assert values == sorted(values) and values[-1] - values[0] > 1.5
    assert any(e[1] == "belt.parts" for e in events)  # the initial value at least


def test_writes_are_checked_with_proper_status_codes(served):
    async def body(c, ns):
        speed = c.get_node(ua.NodeId("belt.speed_mps", ns))
        codes = {}
        for label, node, variant in (
                ("ok", speed, ua.Variant(0.3, ua.VariantType.Double)),
                ("float32 ok", speed, ua.Variant(0.4, ua.VariantType.Float)),
                ("out of range", speed, ua.Variant(10.5, ua.VariantType.Double)),
                ("NaN", speed, ua.Variant(float("nan"), ua.VariantType.Double)),
                ("type", speed, ua.Variant("fast", ua.VariantType.String)),
                ("bool for float", speed, ua.Variant(True, ua.VariantType.Boolean)),
                ("int for bool", c.get_node(ua.NodeId("belt.motor_on", ns)), ua.Variant(1, ua.VariantType.Int32)),
                ("read-only", c.get_node(ua.NodeId("t_s", ns)), ua.Variant(1.0, ua.VariantType.Double)),
                ("read-only counter", c.get_node(ua.NodeId("line.throughput_total", ns)),
                 ua.Variant(5, ua.VariantType.Int64))):
            params = ua.WriteParameters(NodesToWrite=[ua.WriteValue(NodeId=node.nodeid, AttributeId=ua.AttributeIds.Value,
                                                                    Value=ua.DataValue(variant))])
            codes[label] = (await c.uaclient.write(params))[0].name
        return codes

    codes = asyncio.run(_session(served, body))
    assert codes == {"ok": "Good", "float32 ok": "Good", "out of range": "BadOutOfRange", "NaN": "BadOutOfRange",
                     "type": "BadTypeMismatch", "bool for float": "BadTypeMismatch", "int for bool": "BadTypeMismatch",
                     "read-only": "BadNotWritable", "read-only counter": "BadNotWritable"}
    served.wait_steps(2)
    assert served.signals._setpoint["belt"] == pytest.approx(0.4)
    assert served.adapters.opcua.stats["writes_refused"] >= 7


def test_methods_start_stop_reset_inject_fault(served):
    async def body(c, ns):
        root = c.get_node(ua.NodeId("line", ns))

        async def call(name, *args):
            return await root.call_method(ua.NodeId(f"line.{name}", ns), *args)

        results = {"stop": await call("Stop")}
        await asyncio.sleep(0.2)
        results["motor after stop"] = await c.get_node(ua.NodeId("belt.motor_on", ns)).read_value()
        results["start"] = await call("Start")
        results["inject"] = await call("InjectFault", "belt/eye", "eye_blocked", ua.Variant(0.0, ua.VariantType.Double))
        await asyncio.sleep(0.2)
        results["eye"] = await c.get_node(ua.NodeId("belt/eye.blocked", ns)).read_value()
        results["faults"] = await c.get_node(ua.NodeId("line.faults_active", ns)).read_value()
        try:
            await call("InjectFault", "nowhere", "eye_blocked", ua.Variant(1.0, ua.VariantType.Double))
        except ua.UaStatusCodeError as exc:
            results["bad target"] = type(exc).__name__
        results["reset"] = await call("Reset")
        await asyncio.sleep(0.2)
        results["faults after reset"] = await c.get_node(ua.NodeId("line.faults_active", ns)).read_value()
        return results

    r = asyncio.run(_session(served, body))
    assert r["stop"] == "stopped 1 conveyors" and r["motor after stop"] is False
    assert r["start"] == "started 1 conveyors"
    assert r["inject"] == "injected eye_blocked on belt/eye" and r["eye"] is True and r["faults"] == 1
    assert r["bad target"] == "BadInvalidArgument"
    assert r["reset"] == "reset: cleared 1 injected faults" and r["faults after reset"] == 0


def test_a_value_never_received_is_bad_waiting_for_initial_data():
    """Before the twin's first snapshot reaches the server, no value is invented."""
    import twin
    from tests.adapters.conftest import SCENE, free_port
    from twin.bridge.adapters.aio import AsyncThread
    from twin.bridge.adapters.commands import LineCommands
    from twin.bridge.adapters.exchange import Exchange
    from twin.bridge.adapters.opcua_server import OpcUaAdapter
    from twin.bridge.adapters.tagmap import build_tag_map
    from twin.bridge.signals import SignalMap

    sm = SignalMap(twin.Twin(twin.load_scene_text(SCENE), trace=False))
    ex = Exchange(sm, LineCommands(sm))
    url = f"opc.tcp://127.0.0.1:{free_port()}"
    adapter = OpcUaAdapter(build_tag_map(sm, "adapters_test"), ex, url, "adapters_test", insecure=True)
    thread = AsyncThread()
    try:
        thread.run(adapter.start())

        async def read():
            async with Client(url, timeout=4) as c:
                ns = await c.get_namespace_index("urn:twin:adapters_test")
                return await c.get_node(ua.NodeId("belt.speed_mps", ns)).read_data_value(raise_on_bad_status=False)

        dv = thread.run(read())
        assert dv.StatusCode.value == ua.StatusCodes.BadWaitingForInitialData
        ex.publish()
        time.sleep(0.2)
        assert thread.run(read()).Value.Value == 0.5
    finally:
        thread.run(adapter.stop())
        thread.close()
