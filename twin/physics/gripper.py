"""A suction gripper: a part the cup touches is held rigidly at the pose it was gripped in.

This is the "logical attach" used in industrial simulation: when the suction cup touches a part
(within a tolerance), the part is locked to the tool at its current relative pose, so it neither
wobbles nor slips while the arm moves, and it is released exactly where the tool puts it. Bullet's
fixed constraints stretch under fast arm motion (several mm to cm at full joint speed), so the held
part is instead placed kinematically at ``tool pose x grip pose`` before every physics step, with
the tool's velocity, and does not collide with the arm that holds it. A suction failure
(:meth:`SuctionGripper.drop`) lets go wherever the part is, and physics takes over.
"""

from __future__ import annotations

from ..errors import SimulationError
from .robot import Robot

__all__ = ["SuctionGripper"]


class SuctionGripper:
    """Suction cup at a robot's end-effector: it touches parts with the robot's ``tool_links``.

    Args:
        robot: the arm carrying the cup.
        contact_tolerance_m: the part must be within this distance of the tool to be picked.
    """

    def __init__(self, robot: Robot, contact_tolerance_m: float = 0.005) -> None:
        self.robot = robot
        self.contact_tolerance_m = float(contact_tolerance_m)
        self._held: str | None = None
        self._body = -1
        #: pose (xyz, quat xyzw) of the held part in the end-effector link frame, set on attach
        self.held_pose: tuple | None = None

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
        links = self.robot.tool_links
        points = [p for j in links for p in c.getClosestPoints(self.robot.body, body, self.contact_tolerance_m,
                                                               linkIndexA=j)]
        if not points:
            gap = [p for j in links for p in c.getClosestPoints(self.robot.body, body, 10.0, linkIndexA=j)]
            distance = min(p[8] for p in gap) if gap else float("inf")
            raise SimulationError(f"{self.robot.name}: suction cup is {1000 * distance:.1f} mm from "
                                  f"{part!r}; it must be within {1000 * self.contact_tolerance_m:.1f} mm")
        ee = c.getLinkState(self.robot.body, self.robot.ee, computeForwardKinematics=True)
        part_pos, part_quat = c.getBasePositionAndOrientation(body)
        self.held_pose = c.multiplyTransforms(*c.invertTransform(ee[4], ee[5]), part_pos, part_quat)
        self._set_collisions(body, False)
        self._held, self._body = part, body
        self.robot.carried = (body, self.held_pose)
        self.robot.carried_kinematic = True
        world.add_step_hook(self._carry)

    def release(self) -> str | None:
        """Let go of the held part where it is; return its name (None if nothing was held)."""
        held = self._held
        if held is not None:
            self.robot.world.remove_step_hook(self._carry)
            self._set_collisions(self._body, True)
            self.robot.world.wake(held)
        self._held, self._body, self.held_pose = None, -1, None
        self.robot.carried = None
        self.robot.carried_kinematic = False
        return held

    #: a suction failure: the vacuum is lost and the part falls wherever it is
    drop = release

    def _carry(self, dt_s: float) -> None:
        c = self.robot.world.client
        now = self.robot.carry_now
        if now is not None:  # the arm is playing a motion: the part's path is already worked out
            c.resetBasePositionAndOrientation(self._body, now[0], now[1])
            c.resetBaseVelocity(self._body, now[2], now[3])
            return
        link = c.getLinkState(self.robot.body, self.robot.ee, computeLinkVelocity=True,
                              computeForwardKinematics=True)
        c.resetBasePositionAndOrientation(self._body, *c.multiplyTransforms(link[4], link[5], *self.held_pose))
        c.resetBaseVelocity(self._body, link[6], link[7])

    def _set_collisions(self, body: int, enable: bool) -> None:
        c = self.robot.world.client
        for link in range(-1, c.getNumJoints(self.robot.body)):
            c.setCollisionFilterPair(self.robot.body, body, link, -1, int(enable))
