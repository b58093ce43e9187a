"""Accumulating conveyors: transit time, spacing, capacity, and stopping the belt."""

from __future__ import annotations

import math

import numpy as np
import pytest

import twin
from tests.core.lines import build, element, events, run

LENGTH, SPEED, SPACING = 5.0, 0.5, 0.7
CAPACITY = math.floor(LENGTH / SPACING) + 1  # 8 parts: at L, L - s, ..., L - 7 s = 0.1 m


def _belt_scene(process_time: float, source: dict | None = None):
    """src -> belt (5 m, 0.5 m/s, spacing 0.7 m) -> m1 -> out."""
    src = source or {"always_available": True}
    return build(
        sources=[{"name": "src", "to": "belt", **src}],
        conveyors=[{"name": "belt", "to": "m1", "length_m": LENGTH, "speed_mps": SPEED, "spacing_m": SPACING}],
        stations=[{"name": "m1", "to": "out", "process_time": process_time}],
    )


def test_lone_part_transit_time_is_length_over_speed():
    """A lone part takes length / speed on the belt: it enters at 3 s and leaves at 3 + 10 s."""
    scene = _belt_scene(1.0, {"schedule": [{"at_s": 3.0, "count": 1}]})
    tw = run(scene, 100.0, trace=True)
    enter = events(tw, "enter", "belt")["t_s"]
    leave = events(tw, "leave", "belt")["t_s"]
    exit_ = events(tw, "exit", "out")["t_s"]
    assert enter.tolist() == [3.0]
    assert leave.tolist() == pytest.approx([3.0 + LENGTH / SPEED], abs=1e-9)
    assert exit_.tolist() == pytest.approx([3.0 + LENGTH / SPEED + 1.0], abs=1e-9)
    assert tw.kpis()["lead_time_s"]["mean"] == pytest.approx(LENGTH / SPEED + 1.0, abs=1e-9)


def test_free_flowing_belt_releases_parts_at_spacing_over_speed():
    """A free belt fed without pause delivers one part per spacing / speed (1.4 s)."""
    tw = run(_belt_scene(0.5), 1_000.0, warmup_s=100.0)
    k = tw.kpis()
    assert abs(k["throughput"]["total"] - 900.0 / (SPACING / SPEED)) <= 1


def test_parts_never_closer_than_spacing():
    """Parts on a filling and draining belt stay in order, within [0, L] and >= spacing apart."""
    scene = _belt_scene({"dist": "exponential", "mean": 2.0})
    tw = twin.Twin(scene, seed=4, trace=False)
    seen_full = 0
    for i in range(1, 3_000):
        tw.run(until=i * 0.37)
        node, pos, uid = tw.engine.conveyor_parts()
        assert np.all((pos >= -1e-9) & (pos <= LENGTH + 1e-9))
        assert np.all(np.diff(uid) > 0)  # head first: oldest part leads
        gaps = -np.diff(pos)
        assert np.all(gaps >= SPACING - 1e-9), f"t={tw.time_s}: gaps {gaps}"
        seen_full += pos.size == CAPACITY
    assert seen_full > 10


@pytest.mark.parametrize("length,spacing,capacity", [(LENGTH, SPACING, 8), (4.0, 0.5, 9)])
def test_blocked_belt_holds_floor_length_over_spacing_plus_one(length, spacing, capacity):
    """A blocked belt holds floor(L / s) + 1 parts, queued at L, L - s, L - 2s, ..."""
    assert capacity == math.floor(length / spacing) + 1
    scene = build(
        sources=[{"name": "src", "to": "belt", "always_available": True}],
        conveyors=[{"name": "belt", "to": "m1", "length_m": length, "speed_mps": SPEED, "spacing_m": spacing}],
        stations=[{"name": "m1", "to": "out", "process_time": 10_000.0}],
    )
    tw = run(scene, 200.0)
    _, pos, _ = tw.engine.conveyor_parts()
    assert pos.size == capacity
    np.testing.assert_allclose(pos, length - spacing * np.arange(capacity), atol=1e-9)
    belt = element(tw.kpis(), "belt")
    assert belt["max_parts"] == capacity
    assert belt["blocked_frac"] > 0.9


def test_stopped_belt_stops_flow_and_restart_resumes_it():
    """At speed 0 parts hold still; after a restart the head arrives after remaining distance / speed."""
    scene = _belt_scene(0.2)
    tw = twin.Twin(scene, seed=1, trace=True)
    tw.run(until=20.3)
    _, before, uid_before = tw.engine.conveyor_parts()
    assert before.size >= 3
    tw.engine.set_conveyor_speed("belt", 0.0)
    tw.run(until=80.0)
    _, during, uid_during = tw.engine.conveyor_parts()
    np.testing.assert_array_equal(uid_during, uid_before)
    np.testing.assert_allclose(during, before, atol=1e-12)
    tr = tw.trace()
    moved = (tr["t_s"] > 20.3) & np.isin(tr["event"], ["enter", "leave"]) & (tr["element"] == "belt")
    assert not moved.any()
    out_before = tw.kpis()["throughput"]["total"]
    tw.engine.set_conveyor_speed("belt", SPEED)
    tw.run(until=200.0)
    leaves = events(tw, "leave", "belt")["t_s"]
    first_after = leaves[leaves > 80.0][0]
    assert first_after == pytest.approx(80.0 + (LENGTH - before[0]) / SPEED, abs=1e-9)
    assert tw.kpis()["throughput"]["total"] > out_before + 50


def test_restarted_belt_admits_waiting_part_when_entrance_clears():
    """After a restart, a waiting part enters as soon as the tail is one spacing from the entrance."""
    tw = twin.Twin(_belt_scene(0.2), seed=1, trace=True)
    tw.run(until=20.3)
    _, pos, _ = tw.engine.conveyor_parts()
    assert pos[-1] == pytest.approx(0.35)
    tw.engine.set_conveyor_speed("belt", 0.0)
    tw.run(until=80.0)
    tw.engine.set_conveyor_speed("belt", SPEED)
    tw.run(until=90.0)
    enter = events(tw, "enter", "belt")["t_s"]
    # the tail at 0.35 m clears the 0.7 m spacing at 80 + 0.35 / 0.5 s; then one part per 1.4 s
    np.testing.assert_allclose(enter[enter > 20.3][:3], [80.7, 82.1, 83.5], atol=1e-9)


def test_slower_belt_speed_changes_transit_time():
    """Changing the speed mid-transit: the part covers the rest of the belt at the new speed."""
    scene = _belt_scene(1.0, {"schedule": [{"at_s": 0.0, "count": 1}]})
    tw = twin.Twin(scene, seed=1, trace=True)
    tw.run(until=4.0)  # 2 m covered
    tw.engine.set_conveyor_speed("belt", 0.25)
    tw.run(until=50.0)
    leave = events(tw, "leave", "belt")["t_s"]
    assert leave.tolist() == pytest.approx([4.0 + 3.0 / 0.25], abs=1e-9)
