"""Cameras: exact metric depth, segmentation, intrinsics, mounting, rates, seeded noise."""

from __future__ import annotations

import math

import numpy as np
import pytest

from twin.errors import UsageError
from twin.physics import World
from twin.physics.robot import Robot
from twin.sensors.camera import Camera, Intrinsics, look_at
from twin.sensors.pointcloud import frame_points

RENDERERS = ["tiny", "auto"]  # auto: EGL where it works (llvmpipe on CPU), else TinyRenderer again


@pytest.fixture(params=RENDERERS)
def world(request):
    w = World(renderer=request.param)
    w.add_floor()
    yield w
    w.close()


def _ray_depth(k: Intrinsics, rot, trans, normal, offset) -> np.ndarray:
    """Analytic camera-z depth of the plane normal . p = offset for every pixel centre."""
    u, v = np.meshgrid(np.arange(k.width) + 0.5, np.arange(k.height) + 0.5)
    rays = np.stack([(u - k.cx) / k.fx, (v - k.cy) / k.fy, np.ones_like(u)], axis=-1)  # z = 1
    world_dirs = rays @ np.asarray(rot).T
    return (offset - normal @ trans) / (world_dirs @ normal)


def test_depth_of_a_tilted_plane_is_exact_to_a_millimetre(world):
    """A plane 1.2 m away, tilted 25 degrees: every pixel's depth within 1 mm of the analytic value."""
    tilt = math.radians(25)
    normal = np.array([-math.cos(tilt), 0.0, math.sin(tilt)])  # faces the camera, tilted up
    centre = np.array([1.2, 0.0, 1.0])
    # a thin, huge box whose near face is the plane
    half = 0.05
    world.add_box("plate", (half, 4.0, 4.0), tuple(centre - half * normal), yaw_rad=0.0)
    world.set_pose("plate", tuple(centre - half * normal), (0.0, math.sin(tilt / 2), 0.0, math.cos(tilt / 2)))
    cam = Camera(world, "cam", Intrinsics.from_fov(320, 240, 60), pose=look_at((0, 0, 1.0), (1, 0, 1.0)), far_m=5)
    frame = cam.capture()
    expected = _ray_depth(cam.intrinsics, frame.rotation, frame.translation, normal, normal @ centre)
    err = np.abs(frame.depth_m - expected)
    assert (frame.body == world.body("plate")).all()
    assert err.max() < 0.001, f"worst depth error {1000 * err.max():.3f} mm ({world.renderer})"


def test_points_of_a_plane_lie_on_it(world):
    world.add_box("slab", (1.0, 1.0, 0.05), (0.0, 0.0, 0.05))
    cam = Camera(world, "top", Intrinsics.from_fov(320, 240, 70), pose=look_at((0.1, 0.05, 0.8), (0, 0, 0)), far_m=3)
    pts = frame_points(cam.capture(), keep_bodies=[world.body("slab")])
    assert len(pts) > 10_000
    assert np.abs(pts[:, 2] - 0.10).max() < 0.001


def test_segmentation_names_bodies_and_links():
    with World(renderer="tiny") as w:
        w.add_floor()
        robot = Robot(w, "arm", "kuka_iiwa/model.urdf")
        w.add_box("box", (0.05, 0.05, 0.05), (0.0, -0.6, 0.05))
        cam = Camera(w, "side", Intrinsics.from_fov(320, 240, 70), pose=look_at((2.0, -0.3, 0.8), (0, -0.3, 0.4)),
                     far_m=6)
        f = cam.capture()
        seen = set(np.unique(f.body).tolist())
        assert {robot.body, w.body("box"), w.body("floor"), -1} >= seen >= {robot.body, w.body("box")}
        links = set(np.unique(f.link[f.body == robot.body]).tolist())
        assert len(links) >= 4  # several of the arm's links are told apart
        assert (f.depth_m[f.body == -1] == cam.far_m).all()


def test_intrinsics_from_fov_and_matrix_and_bad_ones():
    k = Intrinsics.from_fov(640, 480, 90)
    assert k.fx == pytest.approx(320) and (k.cx, k.cy) == (320, 240)
    assert Intrinsics.from_matrix(640, 480, k.matrix) == k
    for bad in (dict(width=0, height=480), dict(width=640, height=480, fx=-1), dict(cx=900)):
        args = dict(width=640, height=480, fx=500.0, fy=500.0, cx=320.0, cy=240.0) | bad
        with pytest.raises(UsageError, match="invalid intrinsics"):
            Intrinsics(**args)
    with pytest.raises(UsageError, match="invalid intrinsics: K must be"):
        Intrinsics.from_matrix(640, 480, [[500, 1, 320], [0, 500, 240], [0, 0, 1]])
    with pytest.raises(UsageError, match="fov_deg must be in"):
        Intrinsics.from_fov(640, 480, 180)


def test_a_camera_that_sees_nothing_gives_an_empty_cloud():
    with World(renderer="tiny") as w:
        cam = Camera(w, "sky", Intrinsics.from_fov(64, 48, 60), pose=look_at((0, 0, 1), (0, 0, 5)), far_m=3)
        f = cam.capture()
        assert (f.body == -1).all()
        assert frame_points(f).shape == (0, 3)


def test_a_wrist_camera_moves_with_its_link():
    with World(renderer="tiny") as w:
        w.add_floor()
        robot = Robot(w, "arm", "kuka_iiwa/model.urdf")
        offset = (np.eye(3), np.array([0.0, 0.0, 0.05]))
        cam = Camera(w, "wrist", Intrinsics.from_fov(64, 48, 60), mount=(robot.body, robot.ee, offset), far_m=3)
        r0, t0 = cam.pose()
        xyz, _ = robot.fk()
        assert np.linalg.norm(t0 - xyz) == pytest.approx(0.05, abs=1e-6)
        q = robot.joints()
        q[0] += 0.5
        robot.set_joints(q)
        r1, t1 = cam.pose()
        assert np.linalg.norm(t1 - robot.fk()[0]) == pytest.approx(0.05, abs=1e-6)
        assert np.linalg.norm(t1 - t0) > 0.1


def test_rate_and_seeded_noise():
    with World(renderer="tiny") as w:
        w.add_floor()
        make = lambda seed: Camera(w, "c", Intrinsics.from_fov(64, 48, 60), pose=look_at((0, 0, 1), (0, 0, 0)),  # noqa: E731
                                   far_m=3, rate_hz=5, depth_noise_m=0.002, pixel_noise=3, seed=seed)
        a, b, c = make(1), make(1), make(2)
        fa, fb, fc = a.capture(), b.capture(), c.capture()
        assert np.array_equal(fa.depth_m, fb.depth_m) and np.array_equal(fa.rgb, fb.rgb)
        assert not np.array_equal(fa.depth_m, fc.depth_m)
        assert np.std(fa.depth_m - 1.0) == pytest.approx(0.002, rel=0.1)
        due = [a.due(t) for t in np.arange(0.0, 1.0, 0.01)]
        assert sum(due) == 5  # 5 Hz over one second


def test_bad_camera_arguments():
    with World() as w:
        k = Intrinsics.from_fov(64, 48, 60)
        with pytest.raises(UsageError, match="exactly one of pose and mount"):
            Camera(w, "c", k)
        with pytest.raises(UsageError, match="near_m < far_m"):
            Camera(w, "c", k, pose=look_at((0, 0, 1), (0, 0, 0)), near_m=2, far_m=1)
