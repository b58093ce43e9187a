"""A two-finger gripper driven by its finger joints: the part is held by friction, not attached.

The fingers are the hand's prismatic joints (e.g. the Franka hand's ``panda_finger_joint1/2``).
Gripping closes them under force control (``force_n`` per finger, at most the URDF effort) until
both touch the part and stop; the part then rides between them by contact and friction alone, so
it can slip if the motion is too violent for the grip. What the fingers hold, and how, is read back
from physics (``held_pose`` is measured live), so a placement corrects for any slip.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import SceneError, SimulationError
from .robot import Robot

__all__ = ["TwoFingerGripper"]


class TwoFingerGripper:
    """Two parallel fingers on ``robot``'s hand.

    Args:
        force_n: closing force per finger (N), capped at the joints' effort limit.
        grip_depth_m: how far below the part's top face the grasp point (the end-effector link,
            between the fingertips) goes.
        close_s: longest time a closing may take.
    """

    def __init__(self, robot: Robot, force_n: float = 20.0, grip_depth_m: float = 0.015, close_s: float = 0.6) -> None:
        if len(robot.finger_joints) != 2:
            raise SceneError(f"robot {robot.name!r}: a two-finger gripper needs two finger joints, "
                             f"the URDF {robot.urdf!r} has {len(robot.finger_joints)}")
        self.robot = robot
        self.force_n = float(force_n)
        self.grip_depth_m = float(grip_depth_m)
        self.close_s = float(close_s)
        c = robot.world.client
        self._open = [c.getJointInfo(robot.body, j)[9] for j in robot.finger_joints]
        for j, q in zip(robot.finger_joints, self._open, strict=True):
            c.resetJointState(robot.body, j, q)
        # the fingers are coupled, as by the hand's mechanism, so they close symmetrically about the
        # grasp point rather than one pushing the part against the other
        a, b = robot.finger_joints
        gear = c.createConstraint(robot.body, a, robot.body, b, c.JOINT_GEAR, [1, 0, 0], [0, 0, 0], [0, 0, 0])
        c.changeConstraint(gear, gearRatio=-1, erp=0.1, maxForce=50)
        self._drive(self._open)
        self._held: str | None = None
        self._body = -1
        self._axis_yaw = self._closing_axis_yaw()

    @property
    def holding(self) -> str | None:
        return self._held

    @property
    def opening_m(self) -> float:
        """Distance between the fingers now (m)."""
        c = self.robot.world.client
        return float(sum(c.getJointState(self.robot.body, j)[0] for j in self.robot.finger_joints))

    @property
    def held_pose(self) -> tuple | None:
        """Pose of the held part in the end-effector link frame, measured now (it may have slipped)."""
        if self._held is None:
            return None
        c = self.robot.world.client
        link = c.getLinkState(self.robot.body, self.robot.ee, computeForwardKinematics=True)
        return c.multiplyTransforms(*c.invertTransform(link[4], link[5]),
                                    *c.getBasePositionAndOrientation(self._body))

    def tool_yaw(self, part: str, part_yaw_rad: float) -> float:
        """Tool yaw that closes the fingers across the part's narrower horizontal side."""
        c = self.robot.world.client
        half = np.array(c.getCollisionShapeData(self.robot.world.body(part), -1)[0][3]) / 2.0
        narrow = part_yaw_rad + (0.5 * math.pi if half[1] < half[0] else 0.0)
        # a half turn of the hand is the same grip: take the one nearer the ready pose
        yaw = narrow + self._axis_yaw
        return (yaw + 0.5 * math.pi) % math.pi - 0.5 * math.pi

    def attach(self, part: str) -> None:
        """Close on ``part``; the arm holds still while the fingers close.

        Raises:
            SimulationError: when the fingers do not both end on the part (nothing between them,
                or the part is wider than the opening).
        """
        if self._held is not None:
            raise SimulationError(f"{self.robot.name}: already holding {self._held!r}")
        world = self.robot.world
        c = world.client
        body = world.body(part)
        self._drive([0.0, 0.0])
        touching = False
        for _ in range(max(1, round(self.close_s / world.dt_s / 6))):
            self.robot.hold(6)
            touching = all(c.getContactPoints(self.robot.body, body, linkIndexA=j) for j in self.robot.finger_joints)
            speed = max(abs(c.getJointState(self.robot.body, j)[1]) for j in self.robot.finger_joints)
            if touching and speed < 1e-3:
                break
        if not touching:
            self._drive(self._open)
            self.robot.hold(round(0.2 / world.dt_s))
            raise SimulationError(f"{self.robot.name}: the fingers closed to {1000 * self.opening_m:.1f} mm "
                                  f"without gripping {part!r} between them")
        self._held, self._body = part, body
        self.robot.carried = (body, self.held_pose)

    def release(self) -> str | None:
        """Open the fingers (the arm holds still meanwhile); return the part that was held."""
        held = self._held
        if held is not None:
            self.robot.world.wake(held)
        self._drive(self._open)
        self.robot.hold(round(0.25 / self.robot.world.dt_s))
        self._held, self._body = None, -1
        self.robot.carried = None
        return held

    drop = release

    def _drive(self, targets) -> None:
        c = self.robot.world.client
        effort = [min(self.force_n, c.getJointInfo(self.robot.body, j)[10] or self.force_n)
                  for j in self.robot.finger_joints]
        c.setJointMotorControlArray(self.robot.body, self.robot.finger_joints, c.POSITION_CONTROL,
                                    targetPositions=list(targets), forces=effort)

    def _closing_axis_yaw(self) -> float:
        """Angle of the fingers' closing direction in the end-effector frame (about its z axis)."""
        c = self.robot.world.client
        link = c.getLinkState(self.robot.body, self.robot.ee, computeForwardKinematics=True)
        a, b = (c.getLinkState(self.robot.body, j, computeForwardKinematics=True)[4] for j in self.robot.finger_joints)
        inv = c.invertTransform(link[4], link[5])
        pa = np.array(c.multiplyTransforms(*inv, a, (0, 0, 0, 1))[0])
        pb = np.array(c.multiplyTransforms(*inv, b, (0, 0, 0, 1))[0])
        d = pb - pa
        return math.atan2(d[1], d[0])
