"""Many replications of one compiled line model, with the per-run Python work done once.

Replications of a configuration share every parameter array and differ only in their random
streams (their seeds). ``BatchRun`` compiles the scene once, builds one state per seed (or resets
one in place, ``restart``), and advances each with the engine's own compiled ``run_until``, one
kernel call per state and phase. What it saves against one ``Twin`` per replication is the
per-run Python work (the scene compile, the state set-up); the events processed are the same, in
the same order, so each replication's results are identical to a ``Twin`` run with its seed.

The loops over the states are Python, not compiled kernels: a compiled caller of ``run_until``
would have numba generate its machine code once more (about 10 s cold), for a few microseconds
saved per call.

Only core scenes qualify (no transports or storages, no scheduled faults: ``Twin`` handles those
in Python between kernel calls).
"""

from __future__ import annotations

import math

import numpy as np
from numba import config

from ..errors import SimulationError
from ..scene.models import Scene
from . import layout as L
from .compile import compile_scene, initial_state, stream_seeds
from .deadlock import find_deadlock
from .events import init_kernel, run_until
from .kpi import accumulators, compute_kpis
from .structs import _kernel_view, state_struct, to_struct_params, to_struct_state

__all__ = ["BatchRun", "batch_supported", "run_replications_batch"]

_NO_LIMIT = 1 << 62
#: the growable logs: ``BatchRun.restart`` leaves them as they are (their counters start again)
_LOG_ARRAYS = frozenset({"lt_t", "lt_value", "lt_type", "lt_sink", "tr_t", "tr_uid", "tr_event", "tr_node", "tr_aux"})
_TRACE_MARGIN = 64  # as Engine: room an event handler needs before its cascade
_LT_MARGIN = 4


def batch_supported(scene: Scene) -> bool:
    """Whether ``scene`` runs in the core alone: no AGV transports or AS/RS storages (co-simulated in
    Python), no scheduled faults (``Twin`` stops and restarts belts between kernel calls) and no
    per-part camera inspections (each part is photographed outside the core)."""
    per_part = any(s.inspection is not None and s.inspection.vision is not None and s.inspection.vision.per_part
                   for s in scene.stations)
    return not scene.transports and not scene.storages and not getattr(scene, "faults", None) and not per_part


class BatchRun:
    """Replications of one scene, one per seed, advanced together.

    Args:
        scene: a core-only scene (:func:`batch_supported`).
        seeds: one seed per replication.
        log_capacity: initial length of each lead-time log (doubles when full, as in ``Engine``).
    """

    def __init__(self, scene: Scene, seeds: list[int], log_capacity: int = 32768) -> None:
        if not batch_supported(scene):
            raise SimulationError("the batch runner runs core-only scenes; this one has transports, storages or "
                                  "scheduled faults")
        if not seeds:
            raise SimulationError("BatchRun needs at least one seed")
        self.seeds = [int(s) for s in seeds]
        self.params, self.names, first_streams = compile_scene(scene, self.seeds[0])
        self._p = to_struct_params(self.params)
        self.states = []
        for seed in self.seeds:
            # the parameters do not depend on the seed: only the streams differ
            streams = first_streams if seed == self.seeds[0] else stream_seeds(self.names, seed)
            self.states.append(initial_state(self.params, streams, False, 1, log_capacity))
        # the fields of a fresh state, for ``restart`` (the logs need no reset: their counters are)
        self._fresh = {name: value.copy() for name, value in zip(L.LineState._fields, self.states[0], strict=True)
                       if name not in _LOG_ARRAYS}
        self._refs = [to_struct_state(self.states[0])] + [_fast_struct_state(s) for s in self.states[1:]]
        self._start()

    def _start(self) -> None:
        """Schedule the first events of every fresh state and settle its t = 0 transfer cascade
        (``run_until`` with no events: it only finishes the cascade), as ``Engine`` does."""
        status = np.full(len(self.seeds), L.ST_DONE, np.int64)
        for i, ref in enumerate(self._refs):
            init_kernel(self._p, ref)
            status[i] = run_until(self._p, ref, 0.0, 0, _TRACE_MARGIN, _LT_MARGIN)
        self._check(status)

    def restart(self, seeds: list[int]) -> None:
        """Start new replications, one per seed, in this batch's states (as many seeds as states, or
        fewer: the extra states are dropped). The states are reset in place, so their arrays, the
        lead-time logs above all, are not allocated again, and each replication runs exactly as a
        fresh one would."""
        seeds = [int(s) for s in seeds]
        if not 0 < len(seeds) <= len(self.states):
            raise SimulationError(f"restart needs 1 to {len(self.states)} seeds, got {len(seeds)}")
        while len(self.states) > len(seeds):
            self.states.pop()
            self._refs.pop()
        for state, seed in zip(self.states, seeds, strict=True):
            for name, fresh in self._fresh.items():
                np.copyto(getattr(state, name), fresh)
            state.rng_state[:] = stream_seeds(self.names, seed)
        self.seeds = seeds
        self._start()

    def replicate(self, seeds: list[int], until_s: float, warmup_s: float) -> list[dict]:
        """KPI dicts of one replication per seed (warm-up ``warmup_s``, end ``until_s``), identical to
        ``Twin`` runs. They run one after the other in this batch's first state, reset in place
        (``restart``): its arrays are allocated once and stay in the cache, where a state per
        replication took about 1 MB of fresh memory each (page faults, mostly the logs)."""
        out: list[dict] = []
        for seed in seeds:
            self.restart([seed])
            baselines = None
            if warmup_s > 0:
                self.advance_to(warmup_s)
                baselines = self.accumulators()
            self.advance_to(until_s)
            out.extend(self.kpis(baselines, warmup_s))  # plain Python data: nothing refers to the state
        return out

    def advance_to(self, t_end: float) -> None:
        """Process every replication's events up to ``t_end``."""
        if not math.isfinite(t_end):
            raise SimulationError(f"cannot advance to a non-finite time ({t_end})")
        active = np.ones(len(self.states), np.bool_)
        status = np.full(len(self.states), L.ST_DONE, np.int64)
        while active.any():
            # a state that stops early (a full lead-time log) has it grown and goes on exactly as
            # if it had been large enough
            for i in np.flatnonzero(active):
                status[i] = run_until(self._p, self._refs[i], float(t_end), _NO_LIMIT, _TRACE_MARGIN, _LT_MARGIN)
            active = self._check(status)

    def _check(self, status: np.ndarray) -> np.ndarray:
        """Grow the logs of the states that asked for room; return which must run again."""
        again = np.zeros(len(status), np.bool_)
        for i, code in enumerate(status):
            if code in (L.ST_DONE, L.ST_MAX_EVENTS):
                continue
            if code == L.ST_LEADTIME_FULL:
                self._grow(i, ("lt_t", "lt_value", "lt_type", "lt_sink"))
                again[i] = True
            elif code == L.ST_ZENO:
                raise SimulationError(f"seed {self.seeds[i]}: more than 10 million transfers at "
                                      f"t={self.states[i].t[0]:.6g}s without time advancing; the line has a "
                                      "zero-time loop")
            else:
                raise SimulationError(f"seed {self.seeds[i]}: engine stopped with status {code} at "
                                      f"t={self.states[i].t[0]:.6g}s")
        return again

    def _grow(self, i: int, fields: tuple[str, ...]) -> None:
        state = self.states[i]
        grown = {}
        for name in fields:
            old = getattr(state, name)
            new = np.zeros(max(2 * old.shape[0], 1024), old.dtype)
            new[: old.shape[0]] = old
            grown[name] = new
        self.states[i] = state._replace(**grown)
        self._refs[i] = to_struct_state(self.states[i])

    def accumulators(self) -> list[dict[str, np.ndarray]]:
        """Each replication's KPI accumulators now (the warm-up baseline)."""
        return [accumulators(self.params, s) for s in self.states]

    def kpis(self, baselines: list[dict[str, np.ndarray]] | None, warmup_s: float) -> list[dict]:
        """Each replication's KPIs since its ``baselines`` entry (None: since t = 0), as ``Twin.kpis``."""
        out = []
        for i, state in enumerate(self.states):
            base = baselines[i] if baselines is not None else None  # None: the accumulators as they are
            k = compute_kpis(self.params, state, self.names, base, warmup_s)
            k.pop("transports_and_storages", None)
            k["scheduled_faults"] = []  # a batchable scene has none (what Twin.kpis says then)
            k["deadlock"] = find_deadlock(self.params, state, self.names)
            out.append(k)
        return out


def _fast_struct_state(state: L.LineState):
    """``to_struct_state`` without its dtype checks, for states built like one already checked
    (about 1 ms each, more than a short replication's events)."""
    if config.DISABLE_JIT:
        return to_struct_state(state)
    return state_struct(state, [_kernel_view(v) for v in state])


def run_replications_batch(scene: Scene, seeds: list[int], until_s: float, warmup_s: float) -> list[dict]:
    """KPI dicts of one replication per seed; identical to ``Twin`` runs (``BatchRun.replicate``)."""
    if not seeds:
        return []
    return BatchRun(scene, [seeds[0]]).replicate(seeds, until_s, warmup_s)
