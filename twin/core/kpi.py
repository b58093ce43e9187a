"""KPIs from the engine's accumulators, over the window [warm-up end, now].

Definitions (also in docs/kpis.md):
- throughput: parts reaching output sinks (not reject sinks) per hour; also per part type.
- time fractions per station: share of server time idle (starved), busy, setup, blocked, down,
  off shift; they sum to 1.
- OEE per station = availability x performance x quality, with planned time = server time not off
  shift; availability = (planned - down) / planned; performance = ideal processing time of the
  parts processed / (planned - down); quality = (processed - scrapped - gripper drops - defects made
  here) / processed. Robot malfunctions are failures (mode `robot/<name>`), counted per mode too.
- line OEE = the largest, over stations, of the ideal time the station needs for the good output
  (per part type: ideal time x the fewer of good parts out and parts it processed; / capacity),
  over the window; capped at 1, like performance (a station can beat its mean time for a while).
- WIP: time-average number of parts released into the line and not yet out or scrapped.
- lead time: from release by the source to arrival at an output sink.
- bottleneck: Roser's active-period method: a station is active while processing, in setup or
  down; the station with the longest average active period is the bottleneck.
"""

from __future__ import annotations

import numpy as np

from . import layout as L

__all__ = ["accumulators", "compute_kpis", "KPI_ACCUMULATORS"]

#: State fields that accumulate over time; KPIs use (now - warm-up snapshot) of each.
KPI_ACCUMULATORS = ("srv_acc", "node_area", "node_blocked_acc", "wip_area", "st_processed", "st_scrapped",
                    "st_insp_fail", "st_defects", "st_fail_count", "st_ap_sum", "st_ap_count",
                    "st_drops", "fl_count", "st_confusion",
                    "sink_count", "sink_defective", "sink_failed", "sink_first_pass", "src_released", "src_dropped", "lt_n")


def accumulators(p: L.LineParams, s: L.LineState) -> dict[str, np.ndarray]:
    """Accumulators brought up to the current time, without mutating the state."""
    t = float(s.t[0])
    out = {name: np.array(getattr(s, name), dtype=np.float64, copy=True) for name in KPI_ACCUMULATORS}
    if p.n_srv:
        idx = np.arange(p.n_srv)
        np.add.at(out["srv_acc"], (idx, s.srv_eff[: p.n_srv]), t - s.srv_since[: p.n_srv])
    out["node_area"] += s.node_count * t  # (exits minus entries: see accounting.count_change)
    blocked = s.node_blocked_since >= 0
    out["node_blocked_acc"][blocked] += t - s.node_blocked_since[blocked]
    out["wip_area"] += s.wip[0] * t
    active = s.st_active.astype(bool)
    out["st_ap_sum"][active] += t - s.st_active_since[active]
    pending = ~active & (s.st_inactive_at >= 0)  # ended, not yet added (accounting._active_refresh)
    out["st_ap_sum"][pending] += s.st_inactive_at[pending] - s.st_active_since[pending]
    out["st_ap_count"][pending] += 1
    # st_ap_count stays the number of *closed* periods: compute_kpis adds the one open at the end
    # of the window. (Counting the open period here too would cancel it against a period already
    # open at the warm-up snapshot, giving a station active all window a count of 0.)
    return out


def _inspection(c) -> dict:
    """Confusion matrix of an inspection station's verdicts against the truth, and its scores."""
    tp, fp, fn, tn = (int(v) for v in c)
    return {"true_positive": tp, "false_positive": fp, "false_negative": fn, "true_negative": tn,
            # None (JSON null) when undefined: no part failed yet, or no defective part came by
            "precision": tp / (tp + fp) if tp + fp else None,
            "recall": tp / (tp + fn) if tp + fn else None}


def _quantiles(values: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """Quantiles as ``np.quantile`` gives them (its default "linear" method, bit for bit), from one
    partition around just the order statistics they need: ``np.quantile`` also places the minimum
    and maximum, which takes it three times as long (a tenth of a millisecond per replication)."""
    n = values.size
    if not n:
        return [float("nan")] * len(qs)
    virtual = [(n - 1) * q for q in qs]  # where each lies between order statistics
    lower = [min(int(v), n - 1) for v in virtual]
    part = np.partition(values, sorted({k for lo in lower for k in (lo, min(lo + 1, n - 1))}))
    out = []
    for v, lo in zip(virtual, lower, strict=True):
        if v >= n - 1:
            out.append(float(part[n - 1]))
            continue
        a, b = float(part[lo]), float(part[lo + 1])
        gamma = v - lo
        diff = b - a  # numpy's interpolation: from the nearer end, so the result stays within [a, b]
        out.append(b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma)
    return out


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` elementwise, nan where ``den`` is not positive."""
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _station_kpis(p: L.LineParams, s: L.LineState, names, now: dict[str, np.ndarray], window: float,
                  good_by_type: np.ndarray) -> tuple[list[dict], list[dict], float]:
    """Each station's KPI record, each transport's or storage's, and the line's ideal time for its good
    output (the largest station's, see the module docstring). Computed for all stations at once, as
    arrays: replications compute the KPIs of every run, and a loop of small numpy calls per station
    cost more than a tenth of a short run's events."""
    sn = np.flatnonzero(p.node_kind == L.KIND_STATION)
    if not sn.size:
        return [], [], 0.0
    by_node = np.zeros((p.n_nodes, len(L.SRV_STATE_NAMES)))
    np.add.at(by_node, p.srv_node[: p.n_srv], now["srv_acc"][: p.n_srv])  # each station's servers, summed
    acc = by_node[sn]
    total = acc.sum(axis=1)
    frac = np.divide(acc, total[:, None], out=np.zeros_like(acc), where=total[:, None] > 0)
    ap_count = now["st_ap_count"][sn] + (s.st_active[sn] != 0)  # closed in the window + open now
    active = np.divide(now["st_ap_sum"][sn], ap_count, out=np.zeros(sn.size), where=ap_count > 0)
    processed = now["st_processed"][sn].sum(axis=1)
    planned = total - acc[:, L.SRV_OFF]
    run_time = planned - acc[:, L.SRV_DOWN]
    availability = _ratio(run_time, planned)
    # capped: with random process times a station can beat its mean for a while
    ideal_done = (now["st_processed"][sn] * p.st_ideal_s[sn]).sum(axis=1)  # ideal time of what it processed
    performance = np.minimum(1.0, _ratio(ideal_done, run_time))
    scrapped, defects, drops = now["st_scrapped"][sn], now["st_defects"][sn], now["st_drops"][sn]
    quality = _ratio(processed - (scrapped + defects + drops), processed)
    oee = availability * performance * quality
    caps = p.node_cap[sn]
    # ideal time each station needs for the good output: per part type, the good parts out or the
    # parts it processed, whichever is fewer (a station sharing a stage with a parallel one, or of
    # another product flow, is charged only with parts that passed it; parts scrapped downstream
    # or processed twice are not charged)
    ideal = (np.minimum(now["st_processed"][sn], good_by_type) * p.st_ideal_s[sn]).sum(axis=1) / caps
    avg_parts = now["node_area"][sn] / window if window > 0 else np.full(sn.size, np.nan)
    # a transport or storage (not a camera-timed inspection): its servers are the parts it holds
    mover = (p.st_external[sn] != 0) & (p.st_inspect[sn] == 0)
    ideal_line = float(ideal[~mover].max()) if (~mover).any() else 0.0

    rows = zip(sn.tolist(), caps.tolist(), frac.tolist(), active.tolist(), processed.tolist(), mover.tolist(),
               availability.tolist(), performance.tolist(), quality.tolist(), oee.tolist(), avg_parts.tolist(),
               scrapped.tolist(), defects.tolist(), drops.tolist(), strict=True)
    stations, movers = [], []
    for n, cap, fr, act, done, is_mover, avail, perf, qual, oee_n, parts, scrap, made, lost in rows:
        if is_mover:
            movers.append({"name": names.nodes[n], "capacity": cap, "busy_frac": fr[L.SRV_BUSY],
                           "blocked_frac": fr[L.SRV_BLOCKED], "idle_frac": fr[L.SRV_IDLE],
                           "processed": int(done), "mean_active_period_s": act, "avg_parts": parts})
            continue
        f0, nf = int(p.st_fail_off[n]), int(p.st_fail_len[n])
        stations.append({
            "name": names.nodes[n], "capacity": cap,
            **{f"{state}_frac": fr[i] for i, state in enumerate(L.SRV_STATE_NAMES)},
            "processed": int(done), "scrapped": int(scrap), "defects_made": int(made),
            "inspection_fails": int(now["st_insp_fail"][n]), "gripper_drops": int(lost),
            **({"inspection": _inspection(now["st_confusion"][n])} if p.st_inspect[n] else {}),
            "failures": int(now["st_fail_count"][n]),
            "failures_by_mode": {names.failures[f][len(names.nodes[n]) + 1:]: int(now["fl_count"][f])
                                 for f in range(f0, f0 + nf)},
            "availability": avail, "performance": perf, "quality": qual, "oee": oee_n,
            "mean_active_period_s": act, "avg_parts": parts,
        })
    return stations, movers, ideal_line


def _element_kpis(p: L.LineParams, s: L.LineState, names, now: dict[str, np.ndarray], window: float) -> list[dict]:
    """Each buffer's, conveyor's and source's record: contents, blocking, and a source's releases."""
    kind = p.node_kind
    en = np.flatnonzero((kind == L.KIND_BUFFER) | (kind == L.KIND_CONVEYOR) | (kind == L.KIND_SOURCE))
    if window > 0:
        avg_parts = (now["node_area"][en] / window).tolist()
        blocked = (now["node_blocked_acc"][en] / window).tolist()
    else:
        avg_parts = blocked = [float("nan")] * en.size
    elements = []
    for n, parts, blocked_frac in zip(en.tolist(), avg_parts, blocked, strict=True):
        source = kind[n] == L.KIND_SOURCE
        elements.append({
            "name": names.nodes[n], "kind": L.KIND_NAMES[kind[n]],
            "capacity": None if source else int(p.node_cap[n]),
            "avg_parts": parts, "max_parts": int(s.node_max[n]), "blocked_frac": blocked_frac,
            **({"released": int(now["src_released"][n]), "dropped": int(now["src_dropped"][n])} if source else {}),
        })
    return elements


def compute_kpis(p: L.LineParams, s: L.LineState, names, base: dict[str, np.ndarray] | None,
                 t_start: float) -> dict:
    """All KPIs of the window [t_start, now] as plain Python data (JSON-ready)."""
    now = accumulators(p, s)
    if base is not None:
        now = {k: now[k] - base[k] for k in now}
    t = float(s.t[0])
    window = t - t_start
    hours = window / 3600.0 if window > 0 else float("nan")
    kind = p.node_kind
    out_sinks = [n for n in range(p.n_nodes) if kind[n] == L.KIND_SINK and not p.sink_reject[n]]
    reject_sinks = [n for n in range(p.n_nodes) if kind[n] == L.KIND_SINK and p.sink_reject[n]]
    out_count = now["sink_count"][out_sinks].sum(axis=0) if out_sinks else np.zeros(p.n_types)
    total_out = float(out_count.sum())
    escaped = float(now["sink_defective"][out_sinks].sum()) if out_sinks else 0.0
    failed_out = float(now["sink_failed"][out_sinks].sum()) if out_sinks else 0.0
    good_out = total_out - escaped - failed_out
    good_by_type = out_count * (good_out / total_out) if total_out > 0 else np.zeros(p.n_types)
    first_pass = float(now["sink_first_pass"][out_sinks].sum()) if out_sinks else 0.0
    rejected = float(now["sink_count"][reject_sinks].sum()) if reject_sinks else 0.0
    drops = float(now["st_drops"].sum())
    scrapped = float(now["st_scrapped"].sum()) + drops  # a part a gripper lost is scrap too
    released = float(now["src_released"].sum())

    # lead-time records made after the warm-up snapshot: exactly the exits counted in sink_count
    # (a time filter would also take exits at the warm-up instant, which the snapshot holds)
    first_lt = int(base["lt_n"][0]) if base is not None else 0
    n_lt = int(s.lt_n[0])
    lt_v, lt_sink = s.lt_value[first_lt:n_lt], s.lt_sink[first_lt:n_lt]
    # (records are made at sinks only: without reject sinks, every record is an exit counted)
    lead = lt_v[np.isin(lt_sink, out_sinks)] if reject_sinks else lt_v

    stations, movers, ideal_line = _station_kpis(p, s, names, now, window, good_by_type)
    # a transport or storage holding parts (carrying, storing) is active too, and can be the bottleneck
    candidates = stations + movers
    bottleneck = max(candidates, key=lambda r: r["mean_active_period_s"])["name"] if candidates else None
    elements = _element_kpis(p, s, names, now, window)

    throughput_h = total_out / hours if window > 0 else float("nan")
    wip = float(now["wip_area"][0] / window) if window > 0 else float("nan")
    left = total_out + rejected + scrapped
    return {
        "t_start_s": t_start, "t_end_s": t, "window_s": window,
        "throughput": {"total": int(total_out), "per_hour": throughput_h,
                       "per_part_type": {names.part_types[i]: int(c) for i, c in enumerate(out_count)},
                       "per_part_type_per_hour": {names.part_types[i]: float(c / hours) if window > 0 else
                                                  float("nan") for i, c in enumerate(out_count)}},
        "good": int(good_out), "rejected": int(rejected), "scrapped": int(scrapped), "gripper_drops": int(drops),
        "escaped_defects": int(escaped), "released": int(released),
        "yield": good_out / left if left > 0 else float("nan"),
        "first_pass_yield": first_pass / left if left > 0 else float("nan"),
        "scrap_rate": scrapped / left if left > 0 else float("nan"),
        "wip_avg": wip,
        "lead_time_s": {"n": int(lead.size), "mean": float(lead.mean()) if lead.size else float("nan"),
                        **dict(zip(("p50", "p95"), _quantiles(lead, (0.5, 0.95)), strict=True)),
                        "max": float(lead.max()) if lead.size else float("nan")},
        "line_oee": min(1.0, float(ideal_line / window)) if window > 0 else float("nan"),
        "bottleneck": bottleneck, "bottleneck_method": "active-period (Roser 2001): longest mean active period",
        "stations": stations, "elements": elements, "transports_and_storages": movers,
    }
