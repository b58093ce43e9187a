"""Collision-checked motions: detour around an obstacle the direct motion would hit."""

from __future__ import annotations

import numpy as np
import pytest

from twin.errors import SimulationError
from twin.physics import World
from twin.physics.pick_place import tool_down_quat
from twin.physics.robot import Robot


@pytest.fixture
def cell():
    w = World()
    w.add_floor()
    w.add_box("block", (0.08, 0.04, 0.18), (0.55, 0.0, 0.18))
    robot = Robot(w, "cell/arm", "kuka_iiwa/model.urdf")
    q_a = robot.ik((0.5, -0.4, 0.12), tool_down_quat(robot, 0.0)).q
    q_b = robot.ik((0.5, 0.4, 0.12), tool_down_quat(robot, 0.0)).q
    robot.set_joints(q_a)
    yield w, robot, q_a, q_b
    w.close()


def test_detour_clears_what_the_direct_motion_hits(cell):
    """The direct motion penetrates the block; the planned detour keeps its clearance all the way."""
    w, robot, q_a, q_b = cell
    direct_min, _ = robot.min_distance(robot.plan(q_b), ["block"])
    assert direct_min < 0
    legs = robot.plan_clear(q_b, ["block", "floor"], clearance_m=0.01)
    assert len(legs) > 1
    assert np.allclose(legs[0].q0, q_a) and np.allclose(legs[-1].q1, q_b)
    for leg in legs:
        assert robot.min_distance(leg, ["block", "floor"], dt_s=0.005)[0] >= 0.01


def test_executed_detour_never_touches_the_block(cell):
    """Playing the detour in physics: no contact with the block at any physics step."""
    w, robot, q_a, q_b = cell
    legs = robot.plan_clear(q_b, ["block"], clearance_m=0.01)
    c = w.client
    block = w.body("block")
    closest = np.inf
    for leg in legs:
        t, q, _, _ = leg.sample(w.dt_s)
        for row in q[1:]:
            robot.set_joints(row)
            w.step()
            assert not c.getContactPoints(robot.body, block)
            closest = min([closest] + [p[8] for p in c.getClosestPoints(robot.body, block, 0.1)])
    assert closest > 0.0
    assert np.allclose(robot.joints(), q_b, atol=1e-4)


def test_clear_direct_motion_is_kept(cell):
    """Without an obstacle in the way the direct motion is returned as is."""
    w, robot, q_a, _ = cell
    q_c = robot.ik((0.45, -0.3, 0.3), tool_down_quat(robot, 0.0)).q
    legs = robot.plan_clear(q_c, ["block"], clearance_m=0.01)
    assert len(legs) == 1


def test_start_too_close_is_reported(cell):
    """A start pose already inside the clearance is named in a clear error."""
    w, robot, q_a, q_b = cell
    with pytest.raises(SimulationError, match=r"the start pose (is only \d+ mm from an obstacle|touches an obstacle \(overlap \d+ mm\)) \(clearance 300 mm\)"):
        robot.plan_clear(q_b, ["block"], clearance_m=0.3)
