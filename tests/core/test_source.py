"""Sources: lost arrivals, schedules, quotas, start times and calendars."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.core.lines import build, element, events, exp, run, serial_line


def test_drop_source_loses_arrivals_like_erlang_loss():
    """A drop source loses Erlang's B(1, rho) = rho / (1 + rho) of Poisson arrivals (3 SE)."""
    scene = serial_line([1.5], source={"interarrival": exp(1.0), "on_blocked": "drop"})
    tw = run(scene, 100_000.0, trace=True)
    src = element(tw.kpis(), "src")
    arrivals = src["released"] + src["dropped"]
    lost = src["dropped"] / arrivals
    rho = 1.5
    p = rho / (1 + rho)
    assert arrivals == pytest.approx(100_000, rel=0.02)
    assert abs(lost - p) < 3 * math.sqrt(p * (1 - p) / arrivals)
    assert events(tw, "dropped", "src")["t_s"].size == src["dropped"]
    assert events(tw, "created", "src")["t_s"].size == arrivals
    assert tw.kpis()["throughput"]["total"] == pytest.approx(src["released"], abs=1)


def test_waiting_source_loses_nothing():
    """A waiting source drops nothing; its next interarrival time starts at the release."""
    scene = serial_line([1.5], source={"interarrival": exp(1.0)})
    k = run(scene, 20_000.0).kpis()
    assert element(k, "src")["dropped"] == 0
    assert k["throughput"]["total"] == pytest.approx(20_000 / (1.5 + math.exp(-1.5)), rel=0.01)


def test_schedule_source_releases_exactly_the_scheduled_counts():
    """A schedule source releases exactly the scheduled counts, none before its time."""
    scene = serial_line([2.0], source={"schedule": [{"at_s": 100.0, "count": 3}, {"at_s": 10.0, "count": 5}]})
    tw = run(scene, 99.0, trace=True)
    assert element(tw.kpis(), "src")["released"] == 5
    tw.run(until=1_000.0)
    k = tw.kpis()
    assert element(k, "src")["released"] == 8
    assert k["throughput"]["total"] == 8
    enter = events(tw, "enter", "m1")["t_s"]
    np.testing.assert_array_equal(enter, [10.0, 12.0, 14.0, 16.0, 18.0, 100.0, 102.0, 104.0])
    # lead time runs from release into the line, not from the planned time: waiting in the source
    # (8 s for the 5th part) is not part of it
    assert k["lead_time_s"]["max"] == pytest.approx(2.0)


def test_schedule_part_types():
    """Scheduled releases carry their part types in order."""
    scene = build(
        part_types=("a", "b"),
        sources=[{"name": "src", "to": "m1", "schedule": [
            {"at_s": 0.0, "count": 2, "part_type": "b"}, {"at_s": 5.0, "count": 1, "part_type": "a"}]}],
        stations=[{"name": "m1", "to": "out", "process_time": 1.0}],
    )
    tw = run(scene, 50.0, trace=True)
    assert events(tw, "exit", "out")["part_type"].tolist() == ["b", "b", "a"]
    assert tw.kpis()["throughput"]["per_part_type"] == {"a": 1, "b": 2}


@pytest.mark.parametrize("mode", [{"always_available": True}, {"interarrival": exp(0.5)}])
def test_max_parts_stops_the_source(mode):
    """A source with max_parts 17 releases exactly 17 parts, then the line runs dry."""
    scene = serial_line([1.0], source={**mode, "max_parts": 17})
    k = run(scene, 500.0).kpis()
    assert element(k, "src")["released"] == 17
    assert k["throughput"]["total"] == 17
    assert k["wip_avg"] * 500.0 == pytest.approx(sum(k["lead_time_s"]["mean"] for _ in range(17)))


def test_start_s_delays_the_first_release():
    """An always-available source with start_s 30 releases its first part at 30 s."""
    scene = serial_line([1.0], source={"always_available": True, "start_s": 30.0})
    tw = run(scene, 40.0, trace=True)
    assert events(tw, "enter", "m1")["t_s"][0] == 30.0
    assert tw.kpis()["throughput"]["total"] == 10


def test_source_calendar_stops_arrivals_off_shift():
    """A source on a calendar working 00:00-00:30 of each hour releases nothing in the other half."""
    scene = build(
        sources=[{"name": "src", "to": "m1", "interarrival": 10.0, "calendar": "half"}],
        stations=[{"name": "m1", "to": "out", "process_time": 1.0}],
        calendars=[{"name": "half", "period_h": 1.0, "shifts": [{"start": "00:00", "end": "00:30"}]}],
    )
    tw = run(scene, 4 * 3600.0, trace=True)
    released = events(tw, "enter", "m1")["t_s"]
    assert released.size > 4 * 150
    assert np.all(np.mod(released, 3600.0) <= 1800.0)


def test_drop_source_loses_every_arrival_off_shift():
    """A drop source on a calendar loses exactly the arrivals that fall off shift (the station
    never blocks here: every arrival on shift enters at once)."""
    scene = build(
        sources=[{"name": "src", "to": "m1", "interarrival": 7.0, "on_blocked": "drop", "calendar": "half"}],
        stations=[{"name": "m1", "to": "out", "process_time": 1.0}],
        calendars=[{"name": "half", "period_h": 1.0, "shifts": [{"start": "00:00", "end": "00:30"}]}],
    )
    tw = run(scene, 4 * 3600.0, trace=True)
    arrivals = 7.0 * np.arange(1, int(4 * 3600 // 7) + 1)
    on_shift = np.mod(arrivals, 3600.0) < 1800.0
    src = element(tw.kpis(), "src")
    assert src["released"] == np.count_nonzero(on_shift)
    assert src["dropped"] == np.count_nonzero(~on_shift)
    np.testing.assert_allclose(events(tw, "dropped", "src")["t_s"], arrivals[~on_shift])
