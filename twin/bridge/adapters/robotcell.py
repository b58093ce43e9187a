"""A robot station that waits for its PLC: the plant model for virtual commissioning.

In a plain twin a robot station picks each part the moment it arrives. Under PLC control it must
not: the belt carries the part to the end stop (the nest, seen by the end photo-eye), the PLC stops
the belt and sets the robot's start bit, the robot picks and places in ``cycle_s``, raises ``done``,
and the PLC restarts the belt. :class:`RobotCell` makes the core's station externally timed (the
core already supports that for AGVs and storages) and times it from the PLC's start command.

It also watches the plant for the faults a wrong control program causes, latches the first one,
stops the belt and the robot (safe state) and keeps the signal history that led to it:

- ``jam`` (code 1): the belt ran for ``jam_after_s`` while a part sat at the end stop;
- ``collision`` (code 2): the robot was started while the belt moved (it reaches into moving parts);
- ``empty_pick`` (code 3): the robot was started with no part in the nest.

``line.Reset`` (the reset command) clears the fault. The history is sampled whenever the signals are
read, i.e. every control step of a served twin.
"""

from __future__ import annotations

import math
from collections import deque

from ...core import layout as L
from ...errors import UsageError
from ..signals import Signal

__all__ = ["RobotCell", "FAULTS"]

FAULTS = {0: "none", 1: "jam", 2: "collision", 3: "empty_pick"}


class RobotCell:
    """Put robot station ``station`` (fed by ``conveyor``, whose last photo-eye is the nest sensor)
    under external start control. Build it on a fresh twin, before the first step.

    Args:
        twin: a ``twin.Twin`` of a scene without transports or storages.
        signals: its SignalMap (the cell adds its signals there).
        station: the robot station's name; ``conveyor`` must end at it.
        cycle_s: pick-and-place time from the start command to ``done``.
        jam_after_s: the belt may run this long with a part at the end stop before it is a jam.
        commands: a ``LineCommands``: its reset clears the cell's fault.
    """

    def __init__(self, twin, signals, station: str, conveyor: str, cycle_s: float, jam_after_s: float = 1.0,
                 commands=None, history: int = 200) -> None:
        e = twin.engine
        if twin.logistics is not None:
            raise UsageError("a PLC-started robot cell needs a scene without transports or storages")
        if twin.time_s != 0:
            raise UsageError("build the robot cell before the twin's first step")
        valid = [n for i, n in enumerate(e.names.nodes) if e.params.node_kind[i] == L.KIND_STATION]
        if station not in valid:
            raise UsageError(f"robot cell: no station named {station!r}. Valid: {valid}")
        if conveyor not in signals.conveyors():
            raise UsageError(f"robot cell: no conveyor named {conveyor!r}. Valid: {signals.conveyors()}")
        eyes = [n for n in e.names.photo_eyes if n.startswith(conveyor + "/")]
        if not eyes:
            raise UsageError(f"robot cell: conveyor {conveyor!r} needs a photo-eye near its end (the nest sensor)")
        if not (math.isfinite(cycle_s) and cycle_s > 0 and math.isfinite(jam_after_s) and jam_after_s > 0):
            raise UsageError(f"robot cell: cycle_s and jam_after_s must be > 0, got {cycle_s}, {jam_after_s}")
        self.twin, self.signals, self.station, self.conveyor = twin, signals, station, conveyor
        self.cycle_s, self.jam_after_s = float(cycle_s), float(jam_after_s)
        self._node = e.names.node_id(station)
        self._cv_node = e.names.node_id(conveyor)
        self.eye = eyes[-1] + ".blocked"  # the last eye along the belt: the end stop
        e.params.st_external[self._node] = True  # the kernels now ask us when the robot is done
        twin.logistics = self  # Twin drives externally timed stations through this interface
        self.server = -1  # the core server holding the part in the nest (-1: none)
        self.picked = False
        self.start_cmd = False
        self.busy_until = math.inf
        self.done = False
        self.cycles = 0
        self.fault = 0
        self.fault_t = math.nan
        self.fault_text = ""
        self._moving_with_part_since = math.nan
        self.history: deque = deque(maxlen=history)
        self._last: dict = {}
        self.fault_history: list = []
        signals.drop_station(station)  # its state/busy/processed are replaced by the cell's signals
        signals.add_provider(self)
        if commands is not None:
            commands.on_reset(self.reset)

    # -- provider ----------------------------------------------------------------------------------

    def provided(self) -> list[Signal]:
        r = self.station
        return [Signal(f"{r}.start", "bool", "", True), Signal(f"{r}.part_present", "bool", "", False),
                Signal(f"{r}.busy", "bool", "", False), Signal(f"{r}.done", "bool", "", False),
                Signal(f"{r}.cycles", "int", "cycles", False), Signal(f"{r}.fault", "int", "", False),
                Signal(f"{r}.fault_text", "str", "", False)]

    def read(self, values: dict) -> None:
        r = self.station
        present = self.server >= 0 and not self.picked
        # the end-stop eye sees a part resting in the nest, or the next one held behind it; a part
        # still sliding its last centimetres into an empty nest is not there yet
        values[self.eye] = present or (self.server >= 0 and values.get(self.eye, False))
        values.update({f"{r}.start": self.start_cmd, f"{r}.part_present": present, f"{r}.busy": self.busy,
                       f"{r}.done": self.done, f"{r}.cycles": self.cycles, f"{r}.fault": self.fault,
                       f"{r}.fault_text": self.fault_text})
        for name in (f"{self.conveyor}.motor_on", f"{self.conveyor}.speed_mps", self.eye, f"{r}.start",
                     f"{r}.part_present", f"{r}.busy", f"{r}.done"):
            if self._last.get(name) != values.get(name):
                self._last[name] = values.get(name)
                self.history.append((round(values["t_s"], 4), name, values.get(name)))

    @property
    def busy(self) -> bool:
        return math.isfinite(self.busy_until)

    def write(self, name: str, value) -> None:
        """The PLC's start bit: a rising edge starts a cycle (unless faulted or busy)."""
        rising = value and not self.start_cmd
        self.start_cmd = bool(value)
        if not rising or self.fault or self.busy:
            return
        t = self.twin.engine.t
        if self._belt_moving():
            self._trip(2, t, f"collision: {self.station} started at t={t:.2f}s while {self.conveyor} was moving "
                             f"({self._speed():.2f} m/s)")
        elif self.server < 0 or self.picked:
            self._trip(3, t, f"empty_pick: {self.station} started at t={t:.2f}s with no part at the end of "
                             f"{self.conveyor}")
        else:
            self.picked = True
            self.done = False
            self.busy_until = t + self.cycle_s

    def fall_back(self, name: str, mode: str) -> None:
        self.start_cmd = False  # a silent PLC never starts the robot

    # -- the Twin's external-timing interface (like twin.logistics.Logistics) ------------------------

    def next_time(self) -> float:
        return self.busy_until

    def request(self, servers: list[int], t: float) -> None:
        for s in servers:  # a part reached the end of the belt: it waits in the nest for the robot
            self.server, self.picked = int(s), False

    def advance(self, t: float) -> list[int]:
        self._watch(t)
        if t >= self.busy_until:
            server, self.server, self.picked = self.server, -1, False
            self.busy_until = math.inf
            self.done = True
            self.cycles += 1
            return [server]
        return []

    def kpis(self, core: dict) -> dict:
        core.pop("transports_and_storages", None)
        return {"robot_cell": {"station": self.station, "cycles": self.cycles, "fault": FAULTS[self.fault]}}

    def trace_rows(self) -> list:
        return []

    def sync_world(self, world, t: float) -> None:
        pass

    def get_state(self) -> dict:
        return {k: getattr(self, k) for k in ("server", "picked", "start_cmd", "busy_until", "done", "cycles",
                                              "fault", "fault_t", "fault_text", "_moving_with_part_since")}

    def set_state(self, snapshot: dict) -> None:
        for k, v in snapshot.items():
            setattr(self, k, v)

    # -- faults ---------------------------------------------------------------------------------------

    def _speed(self) -> float:
        return float(self.twin.engine.state.cv_v[self._cv_node])

    def _belt_moving(self) -> bool:
        return self._speed() > 0

    def _part_at_end(self) -> bool:
        """A part waits in the nest, or the next one is held at the end of the belt behind the robot."""
        return self.server >= 0 and (not self.picked or int(self.twin.engine.state.node_count[self._cv_node]) > 0
                                     and self._eye_blocked())

    def _eye_blocked(self) -> bool:
        names = self.twin.engine.names.photo_eyes
        self.twin.engine.scan_photo_eyes()
        return bool(self.twin.engine.eye_blocked[names.index(self.eye.removesuffix(".blocked"))])

    def _watch(self, t: float) -> None:
        if self.fault:
            return
        if self._part_at_end() and self._belt_moving():
            if math.isnan(self._moving_with_part_since):
                self._moving_with_part_since = t
            elif t - self._moving_with_part_since >= self.jam_after_s - 1e-9:
                self._trip(1, t, f"jam: {self.conveyor} ran {t - self._moving_with_part_since:.2f}s with a part "
                                 f"at its end stop (since t={self._moving_with_part_since:.2f}s)")
        else:
            self._moving_with_part_since = math.nan

    def _trip(self, code: int, t: float, text: str) -> None:
        """Latch the fault, go to the safe state (belt held stopped, robot stopped), keep the history."""
        self.fault, self.fault_t, self.fault_text = code, t, text
        self.busy_until = math.inf if not self.busy else self.busy_until
        self.signals.set_forced_stop(self.conveyor, True)
        self.fault_history = list(self.history)

    def reset(self) -> None:
        if self.fault:
            self.fault, self.fault_t, self.fault_text = 0, math.nan, ""
            self.signals.set_forced_stop(self.conveyor, False)
        self._moving_with_part_since = math.nan

    def report(self) -> dict:
        """The fault (if any), when, and the signal history up to it: (t, signal, value) rows."""
        return {"fault": FAULTS[self.fault], "t_s": self.fault_t, "text": self.fault_text, "cycles": self.cycles,
                "history": self.fault_history if self.fault else list(self.history)}
