"""The line engine: owns a compiled model and its state, and advances it.

``Engine`` is the thin Python layer over the kernels: it grows the logs when a kernel asks,
snapshots and restores state, and turns accumulators into KPIs. It knows nothing of physics,
sensors or the bridge (those live above it in ``twin.Twin``).
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import SimulationError
from ..scene.models import Scene
from . import layout as L
from .compile import compile_scene, initial_state
from .events import (
    complete_external,
    conveyor_positions,
    force_station_down,
    init_kernel,
    photo_eye_scan,
    run_until,
    set_conveyor_speed,
)
from .structs import to_struct_params, to_struct_state

__all__ = ["Engine"]

_GROWABLE = {
    L.ST_TRACE_FULL: ("tr_t", "tr_uid", "tr_event", "tr_node", "tr_aux"),
    L.ST_LEADTIME_FULL: ("lt_t", "lt_value", "lt_type", "lt_sink"),
}


class Engine:
    """A compiled line model and its mutable state.

    Args:
        scene: a validated scene (``twin.load_scene``).
        seed: seed of every random stream (streams are derived per entity from it).
        trace: record the per-part trace (costs memory and about a third of the speed).
        log_capacity: initial length of the trace and lead-time logs (they double when full).
    """

    def __init__(self, scene: Scene, seed: int, trace: bool = True, log_capacity: int = 65536) -> None:
        self.scene = scene
        self.seed = int(seed)
        self.params, self.names, seeds = compile_scene(scene, self.seed)
        self._p = to_struct_params(self.params)
        self._pending_external: list[int] = []
        self._set(initial_state(self.params, seeds, trace, log_capacity, log_capacity))
        # room an event handler needs before its cascade (which pauses itself when a log fills up):
        # its own records plus one whole transfer (a drop-on-block source transfers directly)
        self._trace_margin = 48 + int(self.params.trace_room)
        self._lt_margin = 4
        n_eyes = len(self.names.photo_eyes)
        self.eye_blocked = np.zeros(max(n_eyes, 1), np.bool_)
        self.eye_edges = np.zeros(max(n_eyes, 1), np.int64)
        init_kernel(self._p, self._s)
        self._finish_cascade()

    def _set(self, state: L.LineState) -> None:
        # The StructRef shares the namedtuple's arrays; rebuild it whenever an array is replaced.
        self.state = state
        self._s = to_struct_state(state)

    @property
    def t(self) -> float:
        """Simulated time (s)."""
        return float(self.state.t[0])

    def advance_to(self, t_end: float) -> list[int]:
        """Process every event up to and including ``t_end`` and set the clock to it.

        Returns the servers of externally timed stations (transports, storages) that started a
        part, when there are any: the run then stops early, at the time they started, and waits
        for :meth:`complete_external` for each before it is advanced again. Otherwise ``[]``.
        An entry ``-(s + 1)`` says instead that server ``s`` of a storage retrieving on demand
        handed its part on (its output point is free); it needs no answer.
        """
        if not math.isfinite(t_end):
            raise SimulationError(f"cannot advance to a non-finite time ({t_end})")
        if self._pending_external:
            pending, self._pending_external = self._pending_external, []
            return pending
        return self._run(float(t_end), 1 << 62)

    def complete_external(self, server: int, t: float, failed: bool | None = None) -> None:
        """Externally timed ``server`` finishes its part at ``t`` (now or later).

        ``failed``: at an inspection station, the verdict found outside the core (a camera judged the
        part); ``None`` draws it from the station's rates as usual.
        """
        if t < self.t:
            raise SimulationError(f"completion at t={t} is in the past (now {self.t})")
        if failed is not None:
            self.state.srv_verdict[server] = 1 if failed else 0
        complete_external(self._p, self._s, int(server), float(t))

    def server_part_uid(self, server: int) -> int:
        """Id of the part on ``server`` (-1 when it has none)."""
        p = int(self.state.srv_part[server])
        return int(self.state.part_uid[p]) if p >= 0 else -1

    def _finish_cascade(self) -> None:
        """Complete a transfer cascade that paused for log room, processing no new event."""
        self._pending_external += self._run(self.t, 0)

    def _run(self, t_end: float, max_events: int) -> list[int]:
        while True:
            status = run_until(self._p, self._s, t_end, max_events, self._trace_margin, self._lt_margin)
            if status in (L.ST_DONE, L.ST_MAX_EVENTS):
                return []
            if status == L.ST_EXTERNAL:
                n = int(self.state.ext_n[0])
                requests = self.state.ext_q[:n].tolist()
                self.state.ext_n[0] = 0
                return requests
            if status in _GROWABLE:
                self._grow(_GROWABLE[status])
            elif status == L.ST_ZENO:
                raise SimulationError(f"more than 10 million transfers at t={self.t:.6g}s without time "
                                      "advancing; the line has a zero-time loop")
            else:
                raise SimulationError(f"engine stopped with status {status} at t={self.t:.6g}s")

    def _grow(self, fields: tuple[str, ...]) -> None:
        grown = {}
        for name in fields:
            old = getattr(self.state, name)
            new = np.zeros(max(2 * old.shape[0], 1024), old.dtype)
            new[: old.shape[0]] = old
            grown[name] = new
        self._set(self.state._replace(**grown))

    def force_station_down(self, name: str, down: bool) -> None:
        """Stop a station now (``down``), or lift one such stop; stops nest like failures."""
        n = self._node(name, L.KIND_STATION)
        if not down and self.state.st_down[n] <= 0:
            raise SimulationError(f"station {name!r} is not down")
        if self.state.tr_n[0] + self._trace_margin >= self.state.tr_t.shape[0]:
            self._grow(_GROWABLE[L.ST_TRACE_FULL])
        force_station_down(self._p, self._s, n, bool(down), self.t)
        self._finish_cascade()

    def conveyor_speed(self, name: str) -> float:
        """A conveyor's belt speed now (m/s; 0 while it stands)."""
        return float(self.state.cv_v[self._node(name, L.KIND_CONVEYOR)])

    def set_conveyor_speed(self, name: str, speed_mps: float) -> None:
        """Change a conveyor's belt speed now (0 stops it)."""
        n = self._node(name, L.KIND_CONVEYOR)
        if not (math.isfinite(speed_mps) and speed_mps >= 0):
            raise SimulationError(f"conveyor {name!r}: speed_mps must be finite and >= 0, got {speed_mps}")
        set_conveyor_speed(self._p, self._s, n, float(speed_mps), self.t)
        self._finish_cascade()

    def conveyor_parts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(node id, position m, part uid) of every part on a conveyor, now."""
        node, pos, part = self._conveyor_slots()
        return node, pos, self.state.part_uid[part]

    def conveyor_parts_typed(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Like :meth:`conveyor_parts`, plus each part's type id."""
        node, pos, part = self._conveyor_slots()
        return node, pos, self.state.part_uid[part], self.state.part_type[part]

    def station_parts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(node id, server index within the station, part uid, part type) of every part on a
        station server (processing, in setup or blocked), now. Transports and storages included."""
        srv = np.flatnonzero(self.state.srv_part[: self.params.n_srv] >= 0)
        p = self.state.srv_part[srv]
        node = self.params.srv_node[srv]
        return node, srv - self.params.st_srv_off[node], self.state.part_uid[p], self.state.part_type[p]

    def sink_counts(self) -> np.ndarray:
        """Parts that reached each sink so far, per part type: int64[n_nodes, n_types]."""
        return self.state.sink_count.copy()

    def _conveyor_slots(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        total = int(self.state.node_count[self.params.node_kind == L.KIND_CONVEYOR].sum())
        node = np.zeros(total, np.int32)
        pos = np.zeros(total)
        part = np.zeros(total, np.int32)
        k = conveyor_positions(self._p, self._s, self.t, node, pos, part)
        return node[:k], pos[:k], part[:k]

    def scan_photo_eyes(self) -> int:
        """Update ``eye_blocked``/``eye_edges`` (indexed like ``names.photo_eyes``) to now; return changes.

        Eyes are sampled when this is called (each control step in a stepped run), so an edge pair
        shorter than the sampling interval is not seen, as with a real PLC input scan.
        """
        return int(photo_eye_scan(self._p, self._s, self.t, self.eye_blocked, self.eye_edges))

    def photo_eyes(self) -> dict[str, bool]:
        """Blocked state of every photo-eye by full name, now."""
        self.scan_photo_eyes()
        return {name: bool(self.eye_blocked[i]) for i, name in enumerate(self.names.photo_eyes)}

    def _node(self, name: str, kind: int) -> int:
        try:
            n = self.names.node_id(name)
        except ValueError:
            n = -1
        if n < 0 or self.params.node_kind[n] != kind:
            valid = [nm for i, nm in enumerate(self.names.nodes) if self.params.node_kind[i] == kind]
            raise SimulationError(f"no {L.KIND_NAMES[kind]} named {name!r}. Valid: {valid}")
        return n

    def get_state(self) -> dict[str, np.ndarray]:
        """A deep copy of the whole mutable state (restorable with :meth:`set_state`)."""
        return {name: np.array(arr, copy=True) for name, arr in zip(L.STATE_FIELDS, self.state, strict=True)}

    def set_state(self, snapshot: dict[str, np.ndarray]) -> None:
        """Restore a snapshot taken from an engine of the same scene."""
        missing = set(L.STATE_FIELDS) - set(snapshot)
        if missing:
            raise SimulationError(f"state snapshot lacks fields {sorted(missing)}")
        for name in ("node_count", "srv_state", "tm_time"):
            if snapshot[name].shape != getattr(self.state, name).shape:
                raise SimulationError(f"state snapshot is from another scene ({name} has shape "
                                      f"{snapshot[name].shape}, expected {getattr(self.state, name).shape})")
        self._set(L.LineState(**{name: np.array(snapshot[name], copy=True) for name in L.STATE_FIELDS}))
