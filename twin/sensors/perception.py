"""From a point cloud to the boxes on a surface: what a bin-picking or inspection camera concludes.

The pipeline (open3d): voxel down-sampling, RANSAC removal of the large planes (belt, table, the
floor around them; the highest is the support the parts stand on), statistical outlier removal and
DBSCAN clustering of what is left above the support, and, per cluster, the
part's footprint and height: a minimum-area rectangle around the cluster's points projected onto
the plane (rotating calipers on their convex hull) gives length, width, centre and yaw; the
height is the distance of the cluster's top from the plane. Points sit at pixel centres, so a
footprint measured from them is short by about one pixel; ``pixel_m`` (the size of a pixel on the
part) corrects for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["BoxDetection", "detect_boxes", "min_area_rect"]


@dataclass(frozen=True)
class BoxDetection:
    """A box seen on a plane: top-face centre (world, m), footprint (length >= width), height,
    yaw of the length axis (rad, in [-pi/2, pi/2)), and the number of points behind it."""

    top_center: np.ndarray
    length_m: float
    width_m: float
    height_m: float
    yaw_rad: float
    n_points: int


def min_area_rect(xy: np.ndarray) -> tuple[np.ndarray, float, float, float]:
    """Smallest rectangle around 2-D points: (centre, length, width, angle of the length axis)."""
    from scipy.spatial import ConvexHull, QhullError

    pts = np.asarray(xy, float)
    try:
        hull = pts[ConvexHull(pts).vertices] if len(pts) >= 3 else pts
    except QhullError:  # collinear or coincident points: the rectangle degenerates to a segment
        hull = pts
    best = None
    edges = np.roll(hull, -1, axis=0) - hull
    for angle in np.unique(np.mod(np.arctan2(edges[:, 1], edges[:, 0]), 0.5 * math.pi)):
        c, s = math.cos(angle), math.sin(angle)
        rot = np.array([[c, s], [-s, c]])  # world -> rectangle frame
        local = hull @ rot.T
        lo, hi = local.min(axis=0), local.max(axis=0)
        area = float(np.prod(hi - lo))
        if best is None or area < best[0]:
            centre = rot.T @ (0.5 * (lo + hi))
            best = (area, centre, hi - lo, angle)
    _, centre, size, angle = best
    if size[1] > size[0]:
        size = size[::-1]
        angle += 0.5 * math.pi
    angle = (angle + 0.5 * math.pi) % math.pi - 0.5 * math.pi
    return centre, float(size[0]), float(size[1]), float(angle)


def detect_boxes(points: np.ndarray, *, voxel_m: float = 0.002, plane_distance_m: float = 0.003,
                 cluster_eps_m: float = 0.01, min_points: int = 30, pixel_m: float = 0.0,
                 outlier_std: float = 2.5, min_height_m: float = 0.003, max_planes: int = 3,
                 min_plane_fraction: float = 0.15) -> tuple[list[BoxDetection], np.ndarray | None]:
    """Boxes resting on the dominant plane of ``points`` (world frame, (n, 3)).

    Up to ``max_planes`` planes holding at least ``min_plane_fraction`` of the points are removed
    (belt, table, the floor around them); the highest is the support. Clusters whose top is less
    than ``min_height_m`` above it are not parts. Returns the detections (largest first) and the plane ``(a, b, c, d)`` with ``a x + b y + c z + d
    = 0`` and the normal pointing up (None when there were too few points). An empty cloud gives no
    detections, not an error.
    """
    import open3d as o3d

    pts = np.asarray(points, float)
    if len(pts) < max(3, min_points):
        return [], None
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(pts))
    if voxel_m > 0:
        cloud = cloud.voxel_down_sample(voxel_m)
    if len(cloud.points) < 3:
        return [], None
    _seed(o3d)
    # Planes large enough to be surfaces (belt, table, floor around them): the highest one is the
    # support the parts stand on; points of every surface, and anything not above the support,
    # are not parts.
    planes = []
    rest = cloud
    for _ in range(max_planes):
        if len(rest.points) < 3:
            break
        model, inliers = rest.segment_plane(plane_distance_m, ransac_n=3, num_iterations=200, probability=0.9999)
        if planes and len(inliers) < min_plane_fraction * len(cloud.points):
            break
        model = np.asarray(model, float)
        model = -model if model[2] < 0 else model
        planes.append(model / np.linalg.norm(model[:3]))
        rest = rest.select_by_index(inliers, invert=True)
    plane = max(planes, key=lambda m: -m[3] / m[2] if abs(m[2]) > 1e-6 else -np.inf)
    above = np.flatnonzero(np.asarray(rest.points) @ plane[:3] + plane[3] >= min_height_m)
    rest = rest.select_by_index(above)
    if outlier_std > 0 and len(rest.points) > 20:  # on what is left off the plane: far fewer points
        rest, _ = rest.remove_statistical_outlier(nb_neighbors=16, std_ratio=outlier_std)
    if len(rest.points) < min_points:
        return [], plane
    labels = np.asarray(rest.cluster_dbscan(eps=cluster_eps_m, min_points=min(min_points, 10)))
    rest_pts = np.asarray(rest.points)
    normal = plane[:3]
    # a frame on the plane: e1 along world x projected, e2 = n x e1
    e1 = np.array([1.0, 0.0, 0.0]) - normal[0] * normal
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(normal, e1)
    out = []
    for label in range(labels.max() + 1 if labels.size else 0):
        cluster = rest_pts[labels == label]
        if len(cluster) < min_points:
            continue
        heights = cluster @ normal + plane[3]
        top = float(np.percentile(heights, 90))
        if top < min_height_m:
            continue
        upper = cluster[heights >= top - 0.5 * max(plane_distance_m, 0.002)]
        xy = np.column_stack([upper @ e1, upper @ e2])
        centre2, length, width, angle = min_area_rect(xy)
        centre = centre2[0] * e1 + centre2[1] * e2 + (top - plane[3]) * normal
        # points at pixel centres miss half a pixel at each edge
        yaw = math.atan2(math.sin(angle) * 1.0, math.cos(angle))
        yaw = (yaw + 0.5 * math.pi) % math.pi - 0.5 * math.pi
        out.append(BoxDetection(centre, length + pixel_m, width + pixel_m, top, yaw, len(cluster)))
    out.sort(key=lambda d: -d.n_points)
    return out, plane


def _seed(o3d) -> None:
    """Make open3d's RANSAC repeatable (it draws from a global generator)."""
    o3d.utility.random.seed(0)
