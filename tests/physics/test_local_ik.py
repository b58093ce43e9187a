"""Local (Newton) IK on the arm's Jacobian: reaches targets within tolerance, within the joint
limits, in a few steps from a near seed, and smoothly enough along a path for splines."""

from __future__ import annotations

import math

import numpy as np
import pytest

from twin.errors import SimulationError
from twin.physics.local_ik import PRECISION_M, PRECISION_RAD
from twin.physics.pick_place import tool_down_quat
from twin.physics.robot import Robot

ARMS = ["franka_panda/panda.urdf", "kuka_iiwa/model.urdf"]


def bullet_fk(robot: Robot, q) -> tuple[np.ndarray, np.ndarray]:
    """End-effector pose at ``q`` as PyBullet computes it (independent of the solver's own chain)."""
    saved = robot.joints()
    robot.set_joints(q)
    state = robot.world.client.getLinkState(robot.body, robot.ee, computeForwardKinematics=True)
    robot.set_joints(saved)
    return np.array(state[4]), np.array(state[5])


def _angle(quat_a, quat_b) -> float:
    return 2.0 * math.acos(min(1.0, abs(float(np.dot(quat_a, quat_b)))))


@pytest.mark.parametrize("urdf", ARMS)
def test_newton_steps_reach_poses_near_the_seed(world, urdf):
    """From a seed 0.1 rad per joint away, the full pose is reached within 0.1 mm and 1 mrad (to
    the solver's precision in a few steps, away from singularities), inside the joint limits.
    The base is turned and shifted: a wrongly placed or rotated base would not converge, and the
    solution is checked with PyBullet's forward kinematics, not the solver's."""
    robot = Robot(world, "cell/arm", urdf, base_xyz_m=(0.5, -0.2, 0.1), base_yaw_rad=0.7)
    rng = np.random.default_rng(11)
    lo, hi = robot.limits.lower, robot.limits.upper
    iterations = []
    for _ in range(20):
        q_true = lo + (0.15 + 0.7 * rng.random(robot.dof)) * (hi - lo)
        xyz, quat = robot.fk(q_true)
        seed = np.clip(q_true + rng.uniform(-0.1, 0.1, robot.dof), lo, hi)
        saved = robot.joints()
        solution = robot._local_ik.solve(xyz, quat, seed, 1e-4, 1e-3)
        robot.set_joints(saved)
        assert solution.converged
        assert np.all(solution.q >= lo) and np.all(solution.q <= hi)
        reached, reached_quat = bullet_fk(robot, solution.q)  # checked independently of the solver
        assert np.linalg.norm(reached - xyz) <= 1e-4 and _angle(reached_quat, quat) <= 1e-3
        iterations.append(solution.iterations)
        if solution.iterations <= 6:
            assert solution.position_error_m <= PRECISION_M and solution.orientation_error_rad <= PRECISION_RAD
    # a few poses lie near a singularity (a straight elbow), where damped steps converge slowly
    assert np.median(iterations) <= 4 and sum(i > 6 for i in iterations) <= 2


def test_a_joint_on_its_limit_is_held_there_and_the_others_solve(world):
    """A target whose nearest solution would push a joint past its limit: the joint stays on the
    limit, the others reach the target, no sample leaves the limits."""
    robot = Robot(world, "arm", "kuka_iiwa/model.urdf")
    lo, hi = robot.limits.lower, robot.limits.upper
    q = np.array([0.3, 0.6, -0.2, -1.2, 0.4, 0.9, hi[6] - 0.02])
    xyz, quat = robot.fk(q)
    # the same position, the tool turned 0.1 rad further than joint 7 can turn on its own
    turned = world.client.multiplyTransforms((0, 0, 0), quat, (0, 0, 0), world.client.getQuaternionFromEuler((0, 0, 0.1)))[1]
    result = robot.ik_near(xyz, turned, q)
    assert np.all(result.q >= lo) and np.all(result.q <= hi)
    reached, reached_quat = bullet_fk(robot, result.q)
    assert np.linalg.norm(reached - xyz) <= 1e-3 and _angle(reached_quat, turned) <= 1e-2


@pytest.mark.parametrize("urdf", ARMS)
def test_ik_near_along_a_line_is_smooth_and_exact(world, urdf):
    """Dense points of a straight line, each solved from the previous solution: every knot within
    0.1 mm and 1 mrad (checked by FK), joint steps small, and the knots smooth: third
    differences (the jerk of the knot sequence) about 3e-5 rad here; solver noise of 1e-3 rad, which
    a spline through knots 25 ms apart turns into rad/s² of acceleration, would show as 1e-3."""
    robot = Robot(world, "cell/arm", urdf)
    quat = tool_down_quat(robot, 0.4)
    start = np.array([0.5, -0.25, 0.35])
    q = robot.ik(start, quat, tolerance_m=5e-4, tolerance_rad=5e-3).q
    knots = []
    for k in range(60):
        xyz = start + np.array([0.0, 0.5 * k / 59, 0.05 * math.sin(math.pi * k / 59)])
        q = robot.ik_near(xyz, quat, q).q
        reached, reached_quat = bullet_fk(robot, q)
        assert np.linalg.norm(reached - xyz) <= 1e-4 and _angle(reached_quat, quat) <= 1e-3
        knots.append(q)
    knots = np.array(knots)
    assert np.max(np.abs(np.diff(knots, axis=0))) < 0.05
    assert np.max(np.abs(np.diff(knots, n=3, axis=0))) < 2e-4


def test_ik_near_out_of_reach_names_robot_and_target(world):
    robot = Robot(world, "cell3/arm", "kuka_iiwa/model.urdf")
    with pytest.raises(SimulationError, match=r"robot 'cell3/arm': target \(2\.0, 0\.0, 0\.5\) is out of reach"):
        robot.ik_near((2.0, 0.0, 0.5), tool_down_quat(robot, 0.0), robot.home_q)


def test_ik_prefers_the_ready_pose_configuration(world):
    """IK's first try starts at the ready pose and is drawn to it: a target produced by a small
    change of the ready pose comes back as (nearly) that pose, not another arm configuration."""
    robot = Robot(world, "arm", "kuka_iiwa/model.urdf")
    q = robot.home_q + np.array([0.1, -0.05, 0.0, 0.1, 0.0, -0.05, 0.2])
    xyz, quat = robot.fk(q)
    result = robot.ik(xyz, quat)
    assert result.position_error_m <= 1e-3 and result.orientation_error_rad <= 1e-2
    assert np.max(np.abs(result.q - q)) < 0.15
    assert np.allclose(robot.joints(), robot.home_q)  # the arm is put back where it was
