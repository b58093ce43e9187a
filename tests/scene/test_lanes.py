"""AGV layouts where vehicles could touch are refused when the scene loads."""

from __future__ import annotations

import pytest

import twin
from twin.scene.lanes import clearance_problem

FLEET = """
version: 1
part_types: [{name: p}]
sources: [{name: src, to: move, interarrival: 60}]
transports: [{name: move, to: out, fleet: agvs, pickup: a, dropoff: b}]
sinks: [{name: out}]
agv_fleets:
  - name: agvs
    nodes: [{name: a, xy_m: [0, 0]}, {name: j1, xy_m: [0, 2]}, {name: j2, xy_m: [4, 2]},
            {name: b, xy_m: [4, 0]}, {name: park, xy_m: [2, 4]}, {name: j3, xy_m: [2, 2]}]
    edges: [[a, j1], [j1, j3], [j3, j2], [j2, b], [j3, park]]
    parking: [park]
"""


def test_a_roomy_layout_loads():
    twin.load_scene_text(FLEET)


@pytest.mark.parametrize(("old", "new", "message"), [
    ("{name: park, xy_m: [2, 4]}", "{name: park, xy_m: [2, 2.5]}",
     r"nodes 'j3' and 'park' are 0\.50 m apart; two vehicles on them would touch \(chassis diagonal 1\.08 m\)"),
    ("{name: b, xy_m: [4, 0]}", "{name: b, xy_m: [2.5, 1.2]}",
     r"lane \('j1', 'j3'\) passes 0\.80 m from node 'b'|nodes 'b' and 'j3' are"),
    ("parking: [park]", "parking: [park]\n    chassis_m: [2.5, 2.0, 0.3]",
     r"nodes .a. and .j1. are 2\.00 m apart; two vehicles on them would touch \(chassis diagonal 3\.20 m\)"),
])
def test_cramped_layouts_are_refused(old, new, message):
    assert old in FLEET
    with pytest.raises(twin.SceneError, match=r"agv\.yaml:\d+: agv_fleets\[0\]\.edges: " + f"(?:{message})"):
        twin.load_scene_text(FLEET.replace(old, new), "agv.yaml")


def test_crossing_lanes_without_a_node_are_refused():
    xy = {"a": (0.0, 0.0), "b": (4.0, 4.0), "c": (0.0, 4.0), "d": (4.0, 0.0)}
    problem = clearance_problem(xy, [("a", "b"), ("c", "d")], 1.08)
    assert problem == ("lanes ('a', 'b') and ('c', 'd') cross at (2.00, 2.00) without a node there: put a node "
                       "where they cross, or move one")
    # the same crossing with a node in the middle is a junction, and fine
    xy["m"] = (2.0, 2.0)
    assert clearance_problem(xy, [("a", "m"), ("m", "b"), ("c", "m"), ("m", "d")], 1.08) is None


def test_parallel_lanes_too_close_are_refused():
    xy = {"a": (0.0, 0.0), "b": (5.0, 0.0), "c": (0.0, 0.9), "d": (5.0, 0.9)}
    problem = clearance_problem(xy, [("a", "b"), ("c", "d")], 1.08)
    assert problem is not None and "0.90 m apart" in problem
    xy.update(c=(0.0, 1.2), d=(5.0, 1.2))
    assert clearance_problem(xy, [("a", "b"), ("c", "d")], 1.08) is None


def test_a_big_grid_is_checked_quickly():
    """A 150 x 150 grid (22,500 nodes, 44,700 lanes) is checked in well under a few seconds."""
    import time

    n = 150
    xy = {f"{i}_{j}": (1.5 * i, 1.5 * j) for i in range(n) for j in range(n)}
    edges = [(f"{i}_{j}", f"{i + 1}_{j}") for i in range(n - 1) for j in range(n)]
    edges += [(f"{i}_{j}", f"{i}_{j + 1}") for i in range(n) for j in range(n - 1)]
    t0 = time.perf_counter()
    assert clearance_problem(xy, edges, 1.08) is None
    assert time.perf_counter() - t0 < 5.0
