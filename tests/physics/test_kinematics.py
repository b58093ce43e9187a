"""The compiled chain (forward kinematics and Jacobian) against PyBullet's own: same link poses
for arms on turned, shifted bases, through fixed joints and up to a finger tip; the Jacobian equal
to finite differences of the poses; and evaluating it never moves the arm."""

from __future__ import annotations

import numpy as np
import pytest

from twin.physics.kinematics import Chain, attached_path, chain_pose, matrix_of_quat, quat_of_matrix
from twin.physics.robot import Robot


def _rotation_angle(rot_a, rot_b) -> float:
    """Angle between two orientations: |Ra - Rb| (Frobenius) = 2 sqrt(2) sin(angle / 2), exact
    for small angles where the arccos of the trace is not."""
    return float(2.0 * np.arcsin(min(1.0, np.linalg.norm(rot_a - rot_b) / (2.0 * np.sqrt(2.0)))))


@pytest.mark.parametrize(("urdf", "link_name"), [
    ("kuka_iiwa/model.urdf", None),
    ("franka_panda/panda.urdf", None),  # through the fixed flange and hand joints
    ("franka_panda/panda.urdf", "panda_leftfinger"),  # through a prismatic finger joint not solved for
])
def test_chain_poses_match_pybullet(world, urdf, link_name):
    """At 40 random configurations (fingers opened 2 cm), every pose within 1e-6 m and 1e-5 rad
    of PyBullet's link frame (which is single precision), the base shifted and turned."""
    robot = Robot(world, "arm", urdf, base_xyz_m=(0.4, -0.3, 0.2), base_yaw_rad=2.1)
    c = world.client
    link = robot.ee if link_name is None else robot.links[link_name]
    chain = Chain.of(c, robot.body, link, robot._joints)
    assert chain.supported
    for j in robot.finger_joints:
        c.resetJointState(robot.body, j, 0.02)
    held = np.array([c.getJointState(robot.body, j)[0] if chain.column[k] < 0 else 0.0
                     for k, j in enumerate(chain.joints)])
    base_pos, base_quat = c.getBasePositionAndOrientation(robot.body)
    rng = np.random.default_rng(3)
    lo, hi = robot.limits.lower, robot.limits.upper
    for _ in range(40):
        q = lo + rng.random(robot.dof) * (hi - lo)
        robot.set_joints(q)
        state = c.getLinkState(robot.body, link, computeForwardKinematics=True)
        pos, rot = chain_pose(q, held, np.array(base_pos), matrix_of_quat(*base_quat), *chain.arrays(),
                              np.empty((6, 0)))
        assert np.abs(pos - state[4]).max() <= 1e-6
        assert _rotation_angle(rot, matrix_of_quat(*state[5])) <= 1e-5


def test_jacobian_is_the_derivative_of_the_pose(world):
    """Each column: the linear rows equal central differences of the position, the angular rows
    the rotation vector of the change of orientation per radian (within 1e-6)."""
    robot = Robot(world, "arm", "franka_panda/panda.urdf", base_yaw_rad=0.4)
    chain = robot._local_ik.chain
    base_pos, base_rot = robot._local_ik.base_pose()
    held = np.zeros(len(chain.joints))
    rng = np.random.default_rng(5)
    h = 1e-6
    for _ in range(10):
        q = robot.limits.lower + (0.2 + 0.6 * rng.random(robot.dof)) * (robot.limits.upper - robot.limits.lower)
        jac = np.empty((6, robot.dof))
        chain_pose(q, held, base_pos, base_rot, *chain.arrays(), jac)
        for i in range(robot.dof):
            step = np.zeros(robot.dof)
            step[i] = h
            p1, r1 = chain_pose(q + step, held, base_pos, base_rot, *chain.arrays(), np.empty((6, 0)))
            p0, r0 = chain_pose(q - step, held, base_pos, base_rot, *chain.arrays(), np.empty((6, 0)))
            assert np.allclose((p1 - p0) / (2 * h), jac[:3, i], atol=1e-6)
            delta = r1 @ r0.T  # small rotation: its skew part is the rotation vector
            omega = np.array([delta[2, 1] - delta[1, 2], delta[0, 2] - delta[2, 0], delta[1, 0] - delta[0, 1]]) / 2
            assert np.allclose(omega / (2 * h), jac[3:, i], atol=1e-6)


def test_quaternion_round_trip_near_every_axis():
    """quat_of_matrix inverts matrix_of_quat (up to sign) for rotations near 0 and 180 degrees
    about each axis, where a naive formula loses precision."""
    rng = np.random.default_rng(7)
    for angle in (1e-9, 0.3, np.pi - 1e-7, np.pi):
        for axis in np.eye(3):
            axis = axis + 1e-3 * rng.standard_normal(3)
            axis /= np.linalg.norm(axis)
            quat = np.concatenate([axis * np.sin(angle / 2), [np.cos(angle / 2)]])
            back = quat_of_matrix(matrix_of_quat(*quat))
            assert min(np.abs(back - quat).max(), np.abs(back + quat).max()) <= 1e-9


def test_ik_and_fk_leave_the_arm_where_it_is(world):
    """Local IK and FK at other joints evaluate the chain: the arm's joints are untouched, and no
    world-changing call is made."""
    robot = Robot(world, "arm", "kuka_iiwa/model.urdf")
    before = robot.joints()
    xyz, quat = robot.fk(robot.home_q + 0.2)
    calls = []
    original = world.client.resetJointStatesMultiDof
    world.client.resetJointStatesMultiDof = lambda *a, **k: calls.append(a) or original(*a, **k)
    try:
        result = robot.ik_near(xyz, quat, robot.home_q + 0.15)
        robot.fk(result.q)
    finally:
        world.client.resetJointStatesMultiDof = original
    assert calls == []
    assert np.array_equal(robot.joints(), before)
    reached, _ = robot.fk(result.q)
    assert np.linalg.norm(reached - xyz) <= 1e-4


def test_attached_path_poses_and_velocities(world):
    """A body fixed to the tool at an offset: its poses along a motion equal PyBullet's link pose
    composed with the offset (1e-6), and its velocities are the derivatives of those poses
    (central differences of positions and orientations, within 1e-4)."""
    robot = Robot(world, "arm", "kuka_iiwa/model.urdf", base_yaw_rad=-0.6)
    c = world.client
    motion = robot.plan(robot.home_q + np.array([0.5, -0.3, 0.4, 0.3, -0.5, 0.4, 1.0]))
    dt = 1e-3
    t, q, qd, _ = motion.sample(dt)
    offset_pos, offset_quat = (0.01, -0.02, 0.07), c.getQuaternionFromEuler((0.2, 0.0, 0.9))
    base_pos, base_rot = robot._local_ik.base_pose()
    pos, quat, lin, ang = attached_path(q, qd, robot._local_ik.held_values(), base_pos, base_rot,
                                        *robot._local_ik.chain.arrays(), np.array(offset_pos),
                                        matrix_of_quat(*offset_quat))
    for i in range(0, len(t), 50):
        robot.set_joints(q[i])
        link = c.getLinkState(robot.body, robot.ee, computeForwardKinematics=True)
        p, o = c.multiplyTransforms(link[4], link[5], offset_pos, offset_quat)
        assert np.abs(pos[i] - p).max() <= 1e-6
        assert _rotation_angle(matrix_of_quat(*quat[i]), matrix_of_quat(*o)) <= 1e-5
    middle = slice(1, len(t) - 1)
    assert np.abs((pos[2:] - pos[:-2]) / (2 * dt) - lin[middle]).max() <= 1e-4
    for i in range(1, len(t) - 1, 25):
        delta = matrix_of_quat(*quat[i + 1]) @ matrix_of_quat(*quat[i - 1]).T
        omega = np.array([delta[2, 1] - delta[1, 2], delta[0, 2] - delta[2, 0], delta[1, 0] - delta[0, 1]]) / 2
        assert np.abs(omega / (2 * dt) - ang[i]).max() <= 1e-4
