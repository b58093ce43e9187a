"""AGV transports and AS/RS storages in a line: exact trip and crane times, flow, faults, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from twin import Twin
from twin.errors import SceneError
from twin.physics.asrs import AxisLimits, axis_time, travel_time
from twin.scene import load_scene_text

AGV_V, AGV_A, HANDLING = 1.5, 0.5, 8.0

FLEET = f"""\
agv_fleets:
  - name: shuttle
    speed_mps: {AGV_V}
    accel_mps2: {AGV_A}
    handling_s: {HANDLING}
    nodes:
      - {{name: c0, xy_m: [0, 0]}}
      - {{name: c1, xy_m: [6, 0]}}
      - {{name: c2, xy_m: [12, 0]}}
      - {{name: pick, xy_m: [0, -2]}}
      - {{name: drop, xy_m: [12, -2]}}
      - {{name: park0, xy_m: [6, 2]}}
      - {{name: park1, xy_m: [0, 2]}}
    edges: [[c0, c1], [c1, c2], [pick, c0], [drop, c2], [park0, c1], [park1, c0]]
    parking: [park0]
"""


def transport_scene(interarrival: float = 600.0, extra_fleet: str = "", parking: str = "[park0]") -> str:
    return f"""\
version: 1
part_types: [{{name: tray}}]
sources: [{{name: src, to: press, interarrival: {interarrival}, max_parts: 20}}]
stations:
  - {{name: press, to: agv, process_time: 30}}
  - {{name: pack, to: out, process_time: 20}}
transports: [{{name: agv, to: pack, fleet: shuttle, pickup: pick, dropoff: drop, capacity: 2}}]
sinks: [{{name: out}}]
{FLEET.replace("parking: [park0]", "parking: " + parking)}{extra_fleet}"""


def _edge_time(a, b) -> float:
    return axis_time(math.dist(a, b), AxisLimits(AGV_V, AGV_A))


def test_an_isolated_part_takes_exactly_the_trip_time():
    """Empty line, one vehicle: drive park0->c1->c0->pick, load, pick->c0->c1->c2->drop, unload."""
    twin = Twin(load_scene_text(transport_scene()))
    twin.run(3000)
    tr = twin.trace()
    first = tr["part_id"] == 0
    times = dict(zip(tr["event"][first], tr["t_s"][first], strict=False))
    start = tr["t_s"][first & (tr["event"] == "enter") & (tr["element"] == "agv")][0]
    assert start == pytest.approx(times["created"] + 30.0)  # after the press
    xy = {"c0": (0, 0), "c1": (6, 0), "c2": (12, 0), "pick": (0, -2), "drop": (12, -2), "park0": (6, 2)}
    to_pick = sum(_edge_time(xy[a], xy[b]) for a, b in [("park0", "c1"), ("c1", "c0"), ("c0", "pick")])
    to_drop = sum(_edge_time(xy[a], xy[b]) for a, b in [("pick", "c0"), ("c0", "c1"), ("c1", "c2"), ("c2", "drop")])
    assert times["agv_loaded"] == pytest.approx(start + to_pick + HANDLING, abs=1e-9)
    assert times["agv_unloaded"] == pytest.approx(times["agv_loaded"] + to_drop + HANDLING, abs=1e-9)
    # the core sees the part leave the transport the moment it is unloaded, into the next station
    left = tr["t_s"][first & (tr["event"] == "leave") & (tr["element"] == "agv")][0]
    assert left == pytest.approx(times["agv_unloaded"], abs=1e-9)
    k = twin.kpis()
    assert k["throughput"]["total"] == 4  # parts released at 600, 1200, 1800, 2400 (and 3000: in the press)
    (fleet,) = k["agv_fleets"]
    assert fleet["orders"] == 4 and fleet["delivered"] == 4
    assert k["transports"][0]["mean_transit_s"] == pytest.approx(to_pick + to_drop + 2 * HANDLING)
    assert all(s["name"] != "agv" for s in k["stations"])  # a transport is not a station


def test_a_busy_transport_blocks_upstream_and_conserves_parts():
    """Parts every 40 s but a round trip of ~60 s: the transport is the bottleneck, nothing is lost."""
    twin = Twin(load_scene_text(transport_scene(interarrival=40.0).replace("max_parts: 20", "max_parts: 200")))
    twin.run(4 * 3600)
    k = twin.kpis()
    fleet = k["agv_fleets"][0]
    parts = twin.parts()
    assert int(np.sum(parts["final_state"] == "out")) == k["throughput"]["total"]
    # every part that left the transport was unloaded by the AGV first, in that order
    tr = twin.trace()
    unloaded = tr["part_id"][tr["event"] == "agv_unloaded"]
    left = tr["part_id"][(tr["event"] == "leave") & (tr["element"] == "agv")]
    assert list(unloaded[: len(left)]) == list(left)
    # with one vehicle, the throughput is bounded by its cycle: one delivery per round trip
    xy = {"c0": (0, 0), "c1": (6, 0), "c2": (12, 0), "pick": (0, -2), "drop": (12, -2)}
    loaded_leg = sum(_edge_time(xy[a], xy[b]) for a, b in [("pick", "c0"), ("c0", "c1"), ("c1", "c2"), ("c2", "drop")])
    assert k["throughput"]["per_hour"] <= 3600 / (loaded_leg + 2 * HANDLING) + 1
    assert fleet["delivered"] >= k["throughput"]["total"]


def test_two_vehicles_share_the_work_and_never_meet():
    twin = Twin(load_scene_text(transport_scene(interarrival=30.0, parking="[park0, park1]")
                                .replace("max_parts: 20", "max_parts: 100")))
    twin.run(2 * 3600)
    fleet = twin.logistics.fleets["shuttle"]
    users = {o.vehicle for o in fleet.orders if o.vehicle}
    assert users == {"shuttle/agv0", "shuttle/agv1"}
    closest = math.inf
    for t in np.arange(0.0, twin.time_s, 0.25):
        pos = list(fleet.positions(float(t)).values())
        closest = min(closest, math.dist(pos[0], pos[1]))
    assert closest >= 1.9


def test_agv_breakdowns_show_in_kpis_and_trace_and_repeat_exactly():
    extra = "    breakdowns: {mtbf_s: 900, mttr_s: 120}\n"
    text = transport_scene(interarrival=120.0, extra_fleet=extra).replace("max_parts: 20", "max_parts: 100")

    def run():
        twin = Twin(load_scene_text(text), seed=3)
        twin.run(3 * 3600)
        return twin.kpis(), twin.trace()

    k, tr = run()
    fleet = k["agv_fleets"][0]
    assert fleet["breakdowns"] >= 5
    events = list(tr["event"])
    assert events.count("agv_breakdown") == fleet["breakdowns"]
    assert events.count("agv_repaired") in (fleet["breakdowns"], fleet["breakdowns"] - 1)
    assert 0.0 < fleet["down_frac"] < 0.5
    k2, tr2 = run()
    assert k2 == k
    assert list(tr2["t_s"]) == list(tr["t_s"]) and list(tr2["event"]) == events


STORAGE = """\
version: 1
part_types: [{name: bin}]
sources: [{name: src, to: rack, interarrival: %s, max_parts: %d}]
storages:
  - name: rack
    to: out
    bays: 10
    levels: 4
    bay_width_m: 1.2
    level_height_m: 0.9
    crane: {speed_x_mps: 2.5, accel_x_mps2: 0.6, speed_z_mps: 0.8, accel_z_mps2: 0.5}
    handling_s: 4
    blocked_slots: %s
sinks: [{name: out}]
"""


def _cycle(slot, blocked=()) -> float:
    x = AxisLimits(2.5, 0.6)
    z = AxisLimits(0.8, 0.5)
    return 2 * travel_time((slot[0] + 0.5) * 1.2, (slot[1] + 0.5) * 0.9, x, z) + 2 * 4


def test_a_stored_part_comes_back_after_two_crane_cycles():
    """Store to the closest open slot, then retrieve: two analytical single-command cycles."""
    twin = Twin(load_scene_text(STORAGE % (1000, 3, "[[0, 0]]")))
    twin.run(3000)
    tr = twin.trace()
    for uid in range(2):  # released at 1000 and 2000 (the third, at 3000, just arrived)
        mine = tr["part_id"] == uid
        entered = tr["t_s"][mine & (tr["event"] == "enter") & (tr["element"] == "rack")][0]
        left = tr["t_s"][mine & (tr["event"] == "leave") & (tr["element"] == "rack")][0]
        slot = tr["detail"][mine & (tr["event"] == "stored")][0]
        assert slot == "(0, 1)"  # (0, 0) is blocked; (0, 1) is the next closest
        assert left - entered == pytest.approx(2 * _cycle((0, 1)), rel=1e-12)
    k = twin.kpis()
    (st,) = k["storages"]
    assert st["slots"] == 39 and st["stored"] == 2 and st["retrieved"] == 2 and st["in_rack"] == 1


def test_a_burst_fills_the_rack_in_closest_first_order_and_the_crane_works_fifo():
    twin = Twin(load_scene_text(STORAGE % (1, 12, "[]")))
    twin.run(4000)
    s = twin.logistics.storages[twin.engine.names.node_id("rack")]
    stored = [d for _, _, e, d in s.log if e == "stored"]
    expected = sorted(((b, lv) for b in range(10) for lv in range(4)), key=lambda sl: (_cycle(sl), sl))
    # the crane alternates store/retrieve requests in arrival order; slots are reused once freed
    assert stored[0].endswith(str(expected[0]))
    assert twin.kpis()["throughput"]["total"] == 12
    busy = sum(_cycle(tuple(int(v) for v in d.split(" in ")[1].strip("()").split(", "))) for d in stored)
    assert s.busy_s == pytest.approx(2 * busy)


PULL = STORAGE.replace("    to: out\n", "    to: slow\n    retrieval: %s\n").replace(
    "sinks: [{name: out}]", "stations: [{name: slow, to: out, process_time: 500}]\nsinks: [{name: out}]")


def _rack_times(twin):
    """Per part id: (time it left the rack, time the crane retrieved it, its slot)."""
    tr = twin.trace()
    s = twin.logistics.storages[twin.engine.names.node_id("rack")]
    out = {}
    for uid in sorted(set(tr["part_id"][tr["element"] == "rack"].tolist())):
        mine = (tr["part_id"] == uid) & (tr["element"] == "rack")
        left = tr["t_s"][mine & (tr["event"] == "leave")]
        got = [t for t, _, e, d in s.log if e == "retrieved" and d == str(uid)]
        slot = [d for _, _, e, d in s.log if e == "stored" and d.startswith(f"{uid} in ")]
        out[uid] = (left[0] if len(left) else None, got[0] if got else None,
                    tuple(int(v) for v in slot[0].split(" in ")[1].strip("()").split(", ")) if slot else None)
    return out


def test_on_demand_retrieval_fetches_a_part_only_when_the_line_has_taken_the_last_one():
    """A burst of 8 parts into the rack, a 500 s station after it: the crane fetches part k exactly
    when part k-1 has left the output point (the line pulls), never two parts ahead of the line."""
    twin = Twin(load_scene_text(PULL % (1, 8, "on_demand", "[]")))
    twin.run(6000)
    times = _rack_times(twin)
    assert [times[k][0] for k in range(8)] == pytest.approx([times[0][0] + 500 * k for k in range(8)], abs=1e-6)
    for k in range(1, 8):
        left_before, got, slot = times[k - 1][0], times[k][1], times[k][2]
        assert got == pytest.approx(left_before + _cycle(slot), abs=1e-9)  # called the instant it left
        assert times[k][0] >= got  # and left only after it was brought out
    s = twin.logistics.storages[twin.engine.names.node_id("rack")]
    assert s.retrieved == 8 and s.occupied() == 0
    # at no time was more than one part out of the rack and waiting for the line
    events = sorted([(g, 1) for _, g, _ in times.values()] + [(lt, -1) for lt, _, _ in times.values()])
    waiting = np.cumsum([d for _, d in events])
    assert waiting.max() == 1 and waiting[-1] == 0
    assert twin.kpis()["throughput"]["total"] == 8


def test_immediate_retrieval_brings_every_part_out_at_once():
    """The same burst without pulling: the crane retrieves each part as soon as it is stored, so
    parts pile up at the output point ahead of the slow station."""
    twin = Twin(load_scene_text(PULL % (1, 8, "immediate", "[]")))
    twin.run(1500)
    times = _rack_times(twin)
    retrieved = [g for _, g, _ in times.values() if g is not None]
    assert len(retrieved) == 8 and max(retrieved) < 1000  # all out long before the station took them
    assert sum(1 for lt, _, _ in times.values() if lt is not None) == 3  # at 1500 s the station took 3


def test_on_demand_storage_continues_identically_from_a_snapshot():
    twin = Twin(load_scene_text(PULL % (1, 8, "on_demand", "[]")), seed=3)
    twin.run(1700)
    snap = twin.get_state()
    twin.run(6000)
    first = twin.trace()
    twin.set_state(snap)
    twin.run(6000)
    again = twin.trace()
    assert list(again["t_s"]) == list(first["t_s"]) and list(again["event"]) == list(first["event"])


@pytest.mark.parametrize("old,new,message", [
    ("[pick, c0], [drop, c2]", "[pick, c0]", "the path graph is disconnected: \\['drop'\\]"),
    ("fleet: shuttle", "fleet: shutle", "no AGV fleet named 'shutle'. Did you mean 'shuttle'"),
    ("dropoff: drop", "dropoff: c1", "station node 'c1' must be a dead end"),
    ("dropoff: drop", "dropoff: dorp", "no node named 'dorp' in fleet 'shuttle'. Did you mean 'drop'"),
    ("[park0, c1]", "[park0, c9]", "no node named 'c9'"),
])
def test_bad_fleets_are_clear_errors(old, new, message):
    text = transport_scene()
    assert old in text
    with pytest.raises(SceneError, match=message) as err:
        load_scene_text(text.replace(old, new, 1), name="line.yaml")
    assert str(err.value).startswith("line.yaml:")


def test_a_rack_slot_that_does_not_exist_is_a_clear_error():
    with pytest.raises(SceneError, match=r"line\.yaml:13: storages\[0\]\.blocked_slots\[0\]: rack slot \(12, 1\) "
                                         r"does not exist: bays are 0\.\.9, levels 0\.\.3"):
        load_scene_text(STORAGE % (10, 5, "[[12, 1]]"), name="line.yaml")


def test_snapshot_round_trip_with_breakdowns():
    """get_state -> run -> set_state -> run again continues identically, fleets and cranes included."""
    text = transport_scene(interarrival=60.0, extra_fleet="    breakdowns: {mtbf_s: 600, mttr_s: 60}\n")
    tw = Twin(load_scene_text(text.replace("max_parts: 20", "max_parts: 500")), seed=5, warmup_s=0)
    tw.run(1800)
    snap = tw.get_state()
    tw.run(5400)
    first = (tw.kpis(), tw.trace())
    tw.set_state(snap)
    tw.run(5400)
    second = (tw.kpis(), tw.trace())
    assert first[0] == second[0]
    assert first[0]["agv_fleets"][0]["breakdowns"] > 3
    for key in first[1]:
        np.testing.assert_array_equal(first[1][key], second[1][key])


def test_logistics_kpis_cover_the_window_after_the_warm_up():
    """Fleet, transport and storage figures count what happened after the warm-up, like the line's:
    checked against the trace's events."""
    text = transport_scene(interarrival=60.0, extra_fleet="    breakdowns: {mtbf_s: 900, mttr_s: 120}\n")
    tw = Twin(load_scene_text(text.replace("max_parts: 20", "max_parts: 500")), seed=7, warmup_s=3600)
    tw.run(4 * 3600)
    k = tw.kpis()
    tr = tw.trace()
    after = tr["t_s"] >= 3600
    (fleet,) = k["agv_fleets"]
    (transport,) = k["transports"]
    assert transport["delivered"] == int(np.sum(after & (tr["event"] == "agv_unloaded")))
    assert fleet["delivered"] == transport["delivered"]
    assert fleet["breakdowns"] == int(np.sum(after & (tr["event"] == "agv_breakdown")))
    assert k["throughput"]["total"] <= transport["delivered"] + 1
    assert 0.0 <= fleet["down_frac"] < 0.5


def test_viewer_frames_carry_each_rack_crane_where_the_model_has_it():
    """A view frame (what the web viewer draws) holds every drawn rack's crane carriage, at the
    world point of the crane model's position; over a working hour it moves."""
    from pathlib import Path

    from twin.physics.rack_view import rack_point
    from twin.scene import load_scene
    from twin.viz.frame import view_frame

    scene = load_scene(Path(__file__).resolve().parents[2] / "scenes" / "machining_cell.yaml")
    tw = Twin(scene, seed=2, trace=False, warmup_s=0)
    seen = set()
    for k in range(1, 121):
        tw.run(until=30.0 * k)
        frame = view_frame(tw, with_kpis=False)
        assert set(frame.cranes) == {s.name for s in scene.storages if s.geometry is not None}
        for storage in scene.storages:
            system = tw.logistics.storages[tw.engine.names.node_id(storage.name)]
            assert frame.cranes[storage.name] == rack_point(storage, *system.carriage_xz(tw.time_s))
        seen.add(frame.cranes["store/raw"])
    assert len(seen) > 5  # the raw-material crane was caught at several places
