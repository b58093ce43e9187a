"""Named I/O points of a running twin: what the bridge publishes and what plant devices may write.

Signals (names are element names plus a suffix; full list in ``docs/protocol.md``):

=============================  ======  ==========  =================================================
name                           type    direction   meaning
=============================  ======  ==========  =================================================
``t_s``                        float   twin→plant  simulated time (s)
``line.throughput_total``      int     twin→plant  parts out so far
``<station>.state``            str     twin→plant  server 0: idle, busy, setup, blocked, down, off_shift
``<station>.busy``             int     twin→plant  servers processing or in setup
``<station>.processed``        int     twin→plant  parts processed so far
``<conveyor>.speed_mps``       float   both        belt speed; writable, 0 to ``max_speed_mps``
``<conveyor>.speed_mps.stale`` bool    twin→plant  its writer went silent (see the server's fallback)
``<conveyor>.motor_on``        bool    both        the belt runs at its speed set-point while on, stands while off
``<conveyor>.parts``           int     twin→plant  parts on the belt
``<conveyor>/<eye>.blocked``   bool    twin→plant  photo-eye state at the last control step
``<source>.released``          int     twin→plant  parts released so far
=============================  ======  ==========  =================================================

A write is validated completely before anything changes: the signal must exist and be writable,
the value must have the signal's type (a bool is not a number), be finite, and lie in the range.

Providers (:meth:`SignalMap.add_provider`) add signals of their own: a robot cell that waits for a
PLC's start command, the line commands and injected faults of ``twin.bridge.adapters.commands``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core import layout as L

__all__ = ["Signal", "SignalMap"]


@dataclass(frozen=True)
class Signal:
    name: str
    type: str  # "float", "int", "bool" or "str"
    unit: str
    writable: bool
    low: float | None = None
    high: float | None = None
    #: dead band for data-change reporting (OPC UA absolute dead band); 0: every change
    deadband: float = 0.0

    def meta(self) -> dict:
        return {"type": self.type, "unit": self.unit, "direction": "both" if self.writable else "twin_to_plant",
                "range": None if self.low is None else [self.low, self.high]}


class SignalMap:
    """The signals of one twin, read from its engine, and the writes it accepts."""

    def __init__(self, twin, max_speed_mps: float = 10.0) -> None:
        self.twin = twin
        e = twin.engine
        p, names = e.params, e.names
        sig = [Signal("t_s", "float", "s", False), Signal("line.throughput_total", "int", "parts", False)]
        self._stations, self._conveyors, self._sources = [], [], []
        for n, name in enumerate(names.nodes):
            kind = p.node_kind[n]
            if kind == L.KIND_STATION and not p.st_external[n]:
                self._stations.append((name, n))
                sig += [Signal(f"{name}.state", "str", "", False), Signal(f"{name}.busy", "int", "servers", False),
                        Signal(f"{name}.processed", "int", "parts", False)]
            elif kind == L.KIND_CONVEYOR:
                self._conveyors.append((name, n))
                sig += [Signal(f"{name}.speed_mps", "float", "m/s", True, 0.0, float(max_speed_mps)),
                        Signal(f"{name}.speed_mps.stale", "bool", "", False),
                        Signal(f"{name}.motor_on", "bool", "", True),
                        Signal(f"{name}.parts", "int", "parts", False)]
            elif kind == L.KIND_SOURCE:
                self._sources.append((name, n))
                sig.append(Signal(f"{name}.released", "int", "parts", False))
        sig += [Signal(f"{eye}.blocked", "bool", "", False) for eye in names.photo_eyes]
        self.signals = {s.name: s for s in sig}
        self._providers: list = []
        #: bumped whenever signals are added or removed (the bridge rebuilds its group layouts)
        self.revision = 0
        self._owner: dict = {}  # provider signal name -> its provider
        #: conveyors held stopped whatever their motor and set-point (an injected belt stop)
        self.forced_stop: set[str] = set()
        #: writable signal -> simulated time its writer went silent (its value is stale since)
        self.stale: dict[str, float] = {}
        self._scene_speed = {name: float(p.cv_speed_mps[n]) for name, n in self._conveyors}
        # the speed set-point each belt runs at while its motor is on
        self._setpoint = dict(self._scene_speed)
        self._motor = dict.fromkeys(self._scene_speed, True)
        self._sinks = None

    def meta(self) -> dict:
        return {name: s.meta() for name, s in self.signals.items()}

    def add_provider(self, provider) -> None:
        """Add the signals of ``provider``: an object with ``provided()`` (a list of :class:`Signal`),
        ``read(values)`` (adds or overrides values in the dict of all values, once per read),
        ``write(name, value)`` (a checked write of one of its writable signals) and
        ``fall_back(name, mode)``.

        Raises:
            ValueError: one of its signals already exists.
        """
        new = provider.provided()
        clash = [s.name for s in new if s.name in self.signals]
        if clash:
            raise ValueError(f"signals already exist: {clash}")
        for s in new:
            self.signals[s.name] = s
            self._owner[s.name] = provider
        self._providers.append(provider)
        self.revision += 1

    def drop_station(self, station: str) -> None:
        """Remove a station's own signals (``state``, ``busy``, ``processed``): a provider that takes
        the station over (a PLC-started robot cell) publishes its own."""
        if station not in dict(self._stations):
            raise ValueError(f"no station named {station!r}. Valid: {[n for n, _ in self._stations]}")
        self._stations = [(n, i) for n, i in self._stations if n != station]
        for suffix in ("state", "busy", "processed"):
            self.signals.pop(f"{station}.{suffix}", None)
        self._sinks = None  # index arrays are rebuilt at the next read
        self.revision += 1

    def read(self) -> dict:
        """Every signal's current value (plain Python types), read with whole-array operations."""
        e = self.twin.engine
        s = e.state
        out: dict = {"t_s": float(e.t)}
        if self._sinks is None:
            self._prepare()
        out["line.throughput_total"] = int(s.sink_count[self._sinks].sum()) if len(self._sinks) else 0
        if self._st_nodes.size:
            eff = s.srv_eff[self._st_first].tolist()
            srv = s.srv_eff[self._st_srv]
            busy = np.add.reduceat(((srv == L.SRV_BUSY) | (srv == L.SRV_SETUP)).astype(np.int64),
                                   self._st_local).tolist()
            processed = s.st_processed[self._st_nodes].sum(axis=1).tolist()
            for i, (name, _) in enumerate(self._stations):
                out[f"{name}.state"] = L.SRV_STATE_NAMES[eff[i]]
                out[f"{name}.busy"] = busy[i]
                out[f"{name}.processed"] = processed[i]
        if self._cv_nodes.size:
            speeds = s.cv_v[self._cv_nodes].tolist()
            counts = s.node_count[self._cv_nodes].tolist()
            for i, (name, _) in enumerate(self._conveyors):
                out[f"{name}.speed_mps"] = speeds[i]
                out[f"{name}.speed_mps.stale"] = f"{name}.speed_mps" in self.stale
                out[f"{name}.motor_on"] = self._motor[name]
                out[f"{name}.parts"] = counts[i]
        if self._src_nodes.size:
            released = s.src_released[self._src_nodes].tolist()
            for i, (name, _) in enumerate(self._sources):
                out[f"{name}.released"] = released[i]
        if self._eyes:
            e.scan_photo_eyes()
            for name, blocked in zip(self._eyes, e.eye_blocked[: len(self._eyes)].tolist(), strict=True):
                out[name] = bool(blocked)
        for provider in self._providers:
            provider.read(out)
        return out

    def _prepare(self) -> None:
        """Index arrays for :meth:`read`: built once."""
        p, names = self.twin.engine.params, self.twin.engine.names
        self._sinks = np.array([n for n in range(p.n_nodes) if p.node_kind[n] == L.KIND_SINK and not p.sink_reject[n]],
                               np.int64)
        self._st_nodes = np.array([n for _, n in self._stations], np.int64)
        # the first server of each station, and every station's servers gathered in a row, so that
        # reduceat over their local offsets sums each station's servers (stations taken over by a
        # provider, transports and storages are left out)
        self._st_first = np.array([int(p.st_srv_off[n]) for n in self._st_nodes], np.int64)
        caps = [int(p.node_cap[n]) for n in self._st_nodes]
        self._st_srv = np.array([f + k for f, c in zip(self._st_first.tolist(), caps, strict=True) for k in range(c)],
                                np.int64)
        self._st_local = np.cumsum([0, *caps[:-1]]).astype(np.int64) if caps else np.zeros(0, np.int64)
        self._cv_nodes = np.array([n for _, n in self._conveyors], np.int64)
        self._src_nodes = np.array([n for _, n in self._sources], np.int64)
        self._eyes = [f"{eye}.blocked" for eye in names.photo_eyes]

    def check(self, name, value) -> str | None:
        """Why writing ``value`` to ``name`` is refused, or None when it is acceptable."""
        if not isinstance(name, str) or name not in self.signals:
            return "unknown signal"
        sig = self.signals[name]
        if not sig.writable:
            return "signal is read-only"
        if sig.type == "bool" and not isinstance(value, bool):
            return f"type mismatch: expected bool, got {type(value).__name__}"
        if sig.type == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                return f"type mismatch: expected int, got {type(value).__name__}"
            if sig.low is not None and not (sig.low <= value <= sig.high):
                return f"out of range [{sig.low:g}, {sig.high:g}]"
        if sig.type == "str" and not isinstance(value, str):
            return f"type mismatch: expected str, got {type(value).__name__}"
        if sig.type == "float":
            if isinstance(value, bool) or not isinstance(value, int | float):
                return f"type mismatch: expected float, got {type(value).__name__}"
            if not math.isfinite(value):
                return "value is not finite"
            if not (sig.low <= value <= sig.high):
                return f"out of range [{sig.low}, {sig.high}]"
        return None

    def write(self, name: str, value) -> None:
        """Apply a checked write (the signal is fresh again). A belt runs at its speed set-point
        while its motor is on, and stands still while it is off."""
        if name in self._owner:
            self._owner[name].write(name, value)
            self.stale.pop(name, None)
            return
        if name.endswith(".motor_on"):
            conveyor = name.removesuffix(".motor_on")
            self._motor[conveyor] = bool(value)
        else:
            conveyor = name.removesuffix(".speed_mps")
            self._setpoint[conveyor] = float(value)
        self._apply(conveyor)
        self.stale.pop(name, None)

    def set_forced_stop(self, conveyor: str, stopped: bool) -> None:
        """Hold ``conveyor`` stopped (an injected fault), or release it to its motor and set-point."""
        if conveyor not in self._setpoint:
            raise ValueError(f"no conveyor named {conveyor!r}. Valid: {sorted(self._setpoint)}")
        (self.forced_stop.add if stopped else self.forced_stop.discard)(conveyor)
        self._apply(conveyor)

    def conveyors(self) -> list[str]:
        """Conveyor names, in node order."""
        return [name for name, _ in self._conveyors]

    def _apply(self, conveyor: str) -> None:
        on = self._motor[conveyor] and conveyor not in self.forced_stop
        speed = self._setpoint[conveyor] if on else 0.0
        self.twin.engine.set_conveyor_speed(conveyor, speed)

    def fall_back(self, name: str, mode: str) -> None:
        """The writer of ``name`` went silent: mark it stale and apply the fallback ``mode``:
        ``hold`` (keep the last value), ``simulate`` (the twin takes over: the scene's value), or
        ``safe`` (the safe value: a stopped belt)."""
        self.stale[name] = self.twin.engine.t
        if name in self._owner:
            self._owner[name].fall_back(name, mode)
            return
        if name.endswith(".motor_on"):
            conveyor = name.removesuffix(".motor_on")
            if mode in ("simulate", "safe"):
                self._motor[conveyor] = mode == "simulate"  # simulate: the scene runs it; safe: off
        else:
            conveyor = name.removesuffix(".speed_mps")
            if mode == "simulate":
                self._setpoint[conveyor] = self._scene_speed[conveyor]
            elif mode == "safe":
                self._setpoint[conveyor] = 0.0
        self._apply(conveyor)
