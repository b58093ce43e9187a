"""The cell's control program over Modbus TCP, written like a PLC program: a fixed scan cycle of
read inputs -> logic -> write outputs, against the addresses pinned in ``tags.yaml``."""

from __future__ import annotations

import asyncio
import time

from plc_logic import Inputs, Outputs, scan
from pymodbus.client import AsyncModbusTcpClient

# the I/O map (tags.yaml)
COIL_MOTOR, COIL_ROBOT_START = 0, 1
DI_EYE, DI_ROBOT_BUSY, DI_ROBOT_DONE = 0, 1, 2
IR_FAULT = 0
UNIT = 1


async def run_plc(host: str, port: int, duration_s: float, cycle_s: float = 0.02, logic=scan) -> dict:
    """Run the scan cycle for ``duration_s`` (wall clock); return counters."""
    client = AsyncModbusTcpClient(host, port=port, timeout=2)
    if not await client.connect():
        raise ConnectionError(f"no Modbus server at {host}:{port}")
    out = Outputs(motor_on=False, robot_start=False)
    scans = 0
    end = time.monotonic() + duration_s
    try:
        while time.monotonic() < end:
            t0 = time.monotonic()
            di = await client.read_discrete_inputs(DI_EYE, count=3, device_id=UNIT)
            ir = await client.read_input_registers(IR_FAULT, count=1, device_id=UNIT)
            if di.isError() or ir.isError():
                raise RuntimeError(f"input read failed: {di} {ir}")
            i = Inputs(eye=di.bits[0], robot_busy=di.bits[1], robot_done=di.bits[2], fault=ir.registers[0])
            new = logic(i, out)
            if new != out or scans == 0:
                r = await client.write_coils(COIL_MOTOR, [new.motor_on, new.robot_start], device_id=UNIT)
                if r.isError():
                    raise RuntimeError(f"output write failed: {r}")
            out = new
            scans += 1
            await asyncio.sleep(max(0.0, cycle_s - (time.monotonic() - t0)))
    finally:
        client.close()
    return {"scans": scans}
