"""6-D pose by ICP against the CAD mesh: a non-box part at random places and turns, seen by one
noisy depth camera, located within 5 mm and 3 degrees."""

from __future__ import annotations

import importlib.util
import math
import os

import numpy as np
import trimesh

from twin.physics import World
from twin.physics.assets import MeshData
from twin.sensors.camera import Camera, Intrinsics, look_at
from twin.sensors.pointcloud import frame_points
from twin.sensors.pose import estimate_pose


def test_icp_pose_of_a_bunny_within_5mm_and_3deg():
    folder = list(importlib.util.find_spec("pybullet_data").submodule_search_locations)[0]
    mesh = trimesh.load(os.path.join(folder, "bunny.obj"), force="mesh")
    mesh.apply_scale(0.08 / mesh.extents.max())
    lo, hi = mesh.bounds
    mesh.apply_translation([-(lo[0] + hi[0]) / 2, -(lo[1] + hi[1]) / 2, -lo[2]])  # standing, origin bottom centre
    data = MeshData(np.asarray(mesh.vertices), np.asarray(mesh.faces), False, "bunny")
    rng = np.random.default_rng(3)
    errors = []
    with World(renderer="auto") as w:
        w.add_floor()
        cam = Camera(w, "cell", Intrinsics.from_fov(640, 480, 45), far_m=2.0, depth_noise_m=0.0005, seed=2,
                     pose=look_at((0.25, -0.25, 0.45), (0.0, 0.0, 0.03)))
        for i in range(20):
            yaw, x, y = rng.uniform(-math.pi, math.pi), *rng.uniform(-0.04, 0.04, 2)
            body = w.add_mesh(f"part/{i}", data, (x, y, 0.0), yaw_rad=yaw)
            est = estimate_pose(frame_points(cam.capture(), keep_bodies=[body]), mesh)
            c, s = math.cos(yaw), math.sin(yaw)
            truth = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
            rel = est.rotation.T @ truth
            angle = math.degrees(math.acos(max(-1.0, min(1.0, (np.trace(rel) - 1) / 2))))
            errors.append((float(np.linalg.norm(est.translation - [x, y, 0.0])), angle))
            w.remove(f"part/{i}")
    errors = np.array(errors)
    assert np.mean((errors[:, 0] < 0.005) & (errors[:, 1] < 3.0)) >= 0.95, errors


def test_a_robot_picks_parts_by_their_icp_pose():
    """Parts of an irregular shape at random places and turns: the camera's ICP pose gives the
    highest point of each, the arm picks it there with suction and sets it down on the out table."""
    from twin.physics.gripper import SuctionGripper
    from twin.physics.pick_place import PickPlace
    from twin.physics.robot import Robot

    folder = list(importlib.util.find_spec("pybullet_data").submodule_search_locations)[0]
    mesh = trimesh.load(os.path.join(folder, "bunny.obj"), force="mesh")
    mesh.apply_scale(0.08 / mesh.extents.max())
    lo, hi = mesh.bounds
    mesh.apply_translation([-(lo[0] + hi[0]) / 2, -(lo[1] + hi[1]) / 2, -lo[2]])
    data = MeshData(np.asarray(mesh.vertices), np.asarray(mesh.faces), False, "bunny")
    table = 0.3
    rng = np.random.default_rng(2)
    with World(renderer="auto") as w:
        w.add_floor()
        w.add_box("table", (0.2, 0.2, table / 2), (0.55, -0.25, table / 2))
        w.add_box("out", (0.2, 0.2, table / 2), (0.55, 0.35, table / 2))
        robot = Robot(w, "arm", "kuka_iiwa/model.urdf")
        pp = PickPlace(robot, SuctionGripper(robot))
        cam = Camera(w, "cell", Intrinsics.from_fov(640, 480, 45), far_m=3.0, depth_noise_m=0.0005, seed=1,
                     pose=look_at((0.85, -0.5, 0.75), (0.55, -0.25, table)))
        for i in range(8):
            yaw = rng.uniform(-math.pi, math.pi)
            x, y = 0.55 + rng.uniform(-0.05, 0.05), -0.25 + rng.uniform(-0.05, 0.05)
            body = w.add_mesh(f"part/{i}", data, (x, y, table), yaw_rad=yaw, mass_kg=0.2)
            w.step(48)
            est = estimate_pose(frame_points(cam.capture(), keep_bodies=[body]), mesh)
            vertices = np.asarray(mesh.vertices) @ est.rotation.T + est.translation
            top = vertices[np.argmax(vertices[:, 2])]
            pp.pick(f"part/{i}", top, math.atan2(est.rotation[1, 0], est.rotation[0, 0]))
            pp.place(np.array([0.55, 0.35, top[2]]), 0.0)
            w.step(120)
            state = w.state(f"part/{i}")
            assert abs(state.xyz_m[2] - table) < 0.003  # standing on the out table
            assert abs(state.xyz_m[0] - 0.55) < 0.1 and abs(state.xyz_m[1] - 0.35) < 0.1
            assert np.linalg.norm(state.linear_mps) < 0.02
            w.remove(f"part/{i}")
