"""AGV fleet: an hour of random orders on a grid with 10 vehicles, no collision, no deadlock."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from twin.errors import SceneError
from twin.physics.agv import Fleet, PathGraph
from twin.physics.asrs import AxisLimits

SPACING = 3.0


def grid_network(n: int = 5):
    """An n x n grid, 8 station spurs on the left and right, 10 parking spurs top and bottom."""
    nodes = {f"g{i}_{j}": (SPACING * i, SPACING * j) for i in range(n) for j in range(n)}
    edges = [(f"g{i}_{j}", f"g{i + 1}_{j}") for i in range(n - 1) for j in range(n)]
    edges += [(f"g{i}_{j}", f"g{i}_{j + 1}") for i in range(n) for j in range(n - 1)]
    stations = []
    for k, j in enumerate((0, 1, 3, 4)):
        for side, i, dx in (("L", 0, -2.0), ("R", n - 1, 2.0)):
            name = f"station/{side}{k}"
            nodes[name] = (SPACING * i + dx, SPACING * j)
            edges.append((name, f"g{i}_{j}"))
            stations.append(name)
    parking = {}
    for k in range(10):
        i, j, dy = (k % 5, 0, -2.0) if k < 5 else (k % 5, n - 1, 2.0)
        name = f"park/{k}"
        nodes[name] = (SPACING * i, SPACING * j + dy)
        edges.append((name, f"g{i}_{j}"))
        parking[f"agv{k}"] = name
    return PathGraph(nodes, edges), stations, parking


def test_an_hour_of_random_orders():
    """10 AGVs, Poisson orders for an hour: all delivered, no collision, all parked at the end."""
    graph, stations, parking = grid_network()
    fleet = Fleet(graph, parking, AxisLimits(v_max=1.5, a_max=0.5), handling_s=10.0)
    rng = np.random.default_rng(42)
    t = 0.0
    while True:
        t += rng.exponential(40.0)
        if t > 3600:
            break
        a, b = rng.choice(len(stations), 2, replace=False)
        fleet.add_order(stations[a], stations[b], t)
    fleet.run(until_s=3 * 3600)
    fleet.check_done()
    assert len(fleet.orders) > 80
    lead = [o.delivered_s - o.created_s for o in fleet.orders]
    assert max(lead) < 1800  # no order starved
    # no two vehicles ever closer than 2 m (they never share a node or an edge)
    closest = math.inf
    for ts in np.arange(0.0, fleet.now, 0.5):
        pos = fleet.positions(float(ts))
        for (_, p), (_, q) in itertools.combinations(pos.items(), 2):
            closest = min(closest, math.dist(p, q))
    assert closest >= 2.0
    # every vehicle carried something: the nearest-idle rule spreads the work
    assert all(any(o.vehicle == v for o in fleet.orders) for v in parking)


def test_deterministic():
    """The same orders give the same schedule."""
    runs = []
    for _ in range(2):
        graph, stations, parking = grid_network()
        fleet = Fleet(graph, parking, AxisLimits(1.5, 0.5))
        for k in range(30):
            fleet.add_order(stations[k % 8], stations[(3 * k + 1) % 8], 5.0 * k)
        fleet.run(3600)
        runs.append([(o.vehicle, o.picked_s, o.delivered_s) for o in fleet.orders])
    assert runs[0] == runs[1]


def test_bad_networks_and_orders():
    """A disconnected graph, unknown nodes and stations that are not dead ends are clear errors."""
    with pytest.raises(SceneError, match="disconnected"):
        PathGraph({"a": (0, 0), "b": (1, 0), "c": (5, 5)}, [("a", "b")])
    with pytest.raises(SceneError, match="unknown node 'z'"):
        PathGraph({"a": (0, 0)}, [("a", "z")])
    graph, stations, parking = grid_network()
    fleet = Fleet(graph, parking, AxisLimits(1.5, 0.5))
    with pytest.raises(SceneError, match="must be a dead-end node"):
        fleet.add_order("g2_2", stations[0], 0.0)


def test_vehicles_appear_in_the_world():
    """sync_world places one chassis per vehicle at its fleet position."""
    from twin.physics import World

    graph, stations, parking = grid_network()
    fleet = Fleet(graph, parking, AxisLimits(1.5, 0.5))
    fleet.add_order(stations[0], stations[5], 0.0)
    fleet.run(20.0)
    with World() as w:
        fleet.sync_world(w, 20.0)
        for name, (x, y) in fleet.positions(20.0).items():
            assert w.state(name).xyz_m == pytest.approx((x, y, 0.15))
