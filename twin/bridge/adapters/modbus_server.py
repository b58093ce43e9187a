"""Modbus TCP server (pymodbus) over the tag map.

Coils carry writable bools (actuator outputs the PLC writes), discrete inputs read-only bools
(sensors), holding registers writable numbers (set-points), input registers read-only numbers
(measurements); addresses, data types, word order and scale come from the tag map (``docs/plc.md``).
Answers follow the Modbus application protocol:

- an address no tag occupies, or a request that covers only part of a 32-bit tag: exception 02;
- a written value of the wrong type or out of range (a coil other than 0x0000/0xFF00 is refused by
  pymodbus itself; NaN; beyond the signal's range): exception 03, and nothing of the request is applied;
- a read that includes a mirrored signal whose source is lost or never seen: exception 04;
- a unit id the map does not have: exception 0B (gateway target failed to respond). With one unit,
  unit ids 0 and 255 address it too (many TCP masters send them).

Requests are answered from the latest snapshot in the adapter thread; accepted writes are queued for
the simulation thread, so no client ever blocks the simulation.
"""

from __future__ import annotations

import logging
import math
import struct

from pymodbus.constants import ExcCodes
from pymodbus.datastore import ModbusServerContext
from pymodbus.exceptions import NoSuchIdException
from pymodbus.server import ModbusTcpServer

from ...errors import UsageError
from .tagmap import DTYPES, STATE_CODES, Tag, TagMap

__all__ = ["ModbusAdapter", "encode", "decode"]

_TABLE_OF_FC = {1: "coil", 5: "coil", 15: "coil", 2: "discrete_input", 3: "holding_register", 6: "holding_register",
                16: "holding_register", 22: "holding_register", 23: "holding_register", 4: "input_register"}
_STATES = {code: name for name, code in STATE_CODES.items()}


def encode(tag: Tag, value) -> list[int]:
    """The words (or one bit) of ``value`` under ``tag``'s encoding; integers saturate at their range."""
    if tag.table in ("coil", "discrete_input"):
        return [1 if value else 0]
    if tag.type == "str":
        value = STATE_CODES.get(value, 0xFFFF)
    if tag.dtype == "float32":
        words = list(struct.unpack(">HH", struct.pack(">f", float(value))))
    else:
        n, (low, high) = DTYPES[tag.dtype]
        raw = max(low, min(high, round(float(value) * tag.scale) if math.isfinite(float(value)) else 0))
        if n == 1:
            return [raw & 0xFFFF]
        words = [(raw >> 16) & 0xFFFF, raw & 0xFFFF]
    return words if tag.word_order == "big" else words[::-1]


def decode(tag: Tag, words: list) -> object:
    """The signal value a master wrote as ``words`` (or one bit), before range checks."""
    if tag.table == "coil":
        return bool(words[0])
    if tag.word_order == "little":
        words = words[::-1]
    if tag.dtype == "float32":
        return struct.unpack(">f", struct.pack(">HH", *words))[0]
    raw = words[0] if len(words) == 1 else (words[0] << 16) | words[1]
    bits = 16 * len(words)
    if tag.dtype.startswith("int") and raw >= 1 << (bits - 1):
        raw -= 1 << bits
    if tag.type == "bool":
        return True if raw == 1 else False if raw == 0 else raw  # a non-0/1 stays an int: a type mismatch
    if tag.type == "str":
        return _STATES.get(raw, raw)
    value = raw / tag.scale
    if tag.type == "int":
        return int(value) if value == int(value) else value  # a fraction is a type mismatch
    return value


class TwinContext(ModbusServerContext):
    """The datastore pymodbus asks: tables built from the tag map, values from the exchange.

    It subclasses pymodbus's context only to be accepted by its server (``old_simulator`` routes
    requests to the async get/set methods here); pymodbus's own datastore is not used.
    """

    def __init__(self, tagmap: TagMap, exchange) -> None:  # no super().__init__: no datastore of its own
        self.old_simulator = True
        self.simdevices = []
        self.tagmap, self.exchange = tagmap, exchange
        self._cache_version = -1
        self._cache: dict[str, list[int]] = {}
        self._written: dict[tuple, tuple[int, int]] = {}  # ((unit, table), address) -> (word, snapshot version)
        self.stats = {"reads": 0, "writes": 0, "exceptions": 0}

    def device_ids(self) -> list[int]:
        return self.tagmap.units

    def _unit(self, device_id: int) -> int:
        units = self.tagmap.units
        if device_id in units:
            return device_id
        if len(units) == 1 and device_id in (0, 255):
            return units[0]
        raise NoSuchIdException(f"unit {device_id} is not in the tag map (units: {units})")

    def _words(self, snap, tag: Tag) -> list[int]:
        """``tag``'s words in ``snap``, encoded once per snapshot (only the tags that are read)."""
        if snap.version != self._cache_version:
            self._cache.clear()
            self._cache_version = snap.version
        words = self._cache.get(tag.signal)
        if words is None:
            value = snap.values.get(tag.signal)
            words = encode(tag, value) if value is not None else [0] * tag.registers
            self._cache[tag.signal] = words
        return words

    def _fail(self, code: ExcCodes) -> ExcCodes:
        self.stats["exceptions"] += 1
        return code

    async def async_getValues(self, device_id: int, func_code: int, address: int, count: int = 1):
        key = (self._unit(device_id), _TABLE_OF_FC.get(func_code))
        cells = self.tagmap.cells.get(key, {})
        addrs = range(address, address + count)
        if any(a not in cells for a in addrs):
            return self._fail(ExcCodes.ILLEGAL_ADDRESS)
        snap = self.exchange.snapshot
        if snap.quality and any(snap.quality.get(cells[a][0].signal) in ("no_comm", "waiting") for a in addrs):
            return self._fail(ExcCodes.DEVICE_FAILURE)
        result = []
        a = address
        end = address + count
        while a < end:  # whole tags at a time; a read may start or end inside a 32-bit tag
            tag, k = cells[a]
            words = self._words(snap, tag)
            take = min(tag.registers - k, end - a)
            result += words[k:k + take]
            a += take
        if self._written:
            for (k, a), (w, version) in list(self._written.items()):
                if version != snap.version:
                    del self._written[(k, a)]  # the snapshot now shows what the twin applied
                elif k == key and address <= a < end:
                    result[a - address] = w
        self.stats["reads"] += 1
        if key[1] in ("coil", "discrete_input"):
            return [bool(w) for w in result]
        return result

    async def async_setValues(self, device_id: int, func_code: int, address: int, values) -> ExcCodes | None:
        key = (self._unit(device_id), _TABLE_OF_FC.get(func_code))
        cells = self.tagmap.cells.get(key, {})
        end = address + len(values)
        if any(a not in cells for a in range(address, end)):
            return self._fail(ExcCodes.ILLEGAL_ADDRESS)
        writes = {}
        a = address
        while a < end:
            tag, k = cells[a]
            if k != 0 or tag.address + tag.registers > end:  # a 32-bit tag written only in part
                return self._fail(ExcCodes.ILLEGAL_ADDRESS)
            words = [int(v) for v in values[a - address: a - address + tag.registers]]
            writes[tag] = (decode(tag, words), words)
            a += tag.registers
        for tag, (value, _) in writes.items():
            if self.exchange.check(tag.signal, value) is not None:
                return self._fail(ExcCodes.ILLEGAL_VALUE)
        version = self.exchange.snapshot.version
        for tag, (value, words) in writes.items():
            self.exchange.submit_write(tag.signal, value)
            for k, w in enumerate(words):  # read back as written until a snapshot includes it
                self._written[(key, tag.address + k)] = (w, version)
        self.stats["writes"] += 1
        return None


class ModbusAdapter:
    """A Modbus TCP server on ``host:port`` serving ``tagmap`` from ``exchange``.

    Start and stop it on an :class:`~twin.bridge.adapters.aio.AsyncThread` (``await start()``).
    """

    def __init__(self, tagmap: TagMap, exchange, host: str = "127.0.0.1", port: int = 5020) -> None:
        self.host, self.port = host, int(port)
        self.context = TwinContext(tagmap, exchange)
        self.server = None

    @property
    def stats(self) -> dict:
        return self.context.stats

    async def start(self) -> None:
        """Listen; raises UsageError when the port cannot be bound."""
        logging.getLogger("pymodbus").setLevel(logging.CRITICAL)  # failures are reported once, below
        self.server = ModbusTcpServer(self.context, address=(self.host, self.port))
        try:
            await self.server.serve_forever(background=True)
        except (RuntimeError, OSError):
            self.server = None
            raise UsageError(f"--modbus: cannot listen on {self.host}:{self.port}: the port is in use or the address "
                             "is not local") from None

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.shutdown()
            self.server = None
