"""AGV transports and AS/RS storages serving the line, co-simulated with the core.

The core treats a transport or a storage as a station whose processing time it does not know: when
one takes a part, the core stops and reports it (``Engine.advance_to`` returns the servers). Here a
transport turns that into an order for its AGV fleet (``twin.physics.agv.Fleet``), and a storage
into a storage request for its crane (``twin.physics.asrs.StorageSystem``). Both are small
discrete-event models of their own; :class:`Logistics` advances them in step with the core, always
processing whichever has the earlier next event, and tells the core when a part is delivered (the
AGV unloaded it at the drop-off) or retrieved (the crane brought it to the output point). So the
line sees AGV congestion, breakdowns and crane queues as they happen, and the result is exactly
reproducible.
"""

from __future__ import annotations

import copy
import math

import numpy as np

from .core.engine import Engine
from .core.rng import stream_seed
from .physics.agv import Fleet, PathGraph
from .physics.asrs import AxisLimits, Rack, StorageSystem
from .sampling import draw
from .scene.models import Scene

__all__ = ["Logistics"]


class Logistics:
    """The fleets and storages of ``scene``, wired to ``engine``."""

    def __init__(self, scene: Scene, engine: Engine, seed: int) -> None:
        self.engine = engine
        names = engine.names
        self.fleets: dict[str, Fleet] = {}
        self._fleet_scene = {f.name: f for f in scene.agv_fleets}
        for f in scene.agv_fleets:
            graph = PathGraph({n.name: n.xy_m for n in f.nodes}, [tuple(e) for e in f.edges])
            parking = {f"{f.name}/agv{k}": p for k, p in enumerate(f.parking)}
            ttf = ttr = None
            if f.breakdowns is not None:
                rng = np.random.default_rng(int(stream_seed(seed, f"fleet:{f.name}", "breakdowns")))
                ttf, ttr = _Sampler(f.breakdowns.ttf(), rng), _Sampler(f.breakdowns.ttr(), rng)
            self.fleets[f.name] = Fleet(graph, parking, AxisLimits(f.speed_mps, f.accel_mps2), f.handling_s,
                                        time_to_failure=ttf, time_to_repair=ttr)
        self._transport = {names.node_id(t.name): t for t in scene.transports}
        self.storages: dict[int, StorageSystem] = {}
        for s in scene.storages:
            rack = Rack(s.bays, s.levels, s.bay_width_m, s.level_height_m)
            c = s.crane
            self.storages[names.node_id(s.name)] = StorageSystem(
                f"{s.name}/crane", rack, AxisLimits(c.speed_x_mps, c.accel_x_mps2),
                AxisLimits(c.speed_z_mps, c.accel_z_mps2), s.handling_s, s.policy,
                seed=int(stream_seed(seed, f"storage:{s.name}", "slots")), blocked_slots=s.blocked_slots,
                retrieval=s.retrieval)
        # the storages drawn in a 3D world (those with a geometry), and their views once drawn
        self._storage_scene = {names.node_id(s.name): s for s in scene.storages if s.geometry is not None}
        self._rack_views: dict = {}
        self._order_server: dict[tuple[str, int], int] = {}  # (fleet, order id) -> core server
        self._load_server: dict[tuple[int, int], int] = {}  # (storage node, part id) -> core server
        self._srv_node = engine.params.srv_node
        self.transit_s: dict[str, list[tuple[float, float]]] = {t.name: [] for t in scene.transports}

    _STATE = ("fleets", "storages", "_order_server", "_load_server", "transit_s")

    def get_state(self) -> dict:
        """A deep copy of the fleets, cranes and pending orders (random streams included)."""
        return copy.deepcopy({k: getattr(self, k) for k in self._STATE})

    def set_state(self, snapshot: dict) -> None:
        for k, v in copy.deepcopy(snapshot).items():
            setattr(self, k, v)

    def next_time(self) -> float:
        """Time of the next fleet or crane event (inf when none)."""
        times = [f.next_time() for f in self.fleets.values()] + [s.next_time() for s in self.storages.values()]
        return min(times, default=math.inf)

    def request(self, servers: list[int], t: float) -> None:
        """Core servers of transports and storages took parts at ``t``: raise orders and requests.
        ``-(server + 1)``: that storage server's part left the output point (pull retrieval)."""
        for s in servers:
            if s < 0:  # -(server + 1): a part left a storage that retrieves on demand
                self.storages[int(self._srv_node[-s - 1])].output_freed(t)
                continue
            n = int(self._srv_node[s])
            part = self.engine.server_part_uid(s)
            if n in self._transport:
                tr = self._transport[n]
                order = self.fleets[tr.fleet].add_order(tr.pickup, tr.dropoff, t, payload=(tr.name, part))
                self._order_server[(tr.fleet, order.id)] = s
            else:
                self._load_server[(n, part)] = s
                self.storages[n].request_store(part, t)

    def advance(self, t: float) -> list[int]:
        """Run fleets and cranes to ``t``; return the core servers whose part is done at ``t``."""
        done = []
        for name, fleet in self.fleets.items():
            for order in fleet.run(t):
                done.append(self._order_server.pop((name, order.id)))
                self.transit_s[order.payload[0]].append((order.delivered_s, order.delivered_s - order.created_s))
        for n, storage in self.storages.items():
            for part in storage.run(t):
                done.append(self._load_server.pop((n, part)))
        return sorted(done)

    def trace_rows(self) -> list[tuple[float, int, str, str, str]]:
        """(t, part id or -1, event, element, detail) of everything the fleets and cranes did."""
        rows = []
        for name, fleet in self.fleets.items():
            for t, vehicle, event, detail in fleet.log:
                if event in ("loaded", "unloaded"):
                    transport, part = fleet.orders[int(detail)].payload
                    rows.append((t, part, f"agv_{event}", transport, vehicle))
                else:
                    rows.append((t, -1, f"agv_{event}", name, f"{vehicle} at {detail}"))
        for n, storage in self.storages.items():
            element = self.engine.names.nodes[n]
            for t, _, event, detail in storage.log:
                part = int(detail.split(" ", 1)[0])
                rows.append((t, part, event, element, detail.split(" in ", 1)[1] if " in " in detail else ""))
        rows.sort(key=lambda r: r[0])
        return rows

    def kpis(self, core: dict) -> dict:
        """Fleet and storage figures over the KPI window (``core["t_start_s"]`` to now), joined with
        the core's figures of the transport and storage elements (see docs/kpis.md)."""
        by_name = {r["name"]: r for r in core.pop("transports_and_storages", [])}
        t0, now = float(core["t_start_s"]), self.engine.t
        window = now - t0
        fleets = []
        for name, fleet in self.fleets.items():
            created = [o for o in fleet.orders if o.created_s >= t0]
            delivered = [o for o in fleet.orders if o.delivered_s is not None and o.delivered_s >= t0]
            picked = [o for o in fleet.orders if o.picked_s is not None and o.picked_s >= t0]
            n_veh = len(fleet.vehicles)
            down, broken = 0.0, {}  # vehicle -> time its current breakdown began
            for t, who, event, _ in fleet.log:  # one pass: breakdown/repaired pairs per vehicle
                if event == "breakdown":
                    broken[who] = t
                elif event == "repaired" and who in broken:
                    down += _overlap(broken.pop(who), t, t0, now)
            down += sum(_overlap(start, now, t0, now) for start in broken.values())
            fleets.append({
                "name": name, "vehicles": n_veh, "orders": len(created), "delivered": len(delivered),
                "mean_order_s": _mean([o.delivered_s - o.created_s for o in delivered]),
                "mean_wait_for_pickup_s": _mean([o.picked_s - o.created_s for o in picked]),
                "breakdowns": sum(1 for t, _, e, _ in fleet.log if e == "breakdown" and t >= t0),
                "down_frac": down / (n_veh * window) if window > 0 else float("nan"),
            })
        storages = []
        for n, s in self.storages.items():
            name = self.engine.names.nodes[n]
            busy = sum(_overlap(a, b, t0, now) for a, b in s.jobs)
            storages.append({
                **by_name.get(name, {"name": name}), "slots": sum(
                    1 for b in s.rack.content for c in b if c != "#blocked"),
                "stored": sum(1 for t, _, e, _ in s.log if e == "stored" and t >= t0),
                "retrieved": sum(1 for t, _, e, _ in s.log if e == "retrieved" and t >= t0),
                "in_rack": s.occupied(),
                "crane_utilisation": busy / window if window > 0 else float("nan"),
            })
        transports = []
        for k, v in self.transit_s.items():
            inside = [d for t, d in v if t >= t0]
            transports.append({**by_name.get(k, {"name": k}), "delivered": len(inside), "mean_transit_s": _mean(inside)})
        return {"agv_fleets": fleets, "storages": storages, "transports": transports}

    def crane_positions(self, t: float) -> dict[str, tuple[float, float, float]]:
        """Where each drawn rack's crane carriage is at ``t`` (storages with a geometry), in the world."""
        from .physics.rack_view import rack_point

        return {storage.name: rack_point(storage, *self.storages[node].carriage_xz(t))
                for node, storage in self._storage_scene.items()}

    def sync_world(self, world, t: float) -> None:
        """Place every AGV's chassis body in ``world`` at its position at ``t``, and every storage's
        crane carriage and stored loads (for storages with a ``geometry``)."""
        for name, fleet in self.fleets.items():
            f = self._fleet_scene[name]
            fleet.sync_world(world, t, chassis_m=f.chassis_m, urdf=f.urdf_path)
        for node, storage in self._storage_scene.items():
            view = self._rack_views.get(node)
            if view is None or view.world is not world:
                from .physics.rack_view import RackView

                view = self._rack_views[node] = RackView(world, storage)
            view.sync(self.storages[node], t)


class _Sampler:
    """Draws of one distribution from a stream; an object (not a closure) so snapshots copy it."""

    def __init__(self, dist, rng: np.random.Generator) -> None:
        self.dist, self.rng = dist, rng

    def __call__(self) -> float:
        return draw(self.dist, self.rng)


def _overlap(a: float, b: float, lo: float, hi: float) -> float:
    """Length of [a, b] inside [lo, hi]."""
    return max(0.0, min(b, hi) - max(a, lo))


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else float("nan")

