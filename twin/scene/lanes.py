"""Floor clearance of an AGV path graph: where vehicles stand and drive, they must not touch.

The traffic rules (``twin.physics.agv``) keep two vehicles off the same node and the same edge.
That is collision-free only if the layout leaves room: a vehicle is taken as a disc whose diameter
is its chassis diagonal (it may turn on a node), so any two nodes, a node and a lane it is not on,
and two lanes without a common node must be at least that far apart. Lanes that cross without a
node are refused outright. Candidates are found through a grid of buckets, so large graphs stay
fast.
"""

from __future__ import annotations

import math
from collections import defaultdict

__all__ = ["clearance_problem"]

Point = tuple[float, float]


def clearance_problem(xy: dict[str, Point], edges: list[tuple[str, str]], clearance_m: float) -> str | None:
    """The first place where vehicles of diameter ``clearance_m`` could touch, or None."""
    cell = max(clearance_m, 1e-6)
    # nodes: any two closer than the clearance
    buckets: dict[tuple[int, int], list[str]] = defaultdict(list)
    for name, (x, y) in xy.items():
        buckets[(math.floor(x / cell), math.floor(y / cell))].append(name)
    for (cx, cy), names in buckets.items():
        near = [m for dx in (-1, 0, 1) for dy in (-1, 0, 1) for m in buckets.get((cx + dx, cy + dy), ())]
        for a in names:
            for b in near:
                if a < b and math.dist(xy[a], xy[b]) < clearance_m - 1e-9:
                    return (f"nodes {a!r} and {b!r} are {math.dist(xy[a], xy[b]):.2f} m apart; two vehicles on "
                            f"them would touch (chassis diagonal {clearance_m:.2f} m): place nodes at least "
                            f"that far apart")
    # lanes: bucket each edge's bounding box, grown by the clearance, in cells about a lane long
    lengths = sorted(math.dist(xy[a], xy[b]) for a, b in edges)
    cell = max(clearance_m, lengths[len(lengths) // 2] if lengths else 0.0, 1e-6)
    lane_cells: dict[tuple[int, int], list[int]] = defaultdict(list)
    ranges = []
    boxes = []
    for k, (a, b) in enumerate(edges):
        (x0, y0), (x1, y1) = xy[a], xy[b]
        boxes.append((min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)))
        r = (math.floor((min(x0, x1) - clearance_m) / cell), math.floor((max(x0, x1) + clearance_m) / cell),
             math.floor((min(y0, y1) - clearance_m) / cell), math.floor((max(y0, y1) + clearance_m) / cell))
        ranges.append(r)
        for cx in range(r[0], r[1] + 1):
            for cy in range(r[2], r[3] + 1):
                lane_cells[(cx, cy)].append(k)
    for name, (x, y) in xy.items():
        for k in lane_cells.get((math.floor(x / cell), math.floor(y / cell)), ()):
            a, b = edges[k]
            if name in (a, b) or _box_gap(boxes[k], (x, x, y, y)) >= clearance_m:
                continue
            d = _point_segment(xy[name], xy[a], xy[b])
            if d < clearance_m - 1e-9:
                return (f"lane ({a!r}, {b!r}) passes {d:.2f} m from node {name!r}; a vehicle on it would touch one "
                        f"standing there (chassis diagonal {clearance_m:.2f} m)")
    for (cx, cy), ks in lane_cells.items():
        for i, k in enumerate(ks):
            rk = ranges[k]
            for m in ks[i + 1:]:
                rm = ranges[m]
                if cx != max(rk[0], rm[0]) or cy != max(rk[2], rm[2]):
                    continue  # the pair is looked at in the first cell the two share, only there
                (a, b), (c, d) = edges[k], edges[m]
                if a == c or a == d or b == c or b == d:
                    continue  # lanes meeting at a node: the node rules keep them apart
                if _box_gap(boxes[k], boxes[m]) >= clearance_m:
                    continue
                p, q, r, t = xy[a], xy[b], xy[c], xy[d]
                crossing = _intersection(p, q, r, t)
                if crossing is not None:
                    return (f"lanes ({a!r}, {b!r}) and ({c!r}, {d!r}) cross at ({crossing[0]:.2f}, "
                            f"{crossing[1]:.2f}) without a node there: put a node where they cross, or move one")
                gap = min(_point_segment(p, r, t), _point_segment(q, r, t), _point_segment(r, p, q),
                          _point_segment(t, p, q))
                if gap < clearance_m - 1e-9:
                    return (f"lanes ({a!r}, {b!r}) and ({c!r}, {d!r}) come {gap:.2f} m close; vehicles on them "
                            f"would touch (chassis diagonal {clearance_m:.2f} m)")
    return None


def _box_gap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Distance between two axis-aligned boxes (x0, x1, y0, y1); 0 when they overlap."""
    gx = max(0.0, b[0] - a[1], a[0] - b[1])
    gy = max(0.0, b[2] - a[3], a[2] - b[3])
    return math.hypot(gx, gy)


def _point_segment(p: Point, a: Point, b: Point) -> float:
    ax, ay = a
    dx, dy = b[0] - ax, b[1] - ay
    n = dx * dx + dy * dy
    u = 0.0 if n == 0 else max(0.0, min(1.0, ((p[0] - ax) * dx + (p[1] - ay) * dy) / n))
    return math.hypot(p[0] - (ax + u * dx), p[1] - (ay + u * dy))


def _intersection(p: Point, q: Point, r: Point, s: Point) -> Point | None:
    """Where segments pq and rs cross (None if they do not, or only touch collinearly)."""
    ux, uy = q[0] - p[0], q[1] - p[1]
    vx, vy = s[0] - r[0], s[1] - r[1]
    den = ux * vy - uy * vx
    if abs(den) < 1e-12:
        return None
    t = ((r[0] - p[0]) * vy - (r[1] - p[1]) * vx) / den
    w = ((r[0] - p[0]) * uy - (r[1] - p[1]) * ux) / den
    if 0.0 <= t <= 1.0 and 0.0 <= w <= 1.0:
        return (p[0] + t * ux, p[1] + t * uy)
    return None
