"""Point clouds and box detection: a known box's dimensions within 2 mm, from what a camera sees."""

from __future__ import annotations

import math

import numpy as np
import pytest

from twin.errors import SceneError
from twin.physics import World
from twin.sensors.camera import Camera, Intrinsics, look_at
from twin.sensors.perception import detect_boxes, min_area_rect
from twin.sensors.pointcloud import deproject, frame_points, read_ply, write_ply

CAM_Z = 0.6


@pytest.fixture(params=["tiny", "auto"])
def top_camera(request):
    w = World(renderer=request.param)
    w.add_floor()
    cam = Camera(w, "top", Intrinsics.from_fov(640, 480, 60), pose=look_at((0, 0, CAM_Z), (0, 0, 0), up=(1, 0, 0)),
                 far_m=3)
    yield w, cam
    w.close()


def test_box_dimensions_pose_and_yaw_within_2mm(top_camera):
    """12 boxes of random size, place and yaw: length, width, height and position within 2 mm,
    yaw within 1 degree (modulo the box's half-turn symmetry)."""
    w, cam = top_camera
    rng = np.random.default_rng(7)
    for i in range(12):
        size = np.array([rng.uniform(0.06, 0.16), rng.uniform(0.04, 0.06), rng.uniform(0.02, 0.08)])
        x, y, yaw = rng.uniform(-0.1, 0.1), rng.uniform(-0.1, 0.1), rng.uniform(-math.pi / 2, math.pi / 2)
        w.add_box(f"box{i}", tuple(size / 2), (x, y, size[2] / 2), yaw_rad=yaw)
        frame = cam.capture()
        pixel = (CAM_Z - size[2]) / cam.intrinsics.fx  # a pixel's size on the box's top face
        (det, *others), plane = detect_boxes(frame_points(frame), pixel_m=pixel)
        assert not others
        assert abs(det.length_m - size[0]) < 0.002 and abs(det.width_m - size[1]) < 0.002
        assert abs(det.height_m - size[2]) < 0.002
        assert np.linalg.norm(det.top_center - [x, y, size[2]]) < 0.002
        yaw_err = abs((det.yaw_rad - yaw + math.pi / 2) % math.pi - math.pi / 2)
        assert math.degrees(yaw_err) < 1.0
        assert plane[2] == pytest.approx(1.0, abs=1e-3) and abs(plane[3]) < 1e-3  # the floor z = 0
        w.remove(f"box{i}")


def test_several_parts_on_a_belt_are_told_apart(top_camera):
    w, cam = top_camera
    w.add_box("belt", (0.4, 0.15, 0.05), (0.0, 0.0, 0.25))
    places = [(-0.07, 0.02, 0.2), (0.0, -0.03, 1.0), (0.07, 0.04, -0.7)]
    for i, (x, y, yaw) in enumerate(places):
        w.add_box(f"p{i}", (0.025, 0.015, 0.015), (x, y, 0.315), yaw_rad=yaw)
    dets, plane = detect_boxes(frame_points(cam.capture()))
    assert len(dets) == 3
    found = np.array(sorted((d.top_center[0], d.top_center[1]) for d in dets))
    assert found == pytest.approx(np.array(sorted((x, y) for x, y, _ in places)), abs=0.002)
    assert -plane[3] / plane[2] == pytest.approx(0.30, abs=0.002)  # the belt surface, not the floor


def test_min_area_rect_of_a_rotated_rectangle():
    rng = np.random.default_rng(1)
    pts = rng.uniform([-0.05, -0.02], [0.05, 0.02], (500, 2))
    pts = np.vstack([pts, [[-0.05, -0.02], [0.05, 0.02], [-0.05, 0.02], [0.05, -0.02]]])
    a = 0.4
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    centre, length, width, angle = min_area_rect(pts @ rot.T + [1.0, 2.0])
    assert centre == pytest.approx([1.0, 2.0], abs=1e-9)
    assert (length, width) == pytest.approx((0.1, 0.04), abs=1e-9)
    assert angle == pytest.approx(a, abs=1e-9)


def test_deproject_roi_stride_and_mask():
    depth = np.full((4, 6), 2.0, np.float32)
    depth[0, 0] = 10.0  # background
    pts = deproject(depth, 3.0, 3.0, 3.0, 2.0, far_m=10.0)
    assert len(pts) == 23
    assert pts[0] == pytest.approx([(1.5 - 3.0) * 2 / 3, (0.5 - 2.0) * 2 / 3, 2.0])
    assert len(deproject(depth, 3, 3, 3, 2, 10.0, roi=(2, 1, 4, 3))) == 4
    assert len(deproject(depth, 3, 3, 3, 2, 10.0, stride=2)) == 5  # (0, 0) is background
    body = np.zeros((4, 6), np.int32)
    body[:, :3] = 7
    assert len(deproject(depth, 3, 3, 3, 2, 10.0, body=body, keep_bodies=[7])) == 11


def test_empty_and_tiny_clouds_give_no_detections():
    assert detect_boxes(np.zeros((0, 3))) == ([], None)
    assert detect_boxes(np.random.default_rng(0).uniform(size=(5, 3)))[0] == []


def test_ply_round_trip_and_bad_files(tmp_path):
    pts = np.random.default_rng(2).uniform(-1, 1, (1000, 3))
    write_ply(tmp_path / "c.ply", pts, colors=np.full((1000, 3), 200, np.uint8))
    assert read_ply(tmp_path / "c.ply") == pytest.approx(pts.astype(np.float32), abs=1e-7)
    (tmp_path / "bad.ply").write_bytes(b"ply\nformat ascii 1.0\nelement vertex 3\ngarbage")
    with pytest.raises(SceneError, match="empty or not a readable PLY"):
        read_ply(tmp_path / "bad.ply")
    (tmp_path / "empty.ply").write_bytes(b"")
    with pytest.raises(SceneError, match="empty or not a readable PLY"):
        read_ply(tmp_path / "empty.ply")
    with pytest.raises(SceneError, match="not found"):
        read_ply(tmp_path / "missing.ply")
