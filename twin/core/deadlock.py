"""Deadlock detection: a closed set of full elements whose parts can only move into each other.

An element is *stuck* when it cannot accept a part and its parts are all finished and waiting
(a full buffer whose head is blocked, a station whose every server holds a finished part, a full
conveyor whose head waits at the end). A set of stuck elements is a deadlock when every place a
stuck element could send its part is itself in the set: no event can ever free a place again.
The largest such set is found by removing, until nothing changes, every element with a possible
target outside the set.
"""

from __future__ import annotations

from . import layout as L
from .compile import storage_targets

__all__ = ["find_deadlock"]


def _stuck_now(p: L.LineParams, s: L.LineState, n: int) -> bool:
    kind = p.node_kind[n]
    if kind == L.KIND_BUFFER:
        return s.node_count[n] >= p.node_cap[n] and s.node_blocked_since[n] >= 0
    if kind == L.KIND_STATION:
        return s.st_blocked[n] >= p.node_cap[n]
    if kind == L.KIND_CONVEYOR:
        if not s.cv_head_ready[n] or s.cv_v[n] <= 0:
            return False
        t = float(s.t[0])
        d = s.cv_d0[n] + s.cv_v[n] * (t - s.cv_t0[n])
        cap = int(p.node_cap[n])
        count = int(s.node_count[n])
        for k in range(count):  # every part already pressed against the one ahead: nothing moves
            part = s.qbuf[p.node_q_off[n] + (s.q_head[n] + k) % cap]
            if d - s.part_c[part] < p.cv_length_m[n] - k * p.cv_spacing_m[n] - 1e-9:
                return False
        tail_pos = p.cv_length_m[n] - (count - 1) * p.cv_spacing_m[n]
        return count >= cap or tail_pos < p.cv_spacing_m[n] - 1e-9
    return False


def find_deadlock(p: L.LineParams, s: L.LineState, names) -> list[str]:
    """Names of the elements in a deadlock now (empty when there is none)."""
    stuck = {n for n in range(p.n_nodes) if _stuck_now(p, s, n)}
    if not stuck:
        return []
    targets = {n: set(storage_targets(p, int(p.node_out[n]))) for n in stuck}
    changed = True
    while changed:
        changed = False
        for n in sorted(stuck):
            if not targets[n] <= stuck:
                stuck.discard(n)
                changed = True
    return sorted(names.nodes[n] for n in stuck)


