"""Robot arms: limits from URDF, IK verified by FK, motions within limits sample by sample."""

from __future__ import annotations

import numpy as np
import pytest

from twin.errors import SceneError, SimulationError
from twin.physics.robot import Robot
from twin.physics.trajectory import plan_motion

ARMS = ["franka_panda/panda.urdf", "kuka_iiwa/model.urdf"]


@pytest.mark.parametrize("urdf", ARMS)
def test_limits_come_from_the_urdf(world, urdf):
    """Movable joints and their position and velocity limits are read from the URDF."""
    robot = Robot(world, "cell/arm", urdf)
    assert robot.dof == 7  # the panda's two finger joints belong to its hand, not the arm
    assert len(robot.finger_joints) == (2 if "panda" in urdf else 0)
    assert np.all(robot.limits.upper > robot.limits.lower)
    assert np.all(robot.limits.velocity > 0) and np.all(robot.limits.acceleration > 0)
    if "panda" in urdf:
        assert robot.limits.lower[3] == pytest.approx(-3.1416, abs=1e-3)
        assert robot.limits.velocity[0] == pytest.approx(2.175)


@pytest.mark.parametrize("urdf", ARMS)
def test_ik_reaches_reachable_targets_within_1mm(world, urdf):
    """Targets made by forward kinematics of random joint positions are reached within 1 mm."""
    robot = Robot(world, "cell/arm", urdf, base_xyz_m=(0.5, -0.2, 0.0), base_yaw_rad=0.3)
    rng = np.random.default_rng(7)
    lo, hi = robot.limits.lower, robot.limits.upper
    for _ in range(25):
        q = lo + (0.15 + 0.7 * rng.random(robot.dof)) * (hi - lo)
        target, _ = robot.fk(q)
        result = robot.ik(target, tolerance_m=1e-3)
        reached, _ = robot.fk(result.q)
        assert np.linalg.norm(reached - target) <= 1e-3
        assert np.all(result.q >= lo - 1e-9) and np.all(result.q <= hi + 1e-9)


def test_ik_with_orientation(world):
    """A full pose (position and orientation) is reached within 1 mm and 0.01 rad."""
    robot = Robot(world, "arm", "kuka_iiwa/model.urdf")
    q = np.array([0.3, 0.5, -0.2, -1.2, 0.4, 0.6, 0.1])
    xyz, quat = robot.fk(q)
    result = robot.ik(xyz, quat, tolerance_m=1e-3, tolerance_rad=1e-2)
    assert result.position_error_m <= 1e-3 and result.orientation_error_rad <= 1e-2


def test_out_of_reach_is_a_clear_error(world):
    """A target 3 m away is reported as out of reach, naming the robot and the target."""
    robot = Robot(world, "cell2/arm", "kuka_iiwa/model.urdf")
    with pytest.raises(SimulationError, match=r"robot 'cell2/arm': target \(3\.0, 0\.0, 0\.5\) is out of reach"):
        robot.ik((3.0, 0.0, 0.5), restarts=2)


def test_missing_urdf_names_the_search_path(world):
    """A missing URDF names the file and where it was looked for."""
    with pytest.raises(SceneError, match=r"robot 'r': URDF 'robots/nope.urdf' not found \(searched: robots/nope.urdf, "):
        Robot(world, "r", "robots/nope.urdf")


@pytest.mark.parametrize("profile", ["quintic", "trapezoidal"])
def test_motions_respect_limits_sample_by_sample(profile):
    """Planned motions stay within position, velocity and acceleration limits at every 1 ms sample."""
    rng = np.random.default_rng(3)
    lo, hi = -np.ones(7) * 2.5, np.ones(7) * 2.5
    v_max = np.array([2.175, 2.175, 2.175, 2.175, 2.61, 2.61, 2.61])
    a_max = np.array([15.0, 7.5, 10.0, 12.5, 15.0, 20.0, 20.0])
    for _ in range(50):
        q0, q1 = lo + rng.random(7) * (hi - lo), lo + rng.random(7) * (hi - lo)
        motion = plan_motion(q0, q1, v_max, a_max, profile)
        t, q, qd, qdd = motion.sample(0.001)
        assert np.allclose(q[0], q0) and np.allclose(q[-1], q1, atol=1e-12)
        assert np.all(q >= np.minimum(q0, q1) - 1e-12) and np.all(q <= np.maximum(q0, q1) + 1e-12)
        assert np.all(np.abs(qd) <= v_max * (1 + 1e-9))
        assert np.all(np.abs(qdd) <= a_max * (1 + 1e-9))
        assert np.allclose(qd[0], 0) and np.allclose(qd[-1], 0, atol=1e-9)
        # the derivatives are the real ones: finite differences of the positions agree
        fd = np.diff(q, axis=0) / np.diff(t)[:, None]
        mid = 0.5 * (qd[1:] + qd[:-1])
        assert np.allclose(fd, mid, atol=2e-3 * v_max.max())
        # and the limit is actually used: some joint reaches its velocity or acceleration limit
        assert (np.abs(qd) / v_max).max() > 0.999 or (np.abs(qdd) / a_max).max() > 0.999


def test_trapezoidal_is_faster_than_quintic():
    """For the same limits the trapezoidal profile is never slower than the quintic one."""
    q0, q1 = np.zeros(3), np.array([1.0, -2.0, 0.5])
    v, a = np.ones(3), np.ones(3) * 4
    assert plan_motion(q0, q1, v, a, "trapezoidal").duration_s < plan_motion(q0, q1, v, a, "quintic").duration_s


def test_follow_plays_the_motion_in_the_world(world):
    """Following a motion leaves the arm at the goal after duration x physics rate steps."""
    robot = Robot(world, "arm", "kuka_iiwa/model.urdf")
    goal = np.array([0.5, 0.4, -0.3, -1.0, 0.2, 0.8, 0.0])
    motion = robot.plan(goal, profile="trapezoidal")
    steps = robot.follow(motion)
    assert steps == int(np.ceil(motion.duration_s * world.physics_hz - 1e-9))
    assert np.allclose(robot.joints(), goal, atol=1e-4)
