"""Material flow kernels: routing, accepting and releasing parts, and the transfer cascade.

Semantics (documented in docs/engine.md):
- Blocking after service: a part that finished at a station (or reached a conveyor's end, or
  heads a buffer) stays where it is, holding its place, until the next element accepts it.
- Transfers take zero time. When an element frees a place, the blocked senders that can reach it
  are woken, the longest-waiting first (or in merge priority order), which cascades upstream.
- Conveyors are accumulating: part ``k`` (0 = head) on a conveyor with belt odometer ``D(t)`` is at
  ``x_k = min(D(t) - c_k, L - k*s)``, where the offsets ``c_k`` keep consecutive parts at least
  the spacing ``s`` apart. Arrival at the end is the event ``D(t) = c_head + L``: computed, not integrated.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .accounting import active_set, count_change, srv_enter, station_refresh, trace, wip_change
from .heap import heap_add, heap_cancel, heap_set
from .layout import (
    DV_BY_INSPECTION,
    DV_BY_TYPE,
    DV_ROUND_ROBIN,
    INSP_FAIL,
    KIND_BUFFER,
    KIND_CONVEYOR,
    KIND_DIVERTER,
    KIND_MERGE,
    KIND_SINK,
    KIND_SOURCE,
    KIND_STATION,
    SRC_ALWAYS,
    SRC_INTERARRIVAL,
    SRC_SCHEDULE,
    SRV_BLOCKED,
    SRV_BUSY,
    SRV_IDLE,
    SRV_SETUP,
    TR_CREATED,
    TR_DROPPED,
    TR_ENTER,
    TR_EXIT,
    TR_LEAVE,
    TR_PROCESS_START,
    TR_SETUP_START,
)
from .rng import next_u01, sample
from .structs import tracing

EPS_M = 1e-9  # tolerance on belt positions (m): event times are rounded, positions must not be


# ---------------------------------------------------------------- helpers

# Plain aliases, not wrapper functions: numba inlines ``inline="always"`` callees level by level,
# copying each level's whole code again, so every needless level costs compile time.
draw = sample  # draw(P, S, distribution, stream)
set_timer = heap_set  # set_timer(S, slot, t)
cancel_timer = heap_cancel  # cancel_timer(S, slot)


@njit(cache=True, inline="always")
def ring_index(i, cap):
    """``i % cap`` for 0 <= i < 2*cap, without the integer division (tens of cycles, several per event)."""
    return i - cap if i >= cap else i


# The worklist is a FIFO of nodes: its first node in ``wl_front`` (-1 when the list is empty), the
# others in the ring ``wl`` (``wl_len`` of them from ``wl_head``). A cascade mostly holds one node at
# a time, which then never touches the ring.

@njit(cache=True, inline="always")
def wl_push(S, n):
    """Queue node ``n`` to try sending its ready parts (once; FIFO keeps the order deterministic)."""
    if not S.wl_in[n]:
        S.wl_in[n] = True
        if S.wl_front[0] < 0:
            S.wl_front[0] = n
        else:
            cap = S.wl_cap
            S.wl[ring_index(S.wl_head[0] + S.wl_len[0], cap)] = n
            S.wl_len[0] += 1


@njit(cache=True, inline="always")
def wl_push_front(S, n):
    """Put node ``n`` back at the head of the worklist (its cascade was paused, see ``logs_have_room``)."""
    first = S.wl_front[0]
    if first >= 0:
        cap = S.wl_cap
        S.wl_head[0] = ring_index(S.wl_head[0] - 1 + cap, cap)
        S.wl[S.wl_head[0]] = first
        S.wl_len[0] += 1
    S.wl_front[0] = n
    S.wl_in[n] = True


@njit(cache=True, inline="always")
def wl_pop(S):
    """Take the worklist's first node (the caller checks ``wl_front[0] >= 0``)."""
    n = S.wl_front[0]
    S.wl_in[n] = False
    if S.wl_len[0] > 0:
        S.wl_front[0] = S.wl[S.wl_head[0]]
        S.wl_head[0] = ring_index(S.wl_head[0] + 1, S.wl_cap)
        S.wl_len[0] -= 1
    else:
        S.wl_front[0] = -1
    return n


@njit(cache=True, inline="always")
def logs_have_room(P, S):
    """Whether the trace and lead-time logs can take one more transfer (``P.trace_room`` records:
    the most one transfer writes, routing points included).

    Cascades check this before every transfer and pause (the worklist keeps the rest) when a log is
    full, so the engine can grow it and resume exactly where it stopped: logs never need to be
    sized for the largest possible cascade, and no record is ever dropped.
    """
    return (not tracing(S) or S.tr_n[0] + P.trace_room <= S.tr_cap) and S.lt_n[0] < S.lt_cap


@njit(cache=True, inline="always")
def belt_d(S, n, t):
    """Belt odometer of conveyor ``n`` at time ``t`` (m)."""
    return S.cv_d0[n] + S.cv_v[n] * (t - S.cv_t0[n])


@njit(cache=True)
def belt_time(S, n, d_target, t):
    """Earliest time >= t at which conveyor ``n``'s odometer reaches ``d_target`` (inf if stopped)."""
    v = S.cv_v[n]
    if v <= 0.0:
        return np.inf
    tt = S.cv_t0[n] + (d_target - S.cv_d0[n]) / v
    return tt if tt > t else t


@njit(cache=True, inline="always")
def _q_at(P, S, n, k):
    cap = P.node_cap[n]
    return S.qbuf[P.node_q_off[n] + ring_index(S.q_head[n] + k, cap)]


@njit(cache=True)
def conveyor_schedule_head(P, S, n, t):
    """(Re)schedule the head-reaches-end event of conveyor ``n``."""
    if S.node_count[n] == 0 or S.cv_head_ready[n]:
        cancel_timer(S, n)
        return
    head = _q_at(P, S, n, 0)
    set_timer(S, n, belt_time(S, n, S.part_c[head] + P.cv_length_m[n], t))


@njit(cache=True)
def alloc_part(P, S, src, ptype, t):
    """Take a part from the pool, give it the next unique id, and trace its creation."""
    if S.free_top[0] == 0:
        return -1
    S.free_top[0] -= 1
    p = S.free_stack[S.free_top[0]]
    S.part_uid[p] = S.uid_next[0]
    S.uid_next[0] += 1
    S.part_type[p] = ptype
    S.part_node[p] = src
    S.part_srv[p] = -1
    S.part_defect[p] = False
    S.part_insp[p] = 0
    S.part_failed_once[p] = False
    S.part_t_release[p] = t
    S.part_t_enter[p] = t
    trace(S, TR_CREATED, p, src, ptype, t)
    return p


@njit(cache=True)
def free_part(S, p):
    S.part_node[p] = -1
    S.free_stack[S.free_top[0]] = p
    S.free_top[0] += 1


# ---------------------------------------------------------------- routing

@njit(cache=True, inline="always")
def can_accept(P, S, n, t):
    """Whether storage node ``n`` can take a part now. For a conveyor whose entrance is still
    occupied, this also arms the entrance-free timer so that waiting senders are woken."""
    kind = P.node_kind[n]
    if kind == KIND_SINK:
        return True
    if kind == KIND_STATION:
        return S.st_idle[n] > 0 and S.st_down[n] == 0 and not S.st_off[n]
    if kind == KIND_BUFFER:
        return S.node_count[n] < P.node_cap[n]
    return conveyor_can_accept(P, S, np.int64(n), t)


# The conveyor and diverter paths below are compiled once, as functions of their own, instead of
# being inlined into the event loop with the rest of the transfer code: numba copies the code it
# inlines level by level, so they cost compile time, and these paths are worth a call.


@njit(cache=True)
def conveyor_can_accept(P, S, n, t):
    """``can_accept`` for conveyor ``n``: room at its entrance (else arm the entrance-free timer)."""
    c = S.node_count[n]
    if c == 0:
        return True
    if c >= P.node_cap[n]:
        return False
    tail = _q_at(P, S, n, c - 1)
    target = S.part_c[tail] + P.cv_spacing_m[n]
    if belt_d(S, n, t) >= target - EPS_M:
        return True
    if S.pos[P.slot_b + n] < 0:
        set_timer(S, P.slot_b + n, belt_time(S, n, target, t))
    return False


@njit(cache=True, inline="always")
def _route_step(P, S, node, p):
    """Where a merge or a deterministic diverter ``node`` sends part ``p``; -1 for any other node
    (a storage node, or a diverter that chooses by the state of its outputs)."""
    kind = P.node_kind[node]
    if kind == KIND_MERGE:
        return P.node_out[node]
    if kind == KIND_DIVERTER and P.dv_rule[node] == DV_BY_TYPE:
        return P.dv_type_target[node * P.n_types + S.part_type[p]]
    if kind == KIND_DIVERTER and P.dv_rule[node] == DV_BY_INSPECTION:
        return P.dv_fail[node] if S.part_insp[p] == INSP_FAIL else P.dv_pass[node]
    return -1


@njit(cache=True, inline="always")
def _follow(P, S, node, p):
    """Follow merges and deterministic diverters from ``node`` to a storage node."""
    while True:
        nxt = _route_step(P, S, node, p)
        if nxt < 0:
            return node
        node = nxt


@njit(cache=True, inline="always")
def resolve(P, S, node, p, t):
    """The storage node part ``p`` sent to ``node`` would go to now, or -1 if it must wait.

    A round-robin pointer advances here, so callers transfer the part whenever this returns >= 0.
    """
    if P.node_kind[node] >= KIND_DIVERTER:  # a routing point (diverter, merge): follow it
        node = _follow(P, S, node, p)
        if P.node_kind[node] == KIND_DIVERTER:  # one that chooses by the state of its outputs
            return choose_output(P, S, np.int64(node), np.int64(p), t)
    return node if can_accept(P, S, node, t) else -1


@njit(cache=True)
def choose_output(P, S, node, p, t):
    """``resolve`` at a diverter that chooses by its outputs' state (round robin, shortest queue)."""
    off = P.dv_out_off[node]
    m = P.dv_out_len[node]
    if P.dv_rule[node] == DV_ROUND_ROBIN:
        for j in range(m):
            k = (S.dv_rr[node] + j) % m
            cand = _follow(P, S, P.dv_out[off + k], p)
            if can_accept(P, S, cand, t):
                S.dv_rr[node] = (k + 1) % m
                S.dv_pick[node] = P.dv_out[off + k]
                return cand
        return -1
    best = -1
    best_q = 1 << 62
    for j in range(m):
        cand = _follow(P, S, P.dv_out[off + j], p)
        if can_accept(P, S, cand, t) and S.node_count[cand] < best_q:
            best = cand
            best_q = S.node_count[cand]
            S.dv_pick[node] = P.dv_out[off + j]
    return best


# ---------------------------------------------------------------- stations

@njit(cache=True, inline="always")
def operating_time(S, n, t):
    """Cumulative time station ``n`` has spent operating (processing or in setup) up to ``t``."""
    if S.st_op[n]:
        return S.st_op_acc[n] + (t - S.st_op_since[n])
    return S.st_op_acc[n]


@njit(cache=True, inline="always")
def phase_end(P, S, n, t, dur):
    """When the phase of ``dur`` starting at ``t`` at station ``n`` ends, for ``arm_failures``:
    inf for a station of several servers (it operates across its servers' phases) or an unknown
    duration (``dur`` < 0: timed from outside)."""
    if P.node_cap[n] != 1 or dur < 0.0:
        return np.inf
    return t + dur


@njit(cache=True, inline="always")
def arm_failures(P, S, n, t, op_now, end):
    """Arm the timers of station ``n``'s operation-dependent failures that fall due before ``end``.

    A failure is due when the operating time (``op_now`` at ``t``) reaches ``fl_due_op``. A station
    of one server operates in phases (setup, processing) that end at known times, and its failure
    timer is armed only in the phase in which it falls due: the check is repeated at every phase
    start, so the heap holds no failure timer for the 99% of phases that end first. A station of
    several servers passes ``end`` = inf: its timers are armed whenever it starts operating. Timers
    are never cancelled when the station stops: one that fires early (the station paused) is
    dropped or re-armed (``_on_failure_timer``), which saves two heap operations per stop.
    ``st_fail_due`` (the earliest due operating time among them, ``fail_due_refresh``) skips the
    look at each failure in those phases.
    """
    if t + (S.st_fail_due[n] - op_now) > end:  # (floating-point rounding is monotonic: no due is missed)
        return
    off = P.st_fail_off[n]
    for f in range(off, off + P.st_fail_len[n]):
        if P.fail_operating[f] and not S.fl_down[f] and S.pos[P.slot_fail + f] < 0:
            due = t + (S.fl_due_op[f] - op_now)
            if due <= end:
                set_timer(S, P.slot_fail + f, due)


@njit(cache=True)
def fail_due_refresh(P, S, n):
    """Station ``n``'s earliest due operating time among its operation-dependent failures that are
    not down (``st_fail_due``, inf when none): after any change of their ``fl_due_op`` or ``fl_down``."""
    due = np.inf
    off = P.st_fail_off[n]
    for f in range(off, off + P.st_fail_len[n]):
        if P.fail_operating[f] and not S.fl_down[f]:
            due = min(due, S.fl_due_op[f])
    S.st_fail_due[n] = due


@njit(cache=True, inline="always")
def operating_refresh(P, S, n, t, end):
    """Track operating time; when it starts, arm the failures due before ``end`` (``arm_failures``)."""
    operating_set(P, S, n, t, S.st_busy[n] > 0 and S.st_down[n] == 0 and not S.st_off[n], end)


@njit(cache=True, inline="always")
def operating_set(P, S, n, t, op, end):
    """Station ``n`` operates (``op``) from ``t`` on (see ``operating_refresh``)."""
    if op == S.st_op[n]:
        return
    if not op:
        S.st_op_acc[n] += t - S.st_op_since[n]
        S.st_op[n] = False
        return
    S.st_op[n] = True
    S.st_op_since[n] = t
    arm_failures(P, S, n, t, S.st_op_acc[n], end)


@njit(cache=True, inline="always")
def start_server(P, S, s, p, t):
    """Server ``s`` takes part ``p``: setup first if the part type changed, then processing."""
    n = P.srv_node[s]
    pt = S.part_type[p]
    S.srv_part[s] = p
    S.part_srv[p] = s
    if P.st_setup[n] >= 0 and S.srv_last_type[s] >= 0 and S.srv_last_type[s] != pt:
        dur = draw(P, S, P.st_setup[n], P.node_rng[n])
        S.srv_state[s] = SRV_SETUP
        trace(S, TR_SETUP_START, p, n, s - P.st_srv_off[n], t)
    else:
        S.srv_state[s] = SRV_BUSY
        trace(S, TR_PROCESS_START, p, n, s - P.st_srv_off[n], t)
        if P.st_external[n]:
            request_external(S, s)
            dur = -1.0
        else:
            dur = draw(P, S, P.st_ptime[n * P.n_types + pt], P.node_rng[n])
    S.srv_last_type[s] = pt
    S.st_idle[n] -= 1
    S.st_busy[n] += 1
    # The station is up and on shift (it accepted the part): it operates, it is active, and the
    # server's effective state is its own. Failure timers first: on a tie in time, the
    # earlier-set timer (the failure) fires first.
    operating_set(P, S, n, t, True, phase_end(P, S, n, t, dur))
    if dur >= 0.0:
        slot = P.slot_srv + s
        if S.pos[slot] < 0:  # always, for an idle server: the fast, inlined way
            heap_add(S, slot, t + dur)
        else:
            set_timer(S, slot, t + dur)
    srv_enter(S, s, S.srv_state[s], t)
    active_set(S, n, True, t)


@njit(cache=True)
def request_external(S, s):
    """Queue server ``s`` for an outside completion time; the kernel returns ST_EXTERNAL."""
    S.ext_q[S.ext_n[0]] = s
    S.ext_n[0] += 1


@njit(cache=True)
def notify_left(S, s):
    """Queue ``-(s + 1)``: server ``s``'s part has left (a storage retrieving on demand is told its
    output point is free); the kernel returns ST_EXTERNAL like for a request."""
    S.ext_q[S.ext_n[0]] = -(s + 1)
    S.ext_n[0] += 1


@njit(cache=True)
def station_pause(P, S, n, t):
    """Freeze station ``n`` (failure or off-shift): running phases keep their remaining time."""
    off = P.st_srv_off[n]
    for s in range(off, off + P.node_cap[n]):
        st = S.srv_state[s]
        if (st == SRV_BUSY or st == SRV_SETUP) and not S.srv_paused[s]:
            slot = P.slot_srv + s
            S.srv_remaining[s] = max(S.tm_time[slot] - t, 0.0)
            cancel_timer(S, slot)
            S.srv_paused[s] = True
    station_refresh(P, S, n, t)
    operating_refresh(P, S, n, t, np.inf)


@njit(cache=True)
def station_resume(P, S, n, t):
    """Unfreeze station ``n`` once it is neither down nor off shift."""
    if S.st_down[n] > 0 or S.st_off[n]:
        station_refresh(P, S, n, t)
        return
    off = P.st_srv_off[n]
    end = np.inf
    for s in range(off, off + P.node_cap[n]):
        if S.srv_paused[s]:
            end = phase_end(P, S, n, t, S.srv_remaining[s])
    operating_refresh(P, S, n, t, end)  # before the servers' timers, as in start_server
    for s in range(off, off + P.node_cap[n]):
        if S.srv_paused[s]:
            S.srv_paused[s] = False
            set_timer(S, P.slot_srv + s, t + S.srv_remaining[s])
    station_refresh(P, S, n, t)
    wl_push(S, n)
    wake_preds(P, S, n)


# ---------------------------------------------------------------- transfers

@njit(cache=True, inline="always")
def accept(P, S, n, p, t):
    """Storage node ``n`` receives part ``p`` (``resolve`` said it can)."""
    kind = P.node_kind[n]
    S.part_node[p] = n
    S.part_t_enter[p] = t
    if kind == KIND_SINK:
        pt = S.part_type[p]
        S.sink_count[n * P.n_types + pt] += 1
        if S.part_defect[p]:
            S.sink_defective[n] += 1
        if S.part_insp[p] == INSP_FAIL:
            S.sink_failed[n] += 1
        elif not S.part_defect[p] and not S.part_failed_once[p]:
            S.sink_first_pass[n] += 1  # good, and never failed an inspection on the way
        i = S.lt_n[0]
        if i < S.lt_cap:
            S.lt_t[i] = t
            S.lt_value[i] = t - S.part_t_release[p]
            S.lt_type[i] = pt
            S.lt_sink[i] = n
            S.lt_n[0] = i + 1
        trace(S, TR_EXIT, p, n, pt, t)
        wip_change(S, -1, t)
        free_part(S, p)
        return
    trace(S, TR_ENTER, p, n, 0, t)
    if kind == KIND_STATION:
        count_change(P, S, n, 1, t)
        s = P.st_srv_off[n]
        while S.srv_state[s] != SRV_IDLE:  # ``resolve`` saw an idle server: the first one takes it
            s += 1
        start_server(P, S, s, p, t)
        return
    c = S.node_count[n]
    S.qbuf[P.node_q_off[n] + ring_index(S.q_head[n] + c, P.node_cap[n])] = p
    count_change(P, S, n, 1, t)
    if kind == KIND_BUFFER:
        if c == 0:  # the part is the new head; behind a waiting head it has nothing to try yet
            out = P.node_out[n]
            if P.node_kind[out] == KIND_STATION and not can_accept(P, S, out, t):
                # its try would only find the station busy: it waits from now, and the station
                # wakes it when it frees a place (every way a station frees one wakes its senders)
                S.node_blocked_since[n] = t
            else:
                wl_push(S, n)
        return
    conveyor_accept(P, S, n, p, c, t)


@njit(cache=True)
def conveyor_accept(P, S, n, p, c, t):
    """Part ``p`` enters conveyor ``n`` behind its ``c`` parts: its odometer offset keeps it a
    spacing behind the part ahead."""
    d = belt_d(S, n, t)
    prev = S.part_c[_q_at(P, S, n, c - 1)] if c > 0 else S.cv_last_c[n]
    S.part_c[p] = max(d, prev + P.cv_spacing_m[n])
    if c == 0:
        conveyor_schedule_head(P, S, n, t)


@njit(cache=True, inline="always")
def ready_part(P, S, n):
    """The part node ``n`` would send next, or -1."""
    kind = P.node_kind[n]
    if kind == KIND_SOURCE:
        return -1 if S.src_off[n] else S.src_held[n]
    if kind == KIND_BUFFER:
        return _q_at(P, S, n, 0) if S.node_count[n] > 0 else -1
    if kind == KIND_CONVEYOR:
        return _q_at(P, S, n, 0) if S.cv_head_ready[n] else -1
    if kind == KIND_STATION:
        if S.st_blocked[n] == 0 or S.st_down[n] > 0 or S.st_off[n]:
            return -1
        off = P.st_srv_off[n]
        if P.node_cap[n] == 1:
            return S.srv_part[off]  # its one server holds the finished part
        best = -1
        for s in range(off, off + P.node_cap[n]):
            if S.srv_state[s] == SRV_BLOCKED and (best < 0 or S.srv_done_t[s] < S.srv_done_t[best]):
                best = s
        return S.srv_part[best]
    return -1


@njit(cache=True, inline="always")
def take(P, S, n, p, t):
    """Remove ready part ``p`` from node ``n`` (it is about to be accepted downstream)."""
    kind = P.node_kind[n]
    if kind == KIND_SOURCE:
        S.src_held[n] = -1
        S.src_released[n] += 1
        S.part_t_release[p] = t
        trace(S, TR_LEAVE, p, n, 0, t)  # released into the line: its lead time starts here
        wip_change(S, 1, t)
        if P.src_mode[n] == SRC_INTERARRIVAL and not P.src_drop[n]:
            schedule_arrival(P, S, n, t)
        return
    trace(S, TR_LEAVE, p, n, 0, t)
    count_change(P, S, n, -1, t)
    if kind == KIND_STATION:
        s = S.part_srv[p]
        S.srv_state[s] = SRV_IDLE
        S.srv_part[s] = -1
        S.part_srv[p] = -1
        S.st_blocked[n] -= 1
        S.st_idle[n] += 1
        # blocked to idle at a station up and on shift (it had a part ready): still inactive
        srv_enter(S, s, SRV_IDLE, t)
        if P.st_notify_leave[n]:
            notify_left(S, s)
        return
    S.q_head[n] = ring_index(S.q_head[n] + 1, P.node_cap[n])
    if kind == KIND_CONVEYOR:
        conveyor_release(P, S, n, t)


@njit(cache=True)
def conveyor_release(P, S, n, t):
    """Conveyor ``n``'s head part has left: the offsets behind it restart a spacing apart."""
    S.cv_head_ready[n] = False
    spacing = P.cv_spacing_m[n]
    prev = belt_d(S, n, t) - P.cv_length_m[n]
    S.cv_last_c[n] = prev
    for k in range(S.node_count[n]):
        q = _q_at(P, S, n, k)
        c = max(S.part_c[q], prev + spacing)
        if c == S.part_c[q]:
            break
        S.part_c[q] = c
        prev = c
    conveyor_schedule_head(P, S, n, t)


@njit(cache=True, inline="always")
def schedule_arrival(P, S, n, t):
    """Schedule source ``n``'s next inter-arrival event unless its quota is reached."""
    _schedule_arrival(P, S, np.int64(n), t)


@njit(cache=True)
def _schedule_arrival(P, S, n, t):
    if P.src_max[n] >= 0 and S.src_created[n] >= P.src_max[n]:
        return
    set_timer(S, n, t + draw(P, S, P.src_iat[n], P.node_rng[n]))


@njit(cache=True)
def pick_type(P, S, n):
    """A part type from source ``n``'s mix (one draw from its quality stream when mixed)."""
    off = P.mix_off[n]
    m = P.mix_len[n]
    if m == 1:
        return P.mix_type[off]
    u = next_u01(S.rng_state, P.node_rng2[n])
    for j in range(m):
        if u < P.mix_cum[off + j]:
            return P.mix_type[off + j]
    return P.mix_type[off + m - 1]


@njit(cache=True)
def source_refill(P, S, n, t):
    """Give an always-available or scheduled source its next part to hold, if it has one."""
    if S.src_held[n] >= 0 or S.src_off[n]:
        return
    mode = P.src_mode[n]
    if mode == SRC_ALWAYS:
        if not S.src_started[n] or (P.src_max[n] >= 0 and S.src_created[n] >= P.src_max[n]):
            return
        ptype = pick_type(P, S, n)
    elif mode == SRC_SCHEDULE:
        if S.src_sched_rel[n] >= S.src_sched_fired[n]:
            return
        off = P.sched_off[n]
        j = 0
        while P.sched_cum[off + j] <= S.src_sched_rel[n]:
            j += 1
        ptype = P.sched_type[off + j]
        if ptype < 0:
            ptype = pick_type(P, S, n)
        S.src_sched_rel[n] += 1
    else:
        return
    p = alloc_part(P, S, n, ptype, t)
    if p >= 0:
        S.src_held[n] = p
        S.src_created[n] += 1


@njit(cache=True, inline="always")
def wake_preds(P, S, n):
    """Queue the blocked senders that can reach node ``n``: priority rank, then longest waiting."""
    q = P.pred_one[n]
    if q >= 0:  # its one sender (a serial line's every element): nothing to order
        if S.node_blocked_since[q] >= 0.0:
            wl_push(S, q)
        return
    off = P.pred_off[n]
    m = 0
    for j in range(P.pred_len[n]):
        q = P.pred_idx[off + j]
        if S.node_blocked_since[q] < 0.0:
            continue
        # insertion sort by (priority rank, blocked since, id) into scratch[0:m]
        i = m
        while i > 0:
            r = S.scratch[i - 1]
            if P.node_prio[r] < P.node_prio[q] or (P.node_prio[r] == P.node_prio[q] and (
                    S.node_blocked_since[r] < S.node_blocked_since[q] or (
                    S.node_blocked_since[r] == S.node_blocked_since[q] and r < q))):
                break
            S.scratch[i] = r
            i -= 1
        S.scratch[i] = q
        m += 1
    for i in range(m):
        wl_push(S, S.scratch[i])


@njit(cache=True, inline="always")
def try_send(P, S, n, t):
    """Send node ``n``'s ready parts downstream while they are accepted; mark it blocked otherwise
    (a source that drops what cannot enter loses its held arrival instead).

    Inlined into the event loop, its only caller (through the worklist): the one copy of the
    transfer code, and no call per send. The caller has checked that the logs have room for one
    transfer (``logs_have_room``); each further transfer checks again."""
    kind = P.node_kind[n]
    moved = 0
    while True:
        if kind == KIND_SOURCE:
            source_refill(P, S, n, t)
        p = ready_part(P, S, n)
        if p < 0:
            break
        target = resolve(P, S, P.node_out[n], p, t)
        if target < 0:
            if kind == KIND_SOURCE and P.src_drop[n]:
                drop_arrival(S, n, p, t)
                return moved
            if S.node_blocked_since[n] < 0.0:
                S.node_blocked_since[n] = S.srv_done_t[S.part_srv[p]] if kind == KIND_STATION else t
            return moved
        take(P, S, n, p, t)
        if tracing(S):
            trace_route(P, S, P.node_out[n], target, p, t)
        accept(P, S, target, p, t)
        moved += 1
        # The part that waited has gone: close the wait, so that the next ready part's wait (which
        # orders FIFO merges and wake-ups) starts now and not when its predecessor began waiting.
        unblock_if_moved(S, n, t)
        if kind != KIND_SOURCE:
            wake_preds(P, S, n)
        # nothing else can be ready: a station's other servers hold no finished part, or a
        # conveyor's next part has not reached the end yet (its arrival is an event of its own)
        if (kind == KIND_STATION and S.st_blocked[n] == 0) or kind == KIND_CONVEYOR:
            return moved
        # a buffer that just filled its station's last free place: its next part (if any) waits for
        # that station from now, exactly what one more try would find (one per part in a serial line)
        if kind == KIND_BUFFER and target == P.node_out[n] and P.node_kind[target] == KIND_STATION \
                and S.st_idle[target] == 0:
            if S.node_count[n] > 0:
                S.node_blocked_since[n] = t
            return moved
        if not logs_have_room(P, S):
            wl_push_front(S, n)
            return moved
    unblock_if_moved(S, n, t)  # nothing ready (e.g. the station went down): not blocked either
    if kind == KIND_SOURCE and P.src_drop[n] and S.src_held[n] >= 0:
        drop_arrival(S, n, S.src_held[n], t)  # it arrived off shift
    return moved


@njit(cache=True)
def drop_arrival(S, n, p, t):
    """Source ``n``'s arrival ``p`` could not enter the line at once: it is lost."""
    S.src_held[n] = -1
    S.src_dropped[n] += 1
    trace(S, TR_DROPPED, p, n, 0, t)
    free_part(S, p)


@njit(cache=True)
def trace_route(P, S, node, target, p, t):
    """Trace part ``p`` entering and leaving each routing point (merge, diverter) on its way from
    ``node`` to storage node ``target``, all at time ``t``: the way ``resolve`` just chose."""
    while node != target and node >= 0:
        nxt = _route_step(P, S, node, p)
        if nxt < 0:
            if P.node_kind[node] != KIND_DIVERTER:
                return
            nxt = S.dv_pick[node]  # round robin or shortest queue: the output it picked
        trace(S, TR_ENTER, p, node, 0, t)
        trace(S, TR_LEAVE, p, node, 0, t)
        node = nxt


@njit(cache=True, inline="always")
def unblock_if_moved(S, n, t):
    """Close node ``n``'s blocked interval (its held part moved on)."""
    if S.node_blocked_since[n] >= 0.0:
        S.node_blocked_acc[n] += t - S.node_blocked_since[n]
        S.node_blocked_since[n] = -1.0


