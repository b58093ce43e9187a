"""Two-finger gripper: a friction grasp driven by the finger joints, placed within 5 mm and 3 degrees."""

from __future__ import annotations

import math

import numpy as np
import pytest

from twin.errors import SceneError, SimulationError
from twin.physics import World
from twin.physics.fingers import TwoFingerGripper
from twin.physics.pick_place import PickPlace
from twin.physics.robot import Robot

HALF = (0.04, 0.025, 0.03)
TABLE_TOP = 0.3


def _yaw(quat) -> float:
    x, y, z, w = quat
    return math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))


@pytest.fixture
def cell():
    w = World()
    w.add_floor()
    w.add_box("table", (0.35, 0.5, 0.5 * TABLE_TOP), (0.55, 0.0, 0.5 * TABLE_TOP))
    robot = Robot(w, "cell/panda", "franka_panda/panda.urdf")
    yield w, robot, TwoFingerGripper(robot, force_n=20.0)
    w.close()


def test_finger_picks_land_within_5mm_and_3deg(cell):
    """Parts held by friction only (no attachment) are placed where asked, and rest on the table."""
    w, robot, fingers = cell
    pp = PickPlace(robot, fingers)
    rng = np.random.default_rng(3)
    for i in range(6):
        x, y, yaw = 0.45 + 0.1 * rng.random(), -0.3 + 0.1 * rng.random(), rng.uniform(-1.2, 1.2)
        w.add_box(f"p{i}", HALF, (x, y, TABLE_TOP + HALF[2] + 0.001), yaw_rad=yaw, mass_kg=0.2, friction=0.8)
        w.step(48)
        s = w.state(f"p{i}")
        target, target_yaw = np.array([0.5 + 0.05 * i % 0.1, 0.2 + 0.02 * i, TABLE_TOP + 2 * HALF[2]]), rng.uniform(-1, 1)
        pp.pick(f"p{i}", np.array(s.xyz_m) + [0, 0, HALF[2]], _yaw(s.quat_xyzw))
        assert fingers.holding == f"p{i}"
        assert 0.045 < fingers.opening_m < 0.055  # closed on the 50 mm side, not past it
        assert w.state(f"p{i}").xyz_m[2] > TABLE_TOP + HALF[2] + 0.1  # lifted by friction alone
        pp.place(target, target_yaw)
        w.step(96)
        s = w.state(f"p{i}")
        err = np.linalg.norm(np.array(s.xyz_m) + [0, 0, HALF[2]] - target)
        yaw_err = abs(math.degrees((_yaw(s.quat_xyzw) - target_yaw + math.pi) % (2 * math.pi) - math.pi))
        assert err <= 0.005, f"p{i}: {1000 * err:.2f} mm"
        assert min(yaw_err, abs(yaw_err - 180)) <= 3.0
        assert s.xyz_m[2] == pytest.approx(TABLE_TOP + HALF[2], abs=1e-3)
        w.remove(f"p{i}")


def test_closing_on_nothing_is_a_clear_error(cell):
    w, robot, fingers = cell
    w.add_box("far", HALF, (0.5, 0.3, TABLE_TOP + HALF[2]), mass_kg=0.2)
    with pytest.raises(SimulationError, match="without gripping 'far'"):
        fingers.attach("far")
    assert fingers.opening_m > 0.07  # opened again


def test_an_arm_without_fingers_cannot_take_a_two_finger_gripper():
    with World() as w:
        robot = Robot(w, "arm", "kuka_iiwa/model.urdf")
        with pytest.raises(SceneError, match="needs two finger joints"):
            TwoFingerGripper(robot)
