"""A suction gripper: a part in contact with the cup is held by a fixed constraint.

This is the "logical attach" used in industrial simulation: when the suction cup touches a part
(within a tolerance), the part is locked to the tool at its current relative pose, so it neither
wobbles nor slips while the arm moves, and it is released exactly where the tool puts it.
Friction-driven two-finger grasping is separate work.
"""

from __future__ import annotations

from ..errors import SimulationError
from .robot import Robot

__all__ = ["SuctionGripper"]


class SuctionGripper:
    """Suction cup at a robot's end-effector link.

    Args:
        robot: the arm carrying the cup.
        contact_tolerance_m: the part must be within this distance of the tool to be picked.
        max_force_n: force the vacuum holds with (the constraint's maximum force).
    """

    def __init__(self, robot: Robot, contact_tolerance_m: float = 0.005, max_force_n: float = 500.0) -> None:
        self.robot = robot
        self.contact_tolerance_m = float(contact_tolerance_m)
        self.max_force_n = float(max_force_n)
        self._constraint: int | None = None
        self._held: str | None = None

    @property
    def holding(self) -> str | None:
        """Name of the held part, or None."""
        return self._held

    def attach(self, part: str) -> None:
        """Grip ``part`` if the cup touches it (within the tolerance).

        Raises:
            SimulationError: naming the part and the gap when it is out of reach of the cup.
        """
        if self._held is not None:
            raise SimulationError(f"{self.robot.name}: already holding {self._held!r}")
        world = self.robot.world
        c = world.client
        body = world.body(part)
        points = c.getClosestPoints(self.robot.body, body, self.contact_tolerance_m,
                                    linkIndexA=self.robot.ee)
        if not points:
            gap = c.getClosestPoints(self.robot.body, body, 10.0, linkIndexA=self.robot.ee)
            distance = min(p[8] for p in gap) if gap else float("inf")
            raise SimulationError(f"{self.robot.name}: suction cup is {1000 * distance:.1f} mm from "
                                  f"{part!r}; it must be within {1000 * self.contact_tolerance_m:.1f} mm")
        ee = c.getLinkState(self.robot.body, self.robot.ee, computeForwardKinematics=True)
        ee_pos, ee_quat = ee[4], ee[5]
        part_pos, part_quat = c.getBasePositionAndOrientation(body)
        inv_pos, inv_quat = c.invertTransform(ee_pos, ee_quat)
        rel_pos, rel_quat = c.multiplyTransforms(inv_pos, inv_quat, part_pos, part_quat)
        self._constraint = c.createConstraint(self.robot.body, self.robot.ee, body, -1, c.JOINT_FIXED,
                                              [0, 0, 0], rel_pos, [0, 0, 0], rel_quat, [0, 0, 0, 1])
        c.changeConstraint(self._constraint, maxForce=self.max_force_n)
        self._held = part

    def release(self) -> str | None:
        """Let go of the held part; return its name."""
        if self._constraint is not None:
            self.robot.world.client.removeConstraint(self._constraint)
        held, self._held, self._constraint = self._held, None, None
        return held
