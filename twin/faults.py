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
from .scene.models import Scene, ScheduledFault

__all__ = ["ConveyorStops", "blackout_windows", "fault_summary"]


class ConveyorStops:
    """The scene's ``conveyor_stop`` faults: boundary times and the belt speeds to restore."""

    def __init__(self, scene: Scene, engine) -> None:
        self.engine = engine
        self.faults = [f for f in scene.faults if f.kind == "conveyor_stop"]
        self.saved: dict[str, float] = {}  # conveyor -> speed to restore, while stopped

    def next_time(self, after_s: float) -> float:
        """The first start or end of a stop strictly after ``after_s`` (inf when none)."""
        best = math.inf
        for f in self.faults:
            for t in _boundaries(f, after_s):
                best = min(best, t)
        return best

    def apply(self, t_s: float) -> None:
        """Stop or restart the belts whose windows start or end at ``t_s``."""
        for f in self.faults:
            active = _active(f, t_s)
            if active and f.target not in self.saved:
                self.saved[f.target] = self.engine.conveyor_speed(f.target)
                self.engine.set_conveyor_speed(f.target, 0.0)
            elif not active and f.target in self.saved and not any(
                    _active(g, t_s) for g in self.faults if g.target == f.target):
                self.engine.set_conveyor_speed(f.target, self.saved.pop(f.target))


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
