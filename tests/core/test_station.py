"""Station rules: parallel servers, setups, scrap, shift calendars and time accounting."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.core.lines import build, busy_line, events, run, serial_line, station


@pytest.mark.parametrize("capacity", [1, 2])
def test_capacity_two_doubles_deterministic_bottleneck(capacity):
    """A bottleneck with process time 4 delivers window / 4 parts per server: capacity 2 doubles it."""
    window = 2_000.0
    scene = build(
        sources=[{"name": "src", "to": "m1", "always_available": True}],
        stations=[{"name": "m1", "to": "b1", "process_time": 1.0},
                  {"name": "m2", "to": "m3", "process_time": 4.0, "capacity": capacity},
                  {"name": "m3", "to": "out", "process_time": 1.5}],
        buffers=[{"name": "b1", "to": "m2", "capacity": 3}],
    )
    k = run(scene, 100.0 + window, warmup_s=100.0).kpis()
    assert abs(k["throughput"]["total"] - capacity * window / 4.0) <= 1
    assert station(k, "m2")["busy_frac"] == pytest.approx(1.0, abs=1e-9)
    assert k["bottleneck"] == "m2"


def test_setup_only_on_part_type_change():
    """A server sets up exactly when the part type differs from its previous part's."""
    scene = build(
        part_types=("a", "b"),
        sources=[{"name": "src", "to": "m1", "always_available": True, "part_mix": {"a": 3, "b": 1}}],
        stations=[{"name": "m1", "to": "out", "process_time": 1.0, "setup_time": 3.0}],
    )
    tw = run(scene, 5_000.0, trace=True)
    starts = events(tw, "process_start", "m1")
    types = starts["part_type"]
    changes = int(np.count_nonzero(types[1:] != types[:-1]))
    setups = events(tw, "setup_start", "m1")
    assert 300 < changes < types.size / 2
    assert setups["part_id"].size == changes
    # the parts that were set up for are exactly those whose type differs from their predecessor
    changed_ids = starts["part_id"][1:][types[1:] != types[:-1]]
    np.testing.assert_array_equal(setups["part_id"], changed_ids)
    row = station(tw.kpis(), "m1")
    assert row["setup_frac"] * 5_000.0 == pytest.approx(3.0 * changes, abs=3.0)


def test_schedule_sequence_setups():
    """A planned sequence a, a, a, b, b, a needs exactly 2 changeovers, each adding the setup time."""
    scene = build(
        part_types=("a", "b"),
        sources=[{"name": "src", "to": "m1", "schedule": [
            {"at_s": 0.0, "count": 3, "part_type": "a"}, {"at_s": 0.0, "count": 2, "part_type": "b"},
            {"at_s": 0.0, "count": 1, "part_type": "a"}]}],
        stations=[{"name": "m1", "to": "out", "process_time": 1.0, "setup_time": 3.0}],
    )
    tw = run(scene, 100.0, trace=True)
    assert events(tw, "setup_start", "m1")["t_s"].tolist() == [3.0, 8.0]
    assert events(tw, "exit", "out")["t_s"].tolist() == [1.0, 2.0, 3.0, 7.0, 8.0, 12.0]


def test_scrap_fraction_matches_scrap_prob():
    """A station scraps a scrap_prob fraction of its parts (3 SE), and none reaches the sink."""
    scene = serial_line([1.0])
    data = scene.model_dump(exclude_none=True)
    data["stations"][0]["scrap_prob"] = 0.1
    tw = run(type(scene).model_validate(data), 50_000.0, trace=True)
    k = tw.kpis()
    row = station(k, "m1")
    processed, scrapped = row["processed"], k["scrapped"]
    se = math.sqrt(0.1 * 0.9 / processed)
    assert processed == 50_000
    assert abs(scrapped / processed - 0.1) < 3 * se
    assert scrapped + k["throughput"]["total"] == processed
    assert events(tw, "scrapped", "m1")["t_s"].size == scrapped
    scrapped_ids = set(events(tw, "scrapped")["part_id"].tolist())
    assert scrapped_ids.isdisjoint(events(tw, "exit")["part_id"].tolist())
    assert k["scrap_rate"] == pytest.approx(scrapped / processed)


def test_calendar_break_pauses_station():
    """A break pauses the station: off shift 1/6, no processing in it, the part resumes after."""
    scene = build(
        sources=[{"name": "src", "to": "m1", "always_available": True}],
        stations=[{"name": "m1", "to": "out", "process_time": 7.0, "calendar": "shift"}],
        calendars=[{"name": "shift", "period_h": 1.0, "shifts": [{"start": "00:00", "end": "01:00"}],
                    "breaks": [{"start": "00:30", "end": "00:40"}]}],
    )
    hours = 10
    tw = run(scene, hours * 3600.0, trace=True)
    row = station(tw.kpis(), "m1")
    assert row["off_shift_frac"] == pytest.approx(1 / 6, rel=1e-9)
    assert row["busy_frac"] == pytest.approx(5 / 6, abs=1e-3)
    assert abs(tw.kpis()["throughput"]["total"] - hours * 3000.0 / 7.0) <= 1
    start = events(tw, "process_start", "m1")["t_s"]
    end = events(tw, "process_end", "m1")["t_s"]
    for t in (start, end):
        in_period = np.mod(t, 3600.0)
        assert not np.any((in_period > 1800.0 + 1e-9) & (in_period < 2400.0 - 1e-9))
    n = end.size
    overlap = np.clip(np.minimum(end, 2400.0 + 3600.0 * np.floor(start[:n] / 3600.0))
                      - np.maximum(start[:n], 1800.0 + 3600.0 * np.floor(start[:n] / 3600.0)), 0.0, None)
    assert np.count_nonzero(overlap) >= hours - 1  # a part straddles (almost) every break
    np.testing.assert_allclose(end - start[:n] - overlap, 7.0, atol=1e-6)


@pytest.mark.parametrize("shifts,off_hours", [
    ([{"start": "06:00", "end": "14:00"}, {"start": "22:00", "end": "06:00"}], 8.5),  # night shift wraps
    ([{"start": "06:00", "end": "14:00"}], 16.5),  # off shift at t = 0
    ([{"start": "00:00", "end": "24:00"}], 0.5),
])
def test_daily_calendar_off_shift_fraction(shifts, off_hours):
    """A 24 h calendar (night shift wrapping midnight, a break) gives the exact off-shift fraction."""
    scene = build(
        sources=[{"name": "src", "to": "m1", "always_available": True}],
        stations=[{"name": "m1", "to": "out", "process_time": 7.0, "calendar": "c"}],
        calendars=[{"name": "c", "shifts": shifts, "breaks": [{"start": "12:00", "end": "12:30"}]}],
    )
    k = run(scene, 3 * 86_400.0).kpis()
    assert station(k, "m1")["off_shift_frac"] == pytest.approx(off_hours / 24, rel=1e-9)
    assert abs(k["throughput"]["total"] - 3 * (24 - off_hours) * 3600 / 7.0) <= 1


def test_station_with_failures_resumes_interrupted_part():
    """Preempt-resume: failures do not add processing time (busy time = 2 s x parts)."""
    scene = serial_line([2.0], failures=[{"mtbf_s": 15.0, "mttr_s": 3.0}])
    tw = run(scene, 5_000.0, trace=True)
    k = tw.kpis()
    row = station(k, "m1")
    assert row["failures"] > 100
    assert row["busy_frac"] * 5_000.0 == pytest.approx(2.0 * row["processed"], abs=2.0)
    assert row["busy_frac"] + row["down_frac"] == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize(("ttf", "failures_at"), [
    (13.0, [23.0, 42.0, 61.0]),  # each falls due in a setup, armed when the setup starts
    (16.0, [26.0, 48.0, 70.0]),  # each falls due in a process, armed when its setup ends
])
def test_operating_failure_falls_due_in_the_right_phase(ttf, failures_at):
    """Operation-dependent failures of a starved station with setups, worked out by hand.

    Parts of alternating types arrive every 20 s; each after the first sets up for 4 s, then
    processes for 10 s; failures come after ``ttf`` s of operation (setup or process) and take 3 s.
    With ``ttf`` 13: operation reaches 13 s 3 s into the second part's setup (t = 23); after the
    repair, 1 s of setup and the process take operation to 24 s by t = 37; the third part's setup
    starts at t = 40 and operation reaches 26 s at t = 42; the fourth's at t = 60 reaches 39 s at 61.
    With ``ttf`` 16, the same reasoning puts every failure inside a process instead.
    """
    releases = [{"at_s": 20.0 * i, "part_type": "ab"[i % 2]} for i in range(6)]
    failure = {"time_to_failure": {"dist": "constant", "value": ttf},
               "time_to_repair": {"dist": "constant", "value": 3.0}}
    scene = build(
        part_types=("a", "b"),
        sources=[{"name": "src", "to": "m1", "schedule": releases}],
        stations=[{"name": "m1", "to": "out", "process_time": 10.0, "setup_time": 4.0,
                   "failures": [failure]}],
    )
    tw = run(scene, 75.0, trace=True)
    np.testing.assert_allclose(events(tw, "failure", "m1")["t_s"], failures_at)
    np.testing.assert_allclose(events(tw, "repair", "m1")["t_s"], [t + 3.0 for t in failures_at])


@pytest.mark.parametrize("calendar", [False, True])
def test_time_fractions_of_every_station_sum_to_one(calendar):
    """Idle, busy, setup, blocked, down and off-shift fractions of every station sum to 1."""
    tw = run(busy_line(calendar), 20_000.0, seed=8, warmup_s=500.0)
    rows = tw.kpis()["stations"]
    assert len(rows) == 4
    states = ("idle", "busy", "setup", "blocked", "down", "off_shift")
    for row in rows:
        fracs = [row[f"{s}_frac"] for s in states]
        assert all(f >= 0.0 for f in fracs)
        assert math.fsum(fracs) == pytest.approx(1.0, abs=1e-9), row["name"]
    m1 = station(tw.kpis(), "m1")
    assert m1["setup_frac"] > 0 and m1["down_frac"] > 0 and m1["blocked_frac"] > 0
    assert (m1["off_shift_frac"] > 0) == calendar
