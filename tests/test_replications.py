"""run_replications: core-only scenes run in batches and give exactly the KPIs of one Twin per seed."""

from __future__ import annotations

import json

import pytest

from twin import Twin
from twin.replications import run_replications
from twin.scene import load_scene_text

LINE = """\
version: 1
part_types: [{name: a}, {name: b}]
sources: [{name: src, to: q, interarrival: {dist: exponential, mean: 1.2}, part_mix: {a: 0.7, b: 0.3}}]
buffers:
  - {name: q, to: m1, capacity: 4}
  - {name: q2, to: m2, capacity: 2}
stations:
  - {name: m1, to: q2, process_time: {dist: exponential, mean: 1.0}, scrap_prob: 0.02,
     failures: [{mtbf_s: 60, mttr_s: 4}]}
  - {name: m2, to: out, process_time: {dist: triangular, low: 0.5, mode: 1.0, high: 1.6}}
sinks: [{name: out}]
"""

STORED = LINE.replace("{name: m2, to: out,", "{name: m2, to: rack,") + (
    "storages: [{name: rack, to: out, bays: 4, levels: 2, handling_s: 0.1}]\n")


def _same(a: dict, b: dict) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


@pytest.mark.parametrize("text", [LINE, STORED], ids=["batched", "one_twin_each"])
@pytest.mark.parametrize("workers", [1, 2])
def test_replications_equal_one_twin_per_seed(text, workers):
    scene = load_scene_text(text)
    seen = []
    runs = run_replications(scene, 7, until=2000.0, seed=11, warmup_s=100.0, workers=workers,
                            progress=lambda done, n: seen.append((done, n)))
    assert [r["seed"] for r in runs] == list(range(11, 18))
    assert seen[-1] == (7, 7) and all(b == 7 for _, b in seen) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    for r in runs:
        tw = Twin(scene, seed=r["seed"], trace=False, warmup_s=100.0)
        tw.run(until=2000.0, check_deadlock=False)
        expected = tw.kpis()
        expected["seed"] = r["seed"]
        expected["deadlock"] = tw.deadlocked()
        assert _same(r, expected), r["seed"]
    assert len({r["throughput"]["total"] for r in runs}) > 1  # the seeds differ
