"""Shadow mode: the twin as a client of the plant, mirroring an OPC UA server or a Modbus device.

Mirrored signals are the twin's writable inputs (a belt's speed set-point, its motor) driven by the
real plant instead of a simulated controller. Each mirror runs on the adapters' asyncio thread:

1. connect (capped exponential back-off, 0.5 s doubling to ``max_backoff_s``);
2. **resync**: read every mapped value once, apply them, and only then count as in sync (commands
   from OPC UA/Modbus clients are refused while any mirror is not in sync);
3. follow: OPC UA by a subscription (data-change notifications), Modbus by polling every ``poll_s``;
4. on loss (an error, a timeout, a closed connection): the signals become ``uncertain``
   (UncertainLastUsableValue) at once; after ``timeout_s`` without recovery they become ``no_comm``
   (BadNoCommunication) and the fallback (``hold``, ``simulate`` or ``safe``, as the ZeroMQ bridge's)
   applies; then back to 1.

Mapping file (YAML), see ``docs/plc.md``::

    timeout_s: 2.0          # lost this long: BadNoCommunication and the fallback
    fallback: safe          # hold | simulate | safe
    max_backoff_s: 30       # reconnection back-off cap
    opcua: {url: "opc.tcp://10.0.0.5:4840", nodes: {belt.speed_mps: "ns=2;s=Line1.Belt.Speed"}}
    modbus: {host: 10.0.0.6, port: 502, unit: 1, poll_s: 0.1,
             tags: {belt.motor_on: {table: coil, address: 0}, belt.speed_mps: {table: holding_register, address: 0}}}
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import replace
from pathlib import Path

from ...errors import UsageError
from ...yamlfile import read_yaml_file
from .modbus_server import decode
from .tagmap import Tag, _apply_override, _default_place, _int

__all__ = ["OpcUaMirror", "ModbusMirror", "load_mirror_map"]


class _Mirror:
    """Loss, stale marking, fallback and back-off common to both kinds."""

    kind = "mirror"

    def __init__(self, exchange, names: list[str], timeout_s: float, fallback: str, max_backoff_s: float) -> None:
        self.exchange, self.names = exchange, names
        self.timeout_s, self.fallback, self.max_backoff_s = timeout_s, fallback, max_backoff_s
        self.in_sync = False
        self.lost_since = math.nan
        self._fell_back = False
        self.stats = {"connects": 0, "losses": 0, "values": 0, "refused": 0}
        exchange.add_mirror(self, names)

    def _value(self, name: str, value) -> None:
        if self.exchange.submit_mirrored(name, value):
            self.exchange.mirror_quality[name] = "good"
            self.stats["values"] += 1
        else:
            self.stats["refused"] += 1

    def _synced(self) -> None:
        self.in_sync, self.lost_since, self._fell_back = True, math.nan, False
        self.stats["connects"] += 1

    def _lost(self) -> None:
        if self.in_sync or math.isnan(self.lost_since):
            self.stats["losses"] += 1
            self.lost_since = time.monotonic()
        self.in_sync = False
        for name in self.names:
            if self.exchange.mirror_quality[name] == "good":
                self.exchange.mirror_quality[name] = "uncertain"

    def _check_timeout(self) -> None:
        if self.in_sync or self._fell_back or math.isnan(self.lost_since):
            return
        if time.monotonic() - self.lost_since >= self.timeout_s:
            self._fell_back = True
            for name in self.names:
                if self.exchange.mirror_quality[name] != "waiting":
                    self.exchange.mirror_quality[name] = "no_comm"
                self.exchange.submit_fallback(name, self.fallback)

    async def run(self) -> None:
        """Connect, resync, follow; on any failure mark stale and retry with back-off. Runs until cancelled."""
        backoff = 0.5
        watchdog = asyncio.create_task(self._watchdog())
        try:
            while True:
                connects = self.stats["connects"]
                try:
                    await self._session()
                except asyncio.CancelledError:
                    raise
                except Exception:  # any failure of the plant link is a loss, never a crash
                    pass
                self._lost()
                if self.stats["connects"] > connects:  # it was up: retry soon, then back off
                    backoff = 0.5
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
        finally:
            watchdog.cancel()

    async def _watchdog(self) -> None:
        while True:
            self._check_timeout()
            await asyncio.sleep(0.05)

    async def _session(self) -> None:
        raise NotImplementedError


class OpcUaMirror(_Mirror):
    """Mirror ``nodes`` (signal -> NodeId string) of the OPC UA server at ``url`` by subscription."""

    kind = "opcua"

    def __init__(self, exchange, url: str, nodes: dict[str, str], *, timeout_s: float = 2.0, fallback: str = "hold",
                 period_ms: float = 50.0, max_backoff_s: float = 30.0) -> None:
        super().__init__(exchange, list(nodes), timeout_s, fallback, max_backoff_s)
        self.url, self.nodes, self.period_ms = url, nodes, period_ms

    async def _session(self) -> None:
        from asyncua import Client

        client = Client(self.url, timeout=2, watchdog_intervall=0.5)
        await client.connect()
        try:
            by_node = {}
            nodes = []
            for name, nid in self.nodes.items():
                node = client.get_node(nid)
                by_node[node.nodeid] = name
                nodes.append(node)
            for node, dv in zip(nodes, await client.read_attributes(nodes), strict=True):  # resync first
                if dv.StatusCode is None or dv.StatusCode.is_good():
                    self._value(by_node[node.nodeid], dv.Value.Value)
            handler = _Handler(self, by_node)
            sub = await client.create_subscription(self.period_ms, handler)
            await sub.subscribe_data_change(nodes, sampling_interval=self.period_ms)
            self._synced()
            while True:
                await asyncio.sleep(0.2)
                await client.check_connection()
                if handler.failed:
                    raise ConnectionError("subscription lost")
        finally:
            try:
                await asyncio.wait_for(client.disconnect(), 1.0)
            except Exception:
                pass


class _Handler:
    def __init__(self, mirror: OpcUaMirror, by_node: dict) -> None:
        self.mirror, self.by_node, self.failed = mirror, by_node, False

    def datachange_notification(self, node, value, data) -> None:
        name = self.by_node.get(node.nodeid)
        status = data.monitored_item.Value.StatusCode
        if name is not None and (status is None or status.is_good()):
            self.mirror._value(name, value)

    def status_change_notification(self, status) -> None:
        self.failed = True


class ModbusMirror(_Mirror):
    """Mirror ``tags`` (signal -> :class:`~twin.bridge.adapters.tagmap.Tag`) of a Modbus device by polling."""

    kind = "modbus"

    def __init__(self, exchange, host: str, port: int, tags: dict[str, Tag], *, unit: int = 1, poll_s: float = 0.1,
                 timeout_s: float = 2.0, fallback: str = "hold", max_backoff_s: float = 30.0) -> None:
        super().__init__(exchange, list(tags), timeout_s, fallback, max_backoff_s)
        self.host, self.port, self.tags, self.unit, self.poll_s = host, int(port), tags, unit, poll_s

    async def _read(self, client, tag: Tag) -> list:
        n = tag.registers
        fn = {"coil": client.read_coils, "discrete_input": client.read_discrete_inputs,
              "holding_register": client.read_holding_registers, "input_register": client.read_input_registers}
        r = await fn[tag.table](tag.address, count=n, device_id=self.unit)
        if r.isError():
            raise ConnectionError(f"exception {getattr(r, 'exception_code', '?')} reading {tag.table} {tag.address}")
        return r.bits[:1] if tag.table in ("coil", "discrete_input") else r.registers

    async def _session(self) -> None:
        from pymodbus.client import AsyncModbusTcpClient

        client = AsyncModbusTcpClient(self.host, port=self.port, timeout=1, retries=0, reconnect_delay=0)
        try:
            if not await client.connect():
                raise ConnectionError(f"cannot connect to {self.host}:{self.port}")
            first = True
            while True:
                for name, tag in self.tags.items():
                    self._value(name, decode(tag, await self._read(client, tag)))
                if first:  # every value read once: in sync
                    self._synced()
                    first = False
                await asyncio.sleep(self.poll_s)
        finally:
            client.close()


def load_mirror_map(path: str | Path, signals, opcua_url: str | None = None,
                    modbus_endpoint: tuple[str, int] | None = None) -> dict:
    """Parse a mirror mapping file into keyword arguments for the mirrors (see the module docstring).

    Raises:
        UsageError: unreadable file, unknown or read-only signal, bad field.
    """
    path = Path(path)
    data = read_yaml_file(path, "--mirror")
    if not isinstance(data, dict) or not ({"opcua", "modbus"} & set(data)):
        raise UsageError(f"--mirror: {path} needs an 'opcua' and/or a 'modbus' section (see docs/plc.md)")
    unknown = set(data) - {"opcua", "modbus", "timeout_s", "fallback", "max_backoff_s"}
    if unknown:
        raise UsageError(f"--mirror: {path}: unknown keys {sorted(unknown)}; valid: opcua, modbus, timeout_s, fallback, "
                         "max_backoff_s")
    max_backoff_s = data.get("max_backoff_s", 30.0)
    if not isinstance(max_backoff_s, int | float) or not 0.5 <= max_backoff_s <= 3600:
        raise UsageError(f"--mirror: {path}: max_backoff_s must be in 0.5..3600 s, got {max_backoff_s!r}")
    timeout_s = data.get("timeout_s", 2.0)
    if not isinstance(timeout_s, int | float) or not timeout_s > 0:
        raise UsageError(f"--mirror: {path}: timeout_s must be a number > 0, got {timeout_s!r}")
    fallback = data.get("fallback", "hold")
    if fallback not in ("hold", "simulate", "safe"):
        raise UsageError(f"--mirror: {path}: fallback must be hold, simulate or safe, got {fallback!r}")
    out = {"timeout_s": float(timeout_s), "fallback": fallback, "max_backoff_s": float(max_backoff_s)}
    seen: set[str] = set()

    def signal(name, where):
        if name not in signals.signals:
            raise UsageError(f"--mirror: {path}: {where}: unknown signal {name!r}; see `twin tags SCENE`")
        if not signals.signals[name].writable:
            raise UsageError(f"--mirror: {path}: {where}: {name!r} is computed by the twin; only writable signals "
                             "(set-points, motors, commands) can mirror the plant")
        if name in seen:
            raise UsageError(f"--mirror: {path}: {name!r} is mirrored twice")
        seen.add(name)
        return signals.signals[name]

    if "opcua" in data:
        sec = data["opcua"] or {}
        url = opcua_url or sec.get("url")
        from .opcua_server import parse_opcua_url

        parse_opcua_url(url)
        nodes = sec.get("nodes")
        if not isinstance(nodes, dict) or not nodes:
            raise UsageError(f"--mirror: {path}: opcua.nodes must map signal names to NodeIds ('ns=2;s=...')")
        for name, nid in nodes.items():
            signal(name, "opcua.nodes")
            if not isinstance(nid, str) or not nid.startswith(("ns=", "i=", "s=")):
                raise UsageError(f"--mirror: {path}: opcua.nodes.{name}: NodeId like 'ns=2;s=Belt.Speed', got {nid!r}")
        out["opcua"] = {"url": url, "nodes": {str(k): v for k, v in nodes.items()}}
    if "modbus" in data:
        sec = data["modbus"] or {}
        host, port = modbus_endpoint or (sec.get("host"), sec.get("port", 502))
        if not host:
            raise UsageError(f"--mirror: {path}: modbus.host is missing")
        port = _int(port, f"--mirror: {path}: modbus.port", 1, 65535)
        unit = _int(sec.get("unit", 1), f"--mirror: {path}: modbus.unit", 0, 255)
        poll_s = sec.get("poll_s", 0.1)
        if not isinstance(poll_s, int | float) or not 0.001 <= poll_s <= 60:
            raise UsageError(f"--mirror: {path}: modbus.poll_s must be in 0.001..60 s, got {poll_s!r}")
        tags = {}
        for name, fields in (sec.get("tags") or {}).items():
            sig = signal(name, "modbus.tags")
            if not isinstance(fields, dict) or "address" not in fields or "table" not in fields:
                raise UsageError(f"--mirror: {path}: modbus.tags.{name}: needs table and address")
            table, dtype, scale = _default_place(sig)
            base = Tag(name, sig.type, sig.unit, sig.writable, sig.low, sig.high, node_id=name, table=table,
                       dtype=dtype, scale=scale)
            tags[name] = replace(_apply_override(base, dict(fields), f"--mirror: {path}: modbus.tags"), modbus_unit=1)
        if not tags:
            raise UsageError(f"--mirror: {path}: modbus.tags is empty")
        out["modbus"] = {"host": str(host), "port": port, "unit": unit, "poll_s": float(poll_s), "tags": tags}
    return out
