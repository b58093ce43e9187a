"""The event loop: process timer events in exact time order up to a horizon.

``run_until`` is the engine's only loop. It pops the earliest timer, applies its event, then
drains the worklist of nodes that may now send parts (the zero-time transfer cascade). It stops
at the horizon, or early with a status code when a growable log (trace, lead times) needs more
room; the caller grows it and calls again, so a run is resumable at any event boundary.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .accounting import active_set, count_change, server_refresh, srv_enter, trace, wip_change
from .flow import (
    alloc_part,
    arm_failures,
    belt_d,
    cancel_timer,
    conveyor_schedule_head,
    draw,
    fail_due_refresh,
    free_part,
    logs_have_room,
    operating_refresh,
    operating_set,
    operating_time,
    phase_end,
    pick_type,
    request_external,
    schedule_arrival,
    set_timer,
    station_pause,
    station_resume,
    try_send,
    wake_preds,
    wl_pop,
    wl_push,
    wl_push_front,
)
from .heap import heap_peek_time, heap_pop_peeked
from .layout import (
    INSP_FAIL,
    INSP_PASS,
    KIND_CONVEYOR,
    KIND_SOURCE,
    KIND_STATION,
    SRC_ALWAYS,
    SRC_INTERARRIVAL,
    SRC_SCHEDULE,
    SRV_BLOCKED,
    SRV_BUSY,
    SRV_IDLE,
    SRV_SETUP,
    ST_DONE,
    ST_EXTERNAL,
    ST_LEADTIME_FULL,
    ST_MAX_EVENTS,
    ST_TRACE_FULL,
    ST_ZENO,
    TR_DEFECT,
    TR_FAILURE,
    TR_GRIPPER_DROP,
    TR_INSPECT_FAIL,
    TR_INSPECT_PASS,
    TR_PROCESS_END,
    TR_PROCESS_START,
    TR_REPAIR,
    TR_SCRAPPED,
)
from .rng import next_u01
from .structs import tracing
from .views import view

__all__ = ["init_kernel", "run_until", "set_conveyor_speed", "conveyor_positions", "complete_external"]

MAX_MOVES_PER_INSTANT = 10_000_000


@njit(cache=True)
def _log_full_status(P, S):
    if tracing(S) and S.tr_n[0] + P.trace_room > S.tr_cap:
        return ST_TRACE_FULL
    return ST_LEADTIME_FULL


@njit(cache=True)
def _calendar_next(P, S, c, t):
    """Time of calendar ``c``'s next boundary after ``t`` and whether it is on after it."""
    period = P.cal_period_s[c]
    off = P.cal_b_off[c]
    m = P.cal_b_len[c]
    base = np.floor(t / period) * period
    tm = t - base
    for j in range(m):
        if P.cal_b_t[off + j] > tm + 1e-9:
            return base + P.cal_b_t[off + j], P.cal_b_on[off + j]
    return base + period + P.cal_b_t[off], P.cal_b_on[off]


@njit(cache=True)
def _calendar_apply(P, S, c, on, t):
    S.cal_on[c] = on
    off = P.cal_nodes_off[c]
    for j in range(P.cal_nodes_len[c]):
        n = P.cal_nodes[off + j]
        if P.node_kind[n] == KIND_STATION:
            S.st_off[n] = not on
            if on:
                station_resume(P, S, n, t)
            else:
                station_pause(P, S, n, t)
        else:
            S.src_off[n] = not on
            if on:
                wl_push(S, n)


@njit(cache=True)
def init_kernel(params, state):
    """Schedule the first events of a fresh state at t = 0."""
    P = view(params)
    S = view(state)
    t = 0.0
    for c in range(P.n_cal):
        if P.cal_b_len[c] == 0:
            continue
        # state at t=0 is the state after the last boundary of the previous period
        last = P.cal_b_off[c] + P.cal_b_len[c] - 1
        first = P.cal_b_t[P.cal_b_off[c]]
        on = P.cal_b_on[last] if first > 1e-9 else P.cal_b_on[P.cal_b_off[c]]
        _calendar_apply(P, S, c, on != 0, t)
        tn, _ = _calendar_next(P, S, c, t)
        set_timer(S, P.slot_cal + c, tn)
    for n in range(P.n_nodes):
        if P.node_kind[n] != KIND_SOURCE:
            continue
        mode = P.src_mode[n]
        if mode == SRC_INTERARRIVAL:
            schedule_arrival(P, S, n, P.src_start_s[n])
        elif mode == SRC_ALWAYS:
            set_timer(S, n, P.src_start_s[n])
        elif P.sched_len[n] > 0:
            set_timer(S, n, max(P.sched_t[P.sched_off[n]], P.src_start_s[n]))
    for f in range(P.n_fail):
        first = P.fail_first_s[f]
        ttf = first if first >= 0.0 else draw(P, S, P.fail_ttf[f], P.fail_rng[f])
        if P.fail_operating[f]:
            S.fl_due_op[f] = ttf
        else:
            set_timer(S, P.slot_fail + f, ttf)
    for n in range(P.n_nodes):
        if P.node_kind[n] == KIND_STATION:
            fail_due_refresh(P, S, n)
    # the t = 0 cascade is left in the worklist: the caller runs it with run_until (no events)


@njit(cache=True)
def _on_node_timer(P, S, n, t):
    kind = P.node_kind[n]
    if kind == KIND_CONVEYOR:
        S.cv_head_ready[n] = True
        wl_push(S, n)
        return
    mode = P.src_mode[n]
    if mode == SRC_ALWAYS:
        S.src_started[n] = True
        wl_push(S, n)
    elif mode == SRC_SCHEDULE:
        off = P.sched_off[n]
        j = S.src_sched_next[n]
        while j < P.sched_len[n] and P.sched_t[off + j] <= t:
            S.src_sched_fired[n] = P.sched_cum[off + j]
            j += 1
        S.src_sched_next[n] = j
        if j < P.sched_len[n]:
            set_timer(S, n, P.sched_t[off + j])
        wl_push(S, n)
    else:
        p = alloc_part(P, S, n, pick_type(P, S, n), t)
        if p < 0:
            return
        S.src_created[n] += 1
        S.src_held[n] = p
        if P.src_drop[n]:
            # the next arrival is due whatever becomes of this one, which is tried first (the
            # worklist is empty between events) and lost if it cannot enter (``try_send``)
            schedule_arrival(P, S, n, t)
        wl_push(S, n)


@njit(cache=True)
def _setup_done(P, S, s, t):
    """Server ``s``'s setup ends: its processing starts."""
    n = P.srv_node[s]
    p = S.srv_part[s]
    S.srv_state[s] = SRV_BUSY
    trace(S, TR_PROCESS_START, p, n, s - P.st_srv_off[n], t)
    dur = -1.0
    if P.st_external[n]:
        request_external(S, s)
    else:
        dur = draw(P, S, P.st_ptime[n * P.n_types + S.part_type[p]], P.node_rng[n])
    # a new phase: its failures may fall due in it (a no-op for several servers: theirs are armed)
    arm_failures(P, S, n, t, operating_time(S, n, t), phase_end(P, S, n, t, dur))
    if dur >= 0.0:
        set_timer(S, P.slot_srv + s, t + dur)
    server_refresh(P, S, s, t)


@njit(cache=True)
def _judge_part(P, S, s, n, p, t):
    """Scrap, gripper drop, defect and inspection of server ``s``'s finished part ``p``, in this
    order, each drawn only at a station that has it (so other stations' streams are unchanged).
    Returns True when the part is lost (scrapped or dropped): the server is free again."""
    local = s - P.st_srv_off[n]
    q = P.node_rng2[n]
    scrap = P.st_scrap[n] > 0.0 and next_u01(S.rng_state, q) < P.st_scrap[n]
    dropped = not scrap and P.st_drop[n] > 0.0 and next_u01(S.rng_state, q) < P.st_drop[n]
    if scrap or dropped:
        if scrap:
            S.st_scrapped[n] += 1
            trace(S, TR_SCRAPPED, p, n, local, t)
        else:
            S.st_drops[n] += 1
            trace(S, TR_GRIPPER_DROP, p, n, local, t)
        S.srv_state[s] = SRV_IDLE
        S.srv_part[s] = -1
        S.st_idle[n] += 1
        count_change(P, S, n, -1, t)
        wip_change(S, -1, t)
        free_part(S, p)
        server_refresh(P, S, s, t)
        operating_refresh(P, S, n, t, np.inf)
        wake_preds(P, S, n)
        return True
    if P.st_defect[n] > 0.0 and next_u01(S.rng_state, q) < P.st_defect[n]:
        S.part_defect[p] = True
        S.st_defects[n] += 1
        trace(S, TR_DEFECT, p, n, local, t)
    if P.st_inspect[n]:
        # confusion matrix against the truth: [true pos, false pos, false neg, true neg]
        bad = 0 if S.part_defect[p] else 1
        verdict = S.srv_verdict[s]  # given from outside (a camera judged this part), or -1: draw it
        S.srv_verdict[s] = -1
        if verdict >= 0:
            failed = verdict == 1
        else:
            limit = P.st_detect[n] if S.part_defect[p] else P.st_false_reject[n]
            failed = next_u01(S.rng_state, q) < limit
        if failed:
            S.part_insp[p] = INSP_FAIL
            S.part_failed_once[p] = True
            S.st_insp_fail[n] += 1
            S.st_confusion[n * 4 + bad] += 1
            trace(S, TR_INSPECT_FAIL, p, n, local, t)
        else:
            S.part_insp[p] = INSP_PASS
            S.st_confusion[n * 4 + 2 + bad] += 1
            trace(S, TR_INSPECT_PASS, p, n, local, t)
    return False


@njit(cache=True, inline="always")
def _on_server_timer(P, S, s, t):
    """Server ``s``'s phase ends; returns its station when it now holds a finished part to send,
    else -1. Setups and quality (scrap, defects, inspection) are functions of their own, called
    only where a station has them: this is inlined into the event loop."""
    if S.srv_state[s] == SRV_SETUP:
        _setup_done(P, S, s, t)
        return -1
    n = P.srv_node[s]
    p = S.srv_part[s]
    pt = S.part_type[p]
    trace(S, TR_PROCESS_END, p, n, s - P.st_srv_off[n], t)
    S.st_busy[n] -= 1
    S.st_processed[n * P.n_types + pt] += 1
    if P.st_judge[n]:  # it has scrap, gripper drops, defects or an inspection
        if _judge_part(P, S, s, n, p, t):
            return -1
    S.srv_state[s] = SRV_BLOCKED
    S.srv_done_t[s] = t
    S.st_blocked[n] += 1
    if P.st_external[n]:  # timed from outside: the station may have stopped since
        server_refresh(P, S, s, t)
        operating_refresh(P, S, n, t, np.inf)
    else:
        # its own timer ran, so the station is up and on shift (a stop cancels the timers): the
        # server's effective state is its own, and the station operates while a server is busy
        busy = S.st_busy[n] > 0
        srv_enter(S, s, SRV_BLOCKED, t)
        active_set(S, n, busy, t)
        operating_set(P, S, n, t, busy, np.inf)
    return n


@njit(cache=True)
def _on_failure_timer(P, S, f, t):
    n = P.fail_node[f]
    slot = P.slot_fail + f
    if not S.fl_down[f] and P.fail_operating[f]:
        left = S.fl_due_op[f] - operating_time(S, n, t)
        if left > 1e-9 * (1.0 + S.fl_due_op[f]):  # fired early: the station paused meanwhile
            # re-armed if due in the phase now running, else armed again when it is (arm_failures)
            # (the running phase ends at its server's timer, inf when unset)
            end = phase_end(P, S, n, 0.0, S.tm_time[P.slot_srv + P.st_srv_off[n]])
            if S.st_op[n] and t + left <= end:
                set_timer(S, slot, t + left)
            return
    if not S.fl_down[f]:
        S.fl_down[f] = True
        S.st_fail_count[n] += 1
        S.fl_count[f] += 1
        trace(S, TR_FAILURE, -1, n, f, t)
        S.st_down[n] += 1
        fail_due_refresh(P, S, n)
        set_timer(S, slot, t + draw(P, S, P.fail_ttr[f], P.fail_rng[f]))
        if S.st_down[n] == 1:
            station_pause(P, S, n, t)
        return
    S.fl_down[f] = False
    S.st_down[n] -= 1
    trace(S, TR_REPAIR, -1, n, f, t)
    ttf = draw(P, S, P.fail_ttf[f], P.fail_rng[f])
    if P.fail_operating[f]:
        # operating time is frozen while down, so the clock restarts from the current value
        S.fl_due_op[f] = operating_time(S, n, t) + ttf
    else:
        set_timer(S, slot, t + ttf)
    fail_due_refresh(P, S, n)
    station_resume(P, S, n, t)


@njit(cache=True)
def run_until(params, state, t_end, max_events, trace_margin, lt_margin):
    """Process events with time <= ``t_end``; return a status code (``ST_*`` in ``layout``).

    On ``ST_DONE`` the clock is at ``t_end``. The log codes stop with the clock at the last processed
    event (possibly with its transfer cascade paused in the worklist), so the caller can grow the
    log and call again: the run continues exactly as if the log had been large enough.
    ``trace_margin``/``lt_margin``: room an event handler needs before its cascade starts.
    """
    P = view(params)
    S = view(state)
    events = 0
    t = S.t[0]
    sender = -1  # a server's finished part, offered downstream before the worklist (empty then)
    while True:
        # The transfer cascade of the last event (or one left by a pause for log room, or by
        # another kernel since the last call: ``init_kernel``, ``set_conveyor_speed``... leave
        # theirs in the worklist, and the engine runs it at once with ``max_events`` = 0). It runs
        # here only, so that the transfer code (``try_send``) is inlined once, into this loop.
        moved = 0
        while True:
            if sender >= 0:
                n = sender
                sender = -1
            elif S.wl_front[0] >= 0:
                n = wl_pop(S)
            else:
                break
            if not logs_have_room(P, S):  # (try_send checks again before each further transfer)
                wl_push_front(S, n)
                break
            moved += try_send(P, S, n, t)
        if moved > 0:
            S.last_move_t[0] = t
        if moved > MAX_MOVES_PER_INSTANT:
            return ST_ZENO
        if S.wl_front[0] >= 0:
            return _log_full_status(P, S)
        if S.ext_n[0] > 0:
            return ST_EXTERNAL
        if tracing(S) and S.tr_n[0] + trace_margin > S.tr_cap:
            return ST_TRACE_FULL
        if S.lt_n[0] + lt_margin > S.lt_cap:
            return ST_LEADTIME_FULL
        if events >= max_events:
            return ST_MAX_EVENTS
        t_next = heap_peek_time(S)
        if t_next > t_end:
            if t_end > S.t[0]:
                S.t[0] = t_end
            return ST_DONE
        slot = heap_pop_peeked(S)
        t = t_next
        S.t[0] = t
        s = slot - P.slot_srv
        if 0 <= s < P.n_srv:
            # the commonest event, tested first: the finished part is offered downstream first
            sender = _on_server_timer(P, S, s, t)
        elif slot < P.slot_b:
            _on_node_timer(P, S, slot, t)
        elif slot < P.slot_srv:
            wake_preds(P, S, slot - P.slot_b)
        elif slot < P.slot_cal:
            _on_failure_timer(P, S, slot - P.slot_fail, t)
        else:
            c = slot - P.slot_cal
            tn, on = _calendar_next(P, S, c, t)
            _calendar_apply(P, S, c, not S.cal_on[c], t)
            set_timer(S, slot, tn)
        events += 1
        S.n_events[0] += 1


@njit(cache=True)
def complete_external(params, state, s, t):
    """Externally timed server ``s`` finishes its part at time ``t`` (>= now)."""
    P = view(params)
    S = view(state)
    set_timer(S, P.slot_srv + s, t)


@njit(cache=True)
def set_conveyor_speed(params, state, n, v, t):
    """Change conveyor ``n``'s belt speed at time ``t`` (0 stops it); event times are recomputed."""
    P = view(params)
    S = view(state)
    S.cv_d0[n] = belt_d(S, n, t)
    S.cv_t0[n] = t
    S.cv_v[n] = v
    conveyor_schedule_head(P, S, n, t)
    # Senders waiting for the entrance re-check it at the new speed and re-arm the entrance timer.
    # Wake them even when no timer is pending: a stopped belt has none (its entrance never clears).
    cancel_timer(S, P.slot_b + n)
    wake_preds(P, S, n)  # the cascade is left in the worklist: the caller runs it with run_until


@njit(cache=True)
def force_station_down(params, state, n, down, t):
    """Stop station ``n`` now (``down``) or lift one such stop, like a failure without a failure mode
    (an injected fault: trace events failure/repair with aux -1)."""
    P = view(params)
    S = view(state)
    if down:
        S.st_down[n] += 1
        S.st_fail_count[n] += 1
        trace(S, TR_FAILURE, -1, n, -1, t)
        if S.st_down[n] == 1:
            station_pause(P, S, n, t)
    else:
        S.st_down[n] -= 1
        trace(S, TR_REPAIR, -1, n, -1, t)
        station_resume(P, S, n, t)
    # a cascade is left in the worklist: the caller runs it with run_until (no events)


@njit(cache=True)
def conveyor_positions(params, state, t, out_node, out_pos, out_part):
    """Write every conveyor part's node, position (m from the entrance) and part slot; return the count."""
    P = view(params)
    S = view(state)
    k = 0
    for n in range(P.n_nodes):
        if P.node_kind[n] != KIND_CONVEYOR:
            continue
        d = belt_d(S, n, t)
        length = P.cv_length_m[n]
        spacing = P.cv_spacing_m[n]
        cap = P.node_cap[n]
        base = P.node_q_off[n]
        count = S.node_count[n]
        head = S.q_head[n]
        # the queue is a ring: walk its (at most two) contiguous runs instead of a modulo per part
        first = min(count, cap - head)
        for run in range(2):
            start = base + head if run == 0 else base
            stop = first if run == 0 else count - first
            j0 = 0 if run == 0 else first
            for i in range(stop):
                j = j0 + i
                p = S.qbuf[start + i]
                x = d - S.part_c[p]
                lim = length - j * spacing
                out_node[k] = n
                out_pos[k] = x if x < lim else lim
                out_part[k] = p
                k += 1
    return k




@njit(cache=True, inline="always")
def _pos_and_half(P, S, n, k, d):
    """Position of the part ``k`` places from the head of conveyor ``n``, and half its length."""
    p = S.qbuf[P.node_q_off[n] + (S.q_head[n] + k) % P.node_cap[n]]
    x = d - S.part_c[p]
    lim = P.cv_length_m[n] - k * P.cv_spacing_m[n]
    return (x if x < lim else lim), 0.5 * P.type_length_m[S.part_type[p]]


@njit(cache=True)
def photo_eye_scan(params, state, t, eye_blocked, eye_edges):
    """Update every photo-eye's blocked state at time ``t`` and count its edges.

    A part blocks an eye while its extent (its type's ``length_m``, centred on its position)
    covers the eye. ``eye_blocked`` (bool[n_eyes]) holds the previous states and is overwritten;
    ``eye_edges`` (int64[n_eyes]) is incremented on every change. Returns the number of changes.
    Positions fall from the head to the tail, so a binary search finds the first part close enough
    to the eye to cover it, and a short walk checks the few parts within reach (O(log parts) per eye).
    """
    P = view(params)
    S = view(state)
    max_half = 0.0
    for i in range(P.n_types):
        max_half = max(max_half, 0.5 * P.type_length_m[i])
    changes = 0
    for n in range(P.n_nodes):
        m = P.cv_eye_len[n]
        if m == 0:
            continue
        e0 = P.cv_eye_off[n]
        d = belt_d(S, n, t)
        count = S.node_count[n]
        for e in range(m):
            at = P.eye_at_m[e0 + e]
            # first k whose position is <= at + max_half: parts before it are too far ahead to cover
            lo = 0
            hi = count
            while lo < hi:
                mid = (lo + hi) >> 1
                x, _ = _pos_and_half(P, S, n, mid, d)
                if x > at + max_half:
                    lo = mid + 1
                else:
                    hi = mid
            blocked = False
            for k in range(lo, count):
                x, half = _pos_and_half(P, S, n, k, d)
                if x + max_half < at:
                    break  # this part and all behind it are too far back to cover the eye
                if x - half <= at <= x + half:
                    blocked = True
                    break
            if blocked != eye_blocked[e0 + e]:
                eye_blocked[e0 + e] = blocked
                eye_edges[e0 + e] += 1
                changes += 1
    return changes
