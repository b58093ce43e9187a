"""The compiled line model: constant parameters (``LineParams``) and mutable state (``LineState``).

Like MuJoCo's ``MjModel``/``MjData`` split, parameters are compiled once from a scene and never
change during a run, while the state holds everything that does, as contiguous NumPy arrays
indexed by integer entity ids (names map to ids once, at compile time). Both are namedtuples so
numba kernels take them as single arguments; scalars in the state are 1-element arrays so kernels
can update them in place. Copying every state array is a complete snapshot (``get_state``).

Entity ids: every line element is a *node* (``node_kind`` says which kind); station servers,
failure modes, calendars, photo-eyes and parts have their own id ranges.

Timer slots (one per thing that can schedule an event; see ``twin.core.heap``):
    [0, n)                    node timer A: source arrival/start, conveyor head reaches the end
    [n, 2n)                   node timer B: conveyor entrance becomes free
    [2n, 2n+n_srv)            station server phase end (setup or processing)
    [.., +n_fail)             failure mode: next failure or end of repair
    [.., +n_cal)              calendar: next shift boundary
"""

from __future__ import annotations

from collections import namedtuple

__all__ = ["LineParams", "LineState", "PARAM_FIELDS", "STATE_FIELDS", "PARAM_SPEC", "STATE_SPEC"]

# the routing points (diverter, merge) come last: ``flow.resolve`` tests ``kind >= KIND_DIVERTER``
KIND_SOURCE, KIND_BUFFER, KIND_CONVEYOR, KIND_STATION, KIND_SINK, KIND_DIVERTER, KIND_MERGE = range(7)
KIND_NAMES = ("source", "buffer", "conveyor", "station", "sink", "diverter", "merge")

# Effective server states, in the order of the KPI time-fraction columns.
SRV_IDLE, SRV_BUSY, SRV_SETUP, SRV_BLOCKED, SRV_DOWN, SRV_OFF = range(6)
SRV_STATE_NAMES = ("idle", "busy", "setup", "blocked", "down", "off_shift")

SRC_INTERARRIVAL, SRC_ALWAYS, SRC_SCHEDULE = range(3)
DV_BY_TYPE, DV_BY_INSPECTION, DV_ROUND_ROBIN, DV_SHORTEST_QUEUE = range(4)
INSP_NONE, INSP_PASS, INSP_FAIL = range(3)

# Trace record kinds (column ``event`` of the trace file).
# Part events carry the part; station events (failure, repair) have part -1 and the failure mode
# (global failure index) in ``aux``.
TR_CREATED, TR_ENTER, TR_LEAVE, TR_SETUP_START, TR_PROCESS_START, TR_PROCESS_END, TR_DEFECT, \
    TR_INSPECT_PASS, TR_INSPECT_FAIL, TR_SCRAPPED, TR_EXIT, TR_DROPPED, TR_FAILURE, TR_REPAIR, \
    TR_GRIPPER_DROP = range(15)
TRACE_EVENT_NAMES = ("created", "enter", "leave", "setup_start", "process_start", "process_end",
                     "defect", "inspect_pass", "inspect_fail", "scrapped", "exit", "dropped",
                     "failure", "repair", "gripper_drop")

# Kernel return codes.
# ST_EXTERNAL: a station whose processing is timed outside the core (an AGV trip, a storage
# cycle) started a part; the caller must answer with the completion before the run continues.
ST_DONE, ST_TRACE_FULL, ST_LEADTIME_FULL, ST_MAX_EVENTS, ST_POOL_EXHAUSTED, ST_ZENO, ST_EXTERNAL = range(7)

# Field name -> storage: "int" (a scalar of the params), or dtype code with "[:,:]" for 2-D arrays
# (1-D otherwise). Kernels see these through numba StructRefs (``twin.core.structs``): passing one
# pointer per call instead of ~100 array structs keeps calls cheap and compilation fast.
PARAM_SPEC = {
    "n_nodes": "int",
    "n_types": "int",
    "n_srv": "int",
    "n_fail": "int",
    "n_cal": "int",
    "pool_size": "int",
    "slot_b": "int",
    "slot_srv": "int",
    "slot_fail": "int",
    "slot_cal": "int",
    "n_slots": "int",
    "trace_room": "int",
    "node_kind": "i4",
    "node_out": "i4",
    "node_cap": "i8",
    "node_prio": "i4",
    "pred_off": "i8",
    "pred_len": "i8",
    "pred_idx": "i4",
    "pred_one": "i4",
    "node_q_off": "i8",
    "dist_kind": "i4",
    "dist_a": "f8",
    "dist_b": "f8",
    "dist_c": "f8",
    "dist_shift": "f8",
    "dist_off": "i8",
    "dist_len": "i8",
    "emp_values": "f8",
    "zig_x": "f8",
    "zig_f": "f8",
    "node_rng": "i8",
    "node_rng2": "i8",
    "fail_rng": "i8",
    "type_length_m": "f8",
    "src_mode": "i4",
    "src_iat": "i4",
    "src_drop": "b1",
    "src_max": "i8",
    "src_start_s": "f8",
    "mix_off": "i8",
    "mix_len": "i8",
    "mix_type": "i4",
    "mix_cum": "f8",
    "sched_off": "i8",
    "sched_len": "i8",
    "sched_t": "f8",
    "sched_cum": "i8",
    "sched_type": "i4",
    "cv_length_m": "f8",
    "cv_speed_mps": "f8",
    "cv_spacing_m": "f8",
    "eye_node": "i4",
    "eye_at_m": "f8",
    "cv_eye_off": "i8",
    "cv_eye_len": "i8",
    "st_srv_off": "i8",
    "srv_node": "i4",
    "st_ptime": "i4[:,:]",
    "st_ideal_s": "f8[:,:]",
    "st_setup": "i4",
    "st_scrap": "f8",
    "st_defect": "f8",
    "st_inspect": "b1",
    "st_detect": "f8",
    "st_false_reject": "f8",
    "st_drop": "f8",
    "st_judge": "b1",
    "st_external": "b1",
    "st_notify_leave": "b1",
    "st_fail_off": "i8",
    "st_fail_len": "i8",
    "fail_node": "i4",
    "fail_ttf": "i4",
    "fail_ttr": "i4",
    "fail_operating": "b1",
    "fail_first_s": "f8",
    "dv_rule": "i4",
    "dv_out_off": "i8",
    "dv_out_len": "i8",
    "dv_out": "i4",
    "dv_type_target": "i4[:,:]",
    "dv_pass": "i4",
    "dv_fail": "i4",
    "node_cal": "i4",
    "cal_period_s": "f8",
    "cal_b_off": "i8",
    "cal_b_len": "i8",
    "cal_b_t": "f8",
    "cal_b_on": "b1",
    "cal_nodes_off": "i8",
    "cal_nodes_len": "i8",
    "cal_nodes": "i4",
    "sink_reject": "b1",
}

STATE_SPEC = {
    "t": "f8",
    "heap": "i4",
    "pos": "i4",
    "tm_time": "f8",
    "tm_stamp": "i8",
    "heap_size": "i8",
    "heap_hole": "i8",
    "stamp": "i8",
    "uid_next": "i8",
    "rng_state": "u8",
    "n_events": "i8",
    "last_move_t": "f8",
    "wl": "i4",
    "wl_in": "b1",
    "wl_head": "i8",
    "wl_len": "i8",
    "wl_front": "i8",
    "scratch": "i4",
    "part_uid": "i8",
    "part_type": "i4",
    "part_node": "i4",
    "part_srv": "i4",
    "part_t_release": "f8",
    "part_t_enter": "f8",
    "part_defect": "b1",
    "part_insp": "i1",
    "part_failed_once": "b1",
    "part_c": "f8",
    "free_stack": "i4",
    "free_top": "i8",
    "node_count": "i8",
    "node_area": "f8",
    "node_max": "i8",
    "node_blocked_since": "f8",
    "node_blocked_acc": "f8",
    "qbuf": "i4",
    "q_head": "i8",
    "wip": "i8",
    "wip_area": "f8",
    "src_held": "i4",
    "src_created": "i8",
    "src_released": "i8",
    "src_dropped": "i8",
    "src_off": "b1",
    "src_started": "b1",
    "src_sched_next": "i8",
    "src_sched_fired": "i8",
    "src_sched_rel": "i8",
    "cv_d0": "f8",
    "cv_t0": "f8",
    "cv_v": "f8",
    "cv_head_ready": "b1",
    "cv_last_c": "f8",
    "st_down": "i8",
    "st_off": "b1",
    "st_op": "b1",
    "st_busy": "i8",
    "st_idle": "i8",
    "st_blocked": "i8",
    "st_processed": "i8[:,:]",
    "st_scrapped": "i8",
    "st_insp_fail": "i8",
    "st_defects": "i8",
    "st_fail_count": "i8",
    "st_drops": "i8",
    "st_confusion": "i8[:,:]",
    "st_op_acc": "f8",
    "st_op_since": "f8",
    "st_fail_due": "f8",
    "st_active": "b1",
    "st_active_since": "f8",
    "st_inactive_at": "f8",
    "st_ap_sum": "f8",
    "st_ap_count": "i8",
    "srv_state": "i4",
    "srv_part": "i4",
    "srv_paused": "b1",
    "srv_remaining": "f8",
    "srv_done_t": "f8",
    "srv_last_type": "i4",
    "srv_verdict": "i1",
    "srv_eff": "i4",
    "srv_since": "f8",
    "srv_acc": "f8[:,:]",
    # servers to report to the caller: s >= 0 started an externally timed part, -(s + 1) a part left
    "ext_q": "i4",
    "ext_n": "i8",
    "fl_count": "i8",
    "fl_down": "b1",
    "fl_due_op": "f8",
    "dv_rr": "i8",
    "dv_pick": "i4",
    "cal_on": "b1",
    "sink_count": "i8[:,:]",
    "sink_defective": "i8",
    "sink_failed": "i8",
    "sink_first_pass": "i8",
    "lt_t": "f8",
    "lt_value": "f8",
    "lt_type": "i4",
    "lt_sink": "i4",
    "lt_n": "i8",
    "trace_on": "b1",
    "tr_t": "f8",
    "tr_uid": "i8",
    "tr_event": "i1",
    "tr_node": "i4",
    "tr_aux": "i4",
    "tr_n": "i8",
}

PARAM_FIELDS = tuple(PARAM_SPEC)
STATE_FIELDS = tuple(STATE_SPEC)

LineParams = namedtuple("LineParams", PARAM_FIELDS)
LineState = namedtuple("LineState", STATE_FIELDS)
