"""World: one owned PyBullet client, explicit settings, exact free fall, isolation between worlds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from twin.errors import SimulationError, UsageError
from twin.physics import World

G = 9.81


@pytest.fixture
def world():
    w = World(physics_hz=240.0)
    yield w
    w.close()


def test_free_fall_follows_semi_implicit_euler(world):
    """With no damping, a dropped box falls exactly as v += g dt; z += v dt (Bullet's integrator)."""
    world.add_box("part", (0.05, 0.05, 0.05), (0.0, 0.0, 5.0), mass_kg=1.0)
    n = 120
    world.step(n)
    dt = world.dt_s
    expected = 5.0 - G * dt * dt * n * (n + 1) / 2
    state = world.state("part")
    assert state.xyz_m[2] == pytest.approx(expected, abs=1e-6)
    assert state.linear_mps[2] == pytest.approx(-G * dt * n, abs=1e-6)
    # and close to the continuous law: error of order g t dt / 2
    t = n * dt
    assert abs(state.xyz_m[2] - (5.0 - 0.5 * G * t * t)) < G * t * dt


def test_box_comes_to_rest_on_the_floor(world):
    """A box dropped on the floor rests at its half height, upright, without sinking."""
    world.add_floor()
    world.add_box("part", (0.1, 0.1, 0.05), (0.0, 0.0, 0.3), mass_kg=0.5)
    world.step(480)
    state = world.state("part")
    assert state.xyz_m[2] == pytest.approx(0.05, abs=2e-3)
    assert math.hypot(*state.linear_mps) < 1e-3


def test_two_worlds_do_not_interfere():
    """Two worlds in one process have their own gravity, bodies, time and lifetime."""
    with World() as falling, World(gravity_mps2=(0.0, 0.0, 0.0)) as floating:
        falling.add_box("p", (0.05,) * 3, (0.0, 0.0, 1.0), mass_kg=1.0)
        floating.add_box("p", (0.05,) * 3, (0.0, 0.0, 1.0), mass_kg=1.0)
        assert falling.client.id != floating.client.id
        falling.step(240)
        assert falling.state("p").xyz_m[2] < 0.0
        assert floating.state("p").xyz_m[2] == pytest.approx(1.0, abs=1e-12)
        assert floating.time_s == 0.0 and falling.time_s == pytest.approx(1.0)
        falling.close()
        floating.step(10)
        assert floating.state("p").xyz_m[2] == pytest.approx(1.0, abs=1e-12)


def test_closed_world_refuses_calls():
    """After close() every call fails clearly; closing twice is harmless."""
    w = World()
    w.add_box("p", (0.05,) * 3, (0.0, 0.0, 1.0))
    w.close()
    w.close()
    assert w.closed
    with pytest.raises(SimulationError, match="closed"):
        w.step()
    with pytest.raises(SimulationError, match="closed"):
        w.state("p")


def test_unknown_body_names_the_valid_ones(world):
    """Looking up a missing body suggests the closest name and lists the valid ones."""
    world.add_box("cell1/fixture", (0.1,) * 3, (0.0, 0.0, 0.1))
    with pytest.raises(SimulationError, match=r"Did you mean 'cell1/fixture'\?.*Valid: \['cell1/fixture'\]"):
        world.body("cell1/fixtur")


def test_bad_arguments_are_usage_errors(world):
    """Non-positive sizes, negative masses, duplicate names and bad rates are rejected."""
    with pytest.raises(UsageError, match="half_extents_m"):
        world.add_box("a", (0.1, 0.0, 0.1), (0, 0, 0))
    with pytest.raises(UsageError, match="mass_kg"):
        world.add_box("a", (0.1, 0.1, 0.1), (0, 0, 0), mass_kg=-1)
    world.add_box("a", (0.1, 0.1, 0.1), (0, 0, 0))
    with pytest.raises(UsageError, match="already exists"):
        world.add_box("a", (0.1, 0.1, 0.1), (0, 0, 0))
    with pytest.raises(UsageError, match="physics_hz"):
        World(physics_hz=0)


def test_gui_without_display_says_so(monkeypatch):
    """Asking for the GUI without a display gives a clear message instead of a crash."""
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(UsageError, match="DISPLAY is not set"):
        World(gui=True)


def test_kinematic_pose_is_exact(world):
    """set_pose places a body exactly (parts following the core on a conveyor)."""
    world.add_box("part", (0.05,) * 3, (0.0, 0.0, 0.05), mass_kg=0.2)
    world.set_pose("part", (1.25, -0.5, 0.8))
    assert world.state("part").xyz_m == pytest.approx((1.25, -0.5, 0.8), abs=1e-12)


@pytest.mark.parametrize("n_colours", [2, 20])
def test_a_compound_of_many_boxes_collides_and_renders_every_box(world, n_colours):
    """More boxes than PyBullet's visual arrays take (16; more used to crash the process)."""
    palette = [(1.0, 0.0, 0.0, 1.0), (0.0, 0.0, 1.0, 1.0)] + [(0.0, 0.1 + 0.04 * k, 0.0, 1.0) for k in range(18)]
    boxes = [((0.01, 0.05, 0.01), (-0.39 + 0.02 * i, 0.0, 0.0), palette[i % n_colours]) for i in range(40)]
    world.add_compound("comb", boxes, (0.0, 0.0, 0.5))
    c = world.client
    # collision: rays down onto the first and the last box both hit the body
    fraction, body = world.raycast([(-0.39, 0.0, 1.0), (0.39, 0.0, 1.0)], [(-0.39, 0.0, 0.0), (0.39, 0.0, 0.0)])
    assert list(body) == [world.body("comb")] * 2 and fraction == pytest.approx([0.49, 0.49], abs=1e-3)
    # visual: seen from above, the whole row is drawn, each box in its own colour
    view = c.computeViewMatrix([0.0, 0.0, 1.5], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0])
    proj = c.computeProjectionMatrixFOV(60.0, 1.0, 0.1, 3.0)
    _, _, rgba, _, _ = c.getCameraImage(128, 128, view, proj, renderer=c.ER_TINY_RENDERER)
    row = np.asarray(rgba, np.uint8).reshape(128, 128, 4)[64, :, :3].astype(int)
    red = (row[:, 0] > 150) & (row[:, 2] < 80)
    blue = (row[:, 2] > 150) & (row[:, 0] < 80)
    drawn = np.flatnonzero(red | blue | ((row[:, 1] > 0) & (row[:, 0] < 80) & (row[:, 2] < 80)))
    assert drawn.min() < 40 and drawn.max() > 88  # both ends of the 0.8 m row (about 37 px each side)
    assert red.any() and blue.any()
    green = (row[:, 1] > 0) & (row[:, 0] < 80) & (row[:, 2] < 80)
    assert green.any() == (n_colours > 2)
