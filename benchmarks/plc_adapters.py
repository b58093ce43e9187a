"""PLC adapters: OPC UA data-change notifications and write latency, Modbus reads, each next to a bare
asyncua / pymodbus server doing the same in the same run.

Everything on loopback TCP in one process (servers on their asyncio thread, the client on another
event loop, the simulation on its own thread), so all share the GIL as they would in ``twin serve``
with a local client.

- ``opcua_notifications_per_s``: 1,000 float signals that all change every 100 ms (the twin paced at
  real time with 10 ms control steps, trace off: 10,000 changes/s offered), subscribed by one asyncua
  client (publishing interval 50 ms); notifications it received per second.
  ``bare_opcua_notifications_per_s``: a bare asyncua server whose 1,000 variables are rewritten every
  100 ms, same client.
  ``opcua_ratio`` = ours / bare. Either can fall short of the offered rate: then it is the limit.
- ``write_latency_p50_ms``, ``write_latency_p99_ms``: from an OPC UA client starting a write of a belt's
  speed set-point to the twin's simulation thread applying it, with the 1,000 subscriptions live and
  the twin paced at real time with 10 ms control steps (so up to one step of waiting is included).
  ``bare_write_p50_ms``, ``bare_write_p99_ms``: the write round trip to a bare asyncua server with
  the same 1,000 live subscriptions.
- ``modbus_reads_per_s``: read-input-registers requests of 100 registers (50 float signals) answered
  per second (one client, back to back) by a Modbus-only twin stepping at real time;
  ``bare_modbus_reads_per_s``: the same against a pymodbus ``SimDevice``
  server; ``modbus_ratio`` = ours / bare.

Usage: python benchmarks/plc_adapters.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import threading
import time

import _harness as H
import numpy as np
from asyncua import Client, Server, ua
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

import twin
from twin.bridge.adapters.aio import AsyncThread
from twin.bridge.adapters.host import PlcAdapters
from twin.bridge.signals import Signal, SignalMap

SCENE = """
version: 1
name: bench
sim: {control_step_s: 0.01}
part_types: [{name: p, length_m: 0.2}]
sources: [{name: src, to: belt, interarrival: 1.0}]
conveyors: [{name: belt, to: press, length_m: 4.0, speed_mps: 0.5, spacing_m: 0.3}]
stations: [{name: press, to: out, process_time: 0.8}]
sinks: [{name: out}]
"""
N_SIGNALS = 1000
EVERY = 10  # 10 ms control steps: each signal changes every 100 ms, 10,000 changes/s offered


class Changing:
    """1,000 read-only float signals that all change at every read (every control step)."""

    def __init__(self, n: int) -> None:
        self.names = [f"bench.s{i:04d}" for i in range(n)]
        self.k = 0

    def provided(self) -> list[Signal]:
        return [Signal(name, "float", "", False) for name in self.names]

    def read(self, values: dict) -> None:
        self.k += 1
        base = float(self.k // EVERY)  # all change together, every EVERY-th control step
        values.update(zip(self.names, (base + 0.001 * i for i in range(len(self.names))), strict=True))

    def write(self, name, value) -> None:
        raise KeyError(name)

    def fall_back(self, name, mode) -> None:
        pass


class _Count:
    def __init__(self) -> None:
        self.n = 0
        self.watch: dict = {}

    def datachange_notification(self, node, value, data) -> None:
        self.n += 1


async def _count_notifications(url: str, nodes_of, seconds: float) -> float:
    async with Client(url, timeout=10) as c:
        nodes = await nodes_of(c)
        h = _Count()
        sub = await c.create_subscription(50, h)
        for i in range(0, len(nodes), 250):
            await sub.subscribe_data_change(nodes[i:i + 250], sampling_interval=0)
        await asyncio.sleep(0.5)  # initial values out of the way
        n0, t0 = h.n, time.perf_counter()
        await asyncio.sleep(seconds)
        rate = (h.n - n0) / (time.perf_counter() - t0)
        await sub.delete()
        return rate


async def _write_latencies(url: str, nodes_of, target, writes: int, applied: dict | None) -> list[float]:
    """Write latencies (ms): until ``applied[value]`` is stamped (ours) or the write returns (bare)."""
    async with Client(url, timeout=10) as c:
        nodes = await nodes_of(c)
        sub = await c.create_subscription(50, _Count())
        for i in range(0, len(nodes), 250):
            await sub.subscribe_data_change(nodes[i:i + 250], sampling_interval=0)
        node = await target(c)
        out, acks = [], []
        for k in range(writes):
            value = 0.1 + (k % 500) * 0.001 + 1e-7 * k
            t0 = time.perf_counter()
            await node.write_value(ua.DataValue(ua.Variant(value, ua.VariantType.Double)))
            acks.append((time.perf_counter() - t0) * 1e3)
            if applied is not None:
                while value not in applied:
                    await asyncio.sleep(0.0002)
                out.append((applied.pop(value) - t0) * 1e3)
            else:
                out.append(acks[-1])
            await asyncio.sleep(0.005 * random.random())  # writes at random phases of the control step
        await sub.delete()
        return out, acks


def run_twin(speed: float, stop: threading.Event, adapters: PlcAdapters, tw) -> threading.Thread:
    def loop():
        start = time.monotonic()
        while not stop.is_set():
            adapters.before_step()
            tw.step()
            adapters.after_step()
            if speed > 0:
                ahead = tw.time_s / speed - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)
    th = threading.Thread(target=loop, daemon=True)
    th.start()
    return th


def ours(seconds: float, writes: int, modbus_s: float) -> dict:
    tw = twin.Twin(twin.load_scene_text(SCENE), seed=1, trace=False)
    sm = SignalMap(tw)
    sm.add_provider(Changing(N_SIGNALS))
    applied: dict = {}
    original = sm.write

    def stamped(name, value):  # the simulation thread applies a write: stamp it
        original(name, value)
        if name == "belt.speed_mps":
            applied[value] = time.perf_counter()

    sm.write = stamped
    url, mb_port = f"opc.tcp://127.0.0.1:{H.free_port()}", H.free_port()
    adapters = PlcAdapters(sm, "bench", opcua_url=url, insecure=True)
    adapters.start()
    out = {}
    try:
        ns = {}

        async def nodes_of(c):
            ns["i"] = await c.get_namespace_index("urn:twin:bench")
            return [c.get_node(ua.NodeId(f"bench.s{i:04d}", ns["i"])) for i in range(N_SIGNALS)]

        async def target(c):
            return c.get_node(ua.NodeId("belt.speed_mps", ns["i"]))

        stop = threading.Event()
        th = run_twin(1.0, stop, adapters, tw)  # real time, 10 ms steps: 1,000 changes per step offered
        steps0, t0 = tw.time_s, time.perf_counter()
        out["opcua_notifications_per_s"] = asyncio.run(_count_notifications(url, nodes_of, seconds))
        out["twin_steps_per_s_while_notifying"] = (tw.time_s - steps0) / 0.01 / (time.perf_counter() - t0)
        lat, acks = asyncio.run(_write_latencies(url, nodes_of, target, writes, applied))
        out["write_latency_p50_ms"], out["write_latency_p99_ms"] = (float(np.percentile(lat, q)) for q in (50, 99))
        out["write_ack_p50_ms"], out["write_ack_p99_ms"] = (float(np.percentile(acks, q)) for q in (50, 99))
        stop.set()
        th.join()
    finally:
        adapters.close()
    tw = twin.Twin(twin.load_scene_text(SCENE), seed=1, trace=False)
    sm = SignalMap(tw)
    sm.add_provider(Changing(N_SIGNALS))
    adapters = PlcAdapters(sm, "bench", modbus=("127.0.0.1", mb_port))
    adapters.start()
    stop = threading.Event()
    th = run_twin(1.0, stop, adapters, tw)
    try:
        first = adapters.tagmap.by_signal["bench.s0000"].address
        out["modbus_reads_per_s"] = asyncio.run(_modbus_reads(mb_port, 1, modbus_s, first))
    finally:
        stop.set()
        th.join()
        adapters.close()
    return out


def bare(seconds: float, writes: int, modbus_s: float) -> dict:
    thread = AsyncThread("bare")
    url = f"opc.tcp://127.0.0.1:{H.free_port()}"
    state = {}

    async def start():
        server = Server()
        await server.init()
        server.set_endpoint(url)
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        idx = await server.register_namespace("urn:bare")
        folder = await server.nodes.objects.add_folder(ua.NodeId("bench", idx), "bench")
        ids = []
        for i in range(N_SIGNALS):
            v = await folder.add_variable(ua.NodeId(f"s{i:04d}", idx), f"s{i:04d}", 0.0)
            ids.append(v.nodeid)
        sp = await folder.add_variable(ua.NodeId("speed", idx), "speed", 0.5)
        await sp.set_writable()
        await server.start()
        state.update(server=server, ids=ids, idx=idx)

    thread.run(start())
    out = {}
    running = {"on": True}

    async def churn():  # rewrite all 1,000 values every 100 ms, as the twin offers them
        aspace, k = state["server"].iserver.aspace, 0
        t0 = time.perf_counter()
        while running["on"]:
            k += 1
            for i, nid in enumerate(state["ids"]):
                await aspace.write_attribute_value(nid, ua.AttributeIds.Value,
                                                   ua.DataValue(ua.Variant(k + 0.001 * i, ua.VariantType.Double)))
            await asyncio.sleep(max(0.0, t0 + 0.01 * EVERY * k - time.perf_counter()))

    async def nodes_of(c):
        return [c.get_node(nid) for nid in state["ids"]]

    async def target(c):
        return c.get_node(ua.NodeId("speed", state["idx"]))

    fut = thread.submit(churn())
    out["bare_opcua_notifications_per_s"] = asyncio.run(_count_notifications(url, nodes_of, seconds))
    lat, _ = asyncio.run(_write_latencies(url, nodes_of, target, writes, None))
    out["bare_write_p50_ms"], out["bare_write_p99_ms"] = (float(np.percentile(lat, q)) for q in (50, 99))
    running["on"] = False
    fut.result(10)
    thread.run(state["server"].stop())
    port = H.free_port()

    async def start_mb():
        device = SimDevice(1, simdata=([SimData(0, values=False, datatype=DataType.BITS)],
                                       [SimData(0, values=False, datatype=DataType.BITS)],
                                       [SimData(0, values=0, datatype=DataType.REGISTERS)],
                                       [SimData(0, count=200, values=1234, datatype=DataType.REGISTERS)]))
        server = ModbusTcpServer(device, address=("127.0.0.1", port))
        await server.serve_forever(background=True)
        return server

    server = thread.run(start_mb())
    out["bare_modbus_reads_per_s"] = asyncio.run(_modbus_reads(port, 1, modbus_s))
    thread.run(server.shutdown())
    thread.close()
    return out


async def _modbus_reads(port: int, unit: int, seconds: float, first: int = 0) -> float:
    c = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=5)
    await c.connect()
    try:
        r = await c.read_input_registers(first, count=100, device_id=unit)
        assert not r.isError() and len(r.registers) == 100, r
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            r = await c.read_input_registers(first, count=100, device_id=unit)
            n += 1
        return n / (time.perf_counter() - t0)
    finally:
        c.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    machine = H.machine_info()
    H.print_header("PLC adapters: OPC UA notifications and write latency, Modbus reads, vs bare asyncua/pymodbus",
                   machine, H.numba_cache_files())
    seconds, writes, modbus_s = (2.0, 50, 1.5) if args.quick else (10.0, 500, 5.0)
    with H.Timer() as t_ours:
        a = ours(seconds, writes, modbus_s)
    with H.Timer() as t_bare:
        b = bare(seconds, writes, modbus_s)
    r = {**a, **b}
    r["opcua_ratio"] = r["opcua_notifications_per_s"] / r["bare_opcua_notifications_per_s"]
    r["modbus_ratio"] = r["modbus_reads_per_s"] / r["bare_modbus_reads_per_s"]
    print(f"OPC UA, {N_SIGNALS} subscribed signals, each changing every 100 ms: ours {r['opcua_notifications_per_s']:,.0f} "
          f"notifications/s (twin at {r['twin_steps_per_s_while_notifying']:,.0f} steps/s), bare asyncua "
          f"{r['bare_opcua_notifications_per_s']:,.0f}/s, ratio {r['opcua_ratio']:.2f}")
    print(f"OPC UA write -> applied in the twin (10 ms steps, real time): p50 {r['write_latency_p50_ms']:.2f} ms, "
          f"p99 {r['write_latency_p99_ms']:.2f} ms; bare asyncua write round trip p50 {r['bare_write_p50_ms']:.2f} ms, "
          f"p99 {r['bare_write_p99_ms']:.2f} ms")
    print(f"Modbus, 100-register reads: ours {r['modbus_reads_per_s']:,.0f}/s, bare pymodbus "
          f"{r['bare_modbus_reads_per_s']:,.0f}/s, ratio {r['modbus_ratio']:.2f}")
    figures = {k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()}
    figures.update(signals=N_SIGNALS, quick=args.quick, ours_s=round(t_ours.s, 1), bare_s=round(t_bare.s, 1),
                   machine=machine)
    H.emit_json(figures)


if __name__ == "__main__":
    main()
