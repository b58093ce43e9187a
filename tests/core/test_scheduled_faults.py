"""Scheduled faults (``faults:``): belts stand and stations stop exactly in their windows, then recover."""

from __future__ import annotations

import numpy as np
import pytest

import twin

SCENE = """
version: 1
part_types: [{name: a}]
sources: [{name: src, to: belt, interarrival: 10}]
conveyors: [{name: belt, to: m, length_m: 2, speed_mps: 0.5, spacing_m: 0.3}]
stations: [{name: m, to: out, process_time: 5}]
sinks: [{name: out}]
faults:
  - {name: jam, kind: conveyor_stop, target: belt, at_s: 100, duration_s: 50, every_s: 400}
  - {name: pm, kind: station_down, target: m, at_s: 300, duration_s: 60}
"""


def _events(tr, event, element):
    keep = (tr["event"] == event) & (tr["element"] == element)
    return tr["t_s"][keep]


def test_belt_stands_in_its_windows_and_restarts():
    tw = twin.Twin(twin.load_scene_text(SCENE), seed=1)
    tw.run(until=1000)
    leaves = _events(tw.trace(), "leave", "belt")
    for start in (100, 500, 900):
        assert not np.any((leaves > start + 1e-9) & (leaves < start + 50 - 1e-9)), start
        assert np.any((leaves > start + 50) & (leaves < start + 100)), "the belt restarts after the stop"
    assert tw.engine.conveyor_speed("belt") == 0.5
    k = tw.kpis()["scheduled_faults"]
    assert k[0] == {"name": "jam", "kind": "conveyor_stop", "target": "belt", "occurrences": 3,
                    "active_s": 150.0, "effect": "belt stopped"}


def test_station_down_window_is_a_failure_mode():
    tw = twin.Twin(twin.load_scene_text(SCENE), seed=1)
    tw.run(until=1000)
    tr = tw.trace()
    ends = _events(tr, "process_end", "m")
    assert not np.any((ends > 300 + 1e-9) & (ends < 360 - 1e-9))
    fail = (tr["event"] == "failure") & (tr["element"] == "m")
    assert tr["t_s"][fail].tolist() == [300.0]
    assert tr["detail"][fail].tolist() == ["scheduled/pm"]
    repair = (tr["event"] == "repair") & (tr["element"] == "m")
    assert tr["t_s"][repair].tolist() == [360.0]
    st = next(s for s in tw.kpis()["stations"] if s["name"] == "m")
    assert st["down_frac"] == pytest.approx(60 / 1000, abs=1e-9)


def test_state_round_trip_during_a_stop():
    tw = twin.Twin(twin.load_scene_text(SCENE), seed=2)
    tw.run(until=120)  # inside the first belt stop
    snap = tw.get_state()
    tw.run(until=700)
    first = tw.kpis()
    tw.set_state(snap)
    tw.run(until=700)
    assert tw.kpis() == first


def test_robot_malfunction_needs_a_robot_and_target_is_checked():
    bad = SCENE.replace("kind: station_down, target: m", "kind: station_down, target: mm")
    with pytest.raises(twin.SceneError, match=r"faults\[1\]\.target.*no station named 'mm'.*Did you mean 'm'"):
        twin.load_scene_text(bad)
    bad = SCENE.replace("kind: station_down", "kind: robot_malfunction")
    with pytest.raises(twin.SceneError, match="no station with a robot_cell named 'm'"):
        twin.load_scene_text(bad)
    bad = SCENE.replace("duration_s: 50, every_s: 400", "duration_s: 50, every_s: 40")
    with pytest.raises(twin.SceneError, match="every_s"):
        twin.load_scene_text(bad)


def test_injected_faults_stop_and_recover():
    """Faults injected at run time (the viewer's fault button) stop a station or a belt now and
    recover after their duration; they survive a snapshot round trip."""
    tw = twin.Twin(twin.load_scene_text(SCENE.split("faults:")[0]), seed=1)
    tw.run(until=200)
    assert tw.inject_fault("station_down", "m", 100) == "station stopped"
    assert tw.inject_fault("conveyor_stop", "belt", 50) == "belt stopped"
    assert tw.engine.conveyor_speed("belt") == 0.0
    snap = tw.get_state()
    tw.run(until=600)
    first = tw.kpis()
    tr = tw.trace()
    m = tr["element"] == "m"
    assert tr["t_s"][m & (tr["event"] == "failure")].tolist() == [200.0]
    assert tr["t_s"][m & (tr["event"] == "repair")].tolist() == [300.0]
    assert tr["detail"][m & (tr["event"] == "failure")].tolist() == ["injected"]
    ends = _events(tr, "process_end", "m")
    assert not np.any((ends > 200 + 1e-9) & (ends < 300 - 1e-9)) and np.any(ends > 300)
    leaves = _events(tr, "leave", "belt")
    assert not np.any((leaves > 200 + 1e-9) & (leaves < 250 - 1e-9))
    assert tw.engine.conveyor_speed("belt") == 0.5
    tw.set_state(snap)
    tw.run(until=600)
    assert tw.kpis() == first
    with pytest.raises(twin.UsageError, match="no conveyor named 'm'"):
        tw.inject_fault("conveyor_stop", "m", 10)
    with pytest.raises(twin.UsageError, match="duration_s must be > 0"):
        tw.inject_fault("station_down", "m", 0)
