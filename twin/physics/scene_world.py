"""The line's 3D layout in a ``World``, with the parts following the core.

What is built from a scene:

- elements with a ``geometry``: a conveyor is a frame whose top is the belt surface; stations,
  buffers, sources and sinks are static boxes; a storage is its rack frame (its crane carriage
  and stored loads move in it, see rack_view);
- ``fixtures``: boxes, open bins and trays, and meshes (trimesh; convex hull when not watertight);
- the arm of every robot cell, at its base pose in its ready pose;
- AGVs, as box chassis moved by the fleet model (``twin.logistics``), when the twin has logistics.

Parts are rigid bodies of their part type's size, mass and friction, in three zones:

- **on a conveyor** with geometry, a part's body is placed at every sync exactly where the core's
  closed-form conveyor model puts it (``start + x · direction``, resting on the belt), moving at the
  belt's velocity: the core is the source of truth;
- **on a station** with geometry (being processed, or finished and waiting), it sits on top of the
  station's box, one place per server;
- **into a sink** with geometry (a bin), the part is handed to physics: a dynamic body is dropped
  above the sink and falls and settles among the parts already there (the most recent
  ``sink_bodies`` per sink are kept);
- **in a bin a robot cell picks from** (``pick_from`` a bin fixture), as many parts as wait in the
  buffers feeding the cell (up to 20) lie in the bin: dropped in as they arrive, the topmost
  removed as the arm takes one.

The 3D world never changes line results; it shows them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..core import layout as L
from ..core.engine import Engine
from ..scene.models import Scene
from ._bullet import euler_to_quat
from .belt import BELT_THICKNESS_M, add_belt_frame
from .rack_view import rack_frame_boxes
from .robot_cell import offset_by_yaw, part_type_at
from .world import World

__all__ = ["SceneWorld", "BELT_THICKNESS_M"]

_PICK_BIN_SHOWN = 20  # most parts shown waiting in a bin a robot cell picks from

_FRAME_RGBA = (0.25, 0.27, 0.30, 1.0)
_MACHINE_RGBA = (0.35, 0.45, 0.60, 1.0)
_PART_RGBA = (0.85, 0.55, 0.15, 1.0)


@dataclass
class _PickBin:
    """A bin a robot cell picks from, as shown: the parts waiting in the buffers feeding the cell."""

    station: int  # node id of the cell's station
    feeding: list[int]  # buffers whose parts lie in the bin
    fixture: object  # the bin fixture (scene model)
    part_type: object  # the part type shown
    bodies: list[str] = field(default_factory=list)  # parts in the bin now
    taken: int = 0  # parts the cell had taken at the last sync


class SceneWorld:
    """Static layout bodies plus part bodies that follow the engine.

    Args:
        scene: the scene (its ``geometry`` entries and ``fixtures`` are used).
        world: an open World; this object adds bodies to it but does not own it.
        engine: the line engine whose parts are shown.
        sink_bodies: how many dropped parts each sink keeps as bodies.
    """

    def __init__(self, scene: Scene, world: World, engine: Engine, sink_bodies: int = 40) -> None:
        self.world = world
        self.engine = engine
        self.sink_bodies = int(sink_bodies)
        self._types = scene.part_types
        self._belts: dict[int, tuple[np.ndarray, np.ndarray, tuple[float, float, float, float]]] = {}
        self._tops: dict[int, tuple] = {}  # station node -> (geometry, capacity)
        self._bins: dict[int, np.ndarray] = {}  # sink node -> drop point
        self._parts: dict[int, str] = {}
        self._dropped: dict[int, list[str]] = {}
        self._drops = 0
        world.add_floor()
        node_id = {name: i for i, name in enumerate(engine.names.nodes)}
        for cv in scene.conveyors:
            if cv.geometry is not None:
                self._add_belt(node_id[cv.name], cv.name, cv.geometry)
        for section in ("stations", "buffers", "sources", "sinks", "storages"):
            for el in getattr(scene, section):
                g = el.geometry
                if g is None:
                    continue
                if section == "storages":  # the rack's frame; the crane and loads move in it (rack_view)
                    world.add_compound(el.name, rack_frame_boxes(el), g.xyz_m, yaw_rad=math.radians(g.yaw_deg))
                else:
                    world.add_box(el.name, tuple(0.5 * v for v in g.size_m), g.xyz_m,
                                  yaw_rad=math.radians(g.yaw_deg), rgba=_MACHINE_RGBA)
                top = np.array(g.xyz_m, float) + np.array([0.0, 0.0, 0.5 * g.size_m[2]])
                if section == "stations":
                    self._tops[node_id[el.name]] = (g, el.capacity)
                elif section == "sinks":
                    self._bins[node_id[el.name]] = top + np.array([0.0, 0.0, 0.3])
                    self._dropped[node_id[el.name]] = []
        self._sink_seen = engine.sink_counts()
        for fx in scene.fixtures:
            self._add_fixture(fx)
        self.robots = []  # (robot, first server of its station, measured cycle motion)
        self._bin_cells: list[_PickBin] = []
        fixtures = {fx.name: fx for fx in scene.fixtures}
        for st in scene.stations:
            cell = st.robot_cell
            if cell is not None and cell.pick_from in fixtures and fixtures[cell.pick_from].shape == "bin":
                n = node_id[st.name]
                off, m = int(engine.params.pred_off[n]), int(engine.params.pred_len[n])
                feeding = [int(q) for q in engine.params.pred_idx[off:off + m]
                           if engine.params.node_kind[q] == L.KIND_BUFFER]
                self._bin_cells.append(_PickBin(n, feeding, fixtures[cell.pick_from], part_type_at(scene, st.name)))
        for st in scene.stations:
            if st.robot_cell is not None:
                from .robot import Robot  # the arm, standing at its base in its ready pose

                cell = st.robot_cell
                robot = Robot(world, f"{st.name}/robot", cell.urdf, base_xyz_m=cell.base_xyz_m,
                              base_yaw_rad=math.radians(cell.base_yaw_deg))
                server = int(engine.params.st_srv_off[node_id[st.name]])
                self.robots.append((robot, server, st.robot_motion))

    def _add_fixture(self, fx) -> None:
        from .assets import bin_mesh, load_mesh  # trimesh only where fixtures need it

        yaw = math.radians(fx.yaw_deg)
        if fx.shape == "box":
            self.world.add_box(fx.name, tuple(0.5 * v for v in fx.size_m), fx.xyz_m, yaw_rad=yaw,
                               mass_kg=fx.mass_kg, friction=fx.friction, rgba=fx.rgba)
            return
        mesh = bin_mesh(fx.size_m, fx.wall_m) if fx.shape == "bin" else load_mesh(fx.mesh_path, fx.scale)
        self.world.add_mesh(fx.name, mesh, fx.xyz_m, yaw_rad=yaw, mass_kg=fx.mass_kg, friction=fx.friction,
                            rgba=fx.rgba)

    def _add_belt(self, node: int, name: str, geometry) -> None:
        frame = add_belt_frame(self.world, name, geometry.start_xyz_m, geometry.end_xyz_m, geometry.width_m,
                               rgba=_FRAME_RGBA)
        self._belts[node] = (np.array(geometry.start_xyz_m, float), frame.direction, frame.quat)

    def part_body(self, uid: int) -> str | None:
        """Body name of part ``uid`` if it is shown now."""
        return self._parts.get(int(uid))

    def _body_for(self, uid: int, ptype: int) -> str:
        name = self._parts.get(uid)
        if name is None:
            pt = self._types[ptype]
            name = f"part/{uid}"
            self.world.add_box(name, tuple(0.5 * v for v in pt.body_size_m()), (0.0, 0.0, -10.0),
                               mass_kg=pt.mass_kg, friction=pt.friction, rgba=_PART_RGBA)
        return name

    def sync(self) -> int:
        """Place every part on a conveyor or station with geometry where the core has it now, drop
        new sink arrivals into their bins; return how many parts follow the core."""
        c = self.world.client
        shown: dict[int, str] = {}
        node, pos, uid, ptype = self.engine.conveyor_parts_typed()
        speed = self.engine.state.cv_v
        for n, x, u, t in zip(node.tolist(), pos.tolist(), uid.tolist(), ptype.tolist(), strict=True):
            belt = self._belts.get(n)
            if belt is None:
                continue
            start, direction, quat = belt
            name = self._body_for(u, t)
            height = self._types[t].body_size_m()[2]
            self.world.set_pose(name, tuple(start + x * direction + np.array([0.0, 0.0, 0.5 * height])), quat)
            c.resetBaseVelocity(self.world.body(name), (float(speed[n]) * direction).tolist(), [0, 0, 0])
            shown[u] = name
        node, server, uid, ptype = self.engine.station_parts()
        for n, k, u, t in zip(node.tolist(), server.tolist(), uid.tolist(), ptype.tolist(), strict=True):
            top = self._tops.get(n)
            if top is None:
                continue
            geometry, cap = top
            xyz, yaw = geometry.part_on_top(k, cap, self._types[t].body_size_m())
            name = self._body_for(u, t)
            self.world.set_pose(name, xyz, euler_to_quat(0.0, 0.0, yaw))
            c.resetBaseVelocity(self.world.body(name), [0, 0, 0], [0, 0, 0])
            shown[u] = name
        for u, name in self._parts.items():
            if u not in shown:
                self.world.remove(name)
        self._parts = shown
        self._drop_into_bins()
        self._fill_pick_bins()
        self._pose_robots()
        return len(shown)

    def _fill_pick_bins(self) -> None:
        """A bin a robot cell picks from holds as many parts as wait in the buffers feeding the cell
        (up to ``_PICK_BIN_SHOWN``): new ones are dropped in, and the topmost goes when one is taken."""
        s, p = self.engine.state, self.engine.params  # st_processed is [node, part type]
        for cell in self._bin_cells:
            n, fx, pt, bodies = cell.station, cell.fixture, cell.part_type, cell.bodies
            want = min(int(sum(int(s.node_count[q]) for q in cell.feeding)), _PICK_BIN_SHOWN)
            off = int(p.st_srv_off[n])
            # parts the cell has taken so far: those it finished and those on its server now
            taken = int(s.st_processed[n].sum()) + int((s.srv_part[off:off + int(p.node_cap[n])] >= 0).sum())
            gone = max(taken - cell.taken, len(bodies) - want)
            cell.taken = taken
            for _ in range(min(gone, len(bodies))):  # the arm took one: the topmost, as it picks
                top = max(bodies, key=lambda b: self.world.state(b).xyz_m[2])
                bodies.remove(top)
                self.world.remove(top)
            while len(bodies) < want:
                self._drops += 1
                k = self._drops
                # over the bin's inside, spread by a fixed pattern (the 3D world never draws random numbers)
                local = (0.25 * fx.size_m[0] * math.sin(2.3 * k), 0.25 * fx.size_m[1] * math.cos(1.7 * k),
                         0.5 * fx.size_m[2] + 0.1)
                xyz = offset_by_yaw(fx.xyz_m, local, math.radians(fx.yaw_deg))
                name = f"binned/{k}"
                body = self.world.add_box(name, tuple(0.5 * v for v in pt.body_size_m()), xyz, yaw_rad=0.9 * k,
                                          mass_kg=pt.mass_kg, friction=pt.friction, rgba=_PART_RGBA)
                # the arm replays a cycle measured with other parts: it must not knock these about
                c = self.world.client
                for robot, _, _ in self.robots:
                    for link in range(-1, c.getNumJoints(robot.body)):
                        c.setCollisionFilterPair(robot.body, body, link, -1, 0)
                bodies.append(name)

    def _pose_robots(self) -> None:
        """Each robot-cell arm replays its measured cycle while its station processes a part."""
        s = self.engine.state
        t = self.engine.t
        for robot, server, motion in self.robots:
            if motion is None or len(motion) == 0:
                continue
            busy = s.srv_state[server] == L.SRV_BUSY and not s.srv_paused[server]
            k = int((t - s.srv_since[server]) * 240.0) if busy else len(motion) - 1
            robot.pose(motion[min(max(k, 0), len(motion) - 1)])

    def _drop_into_bins(self) -> None:
        counts = self.engine.sink_counts()
        new = counts - self._sink_seen
        self._sink_seen = counts
        for n, drop in self._bins.items():
            for t in np.flatnonzero(new[n]).tolist():
                for _ in range(int(new[n, t])):
                    pt = self._types[t]
                    self._drops += 1
                    name = f"dropped/{self._drops}"
                    jitter = 0.05 * math.sin(1.7 * self._drops)  # not all on one spot
                    self.world.add_box(name, tuple(0.5 * v for v in pt.body_size_m()),
                                       (drop[0] + jitter, drop[1] - jitter, drop[2]), yaw_rad=0.6 * self._drops,
                                       mass_kg=pt.mass_kg, friction=pt.friction, rgba=_PART_RGBA)
                    kept = self._dropped[n]
                    kept.append(name)
                    if len(kept) > self.sink_bodies:
                        self.world.remove(kept.pop(0))
