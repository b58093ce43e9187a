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


def _waiting_parts(p: L.LineParams, s: L.LineState, n: int) -> list[int]:
    kind = p.node_kind[n]
    if kind == L.KIND_STATION:
        off = int(p.st_srv_off[n])
        return [int(s.srv_part[k]) for k in range(off, off + int(p.node_cap[n])) if s.srv_state[k] == L.SRV_BLOCKED]
    return [int(s.qbuf[p.node_q_off[n] + s.q_head[n] % p.node_cap[n]])]


def _targets(p: L.LineParams, s: L.LineState, n: int) -> set[int]:
    """Where the parts waiting in ``n`` can go: deterministic diverters are followed with each part's
    own type and inspection result; choosing diverters contribute all their outputs."""
    out: set[int] = set()
    for part in _waiting_parts(p, s, n):
        node = int(p.node_out[n])
        while True:
            kind = p.node_kind[node]
            if kind == L.KIND_MERGE:
                node = int(p.node_out[node])
            elif kind == L.KIND_DIVERTER and p.dv_rule[node] == L.DV_BY_TYPE:
                node = int(p.dv_type_target[node, s.part_type[part]])
            elif kind == L.KIND_DIVERTER and p.dv_rule[node] == L.DV_BY_INSPECTION:
                node = int(p.dv_fail[node] if s.part_insp[part] == L.INSP_FAIL else p.dv_pass[node])
            else:
                break
        out.update(storage_targets(p, node))
    return out


def find_deadlock(p: L.LineParams, s: L.LineState, names) -> list[str]:
    """Names of the elements in a deadlock now (empty when there is none)."""
    stuck = {n for n in range(p.n_nodes) if _stuck_now(p, s, n)}
    if not stuck:
        return []
    targets = {n: _targets(p, s, n) for n in stuck}
    changed = True
    while changed:
        changed = False
        for n in sorted(stuck):
            if not targets[n] <= stuck:
                stuck.discard(n)
                changed = True
    return sorted(names.nodes[n] for n in stuck)


