"""Compile a validated :class:`~twin.scene.Scene` into ``LineParams`` and an initial ``LineState``.

All name resolution happens here, once: the kernels only ever see integer ids. The
:class:`Names` table keeps the mapping back, for KPIs, traces and error messages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..scene.models import Distribution, Scene, Station, Storage
from . import layout as L
from .heap import new_heap
from .rng import DIST_KIND, stream_seed, ziggurat_tables

__all__ = ["Names", "compile_scene", "initial_state", "storage_targets", "stream_seeds"]

#: Time to the next scheduled fault when it does not repeat: later than any run.
NEVER_S = 1e15
#: Scheduled fault kinds that stop a station (compiled into calendar-timed failure modes).
STATION_FAULTS = ("station_down", "robot_malfunction", "sensor_blackout")

_KIND_OF_SECTION = {"sources": L.KIND_SOURCE, "buffers": L.KIND_BUFFER, "conveyors": L.KIND_CONVEYOR,
                    "stations": L.KIND_STATION, "sinks": L.KIND_SINK, "diverters": L.KIND_DIVERTER,
                    "merges": L.KIND_MERGE,
                    # externally timed stations: AGV transports and AS/RS storages (twin.transport)
                    "transports": L.KIND_STATION, "storages": L.KIND_STATION}


@dataclass(frozen=True)
class Names:
    """Integer id <-> name tables of a compiled scene."""

    nodes: tuple[str, ...]
    part_types: tuple[str, ...]
    servers: tuple[str, ...]
    failures: tuple[str, ...]
    calendars: tuple[str, ...]
    photo_eyes: tuple[str, ...]

    def node_id(self, name: str) -> int:
        return self.nodes.index(name)


class _Dists:
    """Collects distributions into flat parameter arrays."""

    def __init__(self) -> None:
        self.kind: list[int] = []
        self.a: list[float] = []
        self.b: list[float] = []
        self.c: list[float] = []
        self.off: list[int] = []
        self.len: list[int] = []
        self.emp: list[float] = []
        self.shift: list[float] = []

    def add(self, d: Distribution, shift: float = 0.0) -> int:
        """Register ``d`` (plus a constant ``shift`` added to every draw); return its id."""
        a = b = c = 0.0
        off = n = 0
        if d.dist == "constant":
            a = d.value
        elif d.dist == "uniform":
            a, b = d.low, d.high
        elif d.dist == "triangular":
            a, b, c = d.low, d.mode, d.high
        elif d.dist == "normal":
            a, b = d.mean, d.std
        elif d.dist == "lognormal":
            sigma2 = math.log1p((d.std / d.mean) ** 2)
            a, b = math.log(d.mean) - 0.5 * sigma2, math.sqrt(sigma2)
        elif d.dist == "exponential":
            a = d.mean
        else:
            off, n = len(self.emp), len(d.samples)
            self.emp.extend(d.samples)
        self.kind.append(DIST_KIND[d.dist])
        for lst, v in ((self.a, a), (self.b, b), (self.c, c)):
            lst.append(float(v))
        self.off.append(off)
        self.len.append(n)
        self.shift.append(float(shift))
        return len(self.kind) - 1

    def arrays(self) -> dict[str, np.ndarray]:
        return {"dist_kind": np.array(self.kind, np.int32), "dist_a": np.array(self.a, np.float64),
                "dist_b": np.array(self.b, np.float64), "dist_c": np.array(self.c, np.float64),
                "dist_shift": np.array(self.shift, np.float64),
                "dist_off": np.array(self.off, np.int64), "dist_len": np.array(self.len, np.int64),
                "emp_values": np.array(self.emp or [0.0], np.float64)}


def _calendar_boundaries(cal) -> list[tuple[float, bool]]:
    """Sorted (time in period, on after it) boundaries of shifts minus breaks; [] if always on."""
    period = cal.period_h * 3600.0
    grid = 1.0  # calendars are given to the second

    n = int(round(period / grid))
    on = np.zeros(n, bool)
    for s, e in cal.windows(cal.shifts):
        on[int(round(s / grid)):int(round(e / grid))] = True
    for s, e in cal.windows(cal.breaks):
        on[int(round(s / grid)):int(round(e / grid))] = False
    if on.all():
        return []
    change = np.flatnonzero(on != np.roll(on, 1))
    return [(float(i * grid), bool(on[i])) for i in change]


def compile_scene(scene: Scene, seed: int) -> tuple[L.LineParams, Names, np.ndarray]:
    """Build the constant parameter arrays of ``scene``, its name tables, and the initial states
    of its random streams (seeded from ``seed``)."""
    nodes: list[tuple[str, int, object]] = []
    for section, kind in _KIND_OF_SECTION.items():
        for el in getattr(scene, section):
            nodes.append((el.name, kind, el))
    idx = {name: i for i, (name, _, _) in enumerate(nodes)}
    types = [p.name for p in scene.part_types]
    tidx = {n: i for i, n in enumerate(types)}
    cal_idx = {c.name: i for i, c in enumerate(scene.calendars)}
    n, nt = len(nodes), len(types)
    dists = _Dists()
    station_names = {s.name for s in scene.stations}
    scheduled_faults: dict[str, list] = {}
    for fault in scene.faults:
        if fault.kind in STATION_FAULTS and fault.target in station_names:
            scheduled_faults.setdefault(fault.target, []).append(fault)

    node_kind = np.array([k for _, k, _ in nodes], np.int32)
    node_out = np.full(n, -1, np.int32)
    node_cap = np.zeros(n, np.int64)
    node_prio = np.zeros(n, np.int32)
    node_cal = np.full(n, -1, np.int32)
    src_mode = np.zeros(n, np.int32)
    src_iat = np.full(n, -1, np.int32)
    src_drop = np.zeros(n, np.bool_)
    src_max = np.full(n, -1, np.int64)
    src_start = np.zeros(n)
    mix_off = np.zeros(n, np.int64)
    mix_len = np.zeros(n, np.int64)
    mix_type: list[int] = []
    mix_cum: list[float] = []
    sched_off = np.zeros(n, np.int64)
    sched_len = np.zeros(n, np.int64)
    sched_t: list[float] = []
    sched_cum: list[int] = []
    sched_type: list[int] = []
    cv_len = np.zeros(n)
    cv_speed = np.zeros(n)
    cv_spacing = np.ones(n)
    cv_eye_off = np.zeros(n, np.int64)
    cv_eye_len = np.zeros(n, np.int64)
    eye_node: list[int] = []
    eye_at: list[float] = []
    eye_names: list[str] = []
    st_srv_off = np.zeros(n, np.int64)
    srv_node: list[int] = []
    srv_names: list[str] = []
    st_ptime = np.full((n, nt), -1, np.int32)
    st_ideal = np.zeros((n, nt))
    st_setup = np.full(n, -1, np.int32)
    st_scrap = np.zeros(n)
    st_drop = np.zeros(n)
    st_external = np.zeros(n, np.bool_)
    st_notify_leave = np.zeros(n, np.bool_)  # the core reports each part leaving (pull retrieval)
    st_defect = np.zeros(n)
    st_inspect = np.zeros(n, np.bool_)
    st_detect = np.zeros(n)
    st_false = np.zeros(n)
    st_fail_off = np.zeros(n, np.int64)
    st_fail_len = np.zeros(n, np.int64)
    fail_node: list[int] = []
    fail_ttf: list[int] = []
    fail_ttr: list[int] = []
    fail_op: list[bool] = []
    fail_first: list[float] = []  # the first failure's fixed time (scheduled faults), or -1: drawn
    fail_names: list[str] = []
    dv_rule = np.zeros(n, np.int32)
    dv_out_off = np.zeros(n, np.int64)
    dv_out_len = np.zeros(n, np.int64)
    dv_out: list[int] = []
    dv_type_target = np.full((n, nt), -1, np.int32)
    dv_pass = np.full(n, -1, np.int32)
    dv_fail = np.full(n, -1, np.int32)

    for i, (name, kind, el) in enumerate(nodes):
        if hasattr(el, "to"):
            node_out[i] = idx[el.to]
        if kind == L.KIND_SOURCE:
            node_cal[i] = cal_idx[el.calendar] if el.calendar else -1
            src_drop[i] = el.on_blocked == "drop"
            src_max[i] = el.max_parts if el.max_parts is not None else -1
            src_start[i] = el.start_s
            mix = el.part_mix or {el.part_type or types[0]: 1.0}
            total = math.fsum(mix.values())
            mix_off[i], mix_len[i] = len(mix_type), len(mix)
            acc = 0.0
            for tname, w in mix.items():
                acc += w / total
                mix_type.append(tidx[tname])
                mix_cum.append(acc)
            mix_cum[-1] = 1.0
            if el.interarrival is not None:
                src_mode[i] = L.SRC_INTERARRIVAL
                src_iat[i] = dists.add(el.interarrival)
            elif el.always_available:
                src_mode[i] = L.SRC_ALWAYS
            else:
                src_mode[i] = L.SRC_SCHEDULE
                rel = sorted(el.schedule, key=lambda r: r.at_s)
                sched_off[i], sched_len[i] = len(sched_t), len(rel)
                cum = 0
                for r in rel:
                    cum += r.count
                    sched_t.append(r.at_s)
                    sched_cum.append(cum)
                    sched_type.append(tidx[r.part_type] if r.part_type else -1)
        elif kind == L.KIND_BUFFER:
            node_cap[i] = el.capacity
        elif kind == L.KIND_CONVEYOR:
            cv_len[i], cv_speed[i], cv_spacing[i] = el.length_m, el.speed_mps, el.spacing_m
            node_cap[i] = int(math.floor(el.length_m / el.spacing_m + 1e-9)) + 1
            cv_eye_off[i], cv_eye_len[i] = len(eye_node), len(el.photo_eyes)
            for eye in sorted(el.photo_eyes, key=lambda e: e.at_m):
                eye_node.append(i)
                eye_at.append(eye.at_m)
                eye_names.append(f"{name}/{eye.name}")
        elif kind == L.KIND_STATION:
            node_cap[i] = el.capacity
            st_srv_off[i] = len(srv_node)
            for k in range(el.capacity):
                srv_node.append(i)
                srv_names.append(name if el.capacity == 1 else f"{name}[{k}]")
            if not isinstance(el, Station):  # a transport or storage: timed by twin.transport
                st_external[i] = True
                st_notify_leave[i] = isinstance(el, Storage) and el.retrieval == "on_demand"
                st_fail_off[i], st_fail_len[i] = len(fail_node), 0
                for t in range(nt):
                    st_ptime[i, t] = dists.add(Distribution(dist="constant", value=0.0))
                continue
            node_cal[i] = cal_idx[el.calendar] if el.calendar else -1
            for t, tname in enumerate(types):
                d = el.process_time_by_type.get(tname, el.process_time)
                st_ptime[i, t] = dists.add(d, shift=el.robot_cycle_s)
                st_ideal[i, t] = d.mean_value() + el.robot_cycle_s
            if el.setup_time is not None:
                st_setup[i] = dists.add(el.setup_time)
            st_scrap[i], st_defect[i] = el.scrap_prob, el.defect_prob
            st_drop[i] = el.gripper_drop_prob
            if el.inspection is not None:
                st_inspect[i] = True
                st_detect[i], st_false[i] = el.inspection.rates
                vision = el.inspection.vision
                # a camera judging each part: timed and judged outside the core (twin.sensors.inline)
                st_external[i] = vision is not None and vision.per_part
            failures = el.all_failures
            scheduled = scheduled_faults.get(name, [])
            st_fail_off[i], st_fail_len[i] = len(fail_node), len(failures) + len(scheduled)
            for f in failures:
                fail_node.append(i)
                fail_ttf.append(dists.add(f.ttf()))
                fail_ttr.append(dists.add(f.ttr()))
                fail_op.append(f.basis == "operating")
                fail_first.append(-1.0)
                fail_names.append(f"{name}/{f.name}")
            for f in scheduled:  # calendar-timed: first at at_s, then every every_s (or never again)
                gap = NEVER_S if f.every_s is None else f.every_s - f.duration_s
                fail_node.append(i)
                fail_ttf.append(dists.add(Distribution(dist="constant", value=gap)))
                fail_ttr.append(dists.add(Distribution(dist="constant", value=f.duration_s)))
                fail_op.append(False)
                fail_first.append(f.at_s)
                fail_names.append(f"{name}/scheduled/{f.name}")
        elif kind == L.KIND_DIVERTER:
            dv_rule[i] = {"by_part_type": L.DV_BY_TYPE, "by_inspection": L.DV_BY_INSPECTION,
                          "round_robin": L.DV_ROUND_ROBIN, "shortest_queue": L.DV_SHORTEST_QUEUE}[el.rule]
            if el.rule == "by_part_type":
                for t, tname in enumerate(types):
                    target = el.routes.get(tname, el.default)
                    dv_type_target[i, t] = idx[target] if target else -1
            elif el.rule == "by_inspection":
                dv_pass[i], dv_fail[i] = idx[el.on_pass], idx[el.on_fail]
            else:
                dv_out_off[i], dv_out_len[i] = len(dv_out), len(el.outputs)
                dv_out.extend(idx[o] for o in el.outputs)
        elif kind == L.KIND_MERGE and el.rule == "priority":
            for rank, inp in enumerate(el.inputs):
                node_prio[idx[inp]] = rank

    # Predecessors: for each receiving node, the senders whose route can end there.
    senders = [i for i in range(n) if node_kind[i] in (L.KIND_SOURCE, L.KIND_BUFFER, L.KIND_CONVEYOR,
                                                         L.KIND_STATION)]
    preds: list[list[int]] = [[] for _ in range(n)]
    for s in senders:
        for target in _storage_targets(int(node_out[s]), node_kind, node_out, dv_rule, dv_type_target,
                                       dv_pass, dv_fail, dv_out_off, dv_out_len, dv_out):  # noqa: E501
            if s not in preds[target]:
                preds[target].append(s)
    pred_off = np.zeros(n, np.int64)
    pred_len = np.zeros(n, np.int64)
    pred_idx: list[int] = []
    for i in range(n):
        pred_off[i], pred_len[i] = len(pred_idx), len(preds[i])
        pred_idx.extend(preds[i])
    pred_one = np.array([p[0] if len(p) == 1 else -1 for p in preds], np.int32)  # (wake_preds' fast path)

    q_off = np.zeros(n, np.int64)
    total_q = 0
    for i in range(n):
        if node_kind[i] in (L.KIND_BUFFER, L.KIND_CONVEYOR):
            q_off[i] = total_q
            total_q += int(node_cap[i])

    cal_b_t: list[float] = []
    cal_b_on: list[bool] = []
    cal_b_off = np.zeros(len(scene.calendars), np.int64)
    cal_b_len = np.zeros(len(scene.calendars), np.int64)
    cal_nodes_off = np.zeros(len(scene.calendars), np.int64)
    cal_nodes_len = np.zeros(len(scene.calendars), np.int64)
    cal_nodes: list[int] = []
    for c, cal in enumerate(scene.calendars):
        bounds = _calendar_boundaries(cal)
        cal_b_off[c], cal_b_len[c] = len(cal_b_t), len(bounds)
        cal_b_t.extend(b for b, _ in bounds)
        cal_b_on.extend(on for _, on in bounds)
        members = [i for i in range(n) if node_cal[i] == c]
        cal_nodes_off[c], cal_nodes_len[c] = len(cal_nodes), len(members)
        cal_nodes.extend(members)

    n_srv, n_fail, n_cal = len(srv_node), len(fail_node), len(scene.calendars)
    pool = int(node_cap[node_kind != L.KIND_SINK].sum()) + int((node_kind == L.KIND_SOURCE).sum()) + 1
    def arr(values, dtype):
        return np.array(values if len(values) else [0], dtype)

    params = dict(
        n_nodes=n, n_types=nt, n_srv=n_srv, n_fail=n_fail, n_cal=n_cal, pool_size=pool,
        slot_b=n, slot_srv=2 * n, slot_fail=2 * n + n_srv, slot_cal=2 * n + n_srv + n_fail,
        n_slots=2 * n + n_srv + n_fail + n_cal,
        # trace records one transfer may write: leave, enter, setup/process start, exit ... (16 with
        # slack) plus an enter and a leave at each routing point it crosses (each at most once)
        trace_room=16 + 2 * int(((node_kind == L.KIND_DIVERTER) | (node_kind == L.KIND_MERGE)).sum()),
        node_kind=node_kind, node_out=node_out, node_cap=node_cap, node_prio=node_prio,
        pred_off=pred_off, pred_len=pred_len, pred_idx=arr(pred_idx, np.int32), pred_one=pred_one, node_q_off=q_off,
        **dists.arrays(),
        zig_x=np.array(ziggurat_tables()[0]), zig_f=np.array(ziggurat_tables()[1]),
        node_rng=np.arange(n, dtype=np.int64), node_rng2=np.arange(n, 2 * n, dtype=np.int64),
        fail_rng=np.arange(2 * n, 2 * n + n_fail, dtype=np.int64),
        type_length_m=np.array([p.length_m for p in scene.part_types]),
        src_mode=src_mode, src_iat=src_iat, src_drop=src_drop, src_max=src_max, src_start_s=src_start,
        mix_off=mix_off, mix_len=mix_len, mix_type=arr(mix_type, np.int32), mix_cum=arr(mix_cum, np.float64),
        sched_off=sched_off, sched_len=sched_len, sched_t=arr(sched_t, np.float64),
        sched_cum=arr(sched_cum, np.int64), sched_type=arr(sched_type, np.int32),
        cv_length_m=cv_len, cv_speed_mps=cv_speed, cv_spacing_m=cv_spacing,
        eye_node=arr(eye_node, np.int32), eye_at_m=arr(eye_at, np.float64),
        cv_eye_off=cv_eye_off, cv_eye_len=cv_eye_len,
        st_srv_off=st_srv_off, srv_node=arr(srv_node, np.int32), st_ptime=st_ptime, st_ideal_s=st_ideal,
        st_setup=st_setup, st_scrap=st_scrap, st_drop=st_drop, st_external=st_external, st_notify_leave=st_notify_leave, st_defect=st_defect, st_inspect=st_inspect,
        st_judge=(st_scrap > 0) | (st_drop > 0) | (st_defect > 0) | st_inspect,
        st_detect=st_detect, st_false_reject=st_false, st_fail_off=st_fail_off, st_fail_len=st_fail_len,
        fail_node=arr(fail_node, np.int32), fail_ttf=arr(fail_ttf, np.int32), fail_ttr=arr(fail_ttr, np.int32),
        fail_operating=arr(fail_op, np.bool_), fail_first_s=arr(fail_first, np.float64),
        dv_rule=dv_rule, dv_out_off=dv_out_off, dv_out_len=dv_out_len, dv_out=arr(dv_out, np.int32),
        dv_type_target=dv_type_target, dv_pass=dv_pass, dv_fail=dv_fail,
        node_cal=node_cal, cal_period_s=np.array([c.period_h * 3600.0 for c in scene.calendars] or [0.0]),
        cal_b_off=cal_b_off, cal_b_len=cal_b_len, cal_b_t=arr(cal_b_t, np.float64),
        cal_b_on=arr(cal_b_on, np.bool_), cal_nodes_off=cal_nodes_off, cal_nodes_len=cal_nodes_len,
        cal_nodes=arr(cal_nodes, np.int32),
        sink_reject=np.array([k == L.KIND_SINK and el.reject for _, k, el in nodes], np.bool_),
    )
    p = L.LineParams(**params)
    names = Names(nodes=tuple(name for name, _, _ in nodes), part_types=tuple(types),
                  servers=tuple(srv_names), failures=tuple(fail_names),
                  calendars=tuple(c.name for c in scene.calendars), photo_eyes=tuple(eye_names))
    return p, names, stream_seeds(names, seed)


def stream_seeds(names: Names, seed: int) -> np.ndarray:
    """Initial states of a compiled scene's random streams for ``seed``: two per node (main:
    arrivals/process times; quality: mix, scrap, defects, inspection), one per failure mode; seeded
    by name so streams never shift when the scene grows. All another replication needs."""
    seeds = [stream_seed(seed, name, "main") for name in names.nodes]
    seeds += [stream_seed(seed, name, "quality") for name in names.nodes]
    seeds += [stream_seed(seed, fname, "failure") for fname in names.failures]
    return np.array(seeds, np.uint64)


def storage_targets(p: L.LineParams, start: int) -> list[int]:
    """All storage nodes a part sent to node ``start`` of compiled params ``p`` can end in."""
    return _storage_targets(start, p.node_kind, p.node_out, p.dv_rule, p.dv_type_target, p.dv_pass,
                            p.dv_fail, p.dv_out_off, p.dv_out_len, p.dv_out)


def _storage_targets(start, node_kind, node_out, dv_rule, dv_type_target, dv_pass, dv_fail,
                     dv_out_off, dv_out_len, dv_out) -> list[int]:
    """All storage nodes (buffer, conveyor, station, sink) a part sent to ``start`` can end in."""
    out: list[int] = []
    stack, seen = [start], set()
    while stack:
        node = stack.pop()
        if node in seen or node < 0:
            continue
        seen.add(node)
        kind = node_kind[node]
        if kind == L.KIND_MERGE:
            stack.append(int(node_out[node]))
        elif kind == L.KIND_DIVERTER:
            rule = dv_rule[node]
            if rule == L.DV_BY_TYPE:
                stack.extend(int(x) for x in dv_type_target[node] if x >= 0)
            elif rule == L.DV_BY_INSPECTION:
                stack += [int(dv_pass[node]), int(dv_fail[node])]
            else:
                o = dv_out_off[node]
                stack.extend(int(x) for x in dv_out[o:o + dv_out_len[node]])
        else:
            out.append(node)
    return out


def initial_state(p: L.LineParams, stream_seeds: np.ndarray, trace: bool, trace_capacity: int = 65536,
                  leadtime_capacity: int = 65536) -> L.LineState:
    """Zeroed state arrays for ``p``; ``twin.core.kernel.init_kernel`` then schedules the first events."""
    n, pool, n_srv, n_fail, n_cal, nt = p.n_nodes, p.pool_size, p.n_srv, p.n_fail, p.n_cal, p.n_types
    heap = new_heap(p.n_slots)
    total_q = int(sum(p.node_cap[i] for i in range(n) if p.node_kind[i] in (L.KIND_BUFFER, L.KIND_CONVEYOR)))
    tr_cap = trace_capacity if trace else 1
    lt_cap = leadtime_capacity
    s = dict(
        t=np.zeros(1), **heap, uid_next=np.zeros(1, np.int64),
        rng_state=stream_seeds.copy(), n_events=np.zeros(1, np.int64), last_move_t=np.zeros(1),
        wl=np.zeros(max(n, 1), np.int32), wl_in=np.zeros(max(n, 1), np.bool_), wl_head=np.zeros(1, np.int64),
        wl_len=np.zeros(1, np.int64), wl_front=np.full(1, -1, np.int64), scratch=np.zeros(max(n, 1), np.int32),
        part_uid=np.full(pool, -1, np.int64), part_type=np.zeros(pool, np.int32),
        part_node=np.full(pool, -1, np.int32), part_srv=np.full(pool, -1, np.int32),
        part_t_release=np.zeros(pool), part_t_enter=np.zeros(pool), part_defect=np.zeros(pool, np.bool_),
        part_insp=np.zeros(pool, np.int8), part_failed_once=np.zeros(pool, np.bool_), part_c=np.zeros(pool),
        free_stack=np.arange(pool - 1, -1, -1, dtype=np.int32), free_top=np.array([pool], np.int64),
        node_count=np.zeros(n, np.int64), node_area=np.zeros(n),
        node_max=np.zeros(n, np.int64), node_blocked_since=np.full(n, -1.0), node_blocked_acc=np.zeros(n),
        qbuf=np.full(max(total_q, 1), -1, np.int32), q_head=np.zeros(n, np.int64),
        wip=np.zeros(1, np.int64), wip_area=np.zeros(1),
        src_held=np.full(n, -1, np.int32), src_created=np.zeros(n, np.int64),
        src_released=np.zeros(n, np.int64), src_dropped=np.zeros(n, np.int64), src_off=np.zeros(n, np.bool_),
        src_started=np.zeros(n, np.bool_), src_sched_next=np.zeros(n, np.int64),
        src_sched_fired=np.zeros(n, np.int64), src_sched_rel=np.zeros(n, np.int64),
        cv_d0=np.zeros(n), cv_t0=np.zeros(n), cv_v=p.cv_speed_mps.copy(),
        cv_head_ready=np.zeros(n, np.bool_), cv_last_c=np.full(n, -1e300),
        st_down=np.zeros(n, np.int64), st_off=np.zeros(n, np.bool_), st_op=np.zeros(n, np.bool_),
        st_busy=np.zeros(n, np.int64), st_idle=p.node_cap * (p.node_kind == L.KIND_STATION),
        st_blocked=np.zeros(n, np.int64), st_processed=np.zeros((n, nt), np.int64),
        st_scrapped=np.zeros(n, np.int64), st_insp_fail=np.zeros(n, np.int64),
        st_defects=np.zeros(n, np.int64), st_fail_count=np.zeros(n, np.int64),
        st_drops=np.zeros(n, np.int64), st_confusion=np.zeros((n, 4), np.int64),
        st_op_acc=np.zeros(n), st_op_since=np.zeros(n), st_fail_due=np.full(n, np.inf), st_active=np.zeros(n, np.bool_), st_active_since=np.zeros(n), st_inactive_at=np.full(n, -1.0), st_ap_sum=np.zeros(n),
        st_ap_count=np.zeros(n, np.int64),
        srv_state=np.zeros(max(n_srv, 1), np.int32), srv_part=np.full(max(n_srv, 1), -1, np.int32),
        srv_paused=np.zeros(max(n_srv, 1), np.bool_), srv_remaining=np.zeros(max(n_srv, 1)),
        srv_done_t=np.zeros(max(n_srv, 1)), srv_last_type=np.full(max(n_srv, 1), -1, np.int32),
        srv_verdict=np.full(max(n_srv, 1), -1, np.int8),
        srv_eff=np.zeros(max(n_srv, 1), np.int32), srv_since=np.zeros(max(n_srv, 1)),
        srv_acc=np.zeros((max(n_srv, 1), 6)),
        ext_q=np.zeros(2 * max(n_srv, 1), np.int32), ext_n=np.zeros(1, np.int64),
        fl_count=np.zeros(max(n_fail, 1), np.int64),
        fl_down=np.zeros(max(n_fail, 1), np.bool_), fl_due_op=np.zeros(max(n_fail, 1)),
        dv_rr=np.zeros(n, np.int64), dv_pick=np.full(n, -1, np.int32), cal_on=np.ones(max(n_cal, 1), np.bool_),
        sink_count=np.zeros((n, nt), np.int64), sink_defective=np.zeros(n, np.int64), sink_failed=np.zeros(n, np.int64),
        sink_first_pass=np.zeros(n, np.int64),
        lt_t=np.zeros(lt_cap), lt_value=np.zeros(lt_cap), lt_type=np.zeros(lt_cap, np.int32),
        lt_sink=np.zeros(lt_cap, np.int32), lt_n=np.zeros(1, np.int64),
        trace_on=np.array([trace]), tr_t=np.zeros(tr_cap), tr_uid=np.zeros(tr_cap, np.int64),
        tr_event=np.zeros(tr_cap, np.int8), tr_node=np.zeros(tr_cap, np.int32),
        tr_aux=np.zeros(tr_cap, np.int32), tr_n=np.zeros(1, np.int64),
    )
    return L.LineState(**s)
