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
from ._bullet import euler_to_quat
from .belt import Belt, BeltSighting
from .fingers import TwoFingerGripper
from .gripper import SuctionGripper
from .robot import Robot, check_horizon
from .trajectory import SplineMotion, limit_ratios

__all__ = ["PickPlace", "tool_down_quat"]

#: a belt tracking that passes closer than this to a joint limit (rad) is tried with the grip half a
#: turn round, and the one farther from the limits is used
_TRACKING_MARGIN_RAD = 0.1


def tool_down_quat(robot: Robot, yaw_rad: float) -> tuple[float, float, float, float]:
    """Quaternion (xyzw) of a tool pointing straight down, turned by ``yaw_rad`` about vertical."""
    return tuple(robot.world.client.getQuaternionFromEuler((math.pi, 0.0, yaw_rad)))


class PickPlace:
    """Pick parts and place them at targets with ``robot`` and a suction ``gripper``.

    Args:
        approach_m: height above a surface from which descents start and to which retreats go.
        descent_steps: waypoints of a straight descent (each solved by IK and joined by a motion).
        clearance_m: moves between approach poses keep the arm and the held part this far from
            every static body of the world (belts, tables, pallets, machines, the floor), detouring
            over the top when the direct joint motion would not (``Robot.plan_clear``).
    """

    def __init__(self, robot: Robot, gripper: SuctionGripper | TwoFingerGripper, approach_m: float = 0.15,
                 descent_steps: int = 10, clearance_m: float = 0.02) -> None:
        self.robot = robot
        self.clearance_m = float(clearance_m)
        self.gripper = gripper
        self.approach_m = float(approach_m)
        self.descent_steps = int(descent_steps)
        # suction: the link frame stops above the part's top face; fingers: below it, between them
        self.tool_offset_m = (-gripper.grip_depth_m if isinstance(gripper, TwoFingerGripper)
                              else self._measure_tool_offset())
        self._held_half_height = 0.0
        #: how long the last belt pick waited, holding still, for its part to arrive (s)
        self.last_wait_s = 0.0

    def _measure_tool_offset(self) -> float:
        """How far the tool's face lies below the end-effector link frame when pointing down.

        Measured once, as the distance PyBullet reports between the link and a probe plate below
        it (bounding boxes include collision margins and would be a few mm off), so targets can be
        given as points on part surfaces rather than link frames.
        """
        robot = self.robot
        c = robot.world.client
        saved = robot.joints()
        base = np.array(c.getBasePositionAndOrientation(robot.body)[0])
        try:
            result = robot.ik(base + np.array([0.45, 0.0, 0.45]), tool_down_quat(robot, 0.0))
            robot.set_joints(result.q)
            link = c.getLinkState(robot.body, robot.ee, computeForwardKinematics=True)[4]
            probe_top = min(c.getAABB(robot.body, j)[0][2] for j in robot.tool_links) - 0.05
            probe = robot.world.add_box("__tool_probe__", (0.2, 0.2, 0.01), (link[0], link[1], probe_top - 0.01))
            try:
                gaps = [p[8] for j in robot.tool_links for p in c.getClosestPoints(robot.body, probe, 1.0, linkIndexA=j)]
            finally:
                robot.world.remove("__tool_probe__")
            if not gaps:  # a tool without collision shapes: its face is the link frame
                return 0.0
            return float(link[2] - (probe_top + min(gaps)))
        finally:
            robot.set_joints(saved)

    def _transfer_to(self, xyz, quat) -> float:
        """A collision-checked move to an approach pose (detouring over obstacles when needed).

        Joint-space moves first (``Robot.plan_clear``). Where every one of them comes too close (a
        joint move between two approach poses can sag into a stand near the base), the tool goes
        in straight lines instead: up, across at a constant height, and down, each through IK
        waypoints a few centimetres apart, every leg checked for clearance.
        """
        robot = self.robot
        goal = robot.ik(xyz, quat, tolerance_m=5e-4, tolerance_rad=5e-3).q
        obstacles = self.obstacles()
        try:
            motions = robot.plan_clear(goal, obstacles, clearance_m=self.clearance_m)
        except SimulationError as exc:
            motions = self._straight_transfer(np.asarray(xyz, float), quat, obstacles)
            if motions is None:
                raise exc from None
        robot.follow_all(motions)
        return sum(m.duration_s for m in motions)

    def _straight_transfer(self, goal_xyz: np.ndarray, quat, obstacles: list[str]):
        """One straight tool line to the goal, or else up, across and down in straight lines
        (waypoints about 5 cm apart); None when none of them, crossing up to 0.4 m above the higher
        end, keeps the clearance. The tool turns (slerp) on the legs that go across."""
        robot = self.robot
        start_q = robot.joints()
        start, start_quat = robot.fk()
        start = np.asarray(start, float)
        top = max(float(start[2]), float(goal_xyz[2]))
        routes = [[(start, goal_xyz, True)]]
        for lift in (0.05, 0.15, 0.25, 0.4):
            up = np.array([start[0], start[1], top + lift])
            over = np.array([goal_xyz[0], goal_xyz[1], top + lift])
            routes.append([(start, up, False), (up, over, True), (over, goal_xyz, False)])
        for route in routes:
            motions, q, tool = [], start_q, start_quat
            try:
                for a, b, across in route:
                    steps = max(1, math.ceil(float(np.linalg.norm(b - a)) / 0.05))
                    turn = (lambda u: _slerp(start_quat, quat, u)) if across else (lambda u, t=tool: t)
                    leg, q = self._planned_line(a, b, q, obstacles, steps, turn)
                    motions += leg
                    tool = turn(1.0)
            except SimulationError:
                continue
            finally:
                robot.set_joints(start_q)
            return motions
        return None

    def obstacles(self) -> list[str]:
        """Names of the world's static bodies other than the robot."""
        world = self.robot.world
        c = world.client
        return [n for n in world.names()
                if n != self.robot.name and c.getDynamicsInfo(world.body(n), -1)[0] == 0.0]

    def _line(self, start, end, quat) -> float:
        """Straight Cartesian line from ``start`` to ``end`` (tool orientation fixed)."""
        total, robot = 0.0, self.robot
        for k in range(1, self.descent_steps + 1):
            # IK near the current joints: a short straight move never changes arm configuration
            q = robot.ik_near(start + (end - start) * k / self.descent_steps, quat, robot.joints(),
                              tolerance_m=5e-4, tolerance_rad=5e-3).q
            motion = robot.plan(q, profile="trapezoidal")
            robot.follow(motion)
            total += motion.duration_s
        return total

    def pick(self, part: str, part_top_xyz, part_yaw_rad: float) -> float:
        """Pick a resting part by the centre of its top face; return the duration (s)."""
        up = np.array([0.0, 0.0, self.approach_m])
        pick = np.asarray(part_top_xyz, float) + self._tool()
        yaw = self.gripper.tool_yaw(part, part_yaw_rad) if hasattr(self.gripper, "tool_yaw") else part_yaw_rad
        q_pick = tool_down_quat(self.robot, yaw)
        try:
            t = self._transfer_to(pick + up, q_pick)
            t += self._line(pick + up, pick, q_pick)
        except SimulationError as exc:
            raise SimulationError(f"cannot reach the pick pose {_mm(part_top_xyz)}: {exc}") from None
        self._grip(part)
        return t + self._line(pick, pick + up, q_pick)

    def place(self, target_xyz, target_yaw_rad: float, *, on_release=None) -> float:
        """Place the held part with its top-face centre at ``target_xyz`` and yaw ``target_yaw_rad``.

        The tool pose is computed from where the part actually sits in the gripper (measured when it
        was gripped), so an off-centre grip does not become a placement error. ``on_release(part)``
        is called the moment the part is let go, before the retreat (a belt taking it over).
        """
        up = np.array([0.0, 0.0, self.approach_m])
        place, ee_quat = self._release_pose(target_xyz, target_yaw_rad)
        try:
            t = self._transfer_to(place + up, ee_quat)
            t += self._line(place + up, place, ee_quat)
        except SimulationError as exc:
            raise SimulationError(f"cannot reach the place pose {_mm(target_xyz)}: {exc}") from None
        part = self.gripper.release()
        if on_release is not None and part is not None:
            on_release(part)
        return t + self._line(place, place + up, ee_quat)

    def place_in_slot(self, target_xyz, target_yaw_rad: float, entry_xy, *, lift_m: float = 0.03) -> float:
        """Place the held part into a shelf slot with a shelf above it, entering sideways.

        The part goes in level, ``lift_m`` above where it will rest, along the horizontal direction
        ``entry_xy`` (pointing from the aisle into the rack), from ``approach_m`` outside; it is set
        down, let go, lifted back ``lift_m`` and drawn out the way it came. The ways in and out are
        checked for clearance (``clearance_m``) against every static body, held part included; a
        slot too tight for the part and the tool is an error naming it. Returns the duration (s).
        """
        direction = np.array([float(entry_xy[0]), float(entry_xy[1]), 0.0])
        norm = float(np.linalg.norm(direction))
        if not norm > 0.0:
            raise SimulationError(f"entry direction {tuple(entry_xy)} into the slot is not a horizontal direction")
        direction /= norm
        place, ee_quat = self._release_pose(target_xyz, target_yaw_rad)
        inside = place + np.array([0.0, 0.0, float(lift_m)])
        outside = inside - self.approach_m * direction
        try:
            t = self._transfer_to(outside, ee_quat)
            t += self._checked_line(outside, inside, ee_quat)
            t += self._line(inside, place, ee_quat)
        except SimulationError as exc:
            raise SimulationError(f"cannot put the part into the slot at {_mm(target_xyz)}: {exc}") from None
        self.gripper.release()
        t += self._line(place, inside, ee_quat)
        return t + self._checked_line(inside, outside, ee_quat)

    def _release_pose(self, target_xyz, target_yaw_rad: float) -> tuple[np.ndarray, tuple]:
        """Tool position and orientation that put the held part's top-face centre at ``target_xyz``
        with yaw ``target_yaw_rad``, from where the part sits in the gripper; 1 mm above, to let go."""
        c = self.robot.world.client
        centre = np.asarray(target_xyz, float) - np.array([0.0, 0.0, self._held_half_height])
        inv_pos, inv_quat = c.invertTransform(*self.gripper.held_pose)
        ee_pos, ee_quat = c.multiplyTransforms(centre.tolist(), list(euler_to_quat(0.0, 0.0, target_yaw_rad)),
                                               inv_pos, inv_quat)
        return np.array(ee_pos) + np.array([0.0, 0.0, 0.001]), ee_quat

    def _checked_line(self, start, end, quat) -> float:
        """Like :meth:`_line`, but every leg is checked for clearance before the arm moves."""
        robot = self.robot
        start_q = robot.joints()
        try:
            motions, _ = self._planned_line(start, end, start_q, self.obstacles(), self.descent_steps, lambda u: quat)
        finally:
            robot.set_joints(start_q)
        robot.follow_all(motions)
        return sum(m.duration_s for m in motions)

    def _planned_line(self, start, end, q, obstacles: list[str], steps: int, tool_at) -> tuple[list, np.ndarray]:
        """Joint motions along the straight tool line ``start`` -> ``end`` from joints ``q``, through
        ``steps`` IK waypoints (tool orientation ``tool_at(u)``, u from 0 to 1), each checked for
        clearance; and the joints at the end. Moves the arm (the caller restores it).

        Raises:
            SimulationError: a leg comes closer than ``clearance_m`` to an obstacle.
        """
        robot, motions = self.robot, []
        for k in range(1, steps + 1):
            nxt = robot.ik_near(start + (end - start) * k / steps, tool_at(k / steps), q,
                                tolerance_m=5e-4, tolerance_rad=5e-3).q
            motion = robot.plan(nxt, profile="trapezoidal", q_start=q)
            closest, _ = robot.min_distance(motion, obstacles, horizon_m=check_horizon(self.clearance_m))
            if closest < self.clearance_m:
                raise SimulationError(f"the straight move from {_mm(start)} to {_mm(end)} comes within "
                                      f"{1000 * closest:.0f} mm of an obstacle (clearance "
                                      f"{1000 * self.clearance_m:.0f} mm)")
            motions.append(motion)
            q = nxt
        return motions, q

    def place_on_belt(self, belt: Belt, s_m: float, *, lateral_m: float = 0.0, yaw_rad: float = 0.0) -> float:
        """Put the held part down on a running ``belt``, centred ``s_m`` along it and ``lateral_m``
        across, turned ``yaw_rad`` from the belt's direction; the belt carries it on from the moment
        it is let go. Returns the duration (physics seconds).

        The arm puts the part down where that belt point is (it does not track the belt: the part is
        still until released, like a part set down by a pusher), so the belt must be level.
        """
        if abs(belt.pitch_rad) > 1e-6:
            raise SimulationError(f"belt {belt.name!r} is inclined ({math.degrees(belt.pitch_rad):.1f} deg): "
                                  "parts are placed only onto level belts")
        if not 0.0 <= s_m <= belt.length_m:
            raise SimulationError(f"belt {belt.name!r}: position {s_m} m is off a belt {belt.length_m} m long")
        if abs(lateral_m) > 0.5 * belt.width_m:
            raise SimulationError(f"belt {belt.name!r}: lateral offset {lateral_m} m is off a belt "
                                  f"{belt.width_m} m wide")
        top = belt.point(s_m, lateral_m, 2.0 * self._held_half_height)
        return self.place(top, belt.yaw_rad + yaw_rad,
                          on_release=lambda part: belt.carry(part, s_m, lateral_m=lateral_m, yaw_rad=yaw_rad))

    def cycle(self, part: str, part_top_xyz, part_yaw_rad: float, target_xyz, target_yaw_rad: float) -> float:
        """One pick-and-place of a resting part; return its duration (physics seconds).

        ``part_top_xyz``: centre of the part's top face; ``target_xyz``: where that point must end.
        """
        return self.pick(part, part_top_xyz, part_yaw_rad) + self.place(target_xyz, target_yaw_rad)

    def pick_from_belt(self, part: str, belt: Belt, *, seen: BeltSighting | None = None,
                       meet_s_m: float | None = None, ramp_s: float = 0.4, descend_s: float = 0.5,
                       dwell_s: float = 0.05, lead_s: float = 0.25, place_hint=None) -> float:
        """Pick ``part`` off a moving ``belt`` while tracking it; return the duration (s).

        ``seen``: where the part was seen (e.g. by a camera, ``twin.sensors.vision``); the arm aims
        where that sighting says the part is, moving with the belt. Default: the ground truth.

        ``place_hint``: ``(xyz, yaw)`` of the place that follows. A suction cup may grip at any yaw;
        with the hint, of the two grips half a turn apart the one whose wrist turns least between
        pick and place is chosen (a wrist near its limit would otherwise swing almost a full turn).
        Before the arm moves, the tracking is checked on a coarse path; if it would bring a joint
        within 0.1 rad of its limit (typically the last one, turning the tool as the arm follows the
        belt), the grip half a turn round is used when its tracking stays farther from the limits.

        ``meet_s_m`` is where along the belt the arm prefers to meet parts (default: the point of
        the belt nearest the robot's base, the middle of its workspace); a part already past it is
        met as soon as the arm can get there.

        The arm moves (joint space) to a waiting pose above the belt downstream of the part, and,
        as the part arrives, runs one tracking motion in the belt's frame: accelerate along the
        belt to its speed (smoothstep velocity, ``ramp_s``), descend onto the part while moving
        with it (``descend_s``), grip after ``dwell_s`` at contact, rise with it, slow to rest. The
        tracking motion is a clamped spline through IK solutions every 1/40 s; its joint velocity
        and acceleration are checked against the arm's limits sample by sample, and the phases are
        lengthened (up to three times) until they hold.

        Raises:
            SimulationError: the part is out of reach, or the belt is too fast for the arm.
        """
        robot, world = self.robot, self.robot.world
        if isinstance(self.gripper, TwoFingerGripper):
            raise SimulationError(f"{robot.name}: picking from a moving belt needs a suction gripper "
                                  "(fingers close while the arm holds still)")
        v, dt = belt.speed_mps, world.dt_s
        seen = belt.sighting(part) if seen is None else seen

        def s_now() -> float:
            return seen.s_at(world.time_s, v)

        def top(s: float) -> np.ndarray:
            return belt.point(s, seen.lateral_m, seen.height_m)

        end_s = belt.length_m - seen.half_length_m
        # a suction cup grips at any yaw: turn the tool the least (the part's yaw modulo a half turn)
        relative = (seen.yaw_rad - belt.yaw_rad + 0.5 * math.pi) % math.pi - 0.5 * math.pi
        grip_yaw = belt.yaw_rad + relative
        if meet_s_m is None:
            base = np.array(world.client.getBasePositionAndOrientation(robot.body)[0])
            meet_s_m = float(np.clip(np.dot(base - belt.start, belt.direction), 0.0, belt.length_m))
        if place_hint is not None:
            grip_yaw = self._best_grip_yaw(grip_yaw, max(meet_s_m, s_now()), seen, belt, place_hint)
        lift = self._tool() + np.array([0.0, 0.0, self.approach_m])
        t_total = 0.0

        def wait_pose(quat, ramp, descend):
            """(s_start, wait_xyz, q_wait): where the part is when tracking starts, so that the grip
            happens at the meeting point or as soon as the arm can get there, and the pose above it."""
            travel = 1.0
            for _ in range(4):
                s_start = max(meet_s_m - v * (ramp + descend + dwell_s), s_now() + v * (travel + lead_s))
                if s_start + v * (ramp + 2 * descend + dwell_s) > end_s:
                    raise SimulationError(
                        f"{robot.name}: {part!r} reaches the end of belt {belt.name!r} before the arm can "
                        f"pick it (at {v} m/s the arm needs the part at s <= "
                        f"{end_s - v * (ramp + 2 * descend + dwell_s):.3f} m when tracking starts, "
                        f"it would be at {s_start:.3f} m)")
                wait_xyz = top(s_start + 0.5 * v * ramp) + lift
                try:
                    q_wait = robot.ik(wait_xyz, quat, tolerance_m=5e-4, tolerance_rad=5e-3).q
                except SimulationError as exc:
                    raise SimulationError(f"cannot reach the belt pick pose {_mm(wait_xyz)} "
                                          f"for {part!r}: {exc}") from None
                travel = robot.plan(q_wait).duration_s
            return s_start, wait_xyz, q_wait

        for attempt in range(4):
            scale = 1.5 ** attempt
            ramp, descend = ramp_s * scale, descend_s * scale
            quat = tool_down_quat(robot, grip_yaw)
            s_start, wait_xyz, q_wait = wait_pose(quat, ramp, descend)
            if attempt == 0:
                # a suction cup grips at any yaw: half a turn round, the wrist may have the range the
                # tracking needs (a last joint on its limit cannot turn the tool as the arm follows the belt)
                margin = self._tracking_margin(part, belt, top(s_start), q_wait, quat, ramp, descend, dwell_s)
                if margin < _TRACKING_MARGIN_RAD:
                    flipped = tool_down_quat(robot, grip_yaw + math.pi)
                    try:
                        pose = wait_pose(flipped, ramp, descend)
                    except SimulationError:
                        pose = None
                    if pose is not None and self._tracking_margin(part, belt, top(pose[0]), pose[2], flipped, ramp,
                                                                  descend, dwell_s) > margin:
                        grip_yaw, quat = grip_yaw + math.pi, flipped
                        s_start, wait_xyz, q_wait = pose
            motions = robot.plan_clear(q_wait, self.obstacles(), clearance_m=self.clearance_m)
            robot.follow_all(motions)
            t_total += sum(m.duration_s for m in motions)
            steps = math.floor((s_start - s_now()) / (v * dt)) if v > 0 else 0
            if steps < 0:
                raise SimulationError(f"{robot.name}: too slow to meet {part!r} on belt {belt.name!r} "
                                      f"at {v} m/s")
            robot.hold(steps)
            t_total += steps * dt
            self.last_wait_s = steps * dt
            s0 = s_now()
            ramp = 2.0 * (float(np.dot(wait_xyz - top(s0) - lift, belt.direction)) / v) if v > 0 else ramp
            tracking, attach_t = self._tracking_motion(part, belt, s0, top(s0), q_wait, quat, ramp, descend,
                                                       dwell_s)
            vr, ar = limit_ratios(tracking, robot.limits.velocity, robot.limits.acceleration, dt)
            if vr <= 1.0 and ar <= 1.0:
                break
        else:
            raise SimulationError(f"{robot.name}: tracking {part!r} on belt {belt.name!r} at {v} m/s needs "
                                  f"{vr:.2f}x the joint velocity and {ar:.2f}x the acceleration limits")
        t, q, qd, _ = tracking.sample(dt)
        # the spline passes through IK solutions inside the limits, but may overshoot a limit by
        # a hair between knots (1e-7 rad) where a knot sits on it
        q = np.clip(q, robot.limits.lower, robot.limits.upper)
        k = int(np.searchsorted(t, attach_t - 1e-9))
        robot.play(q[1:k + 1], qd[1:k + 1])
        belt.release(part)
        self._grip(part)
        robot.play(q[k + 1:], qd[k + 1:])
        return t_total + tracking.duration_s

    def _best_grip_yaw(self, grip_yaw: float, s_grip: float, seen: BeltSighting, belt: Belt, place_hint) -> float:
        """Of ``grip_yaw`` and ``grip_yaw + pi``, the one whose joints move least from a pose above
        the pick to the pose above the place (what the following place will need)."""
        robot = self.robot
        above = np.array([0.0, 0.0, self.approach_m]) + self._tool()
        pick_xyz = belt.point(s_grip, seen.lateral_m, seen.height_m) + above
        place_xyz = np.asarray(place_hint[0], float) + above
        best, cost = grip_yaw, math.inf
        for candidate in (grip_yaw, grip_yaw + math.pi):
            # the tool at place: the part's yaw change applied to the grip
            place_yaw = candidate + (float(place_hint[1]) - seen.yaw_rad)
            try:
                q0 = robot.ik(pick_xyz, tool_down_quat(robot, candidate), tolerance_m=2e-3, restarts=2).q
                q1 = robot.ik(place_xyz, tool_down_quat(robot, place_yaw), tolerance_m=2e-3, restarts=2).q
            except SimulationError:
                continue
            move = float(np.max(np.abs(q1 - q0) / robot.limits.velocity))
            if move < cost:
                best, cost = candidate, move
        return best

    def _tracking_margin(self, part, belt, top_start, q_wait, quat, ramp, descend, dwell) -> float:
        """How close the tracking motion that would start from ``q_wait`` comes to a joint limit
        (rad; -inf if it cannot be followed at all), on a coarse path, before the arm moves there."""
        try:
            motion, _ = self._tracking_motion(part, belt, 0.0, top_start, q_wait, quat, ramp, descend, dwell,
                                              knots_per_s=8.0)
        except SimulationError:
            return -math.inf
        limits = self.robot.limits
        return float(min((motion.q_knots - limits.lower).min(), (limits.upper - motion.q_knots).min()))

    def _tracking_motion(self, part, belt, s0, top_now, q_wait, quat, ramp, descend, dwell, knots_per_s=40.0):
        """The belt-frame tracking motion (SplineMotion) and the time of the grip in it."""
        v = belt.speed_mps
        top0 = top_now + self._tool()
        wait_along = v * ramp / 2.0
        t_follow = ramp + descend + dwell + descend
        total = t_follow + ramp

        def along(t: float) -> float:  # tool position along the belt, relative to the part at t = 0
            if t <= ramp:
                u = t / ramp
                return wait_along + v * ramp * (u ** 3 - 0.5 * u ** 4)
            if t <= t_follow:
                return v * t
            u = (t - t_follow) / ramp
            return v * t_follow + v * ramp * (u - (u ** 3 - 0.5 * u ** 4))

        def height(t: float) -> float:
            def quintic(u):
                return u ** 3 * (10 - 15 * u + 6 * u ** 2)
            if t <= ramp or t >= t_follow:
                return self.approach_m
            if t <= ramp + descend:
                return self.approach_m * (1.0 - quintic((t - ramp) / descend))
            if t <= ramp + descend + dwell:
                return 0.0
            return self.approach_m * quintic((t - ramp - descend - dwell) / descend)

        grip_t = ramp + descend + dwell
        # knots about every 1/40 s (``knots_per_s``), phase boundaries included (no near-coincident
        # knots, which would make the spline's acceleration spike)
        bounds = [0.0, ramp, ramp + descend, grip_t, t_follow, total]
        times = np.unique(np.concatenate([
            np.linspace(a, b, max(2, math.ceil((b - a) * knots_per_s) + 1)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)
            if b > a]))
        knots = []
        q = np.asarray(q_wait, float)
        for t in times:
            xyz = top0 + along(t) * belt.direction + np.array([0.0, 0.0, height(t)])
            try:
                q = self.robot.ik_near(xyz, quat, q).q
            except SimulationError as exc:
                raise SimulationError(f"cannot track {part!r} on belt {belt.name!r} at "
                                      f"s = {s0 + along(t):.3f} m: {exc}") from None
            knots.append(q)
        return SplineMotion(times, np.array(knots)), grip_t

    # -- helpers -----------------------------------------------------------------------------

    def _tool(self) -> np.ndarray:
        # targets are for the link frame: the suction cup touches the surface (1 mm inside the
        # contact tolerance so that the cup registers contact without pressing into the part)
        return np.array([0.0, 0.0, self.tool_offset_m + (0.0 if isinstance(self.gripper, TwoFingerGripper)
                                                         else 0.001)])

    def _grip(self, part: str) -> None:
        self.gripper.attach(part)
        lo, hi = self.robot.world.client.getAABB(self.robot.world.body(part))
        self._held_half_height = 0.5 * (hi[2] - lo[2])


def _slerp(q0, q1, u: float) -> tuple[float, float, float, float]:
    """Quaternion (xyzw) a fraction ``u`` of the way from ``q0`` to ``q1`` along the shorter arc."""
    a, b = np.asarray(q0, float), np.asarray(q1, float)
    dot = float(np.dot(a, b))
    if dot < 0.0:
        b, dot = -b, -dot
    if dot > 0.9995:
        q = a + u * (b - a)
    else:
        theta = math.acos(dot)
        q = (math.sin((1 - u) * theta) * a + math.sin(u * theta) * b) / math.sin(theta)
    q /= np.linalg.norm(q)
    return tuple(float(v) for v in q)


def _mm(xyz) -> tuple[float, ...]:
    return tuple(round(float(v), 4) for v in xyz)
