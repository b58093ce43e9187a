"""Contract tests over every bundled scene: loads, runs unattended, deterministic, restorable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import twin

SCENES = sorted((Path(__file__).resolve().parents[1] / "scenes").glob("*.yaml"))


@pytest.fixture(params=SCENES, ids=[p.stem for p in SCENES])
def scene(request):
    return twin.load_scene(request.param)


def test_scenes_exist():
    """The repository ships at least one showcase scene."""
    assert SCENES


def test_runs_an_hour_and_produces(scene):
    """A scene runs a simulated hour headless, produces parts and never deadlocks."""
    tw = twin.Twin(scene, seed=1, trace=False, warmup_s=0)
    tw.run(until="1h")
    k = tw.kpis()
    assert k["throughput"]["total"] > 0
    assert tw.deadlocked() == []
    for st in k["stations"]:
        fracs = [st[f"{s}_frac"] for s in ("idle", "busy", "setup", "blocked", "down", "off_shift")]
        assert sum(fracs) == pytest.approx(1.0, abs=1e-9)


def test_same_seed_same_trace(scene):
    """Two runs with one seed give identical traces and KPIs."""
    runs = []
    for _ in range(2):
        tw = twin.Twin(scene, seed=11, warmup_s=0)
        tw.run(until="30min")
        runs.append((tw.trace(), tw.kpis()))
    for key in runs[0][0]:
        np.testing.assert_array_equal(runs[0][0][key], runs[1][0][key])
    assert runs[0][1] == runs[1][1]


def test_state_round_trip(scene):
    """get_state -> run -> set_state -> run again continues identically."""
    tw = twin.Twin(scene, seed=3, warmup_s=0)
    tw.run(until="20min")
    snap = tw.get_state()
    tw.run(until="40min")
    first = (tw.kpis(), tw.trace())
    tw.set_state(snap)
    tw.run(until="40min")
    second = (tw.kpis(), tw.trace())
    assert first[0] == second[0]
    for key in first[1]:
        np.testing.assert_array_equal(first[1][key], second[1][key])


def test_nan_and_negative_commands_raise(scene):
    """Commands with NaN or negative values are rejected with a clear error, state untouched."""
    tw = twin.Twin(scene, seed=1, warmup_s=0)
    with pytest.raises(twin.UsageError):
        tw.run(until=float("nan"))
    with pytest.raises(twin.UsageError):
        tw.step(-1.0)
    assert tw.time_s == 0.0


def test_layout_builds_a_world(scene):
    """Every element with geometry becomes a body, and parts appear on belts while stepping."""
    with_geometry = [el.name for section in ("sources", "buffers", "conveyors", "stations", "sinks")
                     for el in getattr(scene, section) if el.geometry is not None]
    if not with_geometry:
        pytest.skip("scene has no 3D layout")
    with twin.Twin(scene, seed=1, trace=False, warmup_s=0, physics=True, control_step_s=1.0) as tw:
        assert set(with_geometry) <= set(tw.world.names())
        for _ in range(300):
            tw.step()
        parts = [n for n in tw.world.names() if n.startswith("part/")]
        assert parts
        for name in parts:
            assert tw.world.state(name).xyz_m[2] > 0.0  # on a belt, above the floor


def test_robot_cells_reach_their_poses_within_1mm_and_move_within_limits(scene):
    """For every robot cell of a bundled scene: IK reaches the pick and place poses (tool down, and
    the approach poses above them) within 1 mm, and the measured cycle's commanded joint rows stay
    within the arm's position, velocity and acceleration limits, sample by sample."""
    import math

    from twin.physics import World
    from twin.physics.pick_place import tool_down_quat
    from twin.physics.robot import Robot

    cells = [st for st in scene.stations if st.robot_cell is not None]
    if not cells:
        pytest.skip("scene has no robot cell")
    for st in cells:
        cell = st.robot_cell
        with World() as w:
            robot = Robot(w, st.name, cell.urdf, base_xyz_m=cell.base_xyz_m,
                          base_yaw_rad=math.radians(cell.base_yaw_deg))
            for xyz, yaw in ((cell.pick_xyz_m, cell.pick_yaw_deg), (cell.place_xyz_m, cell.place_yaw_deg)):
                for lift in (0.0, cell.approach_m):
                    target = np.array(xyz) + [0.0, 0.0, 0.05 + lift]  # the link frame above the part's top
                    result = robot.ik(target, tool_down_quat(robot, math.radians(yaw)), tolerance_m=1e-3)
                    assert result.position_error_m <= 1e-3
            lim = robot.limits
        q = np.asarray(st.robot_motion)
        dt = 1.0 / 240.0
        assert np.all(q >= lim.lower - 1e-9) and np.all(q <= lim.upper + 1e-9)
        assert np.max(np.abs(np.diff(q, axis=0)) / dt / lim.velocity) <= 1.02
        assert np.max(np.abs(np.diff(q, n=2, axis=0)) / dt ** 2 / lim.acceleration) <= 1.05
