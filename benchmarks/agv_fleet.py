"""AGV fleet: 50 vehicles on a 10 x 10 grid serving Poisson transport orders.

Figure: real-time factor (simulated seconds per wall second) of the fleet simulation, including
routing, whole-trip reservations and dispatch. Ends with one JSON line: ``real_time_factor``.

Usage: python benchmarks/agv_fleet.py [--quick]
"""

from __future__ import annotations

import argparse

import _harness as H
import numpy as np

from twin.physics.agv import Fleet, PathGraph
from twin.physics.asrs import AxisLimits

SPACING = 3.0


def network(n: int = 10, vehicles: int = 50, stations_per_side: int = 8):
    nodes = {f"g{i}_{j}": (SPACING * i, SPACING * j) for i in range(n) for j in range(n)}
    edges = [(f"g{i}_{j}", f"g{i + 1}_{j}") for i in range(n - 1) for j in range(n)]
    edges += [(f"g{i}_{j}", f"g{i}_{j + 1}") for i in range(n) for j in range(n - 1)]
    stations = []
    rows = np.linspace(0, n - 1, stations_per_side).round().astype(int)
    for k, j in enumerate(rows):
        for side, i, dx in (("L", 0, -2.0), ("R", n - 1, 2.0)):
            name = f"station/{side}{k}"
            nodes[name] = (SPACING * i + dx, SPACING * j)
            edges.append((name, f"g{i}_{j}"))
            stations.append(name)
    parking = {}
    for k in range(vehicles):
        side, slot = divmod(k, n)  # up to 4 sides x n
        i, j, d = [(slot, 0, (0, -2.0)), (slot, n - 1, (0, 2.0)), (0, slot, (-2.0, 0.0)),
                   (n - 1, slot, (2.0, 0.0))][side % 4]
        lane = side // 4 + 1
        name = f"park/{k}"
        nodes[name] = (SPACING * i + d[0] * lane * 0.5 + (0.7 * lane if d[0] == 0 else 0),
                       SPACING * j + d[1] * lane * 0.5 + (0.7 * lane if d[1] == 0 else 0))
        edges.append((name, f"g{i}_{j}"))
        parking[f"agv{k}"] = name
    return PathGraph(nodes, edges), stations, parking


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="15 simulated minutes instead of 2 hours")
    args = ap.parse_args()
    machine = H.machine_info()
    H.print_header("AGV fleet: 50 vehicles, reservations and dispatch", machine, H.numba_cache_files())
    horizon = 900.0 if args.quick else 7200.0
    graph, stations, parking = network()
    fleet = Fleet(graph, parking, AxisLimits(v_max=1.5, a_max=0.5), handling_s=10.0)
    rng = np.random.default_rng(1)
    t = 0.0
    while True:
        t += rng.exponential(20.0)
        if t > horizon:
            break
        a, b = rng.choice(len(stations), 2, replace=False)
        fleet.add_order(stations[a], stations[b], t)
    with H.Timer() as run:
        fleet.run(until_s=horizon)
    delivered = sum(o.delivered_s is not None for o in fleet.orders)
    rtf = horizon / run.s
    print(f"vehicles       : {len(parking)}, orders {len(fleet.orders)}, delivered by the horizon {delivered}")
    print(f"wall           : {run.s:.3f} s for {horizon:.0f} s simulated: real-time factor {rtf:.0f} (goal >= 100)")
    H.emit_json({"benchmark": "agv_fleet", "quick": args.quick, "vehicles": len(parking),
                 "orders": len(fleet.orders), "delivered": delivered, "sim_s": horizon,
                 "wall_s": round(run.s, 4), "real_time_factor": round(rtf, 1), "machine": machine})


if __name__ == "__main__":
    main()
