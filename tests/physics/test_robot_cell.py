"""Robot cells: the station's cycle time comes from the robot's motion, and the line reflects it."""

from __future__ import annotations

import numpy as np
import pytest

import twin

_CELL_HEAD = """
version: 1
part_types: [{name: box, size_m: [0.08, 0.06, 0.04]}]
sources: [{name: feed, to: infeed, always_available: true}]
buffers: [{name: infeed, to: cell1, capacity: 2}]
stations:
  - name: cell1
"""

CELL = _CELL_HEAD + """    to: belt
    process_time: 0.5
    robot_cell:
      base_xyz_m: [0, 0, 0]
      pick_xyz_m: [0.5, -0.3, 0.44]
      place_xyz_m: [0.5, 0.3, 0.44]
      place_yaw_deg: 30
  - {name: labeler, to: out, process_time: {dist: exponential, mean: 2.0}}
conveyors: [{name: belt, to: labeler, length_m: 2.0, speed_mps: 0.5, spacing_m: 0.25}]
sinks: [{name: out}]
"""


def test_line_throughput_follows_the_robot_cycle():
    """With the robot cell as bottleneck, throughput is 1 / (robot cycle + process_time) within 2%."""
    scene = twin.load_scene_text(CELL, "cell.yaml")
    cycle = scene.stations[0].robot_cycle_s
    assert 2.0 < cycle < 20.0
    tw = twin.Twin(scene, seed=4, warmup_s=600)
    tw.run(until="4h")
    k = tw.kpis()
    expected = 3600.0 / (cycle + 0.5)
    assert k["throughput"]["per_hour"] == pytest.approx(expected, rel=0.02)
    assert k["bottleneck"] == "cell1"
    cell = next(s for s in k["stations"] if s["name"] == "cell1")
    assert cell["performance"] == pytest.approx(1.0, rel=0.02)  # ideal time includes the motion


def test_cycle_is_measured_deterministically():
    """Loading the same scene twice measures the same cycle to the last bit."""
    a = twin.load_scene_text(CELL).stations[0].robot_cycle_s
    b = twin.load_scene_text(CELL).stations[0].robot_cycle_s
    assert a == b


def test_unreachable_pose_is_a_scene_error():
    """A pick pose out of the arm's reach fails when the scene loads, naming cell, pose and line."""
    bad = CELL.replace("pick_xyz_m: [0.5, -0.3, 0.44]", "pick_xyz_m: [2.5, -0.3, 0.44]")
    with pytest.raises(twin.SceneError, match=r"cell\.yaml:10: stations\[0\]\.robot_cell: cannot reach the pick pose "
                                              r"\(2\.5, -0\.3, 0\.44\): robot 'cell1': target .* is out of reach"):
        twin.load_scene_text(bad, "cell.yaml")


def test_missing_urdf_is_a_scene_error():
    """A URDF that does not exist is named with the places searched."""
    bad = CELL.replace("      base_xyz_m: [0, 0, 0]", "      urdf: arms/missing.urdf\n      base_xyz_m: [0, 0, 0]")
    with pytest.raises(twin.SceneError, match=r"robot_cell\.urdf: robot 'cell1': URDF 'arms/missing\.urdf' not found"):
        twin.load_scene_text(bad, "cell.yaml")


BELT_CELL = """
version: 1
part_types: [{name: box, size_m: [0.08, 0.06, 0.04]}]
sources: [{name: feed, to: infeed, interarrival: 6}]
conveyors:
  - name: infeed
    to: cell1
    length_m: 3.0
    speed_mps: 0.2
    spacing_m: 0.15
    geometry: {start_xyz_m: [0.6, -2.5, 0.3], end_xyz_m: [0.6, 0.5, 0.3], width_m: 0.3}
stations:
  - name: cell1
    to: out
    process_time: 0.2
    robot_cell:
      pick_from: infeed
      pick_xyz_m: [0.6, 0.0, 0.34]
      place_xyz_m: [0.0, 0.6, 0.34]
      malfunctions: [{name: servo_fault, mtbf_s: 1800, mttr_s: 300, basis: calendar}]
      drop_prob: 0.05
sinks: [{name: out}]
"""


def test_conveyor_picking_cell_with_faults():
    """A cell picking off a moving belt: its measured cycle feeds the line; malfunctions and
    suction drops show in the KPIs and the trace, at the rates the scene gives."""
    scene = twin.load_scene_text(BELT_CELL, "belt_cell.yaml")
    cycle = scene.stations[0].robot_cycle_s
    assert 2.0 < cycle < 15.0
    tw = twin.Twin(scene, seed=11)
    tw.run(until="24h")
    k = tw.kpis()
    cell = next(s for s in k["stations"] if s["name"] == "cell1")
    assert cell["failures_by_mode"] == {"robot/servo_fault": cell["failures"]}
    assert 24 * 3600 / (1800 + 300) * 0.6 < cell["failures"] < 24 * 3600 / (1800 + 300) * 1.4
    processed = cell["processed"]
    drops = cell["gripper_drops"]
    # binomial(processed, 0.05): within 4 standard deviations
    assert abs(drops - 0.05 * processed) < 4 * (processed * 0.05 * 0.95) ** 0.5
    assert k["gripper_drops"] == drops and k["scrapped"] >= drops
    tr = tw.trace()
    events = list(tr["event"])
    assert events.count("gripper_drop") == drops
    assert events.count("failure") == cell["failures"]
    failure_rows = tr["event"] == "failure"
    assert set(tr["detail"][failure_rows]) == {"robot/servo_fault"}
    assert set(tr["part_id"][failure_rows]) == {-1}
    parts = tw.parts()
    assert int((parts["final_state"] == "scrapped").sum()) == drops


def test_two_finger_cell():
    text = CELL.replace("    robot_cell:\n", "    robot_cell:\n      urdf: franka_panda/panda.urdf\n"
                        "      gripper: two_finger\n")
    scene = twin.load_scene_text(text)
    assert 2.0 < scene.stations[0].robot_cycle_s < 20.0
    bad = CELL.replace("    robot_cell:\n", "    robot_cell:\n      gripper: two_finger\n")
    with pytest.raises(twin.SceneError, match=r"robot_cell\.gripper: robot 'cell1': a two-finger gripper "
                                              r"needs two finger joints"):
        twin.load_scene_text(bad)


def test_the_arm_replays_its_measured_cycle_in_the_3d_world():
    """While the station processes a part, the arm in the 3D world moves along the measured cycle."""
    scene = twin.load_scene_text(CELL.replace("  - name: cell1\n", "  - name: cell1\n    geometry: "
                                              "{xyz_m: [0, 0, -0.05], size_m: [0.3, 0.3, 0.1]}\n"))
    motion = scene.stations[0].robot_motion
    assert motion.shape[1] == 7 and len(motion) == pytest.approx(scene.stations[0].robot_cycle_s * 240, abs=2)
    with twin.Twin(scene, seed=1, physics=True, control_step_s=0.05) as tw:
        (robot, _, _), = tw.scene_world.robots
        poses = []
        for _ in range(100):
            tw.step()
            poses.append(robot.joints())
        poses = np.array(poses)
        assert np.ptp(poses, axis=0).max() > 0.3  # it moved
        # every pose shown is one of the measured cycle's rows (held by the joint controllers
        # while physics steps between control steps)
        for q in poses[::10]:
            assert np.min(np.abs(motion - q).max(axis=1)) < 1e-3


def test_a_panda_with_a_suction_cup_picks_off_the_belt():
    """The Panda's end-effector frame has no collision shape: the cup touches parts with its hand
    and fingers (``Robot.tool_links``)."""
    text = BELT_CELL.replace("    robot_cell:\n", "    robot_cell:\n      urdf: franka_panda/panda.urdf\n")
    scene = twin.load_scene_text(text)
    assert 2.0 < scene.stations[0].robot_cycle_s < 20.0


def _bad_urdf_message(tmp_path, name: str, content: str | None) -> str:
    path = tmp_path / name
    if content is None:
        path.mkdir()
    else:
        path.write_text(content)
    text = CELL.replace("      base_xyz_m: [0, 0, 0]", f"      urdf: {path}\n      base_xyz_m: [0, 0, 0]")
    with pytest.raises(twin.SceneError) as info:
        twin.load_scene_text(text, "cell.yaml")
    message = str(info.value)
    assert message.startswith("cell.yaml:11: stations[0].robot_cell.urdf: robot 'cell1': URDF ")
    return message


def test_bad_urdf_files_are_named_with_the_cause(tmp_path):
    """Not XML, a mesh that is not there, no arm joints, a directory: each one clear message."""
    assert "is not valid XML (line 1, column 1)" in _bad_urdf_message(tmp_path, "junk.urdf", "not a robot\n")
    missing = _bad_urdf_message(tmp_path, "nomesh.urdf", """<robot name="r">
      <link name="base"><collision><geometry><mesh filename="meshes/base.stl"/></geometry></collision></link>
      <link name="l1"/>
      <joint name="j1" type="revolute"><parent link="base"/><child link="l1"/>
        <limit lower="-1" upper="1" effort="10" velocity="1"/></joint>
    </robot>""")
    assert f"refers to mesh 'meshes/base.stl', which is not there (searched: {tmp_path / 'meshes/base.stl'})" in missing
    still = _bad_urdf_message(tmp_path, "still.urdf", '<robot name="r"><link name="base"/></robot>')
    assert "has no movable joints for an arm" in still
    assert "is a directory, not a file" in _bad_urdf_message(tmp_path, "folder.urdf", None)


def test_a_robot_cell_has_one_server():
    """One arm handles one part at a time: a robot cell with capacity 2 is refused, not doubled."""
    bad = CELL.replace("  - name: cell1\n    to: belt\n", "  - name: cell1\n    to: belt\n    capacity: 2\n")
    with pytest.raises(twin.SceneError, match=r"cell\.yaml:7: stations\[0\]: capacity: a robot cell has one arm"):
        twin.load_scene_text(bad, "cell.yaml")


def test_a_place_point_on_the_robot_base_is_named():
    """The stand under a place point at the robot's own base would overlap the arm: a clear error
    naming the point, not a planning failure about some 'start pose'."""
    bad = CELL.replace("place_xyz_m: [0.5, 0.3, 0.44]", "place_xyz_m: [0.0, 0.0, 0.44]")
    with pytest.raises(twin.SceneError, match=r"robot 'cell1': place_xyz_m \(0\.0, 0\.0, 0\.44\) is too close to "
                                              r"the robot"):
        twin.load_scene_text(bad, "cell.yaml")


def test_the_cell_measures_the_station_part_type_and_fingers_have_a_payload():
    """The cycle uses the part type that reaches the station (here the second), with its mass and
    friction: two fingers cannot hold a 50 kg part of friction 0.05, which is a clear error."""
    text = CELL.replace("part_types: [{name: box, size_m: [0.08, 0.06, 0.04]}]",
                        "part_types: [{name: other, size_m: [0.3, 0.3, 0.3]},\n"
                        "             {name: box, size_m: [0.08, 0.06, 0.04], mass_kg: 50, friction: 0.05}]")
    text = text.replace("{name: feed, to: infeed, always_available: true}",
                        "{name: feed, to: infeed, always_available: true, part_type: box}")
    assert twin.load_scene_text(text).stations[0].robot_cycle_s == pytest.approx(
        twin.load_scene_text(CELL).stations[0].robot_cycle_s)  # suction: the box's size, whatever its mass
    fingers = text.replace("    robot_cell:\n", "    robot_cell:\n      urdf: franka_panda/panda.urdf\n"
                           "      gripper: two_finger\n")
    with pytest.raises(twin.SceneError, match=r"a two-finger gripper squeezing with 20 N per finger holds at most "
                                              r"0\.204 kg of a part with friction 0\.05; the part is 50 kg"):
        twin.load_scene_text(fingers)


def test_the_pick_point_lies_on_the_belt_it_names():
    """With the conveyor's geometry known, a pick point off the belt is refused (the measured
    cycle would not be the one the 3D world shows)."""
    off = BELT_CELL.replace("pick_xyz_m: [0.6, 0.0, 0.34]", "pick_xyz_m: [0.0, -0.6, 0.34]")
    with pytest.raises(twin.SceneError, match=r"stations\[0\]\.robot_cell\.pick_xyz_m: pick_xyz_m \(0, -0\.6\) "
                                              r"is not over conveyor 'infeed': it is 1\.90 m along its 3\.00 m and "
                                              r"0\.60 m from its centre line \(belt 0\.3 m wide\)"):
        twin.load_scene_text(off, "belt_cell.yaml")


def test_pick_from_must_feed_the_station_and_arms_stand_apart():
    """A belt that goes elsewhere, and two arms on one spot, are refused when the scene loads."""
    elsewhere = BELT_CELL.replace("    to: cell1\n    length_m: 3.0", "    to: out\n    length_m: 3.0").replace(
        "sources: [{name: feed, to: infeed, interarrival: 6}]",
        "sources: [{name: feed, to: infeed, interarrival: 6}, {name: feed2, to: cell1, interarrival: 6}]")
    with pytest.raises(twin.SceneError, match=r"robot_cell\.pick_from: conveyor 'infeed' does not feed station "
                                              r"'cell1' \(it sends its parts to 'out'\)"):
        twin.load_scene_text(elsewhere)
    two = CELL.replace("  - {name: labeler, to: out, process_time: {dist: exponential, mean: 2.0}}",
                       "  - name: labeler\n    to: out\n    process_time: 1\n    robot_cell:\n"
                       "      base_xyz_m: [0.1, 0, 0]\n      pick_xyz_m: [0.5, -0.3, 0.44]\n"
                       "      place_xyz_m: [0.5, 0.3, 0.44]")
    with pytest.raises(twin.SceneError, match=r"stations\[1\]\.robot_cell\.base_xyz_m: the robot of 'labeler' "
                                              r"stands 0\.10 m from the robot of 'cell1'"):
        twin.load_scene_text(two)


def test_the_cell_is_measured_among_its_neighbours_in_the_layout():
    """Box fixtures and other elements' boxes within reach stand in the cell's world: one the arm
    would run into is named; the station's own box (the robot's pedestal) and boxes out of reach
    are left out, and leave the cycle as it was."""
    from twin.physics.robot_cell import layout_obstacles

    cycle = twin.load_scene_text(CELL).stations[0].robot_cycle_s
    far = CELL + "fixtures: [{name: far_away, xyz_m: [3.0, 0.0, 0.5], size_m: [0.5, 0.5, 1.0]}]\n"
    pedestal = CELL.replace("  - name: cell1\n", "  - name: cell1\n    geometry: {xyz_m: [0, 0, -0.05], "
                                                  "size_m: [0.3, 0.3, 0.1]}\n")
    near = CELL + "fixtures: [{name: column, xyz_m: [0.5, 0.0, 0.6], size_m: [0.1, 0.1, 1.2]}]\n"
    scene = twin.load_scene_text(far)
    assert scene.stations[0].robot_cycle_s == cycle
    assert layout_obstacles(scene, scene.stations[0]) == []
    assert twin.load_scene_text(pedestal).stations[0].robot_cycle_s == cycle
    with pytest.raises(twin.SceneError, match=r"cell\.yaml:\d+: stations\[0\]\.robot_cell: .*'column'"):
        twin.load_scene_text(near, "cell.yaml")


def test_bins_and_meshes_near_the_cell_are_obstacles_too(tmp_path):
    """A bin stands in the cell's world as its floor and four walls (turned with it) and the arm
    detours over a wall between pick and place; a mesh stands as its bounding box; one the arm
    would run into is named."""
    import trimesh

    from twin.physics.robot_cell import layout_obstacles

    cycle = twin.load_scene_text(CELL).stations[0].robot_cycle_s
    tote = CELL + ("fixtures: [{name: tote, shape: bin, xyz_m: [1.3, 0.0, 0.3], yaw_deg: 90, size_m: [0.2, 0.3, 0.6],"
                   " wall_m: 0.02}]\n")
    scene = twin.load_scene_text(tote)
    boxes = {name: (half, centre, yaw) for name, half, centre, yaw in layout_obstacles(scene, scene.stations[0])}
    assert sorted(boxes) == ["tote/floor", "tote/wall_+x", "tote/wall_+y", "tote/wall_-x", "tote/wall_-y"]
    half, centre, yaw = boxes["tote/wall_+x"]  # the bin's +x wall, turned 90 degrees: on the +y side
    assert half == pytest.approx((0.01, 0.15, 0.3)) and yaw == pytest.approx(np.pi / 2)
    assert centre == pytest.approx((1.3, 0.09, 0.3))
    assert boxes["tote/floor"][1] == pytest.approx((1.3, 0.0, 0.01))
    assert scene.stations[0].robot_cycle_s == cycle  # within reach of the base, but out of the way
    # under the arm's ready pose, the walls are in the way
    with pytest.raises(twin.SceneError, match=r"cell\.yaml:\d+: stations\[0\]\.robot_cell: .*'tote/wall_"):
        twin.load_scene_text(tote.replace("[1.3, 0.0, 0.3]", "[0.5, 0.0, 0.3]"), "cell.yaml")

    block = trimesh.creation.box(extents=(0.2, 0.1, 0.3))
    block.apply_translation((0.1, 0.05, 0.15))  # corner at the file's origin
    block.export(tmp_path / "block.stl")
    meshed = CELL + "fixtures: [{name: cabinet, shape: mesh, mesh: block.stl, scale: 2, xyz_m: [1.4, 0, 0], yaw_deg: 90}]\n"
    (tmp_path / "cell.yaml").write_text(meshed)
    scene = twin.load_scene(tmp_path / "cell.yaml")
    [(name, half, centre, yaw)] = layout_obstacles(scene, scene.stations[0])
    assert name == "cabinet" and half == pytest.approx((0.2, 0.1, 0.3))
    assert centre == pytest.approx((1.4 - 0.1, 0.2, 0.3))  # the box's centre (0.2, 0.1) turned 90 degrees
    (tmp_path / "cell.yaml").write_text(meshed.replace("[1.4, 0, 0]", "[0.45, -0.05, 0]"))
    with pytest.raises(twin.SceneError, match=r"cell\.yaml:\d+: stations\[0\]\.robot_cell: .*'cabinet'"):
        twin.load_scene(tmp_path / "cell.yaml")


def test_a_palletizing_cell_averages_its_cycle_over_the_pallet_and_a_tray_feeds_it():
    """A pallet of two slots: two cycles, one per slot, and the cycle time is their mean (the
    farther slot takes a little longer). A tray of two pockets works the same way on the pick side;
    a slot out of reach is an error naming the pose; a belt pick takes no tray."""
    single = twin.load_scene_text(CELL).stations[0].robot_cycle_s
    pallet = CELL.replace("      place_yaw_deg: 30\n",
                          "      place_yaw_deg: 30\n      place_pattern: {rows: 2, cols: 1, pitch_m: [0.08, 0.08]}\n")
    mean = twin.load_scene_text(pallet).stations[0].robot_cycle_s
    assert mean != single and abs(mean - single) < 0.1 * single
    tray = pallet.replace("      place_pattern:", "      pick_pattern: {rows: 2, cols: 1, pitch_m: [0.08, 0.08]}\n"
                                                   "      place_pattern:")
    assert 0.9 * single < twin.load_scene_text(tray).stations[0].robot_cycle_s < 1.1 * single
    far = CELL.replace("      place_yaw_deg: 30\n",
                       "      place_yaw_deg: 30\n      place_pattern: {rows: 2, cols: 1, pitch_m: [1.5, 0.1]}\n")
    with pytest.raises(twin.SceneError, match=r"cannot reach the place pose \(2\.0, 0\.3, 0\.44\)"):
        twin.load_scene_text(far)
    with pytest.raises(twin.SceneError, match=r"pick_pattern: parts picked from a belt arrive at one point"):
        twin.load_scene_text(BELT_CELL.replace("      pick_from: infeed\n", "      pick_from: infeed\n"
                                               "      pick_pattern: {rows: 2, cols: 2, pitch_m: [0.1, 0.1]}\n"))


def test_a_place_near_the_base_is_reached_in_straight_lines_within_the_limits():
    """A joint move from above the pick to above a place close to the base sags into the place
    stand; the tool then crosses in a straight line, checked for clearance, and the measured
    motion stays within the arm's position, velocity and acceleration limits at every step."""
    from twin.physics.robot import KNOWN_ACCELERATION_LIMITS

    text = CELL.replace("place_xyz_m: [0.5, 0.3, 0.44]", "place_xyz_m: [0.42, 0.3, 0.44]")
    station = twin.load_scene_text(text).stations[0]
    assert 3.0 < station.robot_cycle_s < 12.0
    q = np.asarray(station.robot_motion)
    dt = 1.0 / 240.0
    qd = np.diff(q, axis=0) / dt
    qdd = np.diff(q, n=2, axis=0) / dt ** 2
    assert np.max(np.abs(qd)) <= 10.0 * 1.02  # the iiwa URDF's joint velocity limit
    assert np.max(np.abs(qdd) / np.array(KNOWN_ACCELERATION_LIMITS["kuka_iiwa/model.urdf"])) <= 1.05


BIN_CELL = _CELL_HEAD.replace("capacity: 2", "capacity: 6") + """    to: out
    process_time: 0.5
    robot_cell:
      base_xyz_m: [0, 0, 0]
      pick_from: tote
      pick_xyz_m: [0.55, -0.3, 0.1]
      place_xyz_m: [0.5, 0.3, 0.44]
sinks: [{name: out}]
fixtures:
  - {name: tote, shape: bin, xyz_m: [0.55, -0.3, 0.08], size_m: [0.44, 0.36, 0.16], wall_m: 0.01}
"""


def test_a_cell_picks_parts_tipped_into_a_bin_and_the_line_follows_its_cycle():
    """Parts tipped into a bin fixture are picked topmost first wherever they came to rest: the
    measured cycle is the same at every load, and the line it bottlenecks makes 1 / (cycle + own
    process time) parts per second (within 2%)."""
    scene = twin.load_scene_text(BIN_CELL)
    cycle = scene.stations[0].robot_cycle_s
    assert 3.0 < cycle < 20.0
    assert twin.load_scene_text(BIN_CELL).stations[0].robot_cycle_s == cycle
    assert len(scene.stations[0].robot_motion) > 0
    with twin.Twin(scene, seed=1, trace=False) as tw:
        tw.run(until=20_000.0)
        rate = tw.kpis()["throughput"]["total"] / 20_000.0
    assert rate == pytest.approx(1.0 / (cycle + 0.5), rel=0.02)


@pytest.mark.parametrize(("change", "message"), [
    (("pick_from: tote", "pick_from: totes"), r"pick_from: no conveyor or bin fixture named 'totes'\. Did you mean 'tote'"),
    (("shape: bin", "shape: box"), r"pick_from: fixture 'tote' is a box; pick_from takes a conveyor or a fixture of "
                                   r"shape bin"),
    (("pick_xyz_m: [0.55, -0.3, 0.1]", "pick_xyz_m: [0.55, 0.3, 0.1]"), r"pick_xyz_m: pick_xyz_m \(0\.55, 0\.3\) is "
                                                                         r"not over the inside of bin 'tote'"),
    (("wall_m: 0.01}", "wall_m: 0.01, mass_kg: 2}"), r"bin 'tote' is a loose body"),
    (("pick_from: tote", "pick_from: tote\n      vision_guided: true"), r"vision_guided: the camera looks at a belt"),
    (("size_m: [0.08, 0.06, 0.04]", "size_m: [0.4, 0.06, 0.04]"), r"robot_cell: robot 'cell1': a part 0\.400 m long "
                                                                    r"does not fit in the bin"),
])
def test_bad_bin_cells_are_named(change, message):
    with pytest.raises(twin.SceneError, match=message):
        twin.load_scene_text(BIN_CELL.replace(*change), "cell.yaml")


SHELF_CELL = _CELL_HEAD + """    to: out
    process_time: 0.5
    robot_cell:
      base_xyz_m: [0, 0, 0]
      pick_xyz_m: [0.0, -0.6, 0.44]
      place_xyz_m: [0.72, 0.0, 0.34]
      place_entry_deg: 0
sinks: [{name: out}]
fixtures:
  - {name: shelf/low, xyz_m: [0.7, 0.0, 0.29], size_m: [0.3, 0.6, 0.02]}
  - {name: shelf/high, xyz_m: [0.7, 0.0, 0.75], size_m: [0.3, 0.6, 0.02]}
  - {name: shelf/post_l, xyz_m: [0.7, -0.31, 0.45], size_m: [0.3, 0.02, 0.9]}
  - {name: shelf/post_r, xyz_m: [0.7, 0.31, 0.45], size_m: [0.3, 0.02, 0.9]}
  - {name: shelf/back, xyz_m: [0.86, 0.0, 0.45], size_m: [0.02, 0.6, 0.9]}
"""


def test_a_cell_places_sideways_into_a_shelf_slot_it_cannot_reach_from_above():
    """A slot under a shelf 0.4 m above it: from above the arm cannot get there (a scene error); with
    place_entry_deg it goes in level from the aisle, and the line follows the measured cycle."""
    scene = twin.load_scene_text(SHELF_CELL)
    cycle = scene.stations[0].robot_cycle_s
    assert 3.0 < cycle < 20.0
    with twin.Twin(scene, seed=1, trace=False) as tw:
        tw.run(until=5_000.0)
        assert tw.kpis()["throughput"]["total"] / 5_000.0 == pytest.approx(1.0 / (cycle + 0.5), rel=0.02)
    with pytest.raises(twin.SceneError, match=r"cell\.yaml:\d+: stations\[0\]\.robot_cell: cannot reach the place pose"):
        twin.load_scene_text(SHELF_CELL.replace("      place_entry_deg: 0\n", ""), "cell.yaml")


def test_a_cell_puts_parts_down_on_the_belt_that_takes_them_away():
    """place_on: the part is put down on the moving outfeed belt at the place point and rides on;
    the point must lie over that belt, and the belt must be where the station sends its parts."""
    on_belt = CELL.replace("conveyors: [{name: belt, to: labeler, length_m: 2.0, speed_mps: 0.5, spacing_m: 0.25}]",
                           "conveyors: [{name: belt, to: labeler, length_m: 2.0, speed_mps: 0.5, spacing_m: 0.25,\n"
                           "             geometry: {start_xyz_m: [0.5, 0.2, 0.4], end_xyz_m: [0.5, 2.2, 0.4], "
                           "width_m: 0.3}}]")
    on_belt = on_belt.replace("      place_yaw_deg: 30\n", "      place_yaw_deg: 30\n      place_on: belt\n")
    scene = twin.load_scene_text(on_belt)
    cycle = scene.stations[0].robot_cycle_s
    assert 3.0 < cycle < 20.0 and twin.load_scene_text(on_belt).stations[0].robot_cycle_s == cycle
    with pytest.raises(twin.SceneError, match=r"cell\.yaml:\d+: stations\[0\]\.robot_cell\.place_xyz_m: place_xyz_m "
                                              r"\(0\.8, 0\.3\) is not over conveyor 'belt'"):
        twin.load_scene_text(on_belt.replace("place_xyz_m: [0.5, 0.3, 0.44]", "place_xyz_m: [0.8, 0.3, 0.44]"),
                             "cell.yaml")
    with pytest.raises(twin.SceneError, match=r"robot_cell: robot 'cell1': place_xyz_m is at z = 0\.5 m, but a part "
                                              r"on the belt it places on has its top face at z = 0\.440 m"):
        twin.load_scene_text(on_belt.replace("place_xyz_m: [0.5, 0.3, 0.44]", "place_xyz_m: [0.5, 0.3, 0.5]"))
    with pytest.raises(twin.SceneError, match=r"robot_cell\.place_on: no conveyor named 'labeler'"):
        twin.load_scene_text(on_belt.replace("place_on: belt", "place_on: labeler"), "cell.yaml")
    with pytest.raises(twin.SceneError, match=r"robot_cell: .*place_on: a part put down on a belt goes to one point"):
        twin.load_scene_text(on_belt.replace("place_on: belt", "place_on: belt\n      place_entry_deg: 0"), "cell.yaml")


def test_a_full_bin_is_emptied_part_by_part():
    """Twelve parts in two layers: every one is picked (the topmost the tool can reach each time)."""
    scene = twin.load_scene_text(BIN_CELL.replace("      pick_from: tote\n", "      pick_from: tote\n      bin_parts: 12\n"))
    assert 3.0 < scene.stations[0].robot_cycle_s < 20.0
