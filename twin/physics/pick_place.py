"""Pick-and-place with a suction gripper: joint moves between safe poses, straight descents.

The tool points straight down. A cycle moves (joint space, time-scaled within limits) to a pose
above the part, descends in a straight vertical line until the cup touches the part's top, grips
it, retreats straight up, moves above the target, turned by the difference between the part's
yaw and the target yaw, descends, releases and retreats. The physics time the cycle takes is the
robot cell's cycle time.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import SimulationError
from .gripper import SuctionGripper
from .robot import Robot

__all__ = ["PickPlace", "tool_down_quat"]


def tool_down_quat(robot: Robot, yaw_rad: float) -> tuple[float, float, float, float]:
    """Quaternion (xyzw) of a tool pointing straight down, turned by ``yaw_rad`` about vertical."""
    return tuple(robot.world.client.getQuaternionFromEuler((math.pi, 0.0, yaw_rad)))


class PickPlace:
    """Pick parts and place them at targets with ``robot`` and a suction ``gripper``.

    Args:
        approach_m: height above a surface from which descents start and to which retreats go.
        descent_steps: waypoints of a straight descent (each solved by IK and joined by a motion).
    """

    def __init__(self, robot: Robot, gripper: SuctionGripper, approach_m: float = 0.15,
                 descent_steps: int = 10) -> None:
        self.robot = robot
        self.gripper = gripper
        self.approach_m = float(approach_m)
        self.descent_steps = int(descent_steps)
        self.tool_offset_m = self._measure_tool_offset()

    def _measure_tool_offset(self) -> float:
        """How far the tool's face lies below the end-effector link frame when pointing down.

        Measured once from the link's collision bounds, so targets can be given as points on
        part surfaces rather than link frames.
        """
        robot = self.robot
        c = robot.world.client
        saved = robot.joints()
        base = np.array(c.getBasePositionAndOrientation(robot.body)[0])
        try:
            result = robot.ik(base + np.array([0.45, 0.0, 0.45]), tool_down_quat(robot, 0.0))
            robot.set_joints(result.q)
            link_z = c.getLinkState(robot.body, robot.ee, computeForwardKinematics=True)[4][2]
            return float(link_z - c.getAABB(robot.body, robot.ee)[0][2])
        finally:
            robot.set_joints(saved)

    def _move_to(self, xyz, quat, profile: str = "quintic") -> float:
        result = self.robot.ik(xyz, quat, tolerance_m=5e-4, tolerance_rad=5e-3)
        motion = self.robot.plan(result.q, profile=profile)
        self.robot.follow(motion)
        return motion.duration_s

    def _line(self, start, end, quat) -> float:
        """Straight Cartesian line from ``start`` to ``end`` (tool orientation fixed)."""
        total = 0.0
        for k in range(1, self.descent_steps + 1):
            total += self._move_to(start + (end - start) * k / self.descent_steps, quat, "trapezoidal")
        return total

    def cycle(self, part: str, part_top_xyz, part_yaw_rad: float, target_xyz, target_yaw_rad: float) -> float:
        """One pick-and-place; return its duration (physics seconds).

        ``part_top_xyz``: centre of the part's top face; ``target_xyz``: where that point must end.
        """
        up = np.array([0.0, 0.0, self.approach_m])
        # targets are for the link frame: the tool face touches the surface (1 mm inside the
        # contact tolerance so that the cup registers contact without pressing into the part)
        tool = np.array([0.0, 0.0, self.tool_offset_m + 0.001])
        pick = np.asarray(part_top_xyz, float) + tool
        place = np.asarray(target_xyz, float) + tool
        q_pick = tool_down_quat(self.robot, part_yaw_rad)
        q_place = tool_down_quat(self.robot, target_yaw_rad)
        pick_at = tuple(round(float(v), 4) for v in part_top_xyz)
        place_at = tuple(round(float(v), 4) for v in target_xyz)
        try:
            t = self._move_to(pick + up, q_pick)
            t += self._line(pick + up, pick, q_pick)
        except SimulationError as exc:
            raise SimulationError(f"cannot reach the pick pose {pick_at}: {exc}") from None
        self.gripper.attach(part)
        try:
            t += self._line(pick, pick + up, q_pick)
            t += self._move_to(place + up, q_place)
            t += self._line(place + up, place, q_place)
        except SimulationError as exc:
            raise SimulationError(f"cannot reach the place pose {place_at}: {exc}") from None
        self.gripper.release()
        t += self._line(place, place + up, q_place)
        return t
