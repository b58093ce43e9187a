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
                    "st_ideal_done", "st_insp_fail", "st_defects", "st_fail_count", "st_ap_sum", "st_ap_count",
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
    """Several quantiles in one pass (one partition of the values, not one per quantile)."""
    if not values.size:
        return [float("nan")] * len(qs)
    return [float(v) for v in np.quantile(values, qs)]


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

    stations = []
    movers = []  # transports and storages: their servers are the parts they hold
    ideal_line = 0.0
    for n in range(p.n_nodes):
        if kind[n] != L.KIND_STATION:
            continue
        off, cap = int(p.st_srv_off[n]), int(p.node_cap[n])
        acc = now["srv_acc"][off:off + cap].sum(axis=0)
        total = acc.sum()
        frac = acc / total if total > 0 else np.zeros(6)
        ap_count = now["st_ap_count"][n] + (1 if s.st_active[n] else 0)  # closed in window + open now
        active = float(now["st_ap_sum"][n] / ap_count) if ap_count > 0 else 0.0
        if p.st_external[n] and not p.st_inspect[n]:  # a transport or storage (not a camera-timed inspection)
            movers.append({"name": names.nodes[n], "capacity": cap, "busy_frac": float(frac[L.SRV_BUSY]),
                           "blocked_frac": float(frac[L.SRV_BLOCKED]), "idle_frac": float(frac[L.SRV_IDLE]),
                           "processed": int(now["st_processed"][n].sum()), "mean_active_period_s": active,
                           "avg_parts": float(now["node_area"][n] / window) if window > 0 else float("nan")})
            continue
        processed = float(now["st_processed"][n].sum())
        planned = total - acc[L.SRV_OFF]
        run_time = planned - acc[L.SRV_DOWN]
        availability = run_time / planned if planned > 0 else float("nan")
        # capped: with random process times a station can beat its mean for a while
        performance = min(1.0, now["st_ideal_done"][n] / run_time) if run_time > 0 else float("nan")
        bad = now["st_scrapped"][n] + now["st_defects"][n] + now["st_drops"][n]
        quality = (processed - bad) / processed if processed > 0 else float("nan")
        # ideal time this station needs for the good output: per part type, the good parts out or
        # the parts it processed, whichever is fewer (a station sharing a stage with a parallel one,
        # or of another product flow, is charged only with parts that passed it; parts scrapped
        # downstream or processed twice are not charged)
        charged = np.minimum(now["st_processed"][n], good_by_type)
        ideal_line = max(ideal_line, float((charged * p.st_ideal_s[n]).sum()) / cap)
        stations.append({
            "name": names.nodes[n], "capacity": cap,
            **{f"{state}_frac": float(frac[i]) for i, state in enumerate(L.SRV_STATE_NAMES)},
            "processed": int(processed), "scrapped": int(now["st_scrapped"][n]),
            "defects_made": int(now["st_defects"][n]), "inspection_fails": int(now["st_insp_fail"][n]),
            "gripper_drops": int(now["st_drops"][n]),
            **({"inspection": _inspection(now["st_confusion"][n])} if p.st_inspect[n] else {}),
            "failures": int(now["st_fail_count"][n]),
            "failures_by_mode": {names.failures[f][len(names.nodes[n]) + 1:]: int(now["fl_count"][f])
                                 for f in range(int(p.st_fail_off[n]), int(p.st_fail_off[n] + p.st_fail_len[n]))},
            "availability": float(availability), "performance": float(performance), "quality": float(quality),
            "oee": float(availability * performance * quality),
            "mean_active_period_s": active,
            "avg_parts": float(now["node_area"][n] / window) if window > 0 else float("nan"),
        })
    # a transport or storage holding parts (carrying, storing) is active too, and can be the bottleneck
    candidates = stations + movers
    bottleneck = max(candidates, key=lambda r: r["mean_active_period_s"])["name"] if candidates else None

    elements = []
    for n in range(p.n_nodes):
        if kind[n] in (L.KIND_BUFFER, L.KIND_CONVEYOR, L.KIND_SOURCE):
            elements.append({
                "name": names.nodes[n], "kind": L.KIND_NAMES[kind[n]],
                "capacity": int(p.node_cap[n]) if kind[n] != L.KIND_SOURCE else None,
                "avg_parts": float(now["node_area"][n] / window) if window > 0 else float("nan"),
                "max_parts": int(s.node_max[n]),
                "blocked_frac": float(now["node_blocked_acc"][n] / window) if window > 0 else float("nan"),
                **({"released": int(now["src_released"][n]), "dropped": int(now["src_dropped"][n])}
                   if kind[n] == L.KIND_SOURCE else {}),
            })

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
