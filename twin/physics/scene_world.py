"""The line's 3D layout in a ``World``, with the parts on conveyors following the core.

Elements with a ``geometry`` in the scene become static bodies: a conveyor is a frame whose top is
the belt surface, stations, buffers, sources and sinks are boxes. Parts on a conveyor with
geometry are kinematic bodies placed, at every sync, exactly where the core's closed-form conveyor
model says they are: ``start + x * direction``, resting on the belt. The core stays the source of
truth; physical zones where bodies take over dynamically (robot cells, bins) are later work.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.engine import Engine
from ..scene.models import Scene
from ._bullet import euler_to_quat
from .world import World

__all__ = ["SceneWorld", "BELT_THICKNESS_M"]

BELT_THICKNESS_M = 0.05
_FRAME_RGBA = (0.25, 0.27, 0.30, 1.0)
_MACHINE_RGBA = (0.35, 0.45, 0.60, 1.0)
_PART_RGBA = (0.85, 0.55, 0.15, 1.0)


class SceneWorld:
    """Static layout bodies plus part bodies that follow the engine.

    Args:
        scene: the scene (its ``geometry`` entries are used; elements without one are skipped).
        world: an open World; this object adds bodies to it but does not own it.
        engine: the line engine whose conveyor parts are shown.
    """

    def __init__(self, scene: Scene, world: World, engine: Engine) -> None:
        self.world = world
        self.engine = engine
        self._part_size = {i: pt.body_size_m() for i, pt in enumerate(scene.part_types)}
        self._belts: dict[int, tuple[np.ndarray, np.ndarray, tuple[float, float, float, float]]] = {}
        self._parts: dict[int, str] = {}
        world.add_floor()
        node_id = {name: i for i, name in enumerate(engine.names.nodes)}
        for cv in scene.conveyors:
            if cv.geometry is not None:
                self._add_belt(node_id[cv.name], cv.name, cv.geometry)
        for section in ("stations", "buffers", "sources", "sinks"):
            for el in getattr(scene, section):
                g = el.geometry
                if g is not None:
                    world.add_box(el.name, tuple(0.5 * v for v in g.size_m), g.xyz_m,
                                  yaw_rad=math.radians(g.yaw_deg), rgba=_MACHINE_RGBA)

    def _add_belt(self, node: int, name: str, geometry) -> None:
        start = np.array(geometry.start_xyz_m, float)
        end = np.array(geometry.end_xyz_m, float)
        axis = end - start
        length = float(np.linalg.norm(axis))
        direction = axis / length
        yaw = math.atan2(direction[1], direction[0])
        pitch = -math.asin(max(-1.0, min(1.0, direction[2])))
        quat = euler_to_quat(0.0, pitch, yaw)
        centre = 0.5 * (start + end) - np.array([0.0, 0.0, 0.5 * BELT_THICKNESS_M])
        self.world.add_box(name, (0.5 * length, 0.5 * geometry.width_m, 0.5 * BELT_THICKNESS_M),
                           tuple(centre), yaw_rad=yaw, rgba=_FRAME_RGBA)
        if pitch:
            self.world.set_pose(name, tuple(centre), quat)
        self._belts[node] = (start, direction, quat)

    def part_body(self, uid: int) -> str | None:
        """Body name of part ``uid`` if it is shown now."""
        return self._parts.get(int(uid))

    def sync(self) -> int:
        """Place every conveyor part's body where the core has it now; return how many are shown."""
        node, pos, uid, ptype = self.engine.conveyor_parts_typed()
        shown: dict[int, str] = {}
        for n, x, u, t in zip(node.tolist(), pos.tolist(), uid.tolist(), ptype.tolist(), strict=True):
            belt = self._belts.get(n)
            if belt is None:
                continue
            start, direction, quat = belt
            size = self._part_size[t]
            name = self._parts.get(u)
            if name is None:
                name = f"part/{u}"
                self.world.add_box(name, tuple(0.5 * v for v in size), (0.0, 0.0, -10.0), rgba=_PART_RGBA)
            xyz = start + x * direction + np.array([0.0, 0.0, 0.5 * size[2]])
            self.world.set_pose(name, tuple(xyz), quat)
            shown[u] = name
        for u, name in self._parts.items():
            if u not in shown:
                self.world.remove(name)
        self._parts = shown
        return len(shown)


