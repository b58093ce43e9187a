"""Contract tests over every bundled scene: loads, runs unattended, deterministic, restorable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import twin

SCENES = sorted((Path(__file__).resolve().parents[1] / "scenes").glob("*.yaml"))


@pytest.fixture(scope="module", params=SCENES, ids=[p.stem for p in SCENES])
def scene(request):
    return twin.load_scene(request.param)  # frozen: every test builds its own Twin from it


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


def test_scheduled_faults_happen_and_recover(scene):
    """Each showcase scene schedules a belt stop and a sensor blackout (and a robot malfunction where
    it has robots). Through the first occurrence of each, the twin stops what the fault stops, then
    recovers by itself: stopped stations are repaired at the window's end, belts run at their speed
    again, and good parts keep leaving the line afterwards."""
    kinds = {f.kind for f in scene.faults}
    assert {"conveyor_stop", "sensor_blackout"} <= kinds
    if any(st.robot_cell is not None for st in scene.stations):
        assert "robot_malfunction" in kinds
    firsts = [(f, f.at_s, f.at_s + f.duration_s) for f in scene.faults]
    t_end = min(max(end for _, _, end in firsts) + 1800.0, 4 * 3600.0)
    tw = twin.Twin(scene, seed=1, warmup_s=0)
    speeds = {c.name: c.speed_mps for c in scene.conveyors}
    for f, start, end in sorted(firsts, key=lambda x: x[1]):
        if end > t_end - 900:
            continue
        tw.run(until=start + 0.5 * f.duration_s)
        if f.kind == "conveyor_stop":
            assert tw.engine.conveyor_speed(f.target) == 0.0
        tw.run(until=end + 1e-6)
        if f.kind == "conveyor_stop":
            assert tw.engine.conveyor_speed(f.target) == speeds[f.target]
    tw.run(until=t_end)
    tr = tw.trace()
    good = [s.name for s in scene.sinks if not s.reject]
    out_t = tr["t_s"][(tr["event"] == "exit") & np.isin(tr["element"], good)]
    for f, start, end in firsts:
        if end > t_end - 900:
            continue
        assert np.any(out_t > end), f"{f.name}: no good part left the line after the fault ended at {end} s"
        if f.kind in ("station_down", "robot_malfunction") or (
                f.kind == "sensor_blackout" and f.target in {s.name for s in scene.stations}):
            here = (tr["element"] == f.target) & (tr["detail"] == f"scheduled/{f.name}")
            assert tr["t_s"][here & (tr["event"] == "failure")][0] == pytest.approx(start)
            assert tr["t_s"][here & (tr["event"] == "repair")][0] == pytest.approx(end)
    assert all(r["occurrences"] >= 1 for r in tw.kpis()["scheduled_faults"] if r["name"] in
               {f.name for f, s, e in firsts if e <= t_end - 900})


def test_scene_is_documented(scene):
    """Each scene explains itself in its header comment and its description, and the README lists it."""
    assert scene.name, "a showcase scene has a name"
    path = next(p for p in SCENES if f"\nname: {scene.name}\n" in p.read_text())
    header = [line for line in path.read_text().splitlines()[:40] if line.startswith("#")]
    assert len(header) >= 8, f"{path.name}: the header comment should explain the scene"
    assert len(scene.description.split()) >= 10
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert f"scenes/{path.name}" in readme


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
        tw.run(until=1200)  # event to event (no physics) until the line is full, then step the world
        parts = []
        for _ in range(300):  # until a part is on a belt (a belt can be empty for a while)
            tw.step()
            parts = [n for n in tw.world.names() if n.startswith("part/")]
            if parts:
                break
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
                    robot.set_joints(result.q)  # checked by PyBullet's own forward kinematics too
                    reached = w.client.getLinkState(robot.body, robot.ee, computeForwardKinematics=True)[4]
                    assert np.linalg.norm(np.array(reached) - target) <= 1e-3
            lim = robot.limits
        q = np.asarray(st.robot_motion)
        dt = 1.0 / 240.0
        assert np.all(q >= lim.lower - 1e-9) and np.all(q <= lim.upper + 1e-9)
        assert np.max(np.abs(np.diff(q, axis=0)) / dt / lim.velocity) <= 1.02
        assert np.max(np.abs(np.diff(q, n=2, axis=0)) / dt ** 2 / lim.acceleration) <= 1.05


def test_vision_guided_robots_pick_where_their_camera_sees(scene):
    """A vision-guided robot cell's measured picks were aimed at camera sightings that lie within
    5 mm and 3 degrees of the truth."""
    import math

    cells = [st for st in scene.stations if st.robot_cell is not None and st.robot_cell.vision_guided]
    if not cells:
        pytest.skip("scene has no vision-guided robot")
    for st in cells:
        errors = st.robot_sighting_errors
        assert len(errors) == 2  # the two measured cycles
        for position_m, yaw_rad in errors:
            assert position_m < 0.005 and math.degrees(yaw_rad) < 3.0
        assert 2.0 < st.robot_cycle_s < 15.0
