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


def test_the_line_model_crane_moves_out_handles_and_comes_back_in_one_cycle():
    """StorageSystem.carriage_xz: a storage job handles the load at the I/O point, travels to the
    slot (both axes at once, trapezoidal), handles it there and travels back, all within the
    single-command cycle the line is timed with; a retrieval travels out first."""
    from twin.physics.asrs import StorageSystem, axis_fraction, single_command_cycle_s

    x, z = AxisLimits(2.0, 0.8), AxisLimits(0.8, 0.6)
    rack = Rack(10, 4, 0.8, 0.6)
    system = StorageSystem("crane", rack, x, z, handling_s=4.0)
    system.request_store("a", 0.0)
    slot = system.where["a"]
    assert slot == (0, 0)
    sx, sz = rack.slot_xz(slot)
    travel = travel_time(sx, sz, x, z)
    cycle = single_command_cycle_s(rack, slot, x, z, 4.0)
    assert cycle == pytest.approx(2 * travel + 8.0)
    assert system.carriage_xz(2.0) == (0.0, 0.0)  # handling at the I/O point
    half = 4.0 + 0.5 * travel
    assert system.carriage_xz(half) == pytest.approx((sx * axis_fraction(0.5 * travel, sx, x),
                                                      sz * axis_fraction(0.5 * travel, sz, z)))
    assert system.carriage_xz(4.0 + travel + 1.0) == pytest.approx((sx, sz))  # handling at the slot
    assert system.carriage_xz(cycle - 1e-9) == pytest.approx((0.0, 0.0), abs=1e-6)
    system.run(cycle)  # stored; its retrieval starts at once (immediate)
    assert system.carriage_xz(cycle + 1.0) != (0.0, 0.0)  # already on its way out
    assert system.carriage_xz(cycle + travel + 1.0) == pytest.approx((sx, sz))
    assert system.carriage_xz(2 * cycle + 10.0) == (0.0, 0.0)


def test_a_storage_in_the_3d_world_shows_its_rack_crane_and_loads():
    """A scene's AS/RS with a geometry: the rack frame, the crane carriage where the model's crane
    is, and a box in every occupied slot, resting on its shelf."""
    import twin
    from twin.physics.rack_view import rack_point

    scene = twin.load_scene_text("""
version: 1
part_types: [{name: p}]
sources: [{name: src, to: store, interarrival: 5}]
storages:
  - {name: store, to: out, bays: 6, levels: 3, bay_width_m: 0.8, level_height_m: 0.6, handling_s: 2,
     retrieval: on_demand, geometry: {xyz_m: [2.0, 3.0, 0.9], size_m: [4.8, 1.0, 1.8], yaw_deg: 90}}
stations: [{name: out_m, to: out, process_time: 1000}]
sinks: [{name: out}]
""".replace("to: out, bays", "to: out_m, bays"))
    tw = twin.Twin(scene, seed=1, physics=True)
    with tw:
        for _ in range(6000):  # 60 s: stock builds up behind the slow station
            tw.step()
            system = next(iter(tw.logistics.storages.values()))
            x, z = system.carriage_xz(tw.time_s)
            crane = tw.world.state("store/crane").xyz_m
            assert crane == pytest.approx(rack_point(scene.storages[0], x, z), abs=1e-9)
        held = [(b, lv) for b in range(6) for lv in range(3) if system.rack.content[b][lv] is not None]
        assert len(held) >= 3
        loads = sorted(n for n in tw.world.names() if n.startswith("store/load/"))
        assert loads == sorted(f"store/load/{b}_{lv}" for b, lv in held)
        b, lv = held[0]
        sx, sz = system.rack.slot_xz((b, lv))
        got = tw.world.state(f"store/load/{b}_{lv}").xyz_m
        # the rack's aisle runs along the geometry's x axis, turned 90 degrees: along world +y
        assert got[0] == pytest.approx(2.0, abs=1e-6)
        assert got[1] == pytest.approx(3.0 - 2.4 + sx, abs=1e-6)
        assert got[2] < 0.9 - 0.9 + sz  # below the slot centre: it rests on the shelf
