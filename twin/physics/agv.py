"""An AGV fleet on a path graph: shortest paths, time-window reservations that exclude
collisions and deadlocks, transport orders served first come first served by the nearest idle vehicle.

Rules (each closes one failure mode):

- **Holding nodes**: a vehicle on its way from node ``u`` to ``v`` holds both nodes, and frees
  ``u`` when it reaches ``v``; a node is held by one vehicle at a time, so in a planar graph whose
  edges meet only at nodes two vehicles never share a node or an edge.
- **Time windows**: a vehicle plans a whole trip before it leaves a *spur* (a dead end: stations
  and parking places, which no other trip passes through). Driving without stops between nodes,
  it would hold each node of the path for a known window (from leaving the node before it until
  reaching the node after it); the trip starts at the earliest time at which none of these
  windows overlaps a window another vehicle has booked on the same node, and its windows are
  booked. Vehicles on crossing or shared paths therefore drive at the same time, one behind or
  after the other, instead of waiting for whole paths to clear.
- **Order of passage**: each node is entered in the order of the booked windows' start times.
  A vehicle running late (a breakdown) keeps the nodes it holds, and vehicles booked after it on
  them wait at the node they are on. Every such wait is for a window booked earlier, which waits
  only for windows booked earlier still, so waits never form a cycle: no deadlock.
- **Stations**: a station loads for one dispatched order at a time, and does not load while
  orders are on their way to unload there; any number of orders may unload at one station, their
  vehicles taking turns at it. A loaded vehicle waits at its pickup only for vehicles unloading
  at its drop-off, and those drive on to their own parking places without waiting for anyone; so
  vehicles at dead ends never wait for each other in a circle either.
- **Motion**: a vehicle stops at every node and crosses each edge with a trapezoidal profile
  (``twin.physics.asrs.axis_time``): a conservative, easily verified model.

- **Breakdowns**: a vehicle whose breakdown is due stops at the next node it reaches (or where it
  stands) until repaired, keeping the node it holds and its booked windows; vehicles booked after
  it on those nodes wait. A broken idle vehicle is not dispatched.

The fleet is its own small discrete-event simulation (``heapq``, deterministic tie-breaking), so
it can run an hour of traffic in well under a second and be sampled at any time for positions.
Everything that happens is appended to ``log`` as ``(t, vehicle, event, detail)``.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import SceneError, SimulationError
from .asrs import AxisLimits, axis_fraction, axis_time

__all__ = ["PathGraph", "Fleet", "Order"]


class PathGraph:
    """Nodes with (x, y) positions (m) and undirected edges; lengths are the straight distances."""

    def __init__(self, nodes: dict[str, tuple[float, float]], edges: list[tuple[str, str]]) -> None:
        self.xy = {n: (float(p[0]), float(p[1])) for n, p in nodes.items()}
        self.adj: dict[str, dict[str, float]] = {n: {} for n in self.xy}
        for a, b in edges:
            for n in (a, b):
                if n not in self.xy:
                    raise SceneError(f"AGV path graph: edge ({a!r}, {b!r}) names unknown node {n!r}")
            length = math.dist(self.xy[a], self.xy[b])
            self.adj[a][b] = length
            self.adj[b][a] = length
        start = next(iter(self.xy))
        seen = {start}
        stack = [start]
        while stack:
            for m in self.adj[stack.pop()]:
                if m not in seen:
                    seen.add(m)
                    stack.append(m)
        if len(seen) != len(self.xy):
            lost = sorted(set(self.xy) - seen)
            raise SceneError(f"AGV path graph is disconnected: {lost[:10]} cannot be reached from {start!r}")
        self._paths: dict[tuple[str, str], list[str]] = {}  # the graph never changes

    def is_spur(self, node: str) -> bool:
        return len(self.adj[node]) == 1

    def shortest_path(self, a: str, b: str) -> list[str]:
        """Node list from ``a`` to ``b`` (Dijkstra; ties broken by node name, so deterministic)."""
        key = (a, b)
        path = self._paths.get(key)
        if path is None:
            path = self._paths[key] = self._dijkstra(a, b)
        return list(path)

    def distance(self, a: str, b: str) -> float:
        """Length of the shortest path from ``a`` to ``b`` (m)."""
        return self.path_length(self.shortest_path(a, b))

    def _dijkstra(self, a: str, b: str) -> list[str]:
        dist = {a: 0.0}
        prev: dict[str, str] = {}
        heap = [(0.0, a)]
        done: set[str] = set()
        while heap:
            d, n = heapq.heappop(heap)
            if n in done:
                continue
            done.add(n)
            if n == b:
                break
            for m, w in sorted(self.adj[n].items()):
                nd = d + w
                if nd < dist.get(m, math.inf) - 1e-12:
                    dist[m] = nd
                    prev[m] = n
                    heapq.heappush(heap, (nd, m))
        path = [b]
        while path[-1] != a:
            path.append(prev[path[-1]])
        return path[::-1]

    def path_length(self, path: list[str]) -> float:
        return sum(self.adj[u][v] for u, v in zip(path[:-1], path[1:], strict=True))


@dataclass
class Order:
    """Carry a load from station ``pickup`` to station ``delivery``."""

    id: int
    pickup: str
    delivery: str
    created_s: float
    vehicle: str | None = None
    picked_s: float | None = None
    delivered_s: float | None = None
    payload: object = None  # what is carried (e.g. a part id), for the caller


@dataclass(eq=False)
class _Hold:
    """A vehicle's booked window on a node: from when it leaves the node before (or, for the node it
    stands on, since it came) until it reaches the node after (``inf``: until it plans to leave)."""

    start: float
    end: float
    vehicle: str


@dataclass
class _Vehicle:
    name: str
    parking: str
    node: str
    here: _Hold  # the window of the node it is on (or, on an edge, the node it left)
    legs: list[tuple[float, str, str]] = field(default_factory=list)  # (start time, from, to)
    leg_starts: list[float] = field(default_factory=list)  # the legs' start times, for bisect
    pending: list[str] = field(default_factory=list)  # destinations still to drive to
    path: list[str] = field(default_factory=list)  # nodes still ahead on the current trip
    windows: list[_Hold] = field(default_factory=list)  # their booked windows, in the same order
    order: Order | None = None
    moving: bool = False  # on a trip (from its planned start to its last node)
    on_edge: bool = False  # crossing an edge now
    depart_s: float = 0.0  # planned start of the current trip
    busy_until: float = -1.0  # loading or unloading until then
    breakdown_due: float = math.inf  # next breakdown (calendar time)
    down_until: float = -1.0  # broken down until then
    down_s: float = 0.0  # total time broken down
    breakdowns: int = 0


class Fleet:
    """Vehicles on a path graph serving transport orders.

    Args:
        graph: the network; stations and parking places must be spur nodes.
        parking: vehicle name -> its own parking spur.
        axis: speed and acceleration limits of the vehicles.
        handling_s: time to load or unload at a station.
        time_to_failure, time_to_repair: breakdowns: functions drawing the next time to failure
            and the repair time (s); none by default.
    """

    def __init__(self, graph: PathGraph, parking: dict[str, str], axis: AxisLimits,
                 handling_s: float = 10.0, time_to_failure: Callable[[], float] | None = None,
                 time_to_repair: Callable[[], float] | None = None) -> None:
        self.graph, self.axis, self.handling_s = graph, axis, float(handling_s)
        self._ttf, self._ttr = time_to_failure, time_to_repair
        for v, p in parking.items():
            if p not in graph.xy or not graph.is_spur(p):
                raise SceneError(f"AGV {v!r}: parking {p!r} must be a dead-end node of the path graph")
        self.vehicles = {v: _Vehicle(v, p, p, _Hold(-math.inf, math.inf, v)) for v, p in parking.items()}
        # node -> booked windows not yet over, by start time; the first is the node's holder or next
        self.windows: dict[str, list[_Hold]] = {n: [] for n in graph.xy}
        for v in self.vehicles.values():
            self.windows[v.node].append(v.here)
        # a station loads for one order, or unloads for any number, never both at once (see _dispatch)
        self.loading: dict[str, int] = {}  # station -> the order whose vehicle has not loaded there yet
        self.unloading: dict[str, int] = {}  # station -> orders dispatched to unload there, not yet unloaded
        self.orders: list[Order] = []
        self.queue: list[Order] = []
        self.now = 0.0
        self._events: list[tuple[float, int, str, str]] = []
        self._seq = 0
        self.log: list[tuple[float, str, str, str]] = []
        if self._ttf is not None:
            for v in self.vehicles.values():  # in name order of creation: a deterministic draw order
                v.breakdown_due = self._ttf()
                self._push(v.breakdown_due, "breakdown", v.name)

    # -- orders and events -------------------------------------------------------------------

    def add_order(self, pickup: str, delivery: str, at_s: float, payload: object = None) -> Order:
        for s in (pickup, delivery):
            if s not in self.graph.xy or not self.graph.is_spur(s):
                raise SceneError(f"transport order: station {s!r} must be a dead-end node of the path graph")
        order = Order(len(self.orders), pickup, delivery, float(at_s), payload=payload)
        self.orders.append(order)
        self._push(at_s, "order", str(order.id))
        return order

    def _push(self, t: float, kind: str, who: str) -> None:
        self._seq += 1
        heapq.heappush(self._events, (t, self._seq, kind, who))

    def next_time(self) -> float:
        """Time of the next event (inf when there is none)."""
        return self._events[0][0] if self._events else math.inf

    def run(self, until_s: float) -> list[Order]:
        """Process events up to ``until_s``; return the orders delivered meanwhile."""
        delivered = []
        while self._events and self._events[0][0] <= until_s:
            t, _, kind, who = heapq.heappop(self._events)
            self.now = t
            if kind == "order":
                self.queue.append(self.orders[int(who)])
            elif kind == "arrive":
                self._arrive(self.vehicles[who])
            elif kind == "handled":
                order = self._handled(self.vehicles[who])
                if order is not None:
                    delivered.append(order)
            elif kind == "breakdown":
                self._break_down(self.vehicles[who])
            elif kind == "repaired":
                self._repaired(self.vehicles[who])
            # "depart": a planned trip may start now (the checks below start it)
            self._dispatch()
            self._start_waiting_trips()
        self.now = max(self.now, until_s)
        return delivered

    # -- dispatching and trips ---------------------------------------------------------------

    def _dispatch(self) -> None:
        """Orders in FIFO order, each to the nearest idle vehicle, when its stations allow.

        A station is the pickup of at most one dispatched order at a time (until its vehicle is
        loaded), and is not a pickup while orders are on their way to unload there; any number of
        orders may unload at one station, their vehicles taking turns at it. The oldest waiting
        order keeps later orders from unloading at its pickup, so it is not overtaken for ever.
        """
        wanted_pickups: set[str] = set()  # stations where a waiting earlier order will load
        for order in list(self.queue):
            pickup, drop = order.pickup, order.delivery
            if pickup in self.loading or self.unloading.get(pickup) or drop in self.loading or drop in wanted_pickups:
                if not wanted_pickups:  # the oldest waiting order only: more would stall the fleet
                    wanted_pickups.add(pickup)
                continue
            idle = [v for v in self.vehicles.values() if v.order is None and not v.moving and not v.pending
                    and v.node == v.parking and not self._down(v)]
            if not idle:
                return
            vehicle = min(idle, key=lambda v: (self.graph.distance(v.node, pickup), v.name))
            self.queue.remove(order)
            order.vehicle = vehicle.name
            vehicle.order = order
            self.loading[pickup] = order.id
            self.unloading[drop] = self.unloading.get(drop, 0) + 1
            vehicle.pending = [pickup, drop, vehicle.parking]

    def _start_waiting_trips(self) -> None:
        for v in sorted(self.vehicles.values(), key=lambda v: v.name):
            if self._handling(v) or self._down(v) or v.on_edge:
                continue
            if v.moving:
                if self.now >= v.depart_s:
                    self._advance(v)
            elif v.pending:
                self._try_start(v)

    def _handling(self, v: _Vehicle) -> bool:
        return v.busy_until > self.now

    def _down(self, v: _Vehicle) -> bool:
        return v.down_until > self.now

    def _break_down(self, v: _Vehicle) -> None:
        """The breakdown is due: a vehicle at a node stops now; one on an edge at the next node."""
        if v.on_edge:
            return  # _arrive checks breakdown_due at the next node
        self._stop(v)

    def _stop(self, v: _Vehicle) -> None:
        repair = self._ttr()
        v.down_until = self.now + repair
        v.down_s += repair
        v.breakdowns += 1
        v.breakdown_due = math.inf
        self.log.append((self.now, v.name, "breakdown", v.node))
        self._push(v.down_until, "repaired", v.name)

    def _repaired(self, v: _Vehicle) -> None:
        self.log.append((self.now, v.name, "repaired", v.node))
        v.breakdown_due = self.now + self._ttf()
        self._push(v.breakdown_due, "breakdown", v.name)
        # a trip stopped on the way drives on (the checks after every event do it)

    def _plan(self, v: _Vehicle, dest: str) -> tuple[list[str], float, list[float]] | None:
        """The trip from ``v``'s node to ``dest``: its path, the earliest start >= now at which its
        windows overlap none booked by other vehicles, and the arrival offsets; None while a node
        of it is booked for good (a vehicle standing at ``dest`` has not planned its way out)."""
        path = self.graph.shortest_path(v.node, dest)
        offsets = [0.0]
        for a, b in zip(path[:-1], path[1:], strict=True):
            offsets.append(offsets[-1] + axis_time(self.graph.adj[a][b], self.axis))
        last = len(path) - 1
        # a window [t0 + lo, t0 + hi) on a node overlaps a booked [start, end) unless
        # t0 <= start - hi or t0 >= end - lo: so t0 must avoid (start - hi, end - lo)
        forbidden = []
        for i in range(1, last + 1):
            lo = offsets[i - 1]
            hi = offsets[i + 1] if i < last else math.inf
            for w in self.windows[path[i]]:
                if w.vehicle != v.name:
                    forbidden.append((w.start - hi, w.end - lo))
        t0 = self.now
        for a, b in sorted(forbidden):
            if a >= t0:
                break  # this and every later interval start at or after t0: t0 is free
            if b > t0:
                t0 = b
        if t0 == math.inf:
            return None
        return path, t0, offsets

    def _try_start(self, v: _Vehicle) -> None:
        """Plan ``v``'s trip to its next destination and book its windows (or try again later)."""
        plan = self._plan(v, v.pending[0])
        if plan is None:
            return
        path, t0, offsets = plan
        last = len(path) - 1
        if last == 0:  # already there (an order from a station to itself)
            self._reached(v)
            return
        v.here.end = t0 + offsets[1]
        v.windows = []
        for i in range(1, last + 1):
            w = _Hold(t0 + offsets[i - 1], t0 + offsets[i + 1] if i < last else math.inf, v.name)
            booked = self.windows[path[i]]
            booked.insert(bisect.bisect_right([b.start for b in booked], w.start), w)
            v.windows.append(w)
        v.path = path[1:]
        v.moving = True
        v.depart_s = t0
        if t0 > self.now:
            self._push(t0, "depart", v.name)
        else:
            self._advance(v)

    def _advance(self, v: _Vehicle) -> None:
        """Drive onto the next edge of the trip if the next node's earlier windows are all over."""
        if not v.path:
            return
        nxt = v.path[0]
        if self.windows[nxt][0] is not v.windows[0]:
            return  # a vehicle booked before on that node is late: wait here, holding this node
        v.on_edge = True
        v.legs.append((self.now, v.node, nxt))
        v.leg_starts.append(self.now)
        self._push(self.now + axis_time(self.graph.adj[v.node][nxt], self.axis), "arrive", v.name)

    def _arrive(self, v: _Vehicle) -> None:
        nxt = v.path.pop(0)
        self.windows[v.node].remove(v.here)  # the node just left is free again
        v.here = v.windows.pop(0)
        v.node = nxt
        v.on_edge = False
        if v.path:
            if v.breakdown_due <= self.now:
                self._stop(v)  # stays on this node, holding it, until repaired
                return
            self._advance(v)
            return
        self._reached(v)

    def _reached(self, v: _Vehicle) -> None:
        """``v`` is at the end of its trip: load or unload there if its order says so."""
        v.moving = False
        target = v.pending.pop(0)
        order = v.order
        if order is not None and target in (order.pickup, order.delivery):
            v.busy_until = self.now + self.handling_s
            self._push(v.busy_until, "handled", v.name)
        if v.breakdown_due <= self.now:
            self._stop(v)

    def _handled(self, v: _Vehicle) -> Order | None:
        """Loading or unloading is done; return the order if it was just delivered."""
        order = v.order
        delivered = None
        # The station is released as soon as the work there is done: the vehicle still holds the
        # node itself (its time window), so no other vehicle can drive in before it has left.
        if v.node == order.pickup and order.picked_s is None:
            order.picked_s = self.now
            self.log.append((self.now, v.name, "loaded", str(order.id)))
            del self.loading[order.pickup]
        elif v.node == order.delivery:
            order.delivered_s = self.now
            v.order = None
            delivered = order
            self.log.append((self.now, v.name, "unloaded", str(order.id)))
            self.unloading[order.delivery] -= 1
        return delivered

    # -- observation -------------------------------------------------------------------------

    def positions(self, t: float) -> dict[str, tuple[float, float]]:
        """Every vehicle's (x, y) at time ``t`` (<= now), from its recorded legs."""
        return {name: (x, y) for name, (x, y, _) in self.poses(t).items()}

    def poses(self, t: float) -> dict[str, tuple[float, float, float]]:
        """Every vehicle's (x, y, heading rad) at time ``t`` (<= now); the heading is that of its
        current or last leg (a parked vehicle that never moved faces +x)."""
        out = {}
        for v in self.vehicles.values():
            k = bisect.bisect_right(v.leg_starts, t) - 1
            if k < 0:
                x, y = self.graph.xy[v.parking]
                out[v.name] = (x, y, 0.0)
                continue
            start, a, b = v.legs[k]
            length = self.graph.adj[a][b]
            frac = axis_fraction(t - start, length, self.axis)
            pa, pb = self.graph.xy[a], self.graph.xy[b]
            out[v.name] = (pa[0] + frac * (pb[0] - pa[0]), pa[1] + frac * (pb[1] - pa[1]),
                           math.atan2(pb[1] - pa[1], pb[0] - pa[0]))
        return out

    def sync_world(self, world, t: float, chassis_m=(0.9, 0.6, 0.3), urdf: str | None = None) -> None:
        """Place each vehicle's body in ``world`` (a ``World``) at its pose at ``t``: a box chassis
        of ``chassis_m``, or the URDF ``urdf`` (fixed base, moved kinematically)."""
        half = tuple(0.5 * c for c in chassis_m)
        names = set(world.names())
        for name, (x, y, yaw) in self.poses(t).items():
            z = 0.0 if urdf else half[2]
            if name not in names:
                if urdf:
                    world.add_urdf(name, urdf, (x, y, z), fixed_base=True)
                else:
                    world.add_box(name, half, (x, y, z), rgba=(0.2, 0.6, 0.3, 1.0))
            world.set_pose(name, (x, y, z), (0.0, 0.0, math.sin(0.5 * yaw), math.cos(0.5 * yaw)))

    def check_done(self) -> None:
        """Raise if any order is undelivered or any vehicle is away from its parking place."""
        late = [o.id for o in self.orders if o.delivered_s is None]
        if late:
            raise SimulationError(f"{len(late)} orders not delivered by t={self.now:.0f}s: {late[:10]}")
        away = sorted(v.name for v in self.vehicles.values() if v.node != v.parking or v.moving)
        if away:
            raise SimulationError(f"vehicles not back at their parking places at t={self.now:.0f}s: {away}")
