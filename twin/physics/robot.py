"""Robot arms in a World: URDF loading, joint limits, forward and inverse kinematics, motions.

A ``Robot`` loads a URDF (from ``pybullet_data``, e.g. ``kuka_iiwa/model.urdf`` or
``franka_panda/panda.urdf``, or a user path) into a World at a base pose, reads every movable
joint's position and velocity limits from the URDF, and plans joint motions within them
(``twin.physics.trajectory``). URDF has no acceleration limits, so they come from the maker's data
for the bundled arms, or from the caller.

Inverse kinematics first takes Newton (damped least squares) steps on the arm's Jacobian
(``twin.physics.local_ik``: a few tens of microseconds a step, where PyBullet's IK costs about
0.3 ms a call), and falls back on PyBullet's null-space IK when they do not converge. Every result
is checked by forward kinematics: a solution that misses the target by more than the tolerance is
not a solution. Restarts use deterministic random seeds, so results are reproducible.
"""

from __future__ import annotations

import math
import os
import zlib
from dataclasses import dataclass

import numpy as np

from ..errors import SceneError, SimulationError
from ._bullet import DATA_PATH, euler_to_quat
from .kinematics import attached_path, matrix_of_quat
from .local_ik import LocalIK
from .trajectory import JointMotion, plan_motion
from .world import World

__all__ = ["Robot", "JointLimits", "IKResult", "KNOWN_ACCELERATION_LIMITS", "KNOWN_HOME_POSES"]

#: Joint acceleration limits (rad/s²) of bundled arms, from the makers' data sheets.
KNOWN_ACCELERATION_LIMITS = {
    "franka_panda/panda.urdf": (15.0, 7.5, 10.0, 12.5, 15.0, 20.0, 20.0),
    "kuka_iiwa/model.urdf": (10.0,) * 7,
}
#: Ready poses (rad) of bundled arms: elbow up, tool pointing down in front of the base. IK prefers
#: solutions near it, so one target always gets the same arm configuration.
KNOWN_HOME_POSES = {
    "franka_panda/panda.urdf": (0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785),
    "kuka_iiwa/model.urdf": (0.0, 0.5, 0.0, -1.4, 0.0, 1.2, 0.0),
}
_MOVABLE = (0, 1)  # revolute, prismatic joint types in PyBullet's getJointInfo


@dataclass(frozen=True)
class JointLimits:
    """Per movable joint: names and limits (rad or m, per s, per s²)."""

    names: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray
    velocity: np.ndarray
    acceleration: np.ndarray


@dataclass(frozen=True)
class IKResult:
    """Joint positions reaching a target, and how far the end effector is from it (m, rad)."""

    q: np.ndarray
    position_error_m: float
    orientation_error_rad: float


def check_horizon(clearance_m: float) -> float:
    """How far a clearance check looks (m): a little beyond the clearance, since only distances
    below it matter (to the decision and to the messages). Closest-point queries cost less the
    fewer link pairs lie within their distance (a third less than looking 0.2 m out)."""
    return clearance_m + 0.03


class Robot:
    """An arm in a World.

    Args:
        world: the World it lives in (the robot does not own it).
        name: scene name of the robot (body name in the World).
        urdf: a path, or a path inside ``pybullet_data``.
        base_xyz_m, base_yaw_rad: base pose on the floor.
        ee_link: end-effector link name; default the last link.
        acceleration_limits: per movable joint (rad/s²); default from KNOWN_ACCELERATION_LIMITS.
        home_q: the ready pose the arm starts in and IK prefers; default from KNOWN_HOME_POSES, or
            the middle of the joint ranges (joints it does not cover, e.g. fingers: their middle).
    """

    def __init__(self, world: World, name: str, urdf: str, base_xyz_m=(0.0, 0.0, 0.0),
                 base_yaw_rad: float = 0.0, ee_link: str | None = None,
                 acceleration_limits=None, home_q=None) -> None:
        self.world = world
        self.name = name
        self.urdf = urdf
        path = urdf if os.path.isabs(urdf) else None
        candidates = [urdf] if path else [urdf, os.path.join(DATA_PATH, urdf)]
        if not any(os.path.isfile(c) for c in candidates):
            kind = "is a directory, not a file" if any(os.path.isdir(c) for c in candidates) else "not found"
            raise SceneError(f"robot {name!r}: URDF {urdf!r} {kind} (searched: {', '.join(candidates)})")
        c = world.client
        try:
            self.body = world.add_urdf(name, urdf, tuple(base_xyz_m), euler_to_quat(0.0, 0.0, base_yaw_rad))
        except SceneError as exc:
            raise SceneError(f"robot {name!r}: {exc.detail}") from None
        self._joints: list[int] = []
        #: joints of a hand (named "...finger..."): driven by a gripper, not planned with the arm
        self.finger_joints: list[int] = []
        self._finger_limits: list[tuple[float, float]] = []
        names, lower, upper, velocity, effort = [], [], [], [], []
        link_index = {}
        for j in range(c.getNumJoints(self.body)):
            info = c.getJointInfo(self.body, j)
            link_index[info[12].decode()] = j
            if info[2] in _MOVABLE and "finger" in info[1].decode().lower():
                self.finger_joints.append(j)
                self._finger_limits.append((info[8], info[9]))
            elif info[2] in _MOVABLE and info[1].decode() and info[9] > info[8]:
                if self.finger_joints:
                    raise SceneError(f"robot {name!r}: arm joint {info[1].decode()!r} comes after the finger "
                                     "joints in the URDF; twin expects the hand at the end of the chain")
                self._joints.append(j)
                names.append(info[1].decode())
                lower.append(info[8])
                upper.append(info[9])
                velocity.append(info[11] if info[11] > 0 else 1.0)
                effort.append(info[10] if info[10] > 0 else 100.0)
        if not self._joints:
            raise SceneError(f"robot {name!r}: URDF {urdf!r} has no movable joints for an arm (revolute or "
                             "prismatic joints with limits, not named ...finger...)")
        #: link name -> link index
        self.links = dict(link_index)
        if ee_link is None:
            self.ee = c.getNumJoints(self.body) - 1
        elif ee_link in link_index:
            self.ee = link_index[ee_link]
        else:
            raise SceneError(f"robot {name!r}: no link named {ee_link!r}. Valid: {sorted(link_index)}")
        acc = acceleration_limits or KNOWN_ACCELERATION_LIMITS.get(urdf)
        acc = np.full(len(names), 5.0) if acc is None else np.resize(np.asarray(acc, float), len(names))
        self.limits = JointLimits(tuple(names), np.array(lower), np.array(upper), np.array(velocity), acc)
        self._effort = np.array(effort)
        self._effort_list = [float(e) for e in effort]
        #: the links that touch a part: those with collision shapes beyond the last arm joint (hand,
        #: fingers, tool) or, where there are none (a bare flange), the end-effector link itself
        after_wrist = range(self._joints[-1] + 1, c.getNumJoints(self.body)) if self._joints else ()
        self.tool_links = [j for j in after_wrist if c.getCollisionShapeData(self.body, j)] or [self.ee]
        self._zeros = np.zeros(len(self._joints))
        home = np.array(home_q if home_q is not None else KNOWN_HOME_POSES.get(urdf, ()), float)
        middle = 0.5 * (self.limits.lower + self.limits.upper)
        self.home_q = np.clip(np.concatenate([home[: self.dof], middle[len(home):]]),
                              self.limits.lower, self.limits.upper)
        self.set_joints(self.home_q)
        #: (body id, pose in the end-effector link frame) of a part held by a gripper, so that
        #: collision checks include it; set and cleared by the gripper
        self.carried: tuple[int, tuple] | None = None
        #: whether the carried part is placed with the tool every physics step (suction), not held
        #: by physics (fingers); :meth:`play` then works out its poses for the whole motion at once
        self.carried_kinematic = False
        #: during :meth:`play`, this step's pose and velocity of the carried part (position,
        #: quaternion, linear and angular velocity, world frame), for the gripper's step hook
        self.carry_now: tuple | None = None
        #: set to a list to record every commanded joint row (one per physics step), for checks
        self.command_log: list[np.ndarray] | None = None
        #: whether :meth:`hold` rows go to ``command_log`` too (off to record motion only)
        self.log_holds = True
        # IK restarts draw from a stream seeded by the robot's name: reproducible in every process
        self._rng = np.random.default_rng(zlib.crc32(name.encode()))
        # Newton IK on the Jacobian: ik_near's solver, and ik's first try
        self._local_ik = LocalIK(c, self.body, self.ee, self._joints, self.limits.lower, self.limits.upper)

    @property
    def dof(self) -> int:
        return len(self._joints)

    # -- state and kinematics ----------------------------------------------------------------

    def set_joints(self, q, qd=None) -> None:
        """Place the arm at joint positions ``q`` (kinematically), moving at ``qd`` (default: at rest)."""
        # one list per joint, as resetJointStatesMultiDof wants (tolist first: float() of each
        # NumPy scalar costs more than the call)
        vel = [[0.0] for _ in self._joints] if qd is None else [[w] for w in np.asarray(qd, float).tolist()]
        self.world.client.resetJointStatesMultiDof(self.body, self._joints,
                                                   [[v] for v in np.asarray(q, float).tolist()], targetVelocities=vel)

    def pose(self, q) -> None:
        """Place the arm at ``q`` and have its position controllers hold it there while physics steps."""
        q = np.asarray(q, float)
        self.set_joints(q)
        c = self.world.client
        c.setJointMotorControlArray(self.body, self._joints, c.POSITION_CONTROL, targetPositions=q.tolist(),
                                    targetVelocities=self._zeros.tolist(), forces=self._effort_list)

    def joints(self) -> np.ndarray:
        """Current joint positions."""
        return np.array([s[0] for s in self.world.client.getJointStates(self.body, self._joints)])

    def fk(self, q=None) -> tuple[np.ndarray, np.ndarray]:
        """End-effector position (m) and quaternion (xyzw) at ``q`` (default: now)."""
        if q is not None and self._local_ik.supported:
            return self._local_ik.pose(q)  # the chain evaluated, the arm left where it is
        if q is not None:
            saved = self.joints()
            self.set_joints(q)
        state = self.world.client.getLinkState(self.body, self.ee, computeForwardKinematics=True)
        xyz, quat = np.array(state[4]), np.array(state[5])
        if q is not None:
            self.set_joints(saved)
        return xyz, quat

    def ik(self, xyz_m, quat_xyzw=None, tolerance_m: float = 1e-3, tolerance_rad: float = 1e-2,
           restarts: int = 20) -> IKResult:
        """Joint positions that put the end effector at ``xyz_m`` (and ``quat_xyzw`` if given).

        First a local Newton iteration from the ready pose, drawn towards it in the null space (the
        solution of the ready pose's arm configuration nearest to it, in about a millisecond); when
        that does not converge (joint limits, a target far from the ready pose), PyBullet's
        null-space IK from the ready pose and then from random seeds.

        Raises:
            SimulationError: naming the robot and the target when no solution within the
                tolerances exists (the target is out of reach).
        """
        target = np.asarray(xyz_m, float)
        local = self._local_ik.solve(target, quat_xyzw, self.home_q, 0.1 * tolerance_m, 0.1 * tolerance_rad,
                                     rest=self.home_q, max_iterations=40)
        if local.converged:  # the local solver does not move the arm
            return IKResult(local.q, local.position_error_m, local.orientation_error_rad)
        saved = self.joints()
        try:
            best = self._ik_restarts(target, quat_xyzw, tolerance_m, tolerance_rad, restarts)
        finally:
            self.set_joints(saved)
        if best.position_error_m <= tolerance_m and (quat_xyzw is None or best.orientation_error_rad <= tolerance_rad):
            return best
        raise SimulationError(
            f"robot {self.name!r}: target {tuple(round(float(v), 4) for v in target)} is out of reach "
            f"(best solution misses it by {1000 * best.position_error_m:.1f} mm, "
            f"{math.degrees(best.orientation_error_rad):.1f} deg)")

    def _ik_restarts(self, target, quat_xyzw, tolerance_m, tolerance_rad, restarts) -> IKResult:
        """PyBullet's null-space IK from the ready pose, then from random seeds; the best result
        (the first within the tolerances). Moves the arm (the caller restores it)."""
        c = self.world.client
        lower, upper = self.limits.lower, self.limits.upper
        best: IKResult | None = None
        seed = self.home_q.copy()
        for _ in range(restarts + 1):
            self.set_joints(seed)
            q = seed
            for refine in range(20):  # IK again from the pose the previous solution reached
                # pulled towards the ready pose first (the arm configuration), then towards
                # the last solution (convergence)
                kwargs = dict(self._nullspace(self.home_q if refine < 3 else q),
                              maxNumIterations=200, residualThreshold=1e-6)
                if quat_xyzw is not None:
                    kwargs["targetOrientation"] = list(quat_xyzw)
                sol = c.calculateInverseKinematics(self.body, self.ee, list(target), **kwargs)
                q = np.clip(np.array(sol[: self.dof]), lower, upper)
                self.set_joints(q)
                result = self._error(q, target, quat_xyzw)
                if best is None or (result.position_error_m, result.orientation_error_rad) < (
                        best.position_error_m, best.orientation_error_rad):
                    best = result
                if result.position_error_m <= tolerance_m * 0.1 and (
                        quat_xyzw is None or result.orientation_error_rad <= tolerance_rad * 0.1):
                    break
                if refine == 2:
                    # the configuration is chosen: finish with Newton steps from here
                    local = self._local_ik.solve(target, quat_xyzw, q, 0.1 * tolerance_m, 0.1 * tolerance_rad)
                    if local.converged:
                        return IKResult(local.q, local.position_error_m, local.orientation_error_rad)
            if best.position_error_m <= tolerance_m and (
                    quat_xyzw is None or best.orientation_error_rad <= tolerance_rad):
                return best
            seed = lower + self._rng.random(self.dof) * (upper - lower)
        return best

    def ik_near(self, xyz_m, quat_xyzw, q_seed, tolerance_m: float = 1e-3,
                tolerance_rad: float = 1e-2) -> IKResult:
        """IK close to ``q_seed`` (no random restarts): for dense points along a continuous path.

        Newton steps from the seed (the smallest joint change that reaches the target, so
        neighbouring points of a path get neighbouring solutions; two or three steps from a near
        seed); PyBullet's IK only if they do not converge.

        Raises:
            SimulationError: when the solution near ``q_seed`` misses the target.
        """
        target = np.asarray(xyz_m, float)
        local = self._local_ik.solve(target, quat_xyzw, q_seed, 0.1 * tolerance_m, 0.1 * tolerance_rad)
        if local.converged:  # the local solver does not move the arm
            return IKResult(local.q, local.position_error_m, local.orientation_error_rad)
        saved = self.joints()
        try:
            result = self._ik_near_bullet(target, quat_xyzw, q_seed, tolerance_m, tolerance_rad)
        finally:
            self.set_joints(saved)
        if result.position_error_m > tolerance_m or result.orientation_error_rad > tolerance_rad:
            raise SimulationError(
                f"robot {self.name!r}: target {tuple(round(float(v), 4) for v in target)} is out of reach "
                f"(misses it by {1000 * result.position_error_m:.1f} mm, "
                f"{math.degrees(result.orientation_error_rad):.1f} deg)")
        return result

    def _ik_near_bullet(self, target, quat_xyzw, q_seed, tolerance_m, tolerance_rad) -> IKResult:
        """PyBullet's IK from ``q_seed``: the fallback of :meth:`ik_near`. Moves the arm."""
        c = self.world.client
        lower, upper = self.limits.lower, self.limits.upper
        q = np.asarray(q_seed, float)
        self.set_joints(q)
        for i in range(10):
            # plain damped least squares from the seed; null-space IK (joint limits, rest pose =
            # seed) only if that stalls
            limits = self._nullspace(q) if i >= 5 else {}
            sol = c.calculateInverseKinematics(
                self.body, self.ee, list(target), targetOrientation=list(quat_xyzw),
                maxNumIterations=200, residualThreshold=1e-7, **limits)
            q = np.clip(np.array(sol[: self.dof]), lower, upper)
            self.set_joints(q)
            result = self._error(q, target, quat_xyzw)
            if result.position_error_m <= 0.1 * tolerance_m and result.orientation_error_rad <= 0.1 * tolerance_rad:
                break
        return result

    def _nullspace(self, rest) -> dict:
        """Null-space IK arguments: PyBullet wants one entry per movable joint, fingers included."""
        c = self.world.client
        f_lo = [lo for lo, _ in self._finger_limits]
        f_hi = [hi for _, hi in self._finger_limits]
        f_now = [c.getJointState(self.body, j)[0] for j in self.finger_joints]
        lower, upper = list(self.limits.lower) + f_lo, list(self.limits.upper) + f_hi
        return dict(lowerLimits=lower, upperLimits=upper,
                    jointRanges=[max(hi - lo, 1e-6) for lo, hi in zip(lower, upper, strict=True)],
                    restPoses=list(rest) + f_now)

    def _error(self, q, target, quat_xyzw) -> IKResult:
        xyz, quat = self.fk()
        pos_err = float(np.linalg.norm(xyz - target))
        ang_err = 0.0
        if quat_xyzw is not None:
            dot = abs(float(np.dot(quat, np.asarray(quat_xyzw, float) / np.linalg.norm(quat_xyzw))))
            ang_err = 2.0 * math.acos(min(1.0, dot))
        return IKResult(np.array(q), pos_err, ang_err)

    # -- motion ------------------------------------------------------------------------------

    def plan(self, q_goal, profile: str = "quintic", q_start=None) -> JointMotion:
        """A joint motion from ``q_start`` (default: now) to ``q_goal`` within the arm's limits."""
        q_goal = np.asarray(q_goal, float)
        if np.any(q_goal < self.limits.lower - 1e-9) or np.any(q_goal > self.limits.upper + 1e-9):
            raise SimulationError(f"robot {self.name!r}: goal {np.round(q_goal, 4).tolist()} is outside "
                                  "the joint limits")
        start = self.joints() if q_start is None else np.asarray(q_start, float)
        return plan_motion(start, q_goal, self.limits.velocity, self.limits.acceleration, profile)

    def min_distance(self, motion: JointMotion, obstacles: list[str], dt_s: float = 0.01,
                     horizon_m: float = 0.2) -> tuple[float, float]:
        """Smallest distance (m) between the arm (and what it carries) and ``obstacles`` along
        ``motion``, and when.

        The arm is placed at each sample (every ``dt_s``), a carried part (``self.carried``, set by
        the gripper) with it, and PyBullet's closest-point queries are asked for every obstacle (the
        fixed base link is not checked: it stands on the floor); distances beyond ``horizon_m``
        count as ``horizon_m``. Negative means penetration. Arm and part are put back.
        """
        c = self.world.client
        bodies = [self.world.body(o) for o in obstacles]
        saved = self.joints()
        carried = self.carried
        if carried is not None:
            part_saved = c.getBasePositionAndOrientation(carried[0])
        best, when = horizon_m, 0.0
        reset, closest, body, joints = c.resetJointStatesMultiDof, c.getClosestPoints, self.body, self._joints
        at_rest = [[0.0] for _ in joints]
        try:
            t, q, _, _ = motion.sample(dt_s)
            # the carried part's pose at every sample, from the arm's chain in one call
            path = self._carry_path(q, np.zeros_like(q), every_carried=True) if carried is not None else None
            for i, (ti, row) in enumerate(zip(t.tolist(), q.tolist(), strict=True)):
                reset(body, joints, [[v] for v in row], targetVelocities=at_rest)
                if carried is not None:
                    if path is not None:
                        k = 13 * i
                        c.resetBasePositionAndOrientation(carried[0], path[k:k + 3], path[k + 3:k + 7])
                    else:
                        link = c.getLinkState(body, self.ee, computeForwardKinematics=True)
                        c.resetBasePositionAndOrientation(carried[0],
                                                          *c.multiplyTransforms(link[4], link[5], *carried[1]))
                for b in bodies:
                    for point in closest(body, b, horizon_m):
                        if point[3] == -1:
                            continue  # the fixed base stands on the floor by design
                        if point[8] < best:
                            best, when = point[8], ti
                    if carried is not None:
                        for point in closest(carried[0], b, horizon_m):
                            if point[8] < best:
                                best, when = point[8], ti
        finally:
            self.set_joints(saved)
            if carried is not None:
                c.resetBasePositionAndOrientation(carried[0], *part_saved)
        return best, when

    def plan_clear(self, q_goal, obstacles: list[str], clearance_m: float = 0.02, profile: str = "quintic",
                   q_start=None) -> list[JointMotion]:
        """Motions from ``q_start`` (default: now) to ``q_goal`` keeping ``clearance_m`` from obstacles.

        The direct joint motion is used when it is clear. Otherwise the path goes up, over and
        down: the end effector rises straight above its start to a safe height, crosses above the
        goal and descends, with safe heights 0.15, 0.3, 0.45 and 0.6 m above the higher end tried in
        turn until every leg is clear.

        Raises:
            SimulationError: naming the robot and the closest approach when no candidate is clear.
        """
        start = self.joints() if q_start is None else np.asarray(q_start, float)
        goal = np.asarray(q_goal, float)
        for label, q in (("start", start), ("goal", goal)):
            here = self.min_distance(plan_motion(q, q, self.limits.velocity, self.limits.acceleration), obstacles,
                                     horizon_m=check_horizon(clearance_m))[0]
            if here < clearance_m:
                gap = (f"touches an obstacle (overlap {max(1000 * -here, 0.0):.0f} mm)" if here <= 0.0 else
                       f"is only {1000 * here:.0f} mm from an obstacle")
                raise SimulationError(f"robot {self.name!r}: the {label} pose {gap} "
                                      f"(clearance {1000 * clearance_m:.0f} mm)")
        direct = self.plan(goal, profile, q_start=start)
        closest, when = self.min_distance(direct, obstacles, horizon_m=check_horizon(clearance_m))
        if closest >= clearance_m:
            return [direct]
        p0, quat = self.fk(start)
        p1, _ = self.fk(goal)
        top = max(p0[2], p1[2])
        best = closest
        # "up, over, down": lift straight up to a safe height, cross, descend onto the goal
        for lift in (0.15, 0.3, 0.45, 0.6):
            via = [np.array([p0[0], p0[1], top + lift]), np.array([p1[0], p1[1], top + lift])]
            try:
                # via points close to the start configuration, so the detour does not swing the arm
                # into another configuration on the way
                qs, seed = [], start
                for v in via:
                    seed = self.ik_near(v, quat, seed, tolerance_m=5e-3, tolerance_rad=0.05).q
                    qs.append(seed)
            except SimulationError:
                continue
            points = [start, *qs, goal]
            legs = [self.plan(b, profile, q_start=a) for a, b in zip(points[:-1], points[1:], strict=True)]
            leg_min = min(self.min_distance(leg, obstacles, horizon_m=check_horizon(clearance_m))[0] for leg in legs)
            best = max(best, leg_min)
            if leg_min >= clearance_m:
                return legs
        raise SimulationError(f"robot {self.name!r}: no clear path to the goal: the direct motion comes "
                              f"within {1000 * closest:.0f} mm of an obstacle at t={when:.2f} s, and the best "
                              f"detour within {1000 * best:.0f} mm (clearance {1000 * clearance_m:.0f} mm)")

    def follow_all(self, motions: list[JointMotion]) -> int:
        """Play several motions one after another; return the physics steps taken."""
        return sum(self.follow(m) for m in motions)

    def follow(self, motion) -> int:
        """Play ``motion`` (a JointMotion or SplineMotion) in the world, one sample per physics step.

        Returns the number of physics steps taken.
        """
        _, q, qd, _ = motion.sample(self.world.dt_s)
        return self.play(q[1:], qd[1:])

    def hold(self, steps: int) -> int:
        """Stay where the arm is for ``steps`` physics steps (its position controllers hold it)."""
        steps = int(steps)
        if steps <= 0:
            return 0
        q = self.joints()
        if self.command_log is not None and self.log_holds:
            self.command_log.extend(np.tile(q, (steps, 1)))
        self.set_joints(q)
        c = self.world.client
        c.setJointMotorControlArray(self.body, self._joints, c.POSITION_CONTROL, targetPositions=q.tolist(),
                                    targetVelocities=self._zeros.tolist(), forces=self._effort_list)
        self.world.step(steps)
        self.set_joints(q)  # exactly where it was, whatever the controllers let drift
        return steps

    def play(self, q, qd) -> int:
        """Command joint positions ``q`` (and velocities ``qd``), one row per physics step.

        Each step the joints are placed at the commanded positions and their position controllers
        hold them there (at the URDF effort limits) while physics advances, so gravity does not
        make the arm sag between samples. Returns the number of physics steps taken.
        """
        c = self.world.client
        q, qd = np.asarray(q, float), np.asarray(qd, float)
        if self.command_log is not None:
            self.command_log.extend(q.copy())
        reset, motor, step = c.resetJointStatesMultiDof, c.setJointMotorControlArray, self.world.step
        body, joints, effort, mode = self.body, self._joints, self._effort_list, c.POSITION_CONTROL
        # resetJointStatesMultiDof wants one list per joint. They are made step by step and dropped
        # at once: built up front for a whole motion, thousands of small lists lived long enough to
        # be promoted by the garbage collector, which then ran a full collection (tens of ms)
        carry = self._carry_path(q, qd)
        try:
            for i, (row, vel) in enumerate(zip(q.tolist(), qd.tolist(), strict=True)):
                # moving links (velocities set too): contacts and friction see the motion
                reset(body, joints, [[x] for x in row], targetVelocities=[[v] for v in vel])
                motor(body, joints, mode, targetPositions=row, targetVelocities=vel, forces=effort)
                if carry is not None:
                    k = 13 * i
                    self.carry_now = (carry[k:k + 3], carry[k + 3:k + 7], carry[k + 7:k + 10], carry[k + 10:k + 13])
                step()
        finally:
            self.carry_now = None  # never a stale pose for a later step
        return len(q)

    def _carry_path(self, q: np.ndarray, qd: np.ndarray, every_carried: bool = False) -> list[float] | None:
        """Poses and velocities of a kinematically carried part along joint rows ``q``, ``qd``:
        13 floats a row (position, quaternion, linear and angular velocity), or None when nothing
        is carried so (or the chain cannot be evaluated here). One flat list of floats: a list per
        row would be thousands of small objects for the garbage collector to promote.
        ``every_carried``: for any carried part, also one held by fingers (where it would be if
        it stayed put in the hand: what a collision check assumes)."""
        if self.carried is None or not (self.carried_kinematic or every_carried) or not self._local_ik.supported:
            return None
        offset_pos, offset_quat = self.carried[1]
        base_pos, base_rot = self._local_ik.base_pose()
        pos, quat, lin, ang = attached_path(q, qd, self._local_ik.held_values(), base_pos, base_rot,
                                            *self._local_ik.chain.arrays(), np.asarray(offset_pos, float),
                                            matrix_of_quat(*offset_quat))
        return np.hstack([pos, quat, lin, ang]).ravel().tolist()
