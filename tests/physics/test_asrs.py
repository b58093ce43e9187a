"""AS/RS: crane cycle times played in physics match the analytical travel-time formula."""

from __future__ import annotations

import math

import pytest

from twin.errors import SimulationError, UsageError
from twin.physics import World
from twin.physics.asrs import ASRS, AxisLimits, Rack, axis_time, travel_time

X = AxisLimits(v_max=3.0, a_max=1.0)
Z = AxisLimits(v_max=0.8, a_max=0.5)


def test_axis_time_closed_form():
    """Trapezoid above v²/a, triangle below, zero for no move; simultaneous axes take the max."""
    assert axis_time(0.0, X) == 0.0
    assert axis_time(20.0, X) == pytest.approx(20 / 3 + 3)          # cruise reached (v²/a = 9 m)
    assert axis_time(4.0, X) == pytest.approx(2 * math.sqrt(4.0))   # triangle
    assert axis_time(9.0, X) == pytest.approx(6.0)                  # boundary: both formulas agree
    assert travel_time(20.0, 1.0, X, Z) == pytest.approx(axis_time(20.0, X))
    assert travel_time(1.0, 6.0, X, Z) == pytest.approx(axis_time(6.0, Z))


@pytest.mark.parametrize("slot", [(0, 0), (3, 7), (19, 0), (19, 9), (8, 4)])
def test_cycle_time_matches_formula_within_1_percent(slot):
    """A single-command cycle driven step by step in physics takes the analytical time (±1%)."""
    with World() as w:
        asrs = ASRS(w, "store", Rack(20, 10, 1.2, 0.9, io_xz_m=(0.0, 0.5)), X, Z, handling_s=3.0)
        got_slot, cycle = asrs.store("pallet-1", slot)
        assert got_slot == slot
        assert cycle == pytest.approx(asrs.expected_cycle_s(slot), rel=0.01)
        # the carriage really went there and came back
        assert w.state("store/crane").xyz_m == pytest.approx((0.0, 0.0, 0.5), abs=1e-9)


def test_carriage_reaches_the_slot():
    """A move puts the carriage exactly at the slot centre."""
    with World() as w:
        rack = Rack(5, 4, 1.0, 1.0)
        asrs = ASRS(w, "s", rack, X, Z)
        asrs.crane.move_to(rack.slot_xz((4, 3)))
        assert w.state("s/crane").xyz_m == pytest.approx((4.5, 0.0, 3.5), abs=1e-9)


def test_closest_open_policy_fills_nearest_slots_first():
    """closest_open fills slots in order of travel time; random is reproducible with a seed."""
    with World() as w:
        asrs = ASRS(w, "s", Rack(6, 4, 1.2, 0.9), X, Z, handling_s=0.0)
        times = [asrs.expected_cycle_s(asrs.store(f"l{i}")[0]) for i in range(12)]
        assert times == sorted(times)
    slots = []
    for _ in range(2):
        with World() as w:
            asrs = ASRS(w, "s", Rack(6, 4, 1.2, 0.9), X, Z, policy="random", seed=3)
            slots.append([asrs.store(f"l{i}")[0] for i in range(8)])
    assert slots[0] == slots[1]


def test_bad_requests_are_clear_errors():
    """Missing slots, full slots, unknown loads, a full rack and bad policies are named."""
    with World() as w:
        asrs = ASRS(w, "s", Rack(2, 2, 1.0, 1.0), X, Z)
        with pytest.raises(SimulationError, match=r"rack has no slot \(5, 0\): bays are 0\.\.1, levels 0\.\.1"):
            asrs.store("a", (5, 0))
        asrs.store("a", (0, 0))
        with pytest.raises(SimulationError, match=r"slot \(0, 0\) already holds 'a'"):
            asrs.store("b", (0, 0))
        with pytest.raises(SimulationError, match="no load 'zz'"):
            asrs.retrieve("zz")
        for name in "bcd":
            asrs.store(name)
        with pytest.raises(SimulationError, match="rack is full"):
            asrs.store("e")
        assert asrs.retrieve("a")[0] == (0, 0)
        with pytest.raises(UsageError, match="storage policy"):
            ASRS(w, "t", Rack(2, 2, 1.0, 1.0), X, Z, policy="fifo")
