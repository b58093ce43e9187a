"""Diverters and merges: inspection reject routes, part-type routes, round robin, shortest queue,
merge priority and FIFO."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.core.lines import build, element, events, exp, run


def test_inspection_diverter_sends_failed_parts_to_reject_sink():
    """Failed inspections go to the reject sink: rejects ~ defect rate x detect prob (3 SE)."""
    scene = build(
        sources=[{"name": "src", "to": "m1", "always_available": True}],
        stations=[{"name": "m1", "to": "insp", "process_time": 1.0, "defect_prob": 0.2},
                  {"name": "insp", "to": "gate", "process_time": 0.5, "inspection": {"detect_prob": 0.9}}],
        diverters=[{"name": "gate", "rule": "by_inspection", "on_pass": "good", "on_fail": "scrap_bin"}],
        sinks=[{"name": "good"}, {"name": "scrap_bin", "reject": True}],
    )
    tw = run(scene, 40_000.0, trace=True)
    k = tw.kpis()
    n = k["throughput"]["total"] + k["rejected"]
    assert n > 39_000
    for observed, p in ((k["rejected"], 0.2 * 0.9), (k["escaped_defects"], 0.2 * 0.1)):
        assert abs(observed / n - p) < 3 * math.sqrt(p * (1 - p) / n)
    # every part that failed inspection, and only those, ends in the reject sink
    failed = set(events(tw, "inspect_fail", "insp")["part_id"].tolist())
    assert set(events(tw, "exit", "scrap_bin")["part_id"].tolist()) == failed
    assert failed.isdisjoint(events(tw, "exit", "good")["part_id"].tolist())
    assert k["good"] == k["throughput"]["total"] - k["escaped_defects"]


def test_false_rejects_of_good_parts():
    """With no defects, inspection fails good parts at false_reject_prob (5%, within 3 SE)."""
    scene = build(
        sources=[{"name": "src", "to": "insp", "always_available": True}],
        stations=[{"name": "insp", "to": "gate", "process_time": 1.0,
                   "inspection": {"detect_prob": 1.0, "false_reject_prob": 0.05}}],
        diverters=[{"name": "gate", "rule": "by_inspection", "on_pass": "good", "on_fail": "bin"}],
        sinks=[{"name": "good"}, {"name": "bin", "reject": True}],
    )
    k = run(scene, 20_000.0).kpis()
    n = k["throughput"]["total"] + k["rejected"]
    assert abs(k["rejected"] / n - 0.05) < 3 * math.sqrt(0.05 * 0.95 / n)


def test_by_part_type_routes_each_type_to_its_output():
    """A by_part_type diverter sends each part to its type's output, the rest to the default."""
    scene = build(
        part_types=("a", "b", "c"),
        sources=[{"name": "src", "to": "m1", "always_available": True, "part_mix": {"a": 3, "b": 0.5, "c": 0.5}}],
        stations=[{"name": "m1", "to": "sort", "process_time": 1.0}],
        diverters=[{"name": "sort", "rule": "by_part_type", "routes": {"a": "out_a"}, "default": "out_rest"}],
        sinks=[{"name": "out_a"}, {"name": "out_rest"}],
    )
    tw = run(scene, 4_000.0, trace=True)
    exits = events(tw, "exit")
    is_a = exits["part_type"] == "a"
    assert exits["t_s"].size >= 3_999
    assert np.all(exits["element"][is_a] == "out_a")
    assert np.all(exits["element"][~is_a] == "out_rest")
    assert set(exits["part_type"][~is_a].tolist()) == {"b", "c"}
    assert abs(is_a.mean() - 0.75) < 3 * math.sqrt(0.75 * 0.25 / is_a.size)


def test_round_robin_alternates_outputs():
    """A round-robin diverter whose outputs can always accept sends parts alternately to each."""
    scene = build(
        sources=[{"name": "src", "to": "m1", "always_available": True}],
        stations=[{"name": "m1", "to": "rr", "process_time": exp(1.0)},
                  {"name": "ma", "to": "out", "process_time": 0.1},
                  {"name": "mb", "to": "out", "process_time": 0.1},
                  {"name": "mc", "to": "out", "process_time": 0.1}],
        diverters=[{"name": "rr", "rule": "round_robin", "outputs": ["ma", "mb", "mc"]}],
    )
    tw = run(scene, 3_000.0, trace=True)
    starts = events(tw, "process_start")
    order = starts["element"][starts["element"] != "m1"]
    assert order.size > 2_500
    expected = np.array(["ma", "mb", "mc"] * (order.size // 3 + 1))[: order.size]
    np.testing.assert_array_equal(order, expected)


def test_round_robin_skips_an_output_that_cannot_accept():
    """Round robin skips a busy output, so no part waits while another output is free."""
    scene = build(
        sources=[{"name": "src", "to": "m1", "always_available": True}],
        stations=[{"name": "m1", "to": "rr", "process_time": 1.0},
                  {"name": "fast", "to": "out", "process_time": 0.5},
                  {"name": "slow", "to": "out", "process_time": 3.5}],
        diverters=[{"name": "rr", "rule": "round_robin", "outputs": ["slow", "fast"]}],
    )
    k = run(scene, 7_000.0, warmup_s=0.0).kpis()
    rows = {r["name"]: r for r in k["stations"]}
    assert rows["m1"]["blocked_frac"] == 0.0
    # slow takes a part only every 4 s (the first one free after 3.5 s); fast takes the other 3
    assert rows["slow"]["processed"] == pytest.approx(7_000 / 4, abs=2)
    assert rows["fast"]["processed"] == pytest.approx(3 * 7_000 / 4, abs=2)


def test_shortest_queue_chooses_the_least_loaded_output():
    """Every shortest-queue choice goes to the buffer holding fewest parts (ties to the first)."""
    scene = build(
        sources=[{"name": "src", "to": "m1", "always_available": True}],
        stations=[{"name": "m1", "to": "sq", "process_time": exp(0.4)},
                  {"name": "ma", "to": "out", "process_time": exp(0.5)},
                  {"name": "mb", "to": "out", "process_time": exp(1.5)}],
        buffers=[{"name": "qa", "to": "ma", "capacity": 50}, {"name": "qb", "to": "mb", "capacity": 50}],
        diverters=[{"name": "sq", "rule": "shortest_queue", "outputs": ["qa", "qb"]}],
    )
    tw = run(scene, 5_000.0, trace=True)
    tr = tw.trace()
    count = {"qa": 0, "qb": 0}
    routed = {"qa": 0, "qb": 0}
    for ev, el in zip(tr["event"], tr["element"], strict=True):
        if el not in count:
            continue
        if ev == "enter":
            other = "qb" if el == "qa" else "qa"
            assert count[el] < count[other] or (count[el] == count[other] and el == "qa")
            count[el] += 1
            routed[el] += 1
        elif ev == "leave":
            count[el] -= 1
    assert element(tw.kpis(), "qa")["max_parts"] > 3  # queues did build up
    assert routed["qa"] / routed["qb"] == pytest.approx(3.0, rel=0.1)


@pytest.mark.parametrize("rule", ["priority", "fifo"])
def test_merge_priority_and_fifo(rule):
    """A priority merge serves only its first waiting input; a FIFO merge alternates two inputs."""
    scene = build(
        part_types=("a", "b"),
        sources=[{"name": "sa", "to": "fa", "always_available": True, "part_type": "a"},
                 {"name": "sb", "to": "fb", "always_available": True, "part_type": "b"}],
        stations=[{"name": "fa", "to": "join", "process_time": 0.5},
                  {"name": "fb", "to": "join", "process_time": 0.5},
                  {"name": "m", "to": "out", "process_time": 1.0}],
        merges=[{"name": "join", "to": "m", "rule": rule, "inputs": ["fa", "fb"]}],
    )
    tw = run(scene, 1_000.5, trace=True)
    types = events(tw, "process_start", "m")["part_type"]
    assert types.size == 1_001  # starts at 0.5, 1.5, ..., 1000.5
    if rule == "priority":
        assert np.all(types == "a")
    else:
        assert np.all(types[0::2] == "a") and np.all(types[1::2] == "b")


def test_fifo_merge_alternates_between_endless_sources():
    """A FIFO merge alternates two endless sources: the one just served waits again from now."""
    scene = build(
        part_types=("a", "b"),
        sources=[{"name": "sa", "to": "join", "always_available": True, "part_type": "a"},
                 {"name": "sb", "to": "join", "always_available": True, "part_type": "b"}],
        merges=[{"name": "join", "to": "m", "rule": "fifo"}],
        stations=[{"name": "m", "to": "out", "process_time": 1.0}],
    )
    tw = run(scene, 100.5, trace=True)
    types = events(tw, "process_start", "m")["part_type"]
    assert types.size == 101
    # both wait from t = 0 for the second slot (a tie, so the first input goes): a, a, b, a, b, ...
    assert types[0] == "a"
    assert np.all(types[1::2] == "a") and np.all(types[2::2] == "b")


def test_fifo_merge_serves_buffers_by_waiting_time():
    """A FIFO merge shares its output equally between two buffers that are never empty."""
    scene = build(
        part_types=("a", "b"),
        sources=[{"name": "sa", "to": "ba", "always_available": True, "part_type": "a"},
                 {"name": "sb", "to": "bb", "always_available": True, "part_type": "b"}],
        stations=[{"name": "fa", "to": "qa", "process_time": 0.2},
                  {"name": "fb", "to": "qb", "process_time": 0.3},
                  {"name": "m", "to": "out", "process_time": 1.0}],
        buffers=[{"name": "ba", "to": "fa", "capacity": 1}, {"name": "bb", "to": "fb", "capacity": 1},
                 {"name": "qa", "to": "join", "capacity": 5}, {"name": "qb", "to": "join", "capacity": 5}],
        merges=[{"name": "join", "to": "m", "rule": "fifo"}],
    )
    k = run(scene, 1_000.0, warmup_s=100.0).kpis()
    per_type = k["throughput"]["per_part_type"]
    assert per_type["a"] + per_type["b"] == 900
    assert abs(per_type["a"] - per_type["b"]) <= 1


@pytest.mark.parametrize("rule", ["round_robin", "shortest_queue"])
def test_trace_names_every_routing_point_a_part_crosses(rule):
    """Each part enters and leaves each merge and diverter on its way, at the instant it moves on,
    between leaving the element before and entering the one after, and the diverter's record
    agrees with the branch the part took."""
    scene = build(
        part_types=("a", "b"),
        sources=[{"name": "sa", "to": "join", "interarrival": exp(2.0), "part_mix": {"a": 1}},
                 {"name": "sb", "to": "join", "interarrival": exp(2.0), "part_mix": {"b": 1}}],
        merges=[{"name": "join", "to": "split", "rule": "fifo"}],
        diverters=[{"name": "split", "rule": rule, "outputs": ["m1", "m2"]},
                   {"name": "sort", "rule": "by_part_type", "routes": {"a": "out_a"}, "default": "out_b"}],
        stations=[{"name": "m1", "to": "sort", "process_time": exp(1.5)},
                  {"name": "m2", "to": "sort", "process_time": exp(1.5)}],
        sinks=[{"name": "out_a"}, {"name": "out_b"}],
    )
    tw = run(scene, 2_000.0, trace=True)
    tr = tw.trace()
    by_part: dict[int, list[tuple[str, str, float]]] = {}
    for pid, ev, el, t in zip(tr["part_id"], tr["event"], tr["element"], tr["t_s"], strict=True):
        if ev in ("enter", "leave", "exit"):
            by_part.setdefault(int(pid), []).append((str(ev), str(el), float(t)))
    finished = [seq for seq in by_part.values() if seq[-1][0] == "exit"]
    assert len(finished) > 500
    for seq in finished:
        names = [(ev, el) for ev, el, _ in seq]
        station = "m1" if ("enter", "m1") in names else "m2"
        sink = seq[-1][1]
        assert names == [("leave", names[0][1]), ("enter", "join"), ("leave", "join"), ("enter", "split"),
                         ("leave", "split"), ("enter", station), ("leave", station), ("enter", "sort"),
                         ("leave", "sort"), ("exit", sink)], names
        times = [t for _, _, t in seq]
        assert times[0] == times[1] == times[2] == times[3] == times[4] == times[5]  # routing takes no time
        assert times[6] == times[7] == times[8] == times[9]
