"""The per-part trace: every part's genealogy as a table, and writing it to CSV or Parquet.

Columns: ``t_s`` (time), ``part_id`` (unique per run, in creation order), ``part_type``, ``event``
(created, enter, leave, setup_start, process_start, process_end, defect, inspect_pass,
inspect_fail, scrapped, exit, dropped), ``element`` (where it happened) and ``server`` (the
station server index for setup/process/quality events, else empty).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from . import layout as L

__all__ = ["trace_columns", "write_trace"]

_SERVER_EVENTS = {L.TR_SETUP_START, L.TR_PROCESS_START, L.TR_PROCESS_END, L.TR_DEFECT,
                  L.TR_INSPECT_PASS, L.TR_INSPECT_FAIL, L.TR_SCRAPPED}


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
    return {
        "t_s": s.tr_t[:n].copy(),
        "part_id": uid.copy(),
        "part_type": types[type_of[uid]],
        "event": np.array(L.TRACE_EVENT_NAMES, dtype=object)[event],
        "element": nodes[s.tr_node[:n]],
        "server": server,
    }


def write_trace(columns: dict[str, np.ndarray], path: str | Path) -> Path:
    """Write the trace to ``path``: Parquet when it ends in ``.parquet`` (needs pyarrow), else CSV."""
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
        server = columns["server"]
        for i in range(len(columns["t_s"])):
            row = [c[i] for c in cols]
            row[0] = repr(float(row[0]))
            row[-1] = "" if server[i] < 0 else int(server[i])
            writer.writerow(row)
    return path
