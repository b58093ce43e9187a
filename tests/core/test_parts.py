"""The per-part summary agrees with the KPIs and the engine's own counters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import twin

SMT = Path(__file__).resolve().parents[2] / "scenes" / "smt_line.yaml"


def test_part_summary_matches_kpis():
    """Final states and lead times of the parts table reproduce the KPIs (warm-up 0)."""
    tw = twin.Twin(twin.load_scene(SMT), seed=5, warmup_s=0)
    tw.run(until="6h")
    k = tw.kpis()
    parts = tw.parts()
    state = parts["final_state"]
    assert (state == "out").sum() == k["throughput"]["total"]
    assert (state == "rejected").sum() == k["rejected"]
    assert (state == "scrapped").sum() == k["scrapped"]
    assert (state == "in_process").sum() - (np.isnan(parts["released_s"])).sum() == tw.engine.state.wip[0]
    out = state == "out"
    assert parts["lead_time_s"][out].mean() == pytest.approx(k["lead_time_s"]["mean"], rel=1e-12)
    # a defective part that passed every inspection is an escaped defect
    escaped = out & parts["defective"] & (parts["inspection"] != "fail")
    assert escaped.sum() == k["escaped_defects"]
    assert set(parts["part_type"]) == {"board_a", "board_b"}


def test_parts_csv_written(tmp_path):
    """write_parts writes one row per part with the documented columns."""
    tw = twin.Twin(twin.load_scene(SMT), seed=5, warmup_s=0)
    tw.run(until="1h")
    path = tw.write_parts(tmp_path / "parts.csv")
    lines = path.read_text().splitlines()
    assert lines[0] == ("part_id,part_type,created_s,released_s,ended_s,final_state,final_element,"
                        "lead_time_s,defective,inspection")
    assert len(lines) - 1 == len(tw.parts()["part_id"])
