"""Depth images to point clouds, in a numba kernel.

``deproject`` turns a metric depth image (camera z, as :class:`twin.sensors.camera.Frame` holds it)
into 3-D points: pixel (u, v), whose centre is at (u + 0.5, v + 0.5), at depth z lies at
``x = (u + 0.5 - cx) z / fx``, ``y = (v + 0.5 - cy) z / fy`` in the camera frame (x right, y down,
z forward), and at ``R p + t`` in the world. Pixels that saw nothing (depth >= far) are skipped; a
region of interest, a stride and a segmentation mask (keep only given bodies) restrict the work. The
kernel allocates nothing per pixel and is cached on disk by numba.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .camera import Frame

__all__ = ["deproject", "frame_points", "write_ply", "read_ply"]


@njit(cache=True)
def _deproject(depth, body, keep, fx, fy, cx, cy, far, u0, v0, u1, v1, stride, rot, trans, out):
    k = 0
    use_mask = keep.shape[0] > 0
    for v in range(v0, v1, stride):
        for u in range(u0, u1, stride):
            z = depth[v, u]
            if z >= far or z <= 0.0:
                continue
            if use_mask:
                b = body[v, u]
                found = False
                for j in range(keep.shape[0]):
                    if keep[j] == b:
                        found = True
                        break
                if not found:
                    continue
            x = (u + 0.5 - cx) * z / fx
            y = (v + 0.5 - cy) * z / fy
            for i in range(3):
                out[k, i] = rot[i, 0] * x + rot[i, 1] * y + rot[i, 2] * z + trans[i]
            k += 1
    return k


def deproject(depth: np.ndarray, fx: float, fy: float, cx: float, cy: float, far_m: float, *,
              rotation=None, translation=None, roi=None, stride: int = 1, body=None, keep_bodies=()) -> np.ndarray:
    """Points (float64, (n, 3)) seen in ``depth``; in the world when ``rotation``/``translation`` are given.

    ``roi``: (u0, v0, u1, v1) pixel box (end exclusive); ``body`` and ``keep_bodies``: keep only
    pixels whose segmentation is one of those bodies.
    """
    h, w = depth.shape
    u0, v0, u1, v1 = (0, 0, w, h) if roi is None else (max(0, roi[0]), max(0, roi[1]), min(w, roi[2]),
                                                        min(h, roi[3]))
    rot = np.eye(3) if rotation is None else np.ascontiguousarray(rotation, np.float64)
    trans = np.zeros(3) if translation is None else np.ascontiguousarray(translation, np.float64)
    keep = np.asarray(list(keep_bodies), np.int32)
    seg = np.zeros((1, 1), np.int32) if body is None else np.ascontiguousarray(body, np.int32)
    if keep.size and body is None:
        raise ValueError("keep_bodies needs the segmentation image (body)")
    n_max = max(0, (v1 - v0 + stride - 1) // stride) * max(0, (u1 - u0 + stride - 1) // stride)
    out = np.empty((n_max, 3))
    k = _deproject(np.ascontiguousarray(depth, np.float32), seg, keep, float(fx), float(fy), float(cx), float(cy),
                   float(far_m) * (1.0 - 1e-6), u0, v0, u1, v1, int(stride), rot, trans, out)
    return out[:k]


def frame_points(frame: Frame, *, world: bool = True, roi=None, stride: int = 1, keep_bodies=()) -> np.ndarray:
    """The points a camera frame saw (world frame by default)."""
    k = frame.intrinsics
    return deproject(frame.depth_m, k.fx, k.fy, k.cx, k.cy, frame.far_m,
                     rotation=frame.rotation if world else None, translation=frame.translation if world else None,
                     roi=roi, stride=stride, body=frame.body, keep_bodies=keep_bodies)


def write_ply(path, points: np.ndarray, colors: np.ndarray | None = None) -> None:
    """Write a binary little-endian PLY point cloud (colors: uint8 (n, 3))."""
    points = np.asarray(points, np.float32)
    header = ["ply", "format binary_little_endian 1.0", f"element vertex {len(points)}",
              "property float x", "property float y", "property float z"]
    fields = [("x", "<f4"), ("y", "<f4"), ("z", "<f4")]
    if colors is not None:
        header += ["property uchar red", "property uchar green", "property uchar blue"]
        fields += [("red", "u1"), ("green", "u1"), ("blue", "u1")]
    data = np.empty(len(points), dtype=fields)
    data["x"], data["y"], data["z"] = points[:, 0], points[:, 1], points[:, 2]
    if colors is not None:
        colors = np.asarray(colors, np.uint8)
        data["red"], data["green"], data["blue"] = colors[:, 0], colors[:, 1], colors[:, 2]
    with open(path, "wb") as fh:
        fh.write(("\n".join(header) + "\nend_header\n").encode("ascii"))
        fh.write(data.tobytes())


def read_ply(path) -> np.ndarray:
    """Points (float64, (n, 3)) of a PLY file (any format open3d reads).

    Raises:
        SceneError: the file is missing, corrupt or holds no points.
    """
    import os

    import open3d as o3d

    from ..errors import SceneError

    if not os.path.isfile(path):
        raise SceneError(f"point cloud file {str(path)!r} not found")
    cloud = o3d.io.read_point_cloud(str(path), format="ply")
    points = np.asarray(cloud.points)
    if points.size == 0:
        raise SceneError(f"point cloud file {str(path)!r} is empty or not a readable PLY file")
    if not np.all(np.isfinite(points)):
        raise SceneError(f"point cloud file {str(path)!r} has non-finite coordinates")
    return points
