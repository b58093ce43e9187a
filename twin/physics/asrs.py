"""Automated storage and retrieval: a rack grid served by a stacker crane.

The crane's two axes (travel along the aisle, x; lift, z) move at the same time, each with its own
trapezoidal velocity profile (acceleration, cruise, deceleration), so a move takes as long as the
slower axis (the Chebyshev travel time of the AS/RS literature):

    t_axis(d) = d / v + v / a        if d >= v² / a   (the cruise speed is reached)
              = 2 sqrt(d / a)        otherwise
    t_move = max(t_x(|dx|), t_z(|dz|))

A single-command cycle is: move from the input/output point to the slot, handle the load, move
back, handle it again. Slots are chosen by a storage policy (``closest_open``: the open slot with
the shortest travel time, ties to the lowest bay and level; ``random``: uniformly among open slots
from a seeded stream).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import SimulationError, UsageError
from .trajectory import JointMotion, plan_motion

if TYPE_CHECKING:
    from .world import World

__all__ = ["AxisLimits", "axis_time", "travel_time", "Rack", "StackerCrane", "ASRS", "StorageSystem"]


@dataclass(frozen=True)
class AxisLimits:
    """Speed (m/s) and acceleration (m/s²) of one crane axis."""

    v_max: float
    a_max: float

    def __post_init__(self) -> None:
        if not (self.v_max > 0 and self.a_max > 0 and math.isfinite(self.v_max) and math.isfinite(self.a_max)):
            raise UsageError(f"axis limits must be finite and > 0, got v_max={self.v_max}, a_max={self.a_max}")


def axis_time(distance_m: float, axis: AxisLimits) -> float:
    """Time for one axis to move ``distance_m`` from rest to rest (trapezoidal profile)."""
    d = abs(distance_m)
    if d == 0.0:
        return 0.0
    if d >= axis.v_max ** 2 / axis.a_max:
        return d / axis.v_max + axis.v_max / axis.a_max
    return 2.0 * math.sqrt(d / axis.a_max)


def travel_time(dx_m: float, dz_m: float, x: AxisLimits, z: AxisLimits) -> float:
    """Both axes move together: the move takes as long as the slower one."""
    return max(axis_time(dx_m, x), axis_time(dz_m, z))


def axis_fraction(t: float, length: float, axis: AxisLimits) -> float:
    """Fraction of a move of ``length`` covered ``t`` seconds after starting it (rest to rest,
    trapezoidal: the profile whose duration is :func:`axis_time`)."""
    if length <= 0.0 or t >= axis_time(length, axis):
        return 1.0
    v, a = axis.v_max, axis.a_max
    if length >= v * v / a:
        ta = v / a
        total = length / v + ta
        if t < ta:
            d = 0.5 * a * t * t
        elif t <= total - ta:
            d = 0.5 * a * ta * ta + v * (t - ta)
        else:
            d = length - 0.5 * a * (total - t) ** 2
    else:
        ta = math.sqrt(length / a)
        d = 0.5 * a * t * t if t < ta else length - 0.5 * a * (2 * ta - t) ** 2
    return min(1.0, max(0.0, d / length))


def single_command_cycle_s(rack: Rack, slot: tuple[int, int], x: AxisLimits, z: AxisLimits,
                           handling_s: float) -> float:
    """Out to ``slot`` and back from the input/output point, handling the load at both ends."""
    sx, sz = rack.slot_xz(slot)
    return 2 * travel_time(sx - rack.io_xz_m[0], sz - rack.io_xz_m[1], x, z) + 2 * handling_s


def choose_slot(rack: Rack, policy: str, rng: np.random.Generator, cycle, who: str = "rack") -> tuple[int, int]:
    """An open slot by ``policy``: ``random`` (uniform, from ``rng``) or ``closest_open`` (the
    shortest ``cycle(slot)``, ties to the lowest bay and level)."""
    open_slots = rack.open_slots()
    if not open_slots:
        raise SimulationError(f"{who}: rack is full ({rack.bays * rack.levels} slots)")
    if policy == "random":
        return open_slots[int(rng.integers(len(open_slots)))]
    return min(open_slots, key=lambda s: (cycle(s), s))


class Rack:
    """``bays`` x ``levels`` slots; slot (b, l) is centred at x = x0 + (b + 0.5) bay_width,
    z = z0 + (l + 0.5) level_height, where (x0, z0) is the input/output point."""

    def __init__(self, bays: int, levels: int, bay_width_m: float, level_height_m: float,
                 io_xz_m: tuple[float, float] = (0.0, 0.0)) -> None:
        if bays < 1 or levels < 1:
            raise UsageError(f"a rack needs at least one bay and one level, got {bays} x {levels}")
        if not (bay_width_m > 0 and level_height_m > 0):
            raise UsageError("bay_width_m and level_height_m must be > 0")
        self.bays, self.levels = int(bays), int(levels)
        self.bay_width_m, self.level_height_m = float(bay_width_m), float(level_height_m)
        self.io_xz_m = (float(io_xz_m[0]), float(io_xz_m[1]))
        self.content: list[list[str | None]] = [[None] * self.levels for _ in range(self.bays)]

    def check_slot(self, slot: tuple[int, int]) -> tuple[int, int]:
        b, lv = slot
        if not (0 <= b < self.bays and 0 <= lv < self.levels):
            raise SimulationError(f"rack has no slot {tuple(slot)}: bays are 0..{self.bays - 1}, "
                                  f"levels 0..{self.levels - 1}")
        return int(b), int(lv)

    def slot_xz(self, slot: tuple[int, int]) -> tuple[float, float]:
        b, lv = self.check_slot(slot)
        return (self.io_xz_m[0] + (b + 0.5) * self.bay_width_m, self.io_xz_m[1] + (lv + 0.5) * self.level_height_m)

    def open_slots(self) -> list[tuple[int, int]]:
        return [(b, lv) for b in range(self.bays) for lv in range(self.levels) if self.content[b][lv] is None]


class StackerCrane:
    """The crane's carriage as a kinematic body in a World, moving both axes at once."""

    def __init__(self, world: World, name: str, x: AxisLimits, z: AxisLimits, aisle_y_m: float,
                 start_xz_m: tuple[float, float]) -> None:
        self.world, self.name, self.x, self.z = world, name, x, z
        self.aisle_y_m = float(aisle_y_m)
        self.xz = np.array(start_xz_m, float)
        world.add_box(name, (0.3, 0.3, 0.1), (self.xz[0], self.aisle_y_m, self.xz[1]),
                      rgba=(0.9, 0.7, 0.1, 1.0))

    def plan(self, target_xz: tuple[float, float]) -> tuple[JointMotion, JointMotion]:
        """Independent per-axis motions (each as fast as its own limits allow)."""
        tx, tz = float(target_xz[0]), float(target_xz[1])
        mx = plan_motion([self.xz[0]], [tx], [self.x.v_max], [self.x.a_max], "trapezoidal")
        mz = plan_motion([self.xz[1]], [tz], [self.z.v_max], [self.z.a_max], "trapezoidal")
        return mx, mz

    def move_to(self, target_xz: tuple[float, float]) -> float:
        """Drive the carriage to ``target_xz`` in physics; return the physics time it took."""
        mx, mz = self.plan(target_xz)
        duration = max(mx.duration_s, mz.duration_s)
        steps = max(0, math.ceil(duration * self.world.physics_hz - 1e-9))
        for k in range(1, steps + 1):
            t = min(k * self.world.dt_s, duration)
            x = mx.at(t)[0][0]
            z = mz.at(t)[0][0]
            self.world.set_pose(self.name, (x, self.aisle_y_m, z))
            self.world.step()
        self.xz = np.array(target_xz, float)
        return steps * self.world.dt_s


class ASRS:
    """A rack, its crane and a storage policy; stores and retrieves loads by name."""

    def __init__(self, world: World, name: str, rack: Rack, x: AxisLimits, z: AxisLimits,
                 handling_s: float = 2.0, policy: str = "closest_open", seed: int = 0,
                 aisle_y_m: float = 0.0) -> None:
        if policy not in ("closest_open", "random"):
            raise UsageError(f"storage policy must be 'closest_open' or 'random', got {policy!r}")
        self.rack, self.x, self.z = rack, x, z
        self.handling_s = float(handling_s)
        self.policy = policy
        self._rng = np.random.default_rng(seed)
        self.crane = StackerCrane(world, f"{name}/crane", x, z, aisle_y_m, rack.io_xz_m)
        self.where: dict[str, tuple[int, int]] = {}

    def expected_cycle_s(self, slot: tuple[int, int]) -> float:
        """Analytical single-command cycle time to ``slot`` and back, with handling at both ends."""
        return single_command_cycle_s(self.rack, slot, self.x, self.z, self.handling_s)

    def choose_slot(self) -> tuple[int, int]:
        return choose_slot(self.rack, self.policy, self._rng, self.expected_cycle_s)

    def store(self, load: str, slot: tuple[int, int] | None = None) -> tuple[tuple[int, int], float]:
        """Store ``load`` (in ``slot``, or one chosen by the policy); return (slot, cycle time s)."""
        slot = self.rack.check_slot(slot) if slot is not None else self.choose_slot()
        b, lv = slot
        if self.rack.content[b][lv] is not None:
            raise SimulationError(f"rack slot {slot} already holds {self.rack.content[b][lv]!r}")
        cycle = self._cycle(slot)
        self.rack.content[b][lv] = load
        self.where[load] = slot
        return slot, cycle

    def retrieve(self, load: str) -> tuple[tuple[int, int], float]:
        """Bring ``load`` out to the input/output point; return (slot, cycle time s)."""
        if load not in self.where:
            raise SimulationError(f"no load {load!r} in the rack")
        slot = self.where.pop(load)
        cycle = self._cycle(slot)
        self.rack.content[slot[0]][slot[1]] = None
        return slot, cycle

    def _cycle(self, slot: tuple[int, int]) -> float:
        t = self.handling_s
        t += self.crane.move_to(self.rack.slot_xz(slot))
        t += self.handling_s
        t += self.crane.move_to(self.rack.io_xz_m)
        return t


class StorageSystem:
    """A rack and its crane as a discrete-event model serving a line (no physics world needed).

    Jobs are served one at a time, first come first served. A storage job takes a load from the
    input/output point to a slot chosen by ``policy`` (chosen when the job starts) and comes back;
    when it ends, the load's retrieval job is queued (first in, first out), or with
    ``retrieval="on_demand"`` the load joins the stock and is called only when the output point is
    free (``output_freed``: the line took the previous load), oldest first. A retrieval job fetches
    the load back to the input/output point (its slot is free from the job's start). Each job is a
    single-command cycle: ``2 x travel_time + 2 x handling_s``. ``blocked_slots`` are never used.
    Everything that happens is appended to ``log`` as ``(t, crane, event, detail)``.
    """

    def __init__(self, name: str, rack: Rack, x: AxisLimits, z: AxisLimits, handling_s: float,
                 policy: str = "closest_open", seed: int = 0, blocked_slots=(),
                 retrieval: str = "immediate") -> None:
        if policy not in ("closest_open", "random"):
            raise UsageError(f"storage policy must be 'closest_open' or 'random', got {policy!r}")
        if retrieval not in ("immediate", "on_demand"):
            raise UsageError(f"storage retrieval must be 'immediate' or 'on_demand', got {retrieval!r}")
        self.retrieval = retrieval
        self.stock: list[object] = []  # on demand: stored loads waiting to be called, oldest first
        self._called = 0  # on demand: retrievals queued or running, plus loads waiting at the output
        self.name, self.rack, self.x, self.z = name, rack, x, z
        self.handling_s = float(handling_s)
        self.policy = policy
        self._rng = np.random.default_rng(seed)
        for slot in blocked_slots:
            b, lv = rack.check_slot(tuple(slot))
            rack.content[b][lv] = "#blocked"
        self.where: dict[object, tuple[int, int]] = {}
        self._queue: list[tuple[str, object]] = []
        self._job: tuple[str, object, float] | None = None  # (kind, load, end time)
        self.now = 0.0
        self.jobs: list[tuple[float, float]] = []  # (start, end) of every crane job, for utilisation
        self.job_moves: list[tuple[str, tuple[int, int]]] = []  # (kind, slot) of every job, as ``jobs``
        self.stored = 0
        self.retrieved = 0
        self.log: list[tuple[float, str, str, str]] = []

    def cycle_s(self, slot: tuple[int, int]) -> float:
        """Single-command cycle to ``slot`` and back (analytical; also what the crane takes)."""
        return single_command_cycle_s(self.rack, slot, self.x, self.z, self.handling_s)

    def request_store(self, load: object, t: float) -> None:
        """A load arrives at the input point at time ``t`` (>= now)."""
        self.now = max(self.now, float(t))
        self._queue.append(("store", load))
        self._start_next()

    def next_time(self) -> float:
        return self._job[2] if self._job is not None else math.inf

    def run(self, until_s: float) -> list[object]:
        """Process job ends up to ``until_s``; return the loads retrieved to the output point."""
        out = []
        while self._job is not None and self._job[2] <= until_s:
            kind, load, end = self._job
            self.now = end
            self._job = None
            if kind == "store":
                self.stored += 1
                self.log.append((end, self.name, "stored", f"{load} in {self.where[load]}"))
                if self.retrieval == "immediate":
                    self._queue.append(("retrieve", load))
                else:
                    self.stock.append(load)
                    self._call()
            else:
                self.retrieved += 1
                self.log.append((end, self.name, "retrieved", str(load)))
                out.append(load)
            self._start_next()
        self.now = max(self.now, until_s)
        return out

    def output_freed(self, t: float) -> None:
        """On demand: the load at the output point left at ``t``, so the next one is called."""
        self.now = max(self.now, float(t))
        self._called -= 1
        self._call()
        self._start_next()

    def _call(self) -> None:
        # the line pulls: one load at a time is fetched, and only once the output point is free
        if self._called == 0 and self.stock:
            self._called += 1
            self._queue.append(("retrieve", self.stock.pop(0)))

    def carriage_xz(self, t: float) -> tuple[float, float]:
        """Where the crane's carriage is at ``t`` (<= now), from the input/output point (m).

        A storage job handles the load at the input/output point, travels to the slot (both axes
        at once, each with its trapezoidal profile), handles it there and travels back; a
        retrieval travels out first and handles the load at the input/output point last. The
        phases add up to the single-command cycle the line is timed with.
        """
        k = bisect.bisect_right(self.jobs, (t, math.inf)) - 1
        if k < 0 or t >= self.jobs[k][1]:
            return self.rack.io_xz_m
        kind, slot = self.job_moves[k]
        io_x, io_z = self.rack.io_xz_m
        sx, sz = self.rack.slot_xz(slot)
        dx, dz = sx - io_x, sz - io_z
        travel = travel_time(dx, dz, self.x, self.z)
        h = self.handling_s
        tau = t - self.jobs[k][0]
        out_at, back_at = (h, 2 * h + travel) if kind == "store" else (0.0, h + travel)
        if tau < out_at:
            return (io_x, io_z)
        if tau < out_at + travel:
            u = tau - out_at
            return (io_x + dx * axis_fraction(u, abs(dx), self.x), io_z + dz * axis_fraction(u, abs(dz), self.z))
        if tau < back_at:
            return (sx, sz)
        u = tau - back_at
        return (sx - dx * axis_fraction(u, abs(dx), self.x), sz - dz * axis_fraction(u, abs(dz), self.z))

    @property
    def busy_s(self) -> float:
        """Crane time of every job started so far."""
        return sum(end - start for start, end in self.jobs)

    def occupied(self) -> int:
        return len(self.where)

    def _start_next(self) -> None:
        if self._job is not None or not self._queue:
            return
        kind, load = self._queue.pop(0)
        if kind == "store":
            slot = self._choose_slot()
            self.rack.content[slot[0]][slot[1]] = str(load)
            self.where[load] = slot
        else:
            slot = self.where.pop(load)
            self.rack.content[slot[0]][slot[1]] = None
        cycle = self.cycle_s(slot)
        self.jobs.append((self.now, self.now + cycle))
        self.job_moves.append((kind, slot))
        self._job = (kind, load, self.now + cycle)

    def _choose_slot(self) -> tuple[int, int]:
        return choose_slot(self.rack, self.policy, self._rng, self.cycle_s, who=self.name)
