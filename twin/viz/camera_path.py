"""Where the video camera is at each moment of a video (``twin record``).

A path maps video time (seconds of the finished video, not simulated time, so that a fly-through
keeps its pace whatever ``--speed``) to an eye point and a target point. Two kinds come from the
scene's ``viz.camera_path`` (``twin.scene.models``):

- ``orbit``: the eye circles the vertical through a centre, looking at it;
- ``waypoints``: eye and target pass through key poses, smoothly (cubic Hermite with Catmull-Rom
  tangents, zero velocity at the first and last waypoint, so that the camera eases in and out).

Without one, :func:`camera_path` fits an orbit to the bounding box of the scene's 3D layout
(:func:`scene_bounds`), far enough out that the whole layout stays in the frame from every side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import UsageError
from ..scene import models as M

__all__ = ["Orbit", "Waypoints", "camera_path", "scene_bounds"]

# Default orbit: eye 28 degrees above the horizon, the layout filling at most 1/1.08 of the frame.
_ELEVATION_DEG = 28.0
_MARGIN = 1.08
_ROBOT_REACH_M = 1.2


@dataclass(frozen=True)
class Orbit:
    """The eye at ``radius_m`` from the vertical through ``center_m``, ``height_m`` above it,
    at angle ``start_deg`` at t = 0, turning once every ``period_s`` (negative: clockwise)."""

    center_m: tuple[float, float, float]
    radius_m: float
    height_m: float
    period_s: float
    start_deg: float

    def pose(self, t_s: float) -> tuple[np.ndarray, np.ndarray]:
        """(eye, target) at video time ``t_s``."""
        a = math.radians(self.start_deg) + 2.0 * math.pi * t_s / self.period_s
        c = np.asarray(self.center_m, float)
        eye = c + np.array([self.radius_m * math.cos(a), self.radius_m * math.sin(a), self.height_m])
        return eye, c


@dataclass(frozen=True)
class Waypoints:
    """Eye and target through key poses: ``t_s`` (n,), ``eye_m`` and ``target_m`` (n, 3)."""

    t_s: np.ndarray
    eye_m: np.ndarray
    target_m: np.ndarray

    def pose(self, t_s: float) -> tuple[np.ndarray, np.ndarray]:
        """(eye, target) at video time ``t_s``; held before the first and after the last waypoint."""
        return _hermite(self.t_s, self.eye_m, t_s), _hermite(self.t_s, self.target_m, t_s)


def _hermite(knots: np.ndarray, points: np.ndarray, t: float) -> np.ndarray:
    """Cubic Hermite interpolation of ``points`` (n, 3) at knot times ``knots`` (n,), increasing.

    Tangents are Catmull-Rom's for uneven spacing, (p[i+1] - p[i-1]) / (t[i+1] - t[i-1]), and zero
    at both ends: the curve passes through every point with a continuous velocity.
    """
    n = len(knots)
    if t <= knots[0]:
        return points[0].copy()
    if t >= knots[-1]:
        return points[-1].copy()
    i = int(np.searchsorted(knots, t, side="right")) - 1
    tangents = np.zeros_like(points)
    if n > 2:
        tangents[1:-1] = (points[2:] - points[:-2]) / (knots[2:] - knots[:-2])[:, None]
    h = knots[i + 1] - knots[i]
    s = (t - knots[i]) / h
    h00, h10 = 2 * s**3 - 3 * s**2 + 1, s**3 - 2 * s**2 + s
    h01, h11 = -2 * s**3 + 3 * s**2, s**3 - s**2
    return h00 * points[i] + h10 * h * tangents[i] + h01 * points[i + 1] + h11 * h * tangents[i + 1]


def _box_corners(xyz, size, yaw_deg: float) -> np.ndarray:
    """The 8 corners (8, 3) of a box centred at ``xyz``, turned by ``yaw_deg`` about z."""
    half = 0.5 * np.asarray(size, float)
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], float)
    local = signs * half
    c, s = math.cos(math.radians(yaw_deg)), math.sin(math.radians(yaw_deg))
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return local @ rot.T + np.asarray(xyz, float)


def scene_bounds(scene: M.Scene) -> tuple[np.ndarray, np.ndarray]:
    """Bounding box (low, high corners, metres) of the scene's 3D layout: element geometry, belts,
    fixtures, robot arms (their reach) and AGV path nodes.

    Raises:
        UsageError: when nothing in the scene has a place in the 3D world.
    """
    pts = []
    for section in ("stations", "buffers", "sources", "sinks", "storages"):
        for el in getattr(scene, section):
            if el.geometry is not None:
                pts.append(_box_corners(el.geometry.xyz_m, el.geometry.size_m, el.geometry.yaw_deg))
    for cv in scene.conveyors:
        g = cv.geometry
        if g is not None:
            for end in (g.start_xyz_m, g.end_xyz_m):
                pts.append(_box_corners(end, (g.width_m, g.width_m, 0.1), 0.0))
    for fx in scene.fixtures:
        size = fx.size_m if fx.size_m is not None else (1.0, 1.0, 1.0)
        pts.append(_box_corners(fx.xyz_m, size, fx.yaw_deg))
    for st in scene.stations:
        if st.robot_cell is not None:
            base = np.asarray(st.robot_cell.base_xyz_m, float)
            r = _ROBOT_REACH_M
            pts.append(_box_corners(base + [0.0, 0.0, r], (2 * r, 2 * r, 2 * r), 0.0))
    for fleet in scene.agv_fleets:
        for node in fleet.nodes:
            pts.append(np.array([[node.xy_m[0], node.xy_m[1], 0.0], [node.xy_m[0], node.xy_m[1], 0.5]]))
    if not pts:
        raise UsageError("the scene has no 3D layout to film: give its elements a 'geometry' (or add fixtures); "
                         "see docs/scene-format.md")
    allp = np.concatenate(pts)
    lo, hi = allp.min(axis=0), allp.max(axis=0)
    lo[2] = min(lo[2], 0.0)  # the floor is part of the picture
    return lo, hi


def _fits(corners: np.ndarray, center: np.ndarray, distance: float, angles: np.ndarray, tan_h: float,
          tan_v: float) -> bool:
    """Whether every corner is in the frame of an eye at ``distance`` from ``center`` (elevation
    ``_ELEVATION_DEG``) looking at it, from each of ``angles`` (radians about the vertical)."""
    el = math.radians(_ELEVATION_DEG)
    for a in angles:
        forward = -np.array([math.cos(el) * math.cos(a), math.cos(el) * math.sin(a), math.sin(el)])
        right = np.cross(forward, [0.0, 0.0, 1.0])
        right /= np.linalg.norm(right)
        down = np.cross(forward, right)
        rel = corners - (center - distance * forward)
        z = rel @ forward
        if np.any(z <= 0.1):
            return False
        if np.any(np.abs(rel @ right) > tan_h * z) or np.any(np.abs(rel @ down) > tan_v * z):
            return False
    return True


def _fitted_orbit(lo: np.ndarray, hi: np.ndarray, fov_deg: float, aspect: float, spec: M.OrbitPath | None):
    """An orbit (centre, radius, height) from which the whole layout box stays in the frame, with a
    small margin, from every angle: the shortest such distance, found by bisection."""
    center = 0.5 * (lo + hi)
    center[2] = lo[2] + 0.3 * (hi[2] - lo[2])  # look a little low: the floor around the line frames it
    if spec is not None and spec.center_m is not None:
        center = np.asarray(spec.center_m, float)
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    tan_h = math.tan(math.radians(0.5 * fov_deg)) / _MARGIN
    tan_v = tan_h / aspect
    angles = np.radians(np.arange(0.0, 360.0, 5.0))
    near, far = 0.0, 10.0 + 10.0 * float(np.linalg.norm(hi - lo)) / min(tan_h, tan_v)
    for _ in range(40):
        mid = 0.5 * (near + far)
        near, far = (near, mid) if _fits(corners, center, mid, angles, tan_h, tan_v) else (mid, far)
    el = math.radians(_ELEVATION_DEG)
    return (tuple(center.tolist()),
            far * math.cos(el) if spec is None or spec.radius_m is None else spec.radius_m,
            far * math.sin(el) if spec is None or spec.height_m is None else spec.height_m)


def camera_path(scene: M.Scene, aspect: float) -> Orbit | Waypoints:
    """The video camera path of ``scene`` (``viz.camera_path``, or an orbit fitted to its layout)
    for frames of width / height ``aspect``."""
    viz = scene.viz
    spec = viz.camera_path
    if isinstance(spec, M.WaypointPath):
        return Waypoints(np.array([w.t_s for w in spec.waypoints]), np.array([w.eye_m for w in spec.waypoints], float),
                         np.array([w.target_m for w in spec.waypoints], float))
    needs_fit = spec is None or spec.center_m is None or spec.radius_m is None or spec.height_m is None
    if needs_fit:
        lo, hi = scene_bounds(scene)
        center, radius, height = _fitted_orbit(lo, hi, viz.fov_deg, aspect, spec)
    else:
        center, radius, height = spec.center_m, spec.radius_m, spec.height_m
    period = 60.0 if spec is None else spec.period_s
    start = -60.0 if spec is None else spec.start_deg
    clockwise = False if spec is None else spec.clockwise
    return Orbit(tuple(map(float, center)), float(radius), float(height), -period if clockwise else period,
                 float(start))
