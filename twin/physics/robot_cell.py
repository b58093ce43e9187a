"""Robot cells: measure a station's robot cycle time from real motion in a physics world.

Each cell is built on its own in a fresh World (DIRECT mode): the arm at its base pose, a pedestal
under the pick point with one part of the scene's first part type on it, a pedestal under the place
point. One suction pick-and-place cycle is played in physics, and its duration becomes part of the
station's process time, so the line's KPIs reflect the robot's real motion. The cycle is fully
deterministic, so it is measured once, when the scene loads.
"""

from __future__ import annotations

import math

from ..errors import SceneError, SimulationError
from ..scene.models import RobotCell, Scene
from .gripper import SuctionGripper
from .pick_place import PickPlace
from .robot import Robot
from .world import World

__all__ = ["measure_cycle_s", "resolve_robot_cells"]


def measure_cycle_s(cell: RobotCell, part_size_m: tuple[float, float, float], name: str = "robot") -> float:
    """Physics time (s) of one pick-and-place cycle of ``cell`` with a part of ``part_size_m``.

    Raises:
        SimulationError: when a pose is out of reach or the part cannot be gripped.
    """
    half = tuple(0.5 * v for v in part_size_m)
    with World() as world:
        world.add_floor()
        for label, top in (("pick", cell.pick_xyz_m), ("place", cell.place_xyz_m)):
            surface = top[2] - 2 * half[2]  # the part's top face is at the given point
            if surface <= 0.005:
                raise SimulationError(f"robot {name!r}: {label}_xyz_m {tuple(top)} is too low for a part "
                                      f"{2 * half[2]:.3f} m tall standing on a surface above the floor")
            world.add_box(f"{label}_stand", (0.15, 0.15, 0.5 * surface), (top[0], top[1], 0.5 * surface))
        pick_yaw = math.radians(cell.pick_yaw_deg)
        world.add_box("part", half, (cell.pick_xyz_m[0], cell.pick_xyz_m[1], cell.pick_xyz_m[2] - half[2]),
                      yaw_rad=pick_yaw, mass_kg=0.2)
        robot = Robot(world, name, cell.urdf, base_xyz_m=cell.base_xyz_m,
                      base_yaw_rad=math.radians(cell.base_yaw_deg))
        pick_place = PickPlace(robot, SuctionGripper(robot), approach_m=cell.approach_m)
        return pick_place.cycle("part", cell.pick_xyz_m, pick_yaw, cell.place_xyz_m,
                                math.radians(cell.place_yaw_deg))


def resolve_robot_cells(scene: Scene, src) -> Scene:
    """Measure every robot cell's cycle and attach it to its station (errors name file and line)."""
    part_size = scene.part_types[0].body_size_m()
    for i, station in enumerate(scene.stations):
        if station.robot_cell is None:
            continue
        try:
            cycle = measure_cycle_s(station.robot_cell, part_size, name=station.name)
        except SimulationError as exc:
            raise src.error(("stations", i, "robot_cell"), str(exc)) from None
        except SceneError as exc:
            raise src.error(("stations", i, "robot_cell", "urdf"), exc.detail) from None
        station.__pydantic_private__["_robot_cycle_s"] = cycle  # private: frozen fields stay untouched
    return scene
