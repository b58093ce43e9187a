"""Deadlock detection: a closed set of full elements waiting on each other."""

from __future__ import annotations

import re

import pytest

import twin
from tests.core.lines import build, serial_line


def _rework_loop(false_reject: float, merge: dict | None = None):
    """src -> join -> m1 -> insp -> gate: pass -> out, fail -> rework (2) -> join."""
    return build(
        sources=[{"name": "src", "to": "join", "always_available": True}],
        merges=[{"name": "join", "to": "m1", **(merge or {"rule": "fifo"})}],
        stations=[{"name": "m1", "to": "insp", "process_time": 1.0},
                  {"name": "insp", "to": "gate", "process_time": 1.0,
                   "inspection": {"false_reject_prob": false_reject}}],
        diverters=[{"name": "gate", "rule": "by_inspection", "on_pass": "out", "on_fail": "rework"}],
        buffers=[{"name": "rework", "to": "join", "capacity": 2}],
    )


def test_rework_loop_that_fills_up_raises_deadlock_error():
    """A rework loop that fills up makes run() raise DeadlockError naming exactly its elements."""
    tw = twin.Twin(_rework_loop(1.0), seed=1)
    with pytest.raises(twin.DeadlockError, match=re.escape("insp, m1, rework")) as info:
        tw.run(until=100.0)
    assert info.value.blocked == ["insp", "m1", "rework"]
    assert tw.deadlocked() == ["insp", "m1", "rework"]
    # nothing moved after the loop closed: 4 parts inside, none out
    assert tw.engine.state.wip[0] == 4
    assert tw.kpis()["throughput"]["total"] == 0


def test_deadlock_check_can_be_skipped():
    """run(check_deadlock=False) returns normally; deadlocked() still reports the set."""
    tw = twin.Twin(_rework_loop(1.0), seed=1)
    tw.run(until=100.0, check_deadlock=False)
    assert tw.deadlocked() == ["insp", "m1", "rework"]


def test_rework_loop_that_drains_is_not_a_deadlock():
    """A rework loop served before new parts keeps flowing at 10% failures: no deadlock."""
    tw = twin.Twin(_rework_loop(0.1, {"rule": "priority", "inputs": ["rework", "src"]}), seed=1)
    tw.run(until=5_000.0)
    assert tw.deadlocked() == []
    assert tw.kpis()["throughput"]["total"] == pytest.approx(0.9 * 5_000, rel=0.03)


def test_fifo_merge_starves_rework_behind_an_endless_supply():
    """A FIFO merge never serves rework behind an endless supply, so the loop deadlocks."""
    # the source's next part waits from the moment m1 took the last one, the rework part only from
    # when inspection failed it (a cycle later), so the source always has waited longer
    tw = twin.Twin(_rework_loop(0.1), seed=1)
    with pytest.raises(twin.DeadlockError):
        tw.run(until=5_000.0)
    assert tw.engine.state.node_count[tw.engine.names.node_id("rework")] == 2


def test_blocked_line_behind_a_slow_station_is_not_a_deadlock():
    """Elements blocked behind a busy station are not a deadlock: the station will finish."""
    tw = twin.Twin(serial_line([1.0, 1e6], 3), seed=1)
    tw.run(until=1_000.0)
    assert tw.engine.state.node_count[tw.engine.names.node_id("b1")] == 3
    assert tw.deadlocked() == []


def test_a_deadlock_beside_a_running_line_is_dated_and_in_the_kpis():
    """A rework loop locks up while a second line beside it keeps producing: the error gives the
    time the loop closed (not the last move anywhere), and the KPIs list the deadlocked elements."""
    scene = build(
        sources=[{"name": "src", "to": "join", "always_available": True},
                 {"name": "src2", "to": "other", "interarrival": 30.0}],
        merges=[{"name": "join", "to": "m1", "rule": "fifo"}],
        stations=[{"name": "m1", "to": "insp", "process_time": 1.0},
                  {"name": "insp", "to": "gate", "process_time": 1.0, "inspection": {"false_reject_prob": 1.0}},
                  {"name": "other", "to": "out", "process_time": 10.0}],
        diverters=[{"name": "gate", "rule": "by_inspection", "on_pass": "out", "on_fail": "rework"}],
        buffers=[{"name": "rework", "to": "join", "capacity": 2}],
    )
    tw = twin.Twin(scene, seed=1)
    with pytest.raises(twin.DeadlockError) as info:
        tw.run(until=3600.0)
    when = float(re.search(r"deadlock at t=([0-9.]+)s", str(info.value)).group(1))
    assert when < 20.0  # the loop closed within seconds, though 'other' moved parts until the end
    k = tw.kpis()
    assert k["deadlock"] == ["insp", "m1", "rework"]
    assert k["throughput"]["total"] >= 100  # the other line kept producing
    tw2 = twin.Twin(serial_line([1.0]), seed=1)
    tw2.run(until=100.0)
    assert tw2.kpis()["deadlock"] == []
