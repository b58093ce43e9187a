"""Scheduled faults (the scene's ``faults:``) that the orchestrator applies at exact times.

Station faults (``station_down``, ``robot_malfunction``, a ``sensor_blackout`` of a vision-inspection
station) are compiled into the core as calendar-timed failure modes, so the event kernel applies them
itself. What is left for the orchestrator is the belt: a ``conveyor_stop`` sets the belt's speed to 0
at the window's start and restores the speed it had at the end. Sensor and camera blackouts are
windows their channels consult (:func:`blackout_windows`).

The schedule is a pure function of time, so a snapshot only needs the saved belt speeds.
"""

from __future__ import annotations

import math

from .core.compile import STATION_FAULTS
from .errors import UsageError
from .scene.models import Scene, ScheduledFault

__all__ = ["FaultRunner", "blackout_windows", "fault_summary"]


class FaultRunner:
    """Applies belt stops (scheduled ``conveyor_stop`` faults) and faults injected at run time.

    Scheduled belt stops come from the scene; :meth:`inject` adds a window that starts now (a
    demo's "fault" button, a test). Injected station faults stop the station through the engine
    (like a failure without a failure mode: trace detail ``injected``); injected sensor blackouts
    are windows the orchestrator's sensors consult (:meth:`blackouts`).
    """

    def __init__(self, scene: Scene, engine) -> None:
        self.engine = engine
        self.faults = [f for f in scene.faults if f.kind == "conveyor_stop"]
        self.saved: dict[str, float] = {}  # conveyor -> speed to restore, while stopped
        #: injected windows not yet over: (kind, target, start_s, end_s, effect)
        self.injected: list[tuple[str, str, float, float, str]] = []
        self._stations = {s.name: s for s in scene.stations}
        self._conveyors = {c.name for c in scene.conveyors}

    def next_time(self, after_s: float) -> float:
        """The first start or end of a belt stop, or end of an injected fault, after ``after_s``."""
        best = math.inf
        for f in self.faults:
            for t in _boundaries(f, after_s):
                best = min(best, t)
        for *_, end, _effect in self.injected:
            if end > after_s + 1e-9:
                best = min(best, end)
        return best

    def inject(self, kind: str, target: str, duration_s: float, now_s: float) -> str:
        """Start a fault now for ``duration_s``; return its effect (see ``ScheduledFault``)."""
        if not (math.isfinite(duration_s) and duration_s > 0):
            raise UsageError(f"inject_fault: duration_s must be > 0, got {duration_s}")
        station = self._stations.get(target)
        vision = station is not None and station.inspection is not None and station.inspection.vision is not None
        if kind in ("station_down", "robot_malfunction") or (kind == "sensor_blackout" and vision):
            if station is None or (kind == "robot_malfunction" and station.robot_cell is None):
                what = "station with a robot_cell" if kind == "robot_malfunction" else "station"
                raise UsageError(f"inject_fault({kind!r}): no {what} named {target!r}")
            self.engine.force_station_down(target, True)
            effect = "station stopped"
        elif kind == "conveyor_stop":
            if target not in self._conveyors:
                raise UsageError(f"inject_fault('conveyor_stop'): no conveyor named {target!r}")
            effect = "belt stopped"
        elif kind == "sensor_blackout":
            effect = "no readings"  # the orchestrator checks the target is one of its sensors
        else:
            raise UsageError(f"inject_fault: kind must be station_down, robot_malfunction, conveyor_stop "
                             f"or sensor_blackout, got {kind!r}")
        self.injected.append((kind, target, now_s, now_s + duration_s, effect))
        self.apply(now_s)
        return effect

    def blackouts(self, target: str) -> list[tuple[float, float]]:
        """Injected blackout windows of sensor ``target``."""
        return [(a, b) for kind, t, a, b, effect in self.injected
                if kind == "sensor_blackout" and t == target and effect == "no readings"]

    def apply(self, t_s: float) -> None:
        """Stop or restart belts and stations whose windows start or end at ``t_s``."""
        for kind, target, _a, end, effect in list(self.injected):
            if end <= t_s + 1e-9:
                self.injected.remove((kind, target, _a, end, effect))
                if effect == "station stopped":
                    self.engine.force_station_down(target, False)
        belts = {f.target for f in self.faults} | set(self.saved)
        belts |= {t for k, t, *_ in self.injected if k == "conveyor_stop"}
        for target in sorted(belts):
            stopped = any(_active(f, t_s) for f in self.faults if f.target == target) or any(
                k == "conveyor_stop" and t == target for k, t, *_ in self.injected)
            if stopped and target not in self.saved:
                self.saved[target] = self.engine.conveyor_speed(target)
                self.engine.set_conveyor_speed(target, 0.0)
            elif not stopped and target in self.saved:
                self.engine.set_conveyor_speed(target, self.saved.pop(target))

    def get_state(self) -> dict:
        return {"saved": dict(self.saved), "injected": list(self.injected)}

    def set_state(self, state: dict) -> None:
        self.saved = dict(state.get("saved", {}))
        self.injected = [tuple(w) for w in state.get("injected", [])]


def _active(f: ScheduledFault, t_s: float) -> bool:
    if t_s < f.at_s - 1e-9:
        return False
    into = t_s - f.at_s
    if f.every_s is not None:
        into = math.fmod(into, f.every_s)
    return into < f.duration_s - 1e-9


def _boundaries(f: ScheduledFault, after_s: float) -> list[float]:
    """The window start and end of ``f`` that come first after ``after_s``."""
    if f.every_s is None:
        k = 0
    else:
        k = max(0, math.floor((after_s - f.at_s) / f.every_s))
    start = f.at_s + k * (f.every_s or 0.0)
    out = [t for t in (start, start + f.duration_s) if t > after_s + 1e-9]
    if f.every_s is not None:
        out.append(start + f.every_s)
    return out or [math.inf]


def blackout_windows(scene: Scene, sensor: str, until_s: float) -> list[tuple[float, float]]:
    """The [start, end) windows of scheduled ``sensor_blackout`` faults on ``sensor`` before ``until_s``."""
    out: list[tuple[float, float]] = []
    for f in scene.faults:
        if f.kind == "sensor_blackout" and f.target == sensor:
            out += f.windows(until_s)
    return sorted(out)


def fault_summary(scene: Scene, from_s: float, to_s: float) -> list[dict]:
    """Each scheduled fault: how often it began in [from_s, to_s) and for how long it was active there."""
    rows = []
    stations = {s.name for s in scene.stations}
    for f in scene.faults:
        starts, active = 0, 0.0
        for a, b in f.windows(to_s):
            if a >= from_s:
                starts += 1
            active += max(0.0, min(b, to_s) - max(a, from_s))
        effect = "station stopped" if f.kind in STATION_FAULTS and f.target in stations else (
            "belt stopped" if f.kind == "conveyor_stop" else "no readings")
        rows.append({"name": f.name, "kind": f.kind, "target": f.target, "occurrences": starts,
                     "active_s": active, "effect": effect})
    return rows
