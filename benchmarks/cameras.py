"""Cameras and perception: frames per second against bare getCameraImage, depth-to-points against
open3d, and the whole perception pipeline per frame.

A conveyor scene (floor, belt, 8 parts, a KUKA arm) seen by a camera from above. Figures:

- ``fps_320``, ``fps_640``: our Camera.capture (RGB, metric depth and segmentation together) per
  second, at 320x240 and 640x480; ``raw_fps_*``: bare ``getCameraImage`` with the same renderer,
  matrices and flags in the same run; ``overhead_vs_raw`` = raw fps / our fps - 1 at 640x480.
- ``deproject_speedup_vs_open3d``: 640x480 depth image to world points, our numba kernel against
  open3d's ``PointCloud.create_from_depth_image`` (same intrinsics, same truncation); the fastest
  of several interleaved repetitions of each.
- ``pipeline_ms``: capture + points (every other pixel) + plane removal + clustering + box fits, per frame.

Ends with one JSON line. Usage: python benchmarks/cameras.py [--quick] [--renderer auto|egl|tiny]
"""

from __future__ import annotations

import argparse
import functools
import time

import _harness as H
import numpy as np
import open3d as o3d

from twin.physics import World
from twin.physics.robot import Robot
from twin.sensors.camera import Camera, Intrinsics, look_at
from twin.sensors.perception import detect_boxes
from twin.sensors.pointcloud import frame_points


def build(renderer: str) -> World:
    w = World(renderer=renderer)
    w.add_floor()
    w.add_box("belt", (0.6, 0.15, 0.02), (0.0, 0.0, 0.28))
    for k in range(8):
        w.add_box(f"part/{k}", (0.03, 0.02, 0.015), (-0.5 + 0.14 * k, 0.02 * (k % 3 - 1), 0.315), yaw_rad=0.4 * k)
    Robot(w, "arm", "kuka_iiwa/model.urdf", base_xyz_m=(0.0, 0.6, 0.0))
    return w


def fps_pair(ours, raw, frames: int) -> tuple[float, float]:
    """Frames per second of two render calls, interleaved frame by frame so that both see the same
    machine state (caches, clocks, other load)."""
    import time

    ours()  # first frames: context and caches
    raw()
    spent = [0.0, 0.0]
    for _ in range(frames):
        for i, fn in enumerate((ours, raw)):
            t0 = time.perf_counter()
            fn()
            spent[i] += time.perf_counter() - t0
    return frames / spent[0], frames / spent[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer frames")
    ap.add_argument("--renderer", default="auto", choices=["auto", "egl", "tiny"])
    args = ap.parse_args()
    machine = H.machine_info()
    H.print_header("cameras: capture vs bare getCameraImage; deprojection vs open3d", machine, H.numba_cache_files())
    frames = 10 if args.quick else 40
    w = build(args.renderer)
    c = w.client
    out: dict = {"benchmark": "cameras", "quick": args.quick, "renderer": w.renderer}
    for width, height in ((320, 240), (640, 480)):
        cam = Camera(w, "top", Intrinsics.from_fov(width, height, 70), pose=look_at((0, -0.05, 1.0), (0, 0, 0.3)),
                     far_m=3)
        view, proj = cam.view_matrix(), cam._projection if w.renderer == "egl" else cam._projection_tiny
        flags = c.ER_SEGMENTATION_MASK_OBJECT_AND_LINKINDEX
        bare = functools.partial(c.getCameraImage, width, height, view, proj, renderer=w.render_flag, flags=flags)
        ours, raw = fps_pair(cam.capture, bare, frames)
        out[f"fps_{width}"] = round(ours, 2)
        out[f"raw_fps_{width}"] = round(raw, 2)
        print(f"{width}x{height}: ours {ours:6.1f} fps, bare getCameraImage {raw:6.1f} fps ({w.renderer})")
    out["overhead_vs_raw"] = round(out["raw_fps_640"] / out["fps_640"] - 1.0, 4)

    frame = cam.capture()
    frame_points(frame)  # compile / load the kernel
    reps = 10 if args.quick else 30

    k = frame.intrinsics
    intr = o3d.camera.PinholeCameraIntrinsic(k.width, k.height, k.fx, k.fy, k.cx - 0.5, k.cy - 0.5)
    extrinsic = np.eye(4)
    extrinsic[:3, :3] = frame.rotation.T
    extrinsic[:3, 3] = -frame.rotation.T @ frame.translation
    depth_img = o3d.geometry.Image(np.ascontiguousarray(frame.depth_m))
    best = [float("inf"), float("inf")]  # the fastest of the repetitions: robust to other load
    for _ in range(reps):  # interleaved, as for the frame rates
        t0 = time.perf_counter()
        pts = frame_points(frame)
        t1 = time.perf_counter()
        cloud = o3d.geometry.PointCloud.create_from_depth_image(depth_img, intr, extrinsic, depth_scale=1.0,
                                                                depth_trunc=frame.far_m * (1 - 1e-6))
        t2 = time.perf_counter()
        best = [min(best[0], t1 - t0), min(best[1], t2 - t1)]
    n_o3d = len(cloud.points)
    out["deproject_ms"] = round(1000 * best[0], 3)
    out["open3d_deproject_ms"] = round(1000 * best[1], 3)
    out["deproject_speedup_vs_open3d"] = round(best[1] / best[0], 2)
    print(f"deproject 640x480: ours {out['deproject_ms']:.2f} ms ({len(pts)} points), open3d "
          f"{out['open3d_deproject_ms']:.2f} ms ({n_o3d} points): {out['deproject_speedup_vs_open3d']:.1f}x")

    def pipeline():
        f = cam.capture()
        return detect_boxes(frame_points(f, stride=2), voxel_m=0.003)  # every other pixel: 77k points

    dets, _ = pipeline()
    with H.Timer() as pipe_t:
        for _ in range(reps):
            pipeline()
    out["pipeline_ms"] = round(1000 * pipe_t.s / reps, 2)
    out["parts_detected"] = len(dets)
    print(f"pipeline (capture, points, plane, clusters, boxes): {out['pipeline_ms']:.1f} ms per frame, "
          f"{len(dets)} parts found")
    w.close()
    out["machine"] = machine
    H.emit_json(out)


if __name__ == "__main__":
    main()
