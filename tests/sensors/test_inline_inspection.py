"""Per-part camera inspection in a line (``inspection.vision.per_part``): every part's verdict comes
from a picture of that part, not from ground truth; the core routes by it and scores it."""

from __future__ import annotations

import numpy as np
import pytest

import twin

SCENE = """
version: 1
part_types: [{name: plate}]
sources: [{name: src, to: press, interarrival: 10, max_parts: 60}]
stations:
  - {name: press, to: inspect, process_time: 5, defect_prob: 0.25}
  - name: inspect
    to: gate
    process_time: {dist: uniform, low: 2, high: 4}
    inspection: {vision: {samples: 20, per_part: true}}
diverters: [{name: gate, rule: by_inspection, on_pass: good, on_fail: rejects}]
sinks: [{name: good}, {name: rejects, reject: true}]
"""


@pytest.fixture(scope="module")
def run():
    with twin.Twin(twin.load_scene_text(SCENE), seed=4, warmup_s=0) as tw:
        tw.run(until=800)
        yield tw.kpis(), tw.trace(), tw.parts(), tw.inline_inspections.judged


def test_every_part_is_judged_by_the_camera_and_routed_by_its_verdict(run):
    k, tr, parts, judged = run
    st = next(s for s in k["stations"] if s["name"] == "inspect")
    assert judged == st["processed"] == 60
    insp = st["inspection"]
    defective = insp["true_positive"] + insp["false_negative"]
    assert 6 <= defective <= 25  # 25% of 60, drawn upstream
    assert insp["precision"] >= 0.98 and insp["recall"] >= 0.98
    fails = set(tr["part_id"][tr["event"] == "inspect_fail"])
    rejected = set(tr["part_id"][(tr["event"] == "exit") & (tr["element"] == "rejects")])
    assert fails == rejected and len(rejected) == k["rejected"]


def test_inspection_times_come_from_the_station_distribution(run):
    _, tr, _, _ = run
    here = tr["element"] == "inspect"
    start = dict(zip(tr["part_id"][here & (tr["event"] == "process_start")],
                     tr["t_s"][here & (tr["event"] == "process_start")], strict=True))
    end = dict(zip(tr["part_id"][here & (tr["event"] == "process_end")],
                   tr["t_s"][here & (tr["event"] == "process_end")], strict=True))
    durations = np.array([end[u] - start[u] for u in end])
    assert durations.min() >= 2.0 and durations.max() <= 4.0
    assert abs(durations.mean() - 3.0) < 0.25


def test_same_seed_same_verdicts_and_snapshot_continues_identically():
    scene = twin.load_scene_text(SCENE)
    with twin.Twin(scene, seed=4, warmup_s=0) as a, twin.Twin(scene, seed=4, warmup_s=0) as b:
        a.run(until=200)
        snap = a.get_state()
        a.run(until=400)
        first = a.kpis()
        b.run(until=400)
        assert b.kpis() == first
        a.set_state(snap)
        a.run(until=400)
        assert a.kpis() == first
