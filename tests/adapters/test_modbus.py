"""A real pymodbus client against the twin's Modbus TCP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import math
import socket
import struct

import pytest
from pymodbus.client import AsyncModbusTcpClient

from twin.bridge.adapters.modbus_server import decode, encode
from twin.bridge.adapters.tagmap import STATE_CODES

pytestmark = pytest.mark.timeout(60)


def _client(served):
    return AsyncModbusTcpClient("127.0.0.1", port=served.modbus_port, timeout=2, retries=0)


async def _read(c, tag):
    fn = {"coil": c.read_coils, "discrete_input": c.read_discrete_inputs,
          "holding_register": c.read_holding_registers, "input_register": c.read_input_registers}[tag.table]
    r = await fn(tag.address, count=tag.registers, device_id=tag.modbus_unit)
    assert not r.isError(), (tag.signal, r)
    return r.bits[:1] if tag.table in ("coil", "discrete_input") else r.registers


def test_every_mapped_address_reads_with_the_documented_encoding(served):
    async def go():
        c = _client(served)
        await c.connect()
        try:
            served.wait_steps(2)
            got = {t.signal: await _read(c, t) for t in served.adapters.tagmap.tags if t.table}
        finally:
            c.close()
        return got

    got = asyncio.run(go())
    truth = served.adapters.exchange.snapshot.values
    tags = served.adapters.tagmap.by_signal
    assert len(got) >= 12
    for name, words in got.items():
        tag = tags[name]
        if name == "t_s" or name.endswith((".released", ".processed", ".parts", ".busy")) or name.endswith(".blocked"):
            continue  # they move between the read and the snapshot; their encoding is checked below
        assert decode(tag, words) == truth[name] or (tag.type == "str" and words[0] == STATE_CODES[truth[name]]), name
    # documented encoding, by hand: float32 big-endian, high word first
    speed = got["belt.speed_mps"]
    assert struct.unpack(">f", struct.pack(">HH", *speed))[0] == pytest.approx(0.5)
    assert got["belt.motor_on"] == [True]
    # the simulated clock as float32 is close to the twin's
    t = struct.unpack(">f", struct.pack(">HH", *got["t_s"]))[0]
    assert abs(t - served.tw.time_s) < 1.0


def test_writes_reach_the_twin_and_read_back(served):
    tags = served.adapters.tagmap.by_signal

    async def go():
        c = _client(served)
        await c.connect()
        try:
            sp = tags["belt.speed_mps"]
            r = await c.write_registers(sp.address, c.convert_to_registers(0.25, c.DATATYPE.FLOAT32), device_id=1)
            assert not r.isError()
            r = await c.write_coil(tags["belt.motor_on"].address, False, device_id=1)
            assert not r.isError() and r.bits[0] is False  # echoed as written
            served.wait_steps(2)
            assert served.signals.read()["belt.motor_on"] is False
            assert served.signals._setpoint["belt"] == pytest.approx(0.25)
            assert served.signals.read()["belt.speed_mps"] == 0.0  # motor off: the belt stands
            r = await c.read_coils(tags["belt.motor_on"].address, count=1, device_id=1)
            assert r.bits[0] is False
            await c.write_coil(tags["belt.motor_on"].address, True, device_id=1)
            served.wait_steps(2)
            assert served.signals.read()["belt.speed_mps"] == pytest.approx(0.25)
            await c.write_registers(sp.address, c.convert_to_registers(0.5, c.DATATYPE.FLOAT32), device_id=1)
            served.wait_steps(2)
        finally:
            c.close()

    asyncio.run(go())
    assert served.signals.read()["belt.speed_mps"] == pytest.approx(0.5)


def test_illegal_addresses_and_values_get_modbus_exceptions(served):
    tags = served.adapters.tagmap.by_signal
    sp = tags["belt.speed_mps"]

    async def go():
        c = _client(served)
        await c.connect()
        codes = {}
        try:
            codes["unmapped read"] = (await c.read_input_registers(900, count=2, device_id=1)).exception_code
            codes["read past the map"] = (await c.read_discrete_inputs(0, count=50, device_id=1)).exception_code
            codes["unmapped coil"] = (await c.write_coil(77, True, device_id=1)).exception_code
            codes["half a float"] = (await c.write_register(sp.address, 0x3F00, device_id=1)).exception_code
            codes["out of range"] = (await c.write_registers(
                sp.address, c.convert_to_registers(11.0, c.DATATYPE.FLOAT32), device_id=1)).exception_code
            codes["NaN"] = (await c.write_registers(
                sp.address, c.convert_to_registers(math.nan, c.DATATYPE.FLOAT32), device_id=1)).exception_code
            codes["negative"] = (await c.write_registers(
                sp.address, c.convert_to_registers(-1.0, c.DATATYPE.FLOAT32), device_id=1)).exception_code
            codes["unknown unit"] = (await c.read_coils(0, count=1, device_id=9)).exception_code
            ok = await c.read_coils(0, count=1, device_id=0)  # unit 0 addresses the only unit
            codes["unit 0"] = ok.exception_code if ok.isError() else 0
        finally:
            c.close()
        return codes

    codes = asyncio.run(go())
    assert codes == {"unmapped read": 2, "read past the map": 2, "unmapped coil": 2, "half a float": 2,
                     "out of range": 3, "NaN": 3, "negative": 3, "unknown unit": 0x0B, "unit 0": 0}
    assert served.signals._setpoint["belt"] == pytest.approx(0.5)  # nothing applied
    assert served.adapters.modbus.stats["exceptions"] >= 7


def test_malformed_frames_never_crash_the_server(served):
    for junk in (b"\x00", b"\xff" * 300, b"\x00\x01\x00\x00\x00\x02\x01\x63", b"\x00\x01\x00\x00\xff\xff\x01\x03"):
        with socket.create_connection(("127.0.0.1", served.modbus_port), timeout=2) as s:
            s.sendall(junk)
            s.settimeout(0.3)
            try:
                s.recv(512)
            except (TimeoutError, ConnectionError):
                pass
    steps = served.steps
    served.wait_steps(2)
    assert served.steps > steps  # the simulation kept going

    async def go():
        c = _client(served)
        await c.connect()
        try:
            return await c.read_coils(0, count=1, device_id=1)
        finally:
            c.close()

    assert not asyncio.run(go()).isError()


def test_codec_word_order_and_scale():
    from twin.bridge.adapters.tagmap import Tag

    t = Tag("belt.speed_mps", "float", "m/s", True, 0, 10, "x", table="holding_register", dtype="int32", scale=1000,
            word_order="little")
    assert encode(t, 0.25) == [250, 0]  # raw 250 (mm/s), low word first
    assert decode(t, [250, 0]) == 0.25
    t2 = Tag("n", "int", "", False, None, None, "n", table="input_register", dtype="uint32")
    assert encode(t2, 70_000) == [1, 70_000 - 65_536]
    assert encode(t2, -5) == [0, 0]  # saturates at the type's range
