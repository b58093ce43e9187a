"""Time accounting kernels: occupancy integrals, server states and active periods.

Accumulators are updated lazily: each tracked state keeps the time it last changed (``*_since``),
and the elapsed interval is added to its accumulator only when it changes again. Part counts
(node contents, WIP) keep the sum of leaving minus entering times instead, so that a change is one
add. KPIs add the open interval up to "now" without mutating the state (``twin.core.kpi``).
"""

from __future__ import annotations

from numba import njit

from .layout import SRV_DOWN, SRV_OFF
from .structs import tracing

__all__ = ["count_change", "wip_change", "srv_refresh", "srv_enter", "active_set", "server_refresh",
           "station_refresh", "trace"]


@njit(cache=True, inline="always")
def count_change(P, S, n, delta, t):
    """Change the number of parts held by node ``n`` by ``delta`` at time ``t``.

    ``node_area`` holds the parts' leaving times minus their entering times, so the area under
    the count up to time ``T`` is ``node_area + node_count * T`` (``kpi.accumulators``): one add
    per change instead of closing an interval."""
    S.node_area[n] -= delta * t
    c = S.node_count[n] + delta
    S.node_count[n] = c
    if delta > 0 and c > S.node_max[n]:  # (``delta`` is a constant where this is inlined)
        S.node_max[n] = c


@njit(cache=True, inline="always")
def wip_change(S, delta, t):
    """Change the line's work in process (parts released and not yet out) by ``delta``
    (``wip_area`` is kept like ``node_area``, see ``count_change``)."""
    S.wip_area[0] -= delta * t
    S.wip[0] += delta


@njit(cache=True, inline="always")
def _effective(S, n, s):
    if S.st_off[n]:
        return SRV_OFF
    if S.st_down[n] > 0:
        return SRV_DOWN
    return S.srv_state[s]


@njit(cache=True, inline="always")
def srv_refresh(P, S, s, t):
    """Close the interval of server ``s``'s effective state if it changed."""
    srv_enter(S, s, _effective(S, P.srv_node[s], s), t)


@njit(cache=True, inline="always")
def srv_enter(S, s, new, t):
    """Server ``s``'s effective state is ``new`` from ``t`` on (the interval of the old one closes).
    The transfer paths, which know the station is up and on shift, pass the server's own state."""
    old = S.srv_eff[s]
    if new != old:
        S.srv_acc[s * 6 + old] += t - S.srv_since[s]
        S.srv_since[s] = t
        S.srv_eff[s] = new


@njit(cache=True, inline="always")
def _active_refresh(P, S, n, t):
    """Open or close station ``n``'s active period (Roser's active-period method: a station is
    active while processing, in setup or down; idle-starved and blocked are inactive).

    A station that hands a part on and takes the next in the same instant never waited, so a
    zero-length inactive gap continues the period instead of starting a new one. Hence a period is
    added to ``st_ap_sum``/``st_ap_count`` only when the next one starts after a real gap: until
    then it is pending, from ``st_active_since`` to ``st_inactive_at`` (-1: none pending yet).
    The commonest change, a station finishing a part and taking the next at once, then costs two
    stores (``kpi.accumulators`` counts a pending period as closed).
    """
    active_set(S, n, (not S.st_off[n]) and (S.st_down[n] > 0 or S.st_busy[n] > 0), t)


@njit(cache=True, inline="always")
def active_set(S, n, active, t):
    """Station ``n`` is ``active`` from ``t`` on (see ``_active_refresh``)."""
    if active != S.st_active[n]:
        if active:
            end = S.st_inactive_at[n]
            if end != t:  # after a real gap: the pending period (if any) closes, a new one opens
                if end >= 0.0:
                    S.st_ap_sum[n] += end - S.st_active_since[n]
                    S.st_ap_count[n] += 1
                S.st_active_since[n] = t
        else:
            S.st_inactive_at[n] = t
        S.st_active[n] = active


@njit(cache=True, inline="always")
def server_refresh(P, S, s, t):
    """Account a change of server ``s``'s own state (and its station's active period)."""
    srv_refresh(P, S, s, t)
    _active_refresh(P, S, P.srv_node[s], t)


@njit(cache=True, inline="always")
def station_refresh(P, S, n, t):
    """Account a station-wide change (down, up, off or on shift): every server and the active period."""
    off = P.st_srv_off[n]
    for s in range(off, off + P.node_cap[n]):
        srv_refresh(P, S, s, t)
    _active_refresh(P, S, n, t)


@njit(cache=True, inline="always")
def trace(S, event, p, node, aux, t):
    """Append one trace record for part ``p`` (no-op when tracing is off)."""
    if tracing(S):
        i = S.tr_n[0]
        if i < S.tr_cap:
            S.tr_t[i] = t
            S.tr_uid[i] = S.part_uid[p] if p >= 0 else -1
            S.tr_event[i] = event
            S.tr_node[i] = node
            S.tr_aux[i] = aux
            S.tr_n[0] = i + 1


