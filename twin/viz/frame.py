"""What a viewer shows of a running twin at one instant, read from the core without PyBullet.

:func:`view_frame` copies, in the simulation's thread, the little a viewer needs: where every
visible part is (on a belt with geometry: ``start + x * direction``, the core's closed-form
conveyor position; on a station with geometry: on its top, one place per server), each station's
state, each robot arm's joint row (its measured cycle replayed while its station processes a part),
each AGV's pose, and the headline KPIs. The copy is small and cheap, so the viewer can draw it in
its own thread without touching the twin again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..core import layout as L

__all__ = ["ViewFrame", "view_frame", "station_state", "belt_geometry", "STATE_COLORS"]

#: Display colours (RGB 0-255) of station states.
STATE_COLORS = {
    "idle": (120, 140, 160),      # starved: waiting for a part
    "busy": (46, 160, 67),
    "setup": (230, 190, 40),
    "blocked": (235, 120, 30),
    "down": (210, 40, 40),
    "off_shift": (70, 70, 80),
}


@dataclass
class ViewFrame:
    """One instant of a twin, as a viewer draws it."""

    t_s: float
    #: per part type index: (positions (n, 3), yaws (n,)) of the parts shown
    parts: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    stations: dict[str, str] = field(default_factory=dict)  # name -> state (STATE_COLORS keys)
    robots: dict[str, np.ndarray] = field(default_factory=dict)  # station name -> joint row
    agvs: dict[str, tuple[float, float, float]] = field(default_factory=dict)  # vehicle -> x, y, heading
    cranes: dict[str, tuple[float, float, float]] = field(default_factory=dict)  # storage -> carriage x, y, z
    kpis: dict = field(default_factory=dict)  # headline KPIs (see headline_kpis)


def station_state(state, params, n: int) -> str:
    """A station's state for display: down, off shift, busy or setup (any server), blocked, idle."""
    if state.st_down[n] > 0:
        return "down"
    if state.st_off[n]:
        return "off_shift"
    off, cap = int(params.st_srv_off[n]), int(params.node_cap[n])
    servers = state.srv_state[off:off + cap]
    for s, name in ((L.SRV_BUSY, "busy"), (L.SRV_SETUP, "setup"), (L.SRV_BLOCKED, "blocked")):
        if np.any(servers == s):
            return name
    return "idle"


def belt_geometry(geometry) -> tuple[np.ndarray, np.ndarray, float, float]:
    """A conveyor geometry's start point, unit direction, length (m) and yaw (rad)."""
    start = np.array(geometry.start_xyz_m, float)
    d = np.array(geometry.end_xyz_m, float) - start
    length = float(np.linalg.norm(d))
    return start, d / length, length, math.atan2(d[1], d[0])


def headline_kpis(kpis: dict) -> dict:
    """The numbers a KPI panel shows, from ``Twin.kpis()``."""
    return {"t_s": kpis["t_end_s"], "throughput_per_hour": kpis["throughput"]["per_hour"],
            "good": kpis["good"], "line_oee": kpis["line_oee"], "wip_avg": kpis["wip_avg"],
            "bottleneck": kpis["bottleneck"], "lead_time_mean_s": kpis["lead_time_s"]["mean"],
            "yield": kpis["yield"]}


class FrameReader:
    """Reads :class:`ViewFrame` s of one twin (the layout is looked up once)."""

    def __init__(self, tw) -> None:
        self.tw = tw
        e = tw.engine
        node_id = {name: i for i, name in enumerate(e.names.nodes)}
        self.sizes = [np.array(pt.body_size_m(), float) for pt in tw.scene.part_types]
        self.belts = {node_id[c.name]: belt_geometry(c.geometry) for c in tw.scene.conveyors
                      if c.geometry is not None}
        self.tops = {}
        for st in tw.scene.stations:
            if st.geometry is not None:
                self.tops[node_id[st.name]] = (st.geometry, st.capacity)
        self.stations = [(st.name, node_id[st.name]) for st in tw.scene.stations]
        self.robots = [(st.name, int(e.params.st_srv_off[node_id[st.name]]), st.robot_motion)
                       for st in tw.scene.stations if st.robot_cell is not None and st.robot_motion is not None
                       and len(st.robot_motion)]

    def read(self, with_kpis: bool = True) -> ViewFrame:
        tw, e = self.tw, self.tw.engine
        s, p = e.state, e.params
        frame = ViewFrame(t_s=tw.time_s)
        xyz: dict[int, list] = {}
        yaw: dict[int, list] = {}
        node, pos, _uid, ptype = e.conveyor_parts_typed()
        for n, x, t in zip(node.tolist(), pos.tolist(), ptype.tolist(), strict=True):
            belt = self.belts.get(n)
            if belt is not None:
                start, direction, _, belt_yaw = belt
                xyz.setdefault(t, []).append(start + x * direction + [0.0, 0.0, 0.5 * self.sizes[t][2]])
                yaw.setdefault(t, []).append(belt_yaw)
        node, server, _uid, ptype = e.station_parts()
        for n, k, t in zip(node.tolist(), server.tolist(), ptype.tolist(), strict=True):
            top = self.tops.get(n)
            if top is not None:
                geometry, cap = top
                centre, st_yaw = geometry.part_on_top(k, cap, self.sizes[t])
                xyz.setdefault(t, []).append(np.array(centre))
                yaw.setdefault(t, []).append(st_yaw)
        frame.parts = {t: (np.array(xyz[t]), np.array(yaw[t])) for t in xyz}
        frame.stations = {name: station_state(s, p, n) for name, n in self.stations}
        for name, srv, motion in self.robots:
            busy = s.srv_state[srv] == L.SRV_BUSY and not s.srv_paused[srv]
            k = int((tw.time_s - s.srv_since[srv]) * 240.0) if busy else len(motion) - 1
            frame.robots[name] = np.asarray(motion[min(max(k, 0), len(motion) - 1)], float)
        if tw.logistics is not None:
            for fleet in tw.logistics.fleets.values():
                frame.agvs.update(fleet.poses(tw.time_s))
            frame.cranes = tw.logistics.crane_positions(tw.time_s)
        if with_kpis and tw.time_s >= tw.warmup_s:
            frame.kpis = headline_kpis(tw.kpis())
        return frame


def view_frame(tw, with_kpis: bool = True) -> ViewFrame:
    """One frame of ``tw`` now (builds a :class:`FrameReader`; keep one for repeated reads)."""
    return FrameReader(tw).read(with_kpis)
