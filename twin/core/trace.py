"""The per-part trace: every part's genealogy as a table, and writing it to CSV or Parquet.

Columns: ``t_s`` (time), ``part_id`` (unique per run, in creation order), ``part_type``, ``event``
(created, enter, leave, setup_start, process_start, process_end, defect, inspect_pass,
inspect_fail, scrapped, exit, dropped, gripper_drop; and the station events failure and repair,
whose ``part_id`` is -1), ``element`` (where it happened), ``server`` (the station server index
for setup/process/quality events, else empty) and ``detail`` (the failure mode of a failure or
repair, e.g. ``jam`` or ``robot/malfunction``; else empty).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from . import layout as L

__all__ = ["trace_columns", "write_trace", "part_summary", "merge_rows", "FINAL_STATES"]

#: Final state of a part, from its last decisive trace event.
FINAL_STATES = {"exit": "out", "scrapped": "scrapped", "dropped": "dropped", "gripper_drop": "scrapped"}

_SERVER_EVENTS = {L.TR_SETUP_START, L.TR_PROCESS_START, L.TR_PROCESS_END, L.TR_DEFECT,
                  L.TR_INSPECT_PASS, L.TR_INSPECT_FAIL, L.TR_SCRAPPED, L.TR_GRIPPER_DROP}


def trace_columns(s: L.LineState, names) -> dict[str, np.ndarray]:
    """The trace as columns (NumPy arrays; strings as object arrays)."""
    n = int(s.tr_n[0])
    uid = s.tr_uid[:n]
    event = s.tr_event[:n]
    aux = s.tr_aux[:n]
    created = event == L.TR_CREATED
    type_of = np.full(int(s.uid_next[0]) + 1, -1, np.int64)
    type_of[uid[created]] = aux[created]
    nodes = np.array(names.nodes, dtype=object)
    types = np.array(list(names.part_types) + [""], dtype=object)
    server = np.where(np.isin(event, list(_SERVER_EVENTS)), aux, -1)
    element = nodes[s.tr_node[:n]]
    detail = np.full(n, "", dtype=object)
    for i in np.flatnonzero((event == L.TR_FAILURE) | (event == L.TR_REPAIR)):
        # "station/mode" -> "mode"; aux -1: a fault injected at run time (Twin.inject_fault)
        detail[i] = names.failures[aux[i]][len(element[i]) + 1:] if aux[i] >= 0 else "injected"
    return {
        "t_s": s.tr_t[:n].copy(),
        "part_id": uid.copy(),
        "part_type": np.where(uid >= 0, types[type_of[uid]], ""),
        "event": np.array(L.TRACE_EVENT_NAMES, dtype=object)[event],
        "element": element,
        "server": server,
        "detail": detail,
    }


def merge_rows(columns: dict[str, np.ndarray], rows: list[tuple], names) -> dict[str, np.ndarray]:
    """Merge extra ``(t, part id, event, element, detail)`` rows into trace ``columns`` by time.

    The merge is stable: at equal times the core's records come first.
    """
    if not rows:
        return columns
    type_of = {int(u): pt for u, pt, ev in zip(columns["part_id"], columns["part_type"], columns["event"],
                                               strict=True) if ev == "created"}
    extra = {
        "t_s": np.array([r[0] for r in rows], float),
        "part_id": np.array([r[1] for r in rows], np.int64),
        "part_type": np.array([type_of.get(int(r[1]), "") for r in rows], dtype=object),
        "event": np.array([r[2] for r in rows], dtype=object),
        "element": np.array([r[3] for r in rows], dtype=object),
        "server": np.full(len(rows), -1, np.int64),
        "detail": np.array([r[4] for r in rows], dtype=object),
    }
    order = np.argsort(np.concatenate([columns["t_s"], extra["t_s"]]), kind="stable")
    return {k: np.concatenate([columns[k], extra[k]])[order] for k in columns}


def part_summary(columns: dict[str, np.ndarray], reject_sinks: set[str]) -> dict[str, np.ndarray]:
    """One row per part: its genealogy summarised.

    Columns: ``part_id``, ``part_type``, ``created_s``, ``released_s`` (first element entered),
    ``ended_s`` (exit, scrap or drop; NaN while in process), ``final_state`` (``out``,
    ``rejected`` (a reject sink), ``scrapped`` (also a part a gripper lost), ``dropped`` or ``in_process``), ``final_element``
    (where it ended or is now), ``lead_time_s`` (``ended_s - released_s`` for parts out or
    rejected), ``defective`` (a latent defect was made), ``inspection`` (last result: pass, fail
    or empty).
    """
    uid = columns["part_id"]
    n = int(uid.max()) + 1 if uid.size else 0  # station events (part_id -1) are skipped below
    created = np.full(n, np.nan)
    released = np.full(n, np.nan)
    ended = np.full(n, np.nan)
    ptype = np.full(n, "", dtype=object)
    state = np.full(n, "in_process", dtype=object)
    where = np.full(n, "", dtype=object)
    defective = np.zeros(n, bool)
    inspection = np.full(n, "", dtype=object)
    t, event, element, types = columns["t_s"], columns["event"], columns["element"], columns["part_type"]
    for i in range(uid.size):  # records are in time order, so later events overwrite earlier ones
        u, ev = uid[i], event[i]
        if u < 0:
            continue
        if ev == "created":
            created[u] = t[i]
            ptype[u] = types[i]
            where[u] = element[i]
        elif ev == "enter":
            if np.isnan(released[u]):
                released[u] = t[i]
            where[u] = element[i]
        elif ev in FINAL_STATES:
            ended[u] = t[i]
            where[u] = element[i]
            state[u] = "rejected" if ev == "exit" and element[i] in reject_sinks else FINAL_STATES[ev]
        elif ev == "defect":
            defective[u] = True
        elif ev in ("inspect_pass", "inspect_fail"):
            inspection[u] = ev.removeprefix("inspect_")
    done = (state == "out") | (state == "rejected")
    lead = np.where(done, ended - released, np.nan)
    return {"part_id": np.arange(n), "part_type": ptype, "created_s": created, "released_s": released,
            "ended_s": ended, "final_state": state, "final_element": where, "lead_time_s": lead,
            "defective": defective, "inspection": inspection}


def write_table(columns: dict[str, np.ndarray], path: str | Path) -> Path:
    """Write equal-length columns as CSV, or Parquet when ``path`` ends in ``.parquet``."""
    path = Path(path)
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({k: list(v) if v.dtype == object else v for k, v in columns.items()}), path)
        return path
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        cols = list(columns.values())
        for i in range(len(cols[0]) if cols else 0):
            writer.writerow([_cell(c[i]) for c in cols])
    return path


def _cell(value):
    if isinstance(value, float | np.floating):
        return "" if np.isnan(value) else repr(float(value))
    if isinstance(value, np.bool_ | bool):
        return "true" if value else "false"
    if isinstance(value, np.integer):
        return int(value)
    return value


def write_trace(columns: dict[str, np.ndarray], path: str | Path) -> Path:
    """Write the trace to ``path``: Parquet when it ends in ``.parquet``, else CSV.

    ``server`` is empty (CSV) or null (Parquet) for events that do not happen on a station server.
    """
    out = dict(columns)
    server = columns["server"]
    out["server"] = np.array([None if v < 0 else int(v) for v in server], dtype=object)
    return write_table(out, path)
