"""Cameras declared in a scene: built with the 3D world, rendering at their own rates, captured to
files by the CLI, and clear errors for bad declarations."""

from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pytest

import twin
from twin.sensors.pointcloud import read_ply

SCENE = """
version: 1
sim: {control_step_s: 0.05}
part_types: [{name: box, length_m: 0.2, size_m: [0.2, 0.12, 0.06]}]
sources: [{name: feed, to: belt, interarrival: 2.0}]
conveyors:
  - name: belt
    to: out
    length_m: 3.0
    speed_mps: 0.5
    spacing_m: 0.3
    geometry: {start_xyz_m: [0.0, 0.0, 0.5], end_xyz_m: [3.0, 0.0, 0.5], width_m: 0.4}
sinks: [{name: out}]
sensors:
  cameras:
    - name: over_belt
      width: 160
      height: 120
      fov_deg: 70
      rate_hz: 4
      pose: {xyz_m: [1.5, 0.0, 1.5], look_at_m: [1.5, 0.0, 0.5], up: [1, 0, 0]}
"""


def test_scene_camera_renders_at_its_rate_and_sees_the_parts():
    scene = twin.load_scene_text(SCENE)
    with twin.Twin(scene, seed=1, physics=True) as tw:
        seen = []
        tw.on_frame(lambda name, frame: seen.append((name, frame)))
        for _ in range(200):  # 10 s
            tw.step()
        # 4 Hz on the grid k / 4 s (the first frame at the first step): 0.05, 0.25, 0.5, ..., 10.0
        assert [name for name, _ in seen] == ["over_belt"] * 41
        times = [f.t_s for _, f in seen]
        assert times == pytest.approx([0.05] + [0.25 * k for k in range(1, 41)])
        frame = tw.frames["over_belt"]
        parts = {tw.world.body(n) for n in tw.world.names() if n.startswith("part/")}
        visible = set(np.unique(frame.body).tolist()) & parts
        assert visible  # parts on the belt under the camera
        # the depth of a part's pixels is its top face: 1.5 - (0.5 + 0.06) m from the camera
        b = next(iter(visible))
        assert np.median(frame.depth_m[frame.body == b]) == pytest.approx(0.94, abs=1e-3)


def test_cli_capture_writes_images_clouds_and_an_index(tmp_path):
    path = tmp_path / "line.yaml"
    path.write_text(SCENE)
    out = subprocess.run([sys.executable, "-m", "twin", "run", str(path), "--until", "3", "--capture", "over_belt",
                          "--out", str(tmp_path / "res"), "--max-frames", "5"], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    folder = tmp_path / "res" / "frames" / "over_belt"
    rows = list(csv.DictReader((folder / "frames.csv").open()))
    assert len(rows) == 5
    import open3d as o3d

    rgb = np.asarray(o3d.io.read_image(str(folder / rows[-1]["rgb"])))
    depth = np.asarray(o3d.io.read_image(str(folder / rows[-1]["depth"])))
    seg = np.asarray(o3d.io.read_image(str(folder / rows[-1]["seg"])))
    assert rgb.shape == (120, 160, 3) and depth.shape == (120, 160) and depth.dtype == np.uint16
    # segmentation = body id + 1: the floor plane (body 0) is 1.5 m below, the belt (body 1) 1.0 m,
    # in millimetres
    assert set(np.unique(depth[seg == 1]).tolist()) == {1500}
    assert set(np.unique(depth[seg == 2]).tolist()) == {1000}
    cloud = read_ply(folder / rows[-1]["cloud"])
    assert len(cloud) == int(rows[-1]["points"]) == 160 * 120
    on_belt = cloud[cloud[:, 2] > 0.25]
    assert np.median(on_belt[:, 2]) == pytest.approx(0.5, abs=2e-3)  # world coordinates: the belt at 0.5 m


@pytest.mark.parametrize("old,new,message", [
    ("      fov_deg: 70\n", "      k: [[100, 0, 500], [0, 100, 60], [0, 0, 1]]\n",
     r"sensors\.cameras\[0\]\.k: camera 'over_belt': invalid intrinsics: the principal point \(500\.0, 60\.0\) "
     r"is outside the 160 x 120 image"),
    ("      pose: {xyz_m: [1.5, 0.0, 1.5], look_at_m: [1.5, 0.0, 0.5], up: [1, 0, 0]}\n",
     "      mount: {robot: nobody, link: tool0}\n",
     r"sensors\.cameras\[0\]\.mount\.robot: camera 'over_belt': no station with a robot cell named 'nobody'"),
    ("      rate_hz: 4\n", "      rate_hz: 0\n", r"sensors\.cameras\[0\]\.rate_hz"),
    ("      pose: {", "      mount: {robot: r, link: l}\n      pose: {",
     r"give exactly one of 'pose' \(a fixed camera\) or 'mount'"),
])
def test_bad_camera_declarations(old, new, message):
    assert old in SCENE
    with pytest.raises(twin.SceneError, match=message):
        twin.load_scene_text(SCENE.replace(old, new, 1), "line.yaml")


def test_a_camera_on_a_link_that_does_not_exist():
    robot_scene = SCENE.replace("    to: out\n    length_m: 3.0", "    to: cell\n    length_m: 3.0").replace(
        "sinks: [{name: out}]", """stations:
  - name: cell
    to: out
    process_time: 1
    robot_cell: {pick_xyz_m: [0.5, -0.3, 0.44], place_xyz_m: [0.5, 0.3, 0.44]}
sinks: [{name: out}]""").replace(
        "      pose: {xyz_m: [1.5, 0.0, 1.5], look_at_m: [1.5, 0.0, 0.5], up: [1, 0, 0]}\n",
        "      mount: {robot: cell, link: lbr_iiwa_link_9}\n")
    with pytest.raises(twin.SceneError, match=r"sensors\.cameras\[0\]\.mount\.link: camera 'over_belt': robot "
                                              r"'cell' has no link named 'lbr_iiwa_link_9'\. Did you mean "
                                              r"'lbr_iiwa_link_[0-7]'"):
        twin.load_scene_text(robot_scene, "line.yaml")
    ok = twin.load_scene_text(robot_scene.replace("lbr_iiwa_link_9", "lbr_iiwa_link_7"))
    with twin.Twin(ok, seed=1, physics=True) as tw:
        tw.step()
        cam = tw.cameras["over_belt"]
        robot = tw.scene_world.robots[0][0]
        assert cam.pose()[1] == pytest.approx(robot.fk()[0], abs=1e-9)


def test_unknown_capture_camera_is_a_usage_error(tmp_path):
    path = tmp_path / "line.yaml"
    path.write_text(SCENE)
    out = subprocess.run([sys.executable, "-m", "twin", "run", str(path), "--until", "1", "--capture", "nope",
                          "--out", str(tmp_path / "res")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert "no camera named 'nope'" in out.stderr + out.stdout and "over_belt" in out.stderr + out.stdout
