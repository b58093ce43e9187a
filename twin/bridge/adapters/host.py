"""Everything PLC-facing of one served twin, behind two calls per control step.

``twin serve`` (and the commissioning example) build a :class:`PlcAdapters`, add any signal
providers (a robot cell), call :meth:`PlcAdapters.start`, and then, around each ``twin.step()``,
:meth:`before_step` (bridge_in: apply client writes and commands) and :meth:`after_step`
(bridge_out: publish the snapshot). The servers and mirrors live on one asyncio thread; the
simulation thread never waits for them.
"""

from __future__ import annotations

from ...errors import UsageError
from .aio import AsyncThread
from .commands import LineCommands
from .exchange import Exchange
from .tagmap import build_tag_map

__all__ = ["PlcAdapters", "parse_host_port"]


def parse_host_port(option: str, value: str) -> tuple[str, int]:
    """(host, port) of ``HOST:PORT``.

    Raises:
        UsageError: not of that form, or the port is not in 1..65535.
    """
    host, sep, port = (value or "").rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise UsageError(f"{option} must look like 127.0.0.1:5020 (host:port, port 1..65535), got {value!r}")
    return host.strip("[]"), int(port)


class PlcAdapters:
    """OPC UA server, Modbus server and shadow-mode mirrors of one twin.

    Args:
        signals: the twin's SignalMap (share the ZeroMQ bridge's, so both see the same writes).
        scene_name: names the OPC UA namespace (``urn:twin:<scene_name>``) and root folder.
        overrides: pinned tags (``tagmap.load_overrides``).
        opcua_url: ``opc.tcp://host:port`` to serve OPC UA on (None: no OPC UA server).
        certs, users, insecure: OPC UA security (see ``OpcUaAdapter``).
        modbus: ``(host, port)`` to serve Modbus TCP on (None: no Modbus server).
        mirror: parsed mirror map (``shadow.load_mirror_map``) or None.
    """

    def __init__(self, signals, scene_name: str, *, overrides=None, opcua_url: str | None = None, certs=None,
                 users=None, insecure: bool = False, modbus: tuple[str, int] | None = None, mirror: dict | None = None,
                 sampling_ms: float | None = None) -> None:
        self.signals, self.scene_name, self.overrides = signals, scene_name, overrides
        self.opcua_url, self.certs, self.users, self.insecure = opcua_url, certs, users, insecure
        self.modbus_endpoint, self.mirror_map = modbus, mirror
        self.sampling_ms = sampling_ms if sampling_ms is not None else signals.twin.control_step_s * 1000
        self.commands = LineCommands(signals)
        self.exchange = Exchange(signals, self.commands)
        self.tagmap = None
        self.opcua = self.modbus = None
        self.mirrors: list = []
        self._thread: AsyncThread | None = None

    def add_robot_cells(self, cells: list[dict]) -> list:
        """Put the robot stations of ``cells`` (``tagmap.load_robot_cells``) under PLC start control."""
        from .robotcell import RobotCell

        return [RobotCell(self.signals.twin, self.signals, c["station"], c["conveyor"], float(c["cycle_s"]),
                          float(c.get("jam_after_s", 1.0)), commands=self.commands) for c in cells]

    def start(self) -> None:
        """Build the tag map (after every provider was added) and start the servers and mirrors.

        Raises:
            UsageError: a tag-map conflict, a port in use, a bad certificate (nothing is left running).
        """
        from .opcua_server import OpcUaAdapter

        self.tagmap = build_tag_map(self.signals, self.scene_name, self.overrides)
        if self.opcua_url:  # constructed first: argument errors before any thread starts
            self.opcua = OpcUaAdapter(self.tagmap, self.exchange, self.opcua_url, self.scene_name, certs=self.certs,
                                      users=self.users, insecure=self.insecure, sampling_ms=self.sampling_ms)
        self.exchange.publish()  # the first snapshot, so that servers never show an empty twin
        self._thread = AsyncThread()
        try:
            if self.modbus_endpoint:
                from .modbus_server import ModbusAdapter

                self.modbus = ModbusAdapter(self.tagmap, self.exchange, *self.modbus_endpoint)
                self._thread.run(self.modbus.start())
            if self.opcua is not None:
                self._thread.run(self.opcua.start())
            self._start_mirrors()
        except BaseException:
            self.close()
            raise

    def _start_mirrors(self) -> None:
        m = self.mirror_map
        if not m:
            return
        from .shadow import ModbusMirror, OpcUaMirror

        if "opcua" in m:
            self.mirrors.append(OpcUaMirror(self.exchange, m["opcua"]["url"], m["opcua"]["nodes"],
                                            timeout_s=m["timeout_s"], fallback=m["fallback"],
                                            max_backoff_s=m.get("max_backoff_s", 30.0)))
        if "modbus" in m:
            mb = m["modbus"]
            self.mirrors.append(ModbusMirror(self.exchange, mb["host"], mb["port"], mb["tags"], unit=mb["unit"],
                                             poll_s=mb["poll_s"], timeout_s=m["timeout_s"], fallback=m["fallback"],
                                             max_backoff_s=m.get("max_backoff_s", 30.0)))
        for mirror in self.mirrors:
            self._thread.submit(mirror.run())

    def before_step(self) -> int:
        """bridge_in: apply what clients and mirrors sent since the last step."""
        return self.exchange.apply_pending()

    def after_step(self, values: dict | None = None) -> None:
        """bridge_out: publish this step's values (pass them if already read)."""
        self.exchange.publish(values)

    def stats(self) -> dict:
        out = dict(self.exchange.stats)
        if self.opcua is not None:
            out["opcua"] = dict(self.opcua.stats)
        if self.modbus is not None:
            out["modbus"] = dict(self.modbus.stats)
        for m in self.mirrors:
            out[f"mirror_{m.kind}"] = dict(m.stats)
        return out

    def close(self) -> None:
        """Stop the servers and mirrors and the asyncio thread (idempotent)."""
        if self._thread is None:
            return
        for server in (self.opcua, self.modbus):
            if server is not None and server.server is not None:
                try:
                    self._thread.run(server.stop(), 10.0)
                except Exception:  # closing must finish even if one server is already broken
                    pass
        self._thread.close()
        self._thread = None
