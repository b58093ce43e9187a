"""The same control program over OPC UA: read the input variables, run the scan, write the outputs."""

from __future__ import annotations

import asyncio
import time

from asyncua import Client, ua
from plc_logic import Inputs, Outputs, scan


async def run_plc(url: str, namespace: str, duration_s: float, cycle_s: float = 0.02, logic=scan) -> dict:
    """Run the scan cycle for ``duration_s`` (wall clock) against the twin's OPC UA server."""
    async with Client(url, timeout=4) as client:
        ns = await client.get_namespace_index(namespace)

        def node(name):
            return client.get_node(ua.NodeId(name, ns))

        inputs = [node("cell/infeed/eye_end.blocked"), node("cell/robot.busy"), node("cell/robot.done"),
                  node("cell/robot.fault")]
        motor, start = node("cell/infeed.motor_on"), node("cell/robot.start")
        out = Outputs(motor_on=False, robot_start=False)
        scans = 0
        end = time.monotonic() + duration_s
        while time.monotonic() < end:
            t0 = time.monotonic()
            eye, busy, done, fault = await client.read_values(inputs)
            new = logic(Inputs(eye=eye, robot_busy=busy, robot_done=done, fault=fault), out)
            if new != out or scans == 0:
                await client.write_values([motor, start], [ua.DataValue(ua.Variant(new.motor_on, ua.VariantType.Boolean)),
                                                           ua.DataValue(ua.Variant(new.robot_start,
                                                                                   ua.VariantType.Boolean))])
            out = new
            scans += 1
            await asyncio.sleep(max(0.0, cycle_s - (time.monotonic() - t0)))
    return {"scans": scans}
