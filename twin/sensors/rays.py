"""Cheap sensors of the 3D world, evaluated every step: rays and ground truth, no rendering.

- :class:`BreakBeam`: a light barrier from an emitter to a receiver; ``True`` while something is
  in the beam.
- :class:`Proximity`: the distance along a ray to the first surface (``range_m`` when none).
- :class:`LaserProfiler`: a fan of ``n_rays`` rays in one plane (a laser line), giving the distance
  along each; ``heights`` turns them into heights above a reference plane.
- :class:`LogicalCamera`: ground truth for tests: the parts (bodies named ``part/...``) whose origin
  lies in a pyramid frustum, with their poses.
- :class:`ConveyorEncoder`: counts of belt travel of a line conveyor, from the core's closed form.

Each has ``value()`` (the true value now); rates, noise, latency and faults are applied by a
:class:`twin.sensors.channel.Channel`.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import UsageError
from ..physics.world import World

__all__ = ["BreakBeam", "Proximity", "LaserProfiler", "LogicalCamera", "ConveyorEncoder"]


def _unit(v, what: str) -> np.ndarray:
    v = np.asarray(v, float)
    n = float(np.linalg.norm(v))
    if not (n > 0 and math.isfinite(n)):
        raise UsageError(f"{what} must be a non-zero finite vector, got {v.tolist()}")
    return v / n


class BreakBeam:
    def __init__(self, world: World, name: str, emitter_xyz_m, receiver_xyz_m) -> None:
        self.world, self.name = world, name
        self.a = np.asarray(emitter_xyz_m, float)
        self.b = np.asarray(receiver_xyz_m, float)
        if np.linalg.norm(self.b - self.a) == 0:
            raise UsageError(f"break beam {name!r}: emitter and receiver are the same point")

    def value(self) -> bool:
        fraction, _ = self.world.raycast(self.a[None], self.b[None])
        return bool(fraction[0] < 1.0)


class Proximity:
    def __init__(self, world: World, name: str, origin_xyz_m, direction, range_m: float) -> None:
        if not (math.isfinite(range_m) and range_m > 0):
            raise UsageError(f"proximity sensor {name!r}: range_m must be > 0, got {range_m}")
        self.world, self.name, self.range_m = world, name, float(range_m)
        self.origin = np.asarray(origin_xyz_m, float)
        self.direction = _unit(direction, f"proximity sensor {name!r}: direction")

    def value(self) -> float:
        fraction, _ = self.world.raycast(self.origin[None], (self.origin + self.range_m * self.direction)[None])
        return float(fraction[0] * self.range_m)


class LaserProfiler:
    """A laser line: ``n_rays`` rays from ``origin`` spread over ``fan_deg`` about ``direction``,
    in the plane spanned by ``direction`` and ``fan_axis``."""

    def __init__(self, world: World, name: str, origin_xyz_m, direction, fan_axis, fan_deg: float = 30.0,
                 n_rays: int = 400, range_m: float = 1.0) -> None:
        if not (0 < fan_deg < 180) or n_rays < 2 or not (range_m > 0):
            raise UsageError(f"laser profiler {name!r}: need 0 < fan_deg < 180, n_rays >= 2, range_m > 0")
        self.world, self.name, self.range_m = world, name, float(range_m)
        self.origin = np.asarray(origin_xyz_m, float)
        d = _unit(direction, f"laser profiler {name!r}: direction")
        a = np.asarray(fan_axis, float)
        a = _unit(a - (a @ d) * d, f"laser profiler {name!r}: fan_axis (not along direction)")
        angles = np.radians(np.linspace(-0.5 * fan_deg, 0.5 * fan_deg, int(n_rays)))
        self.directions = np.cos(angles)[:, None] * d + np.sin(angles)[:, None] * a
        self._tos = self.origin + self.range_m * self.directions

    def value(self) -> np.ndarray:
        """Distance along each ray (``range_m`` where nothing is hit)."""
        fraction, _ = self.world.raycast(np.broadcast_to(self.origin, self._tos.shape), self._tos)
        return fraction * self.range_m

    def points(self, distances: np.ndarray) -> np.ndarray:
        """World points of the rays that hit something."""
        hit = distances < self.range_m
        return self.origin + distances[hit, None] * self.directions[hit]

    def heights(self, distances: np.ndarray, plane_z_m: float = 0.0) -> np.ndarray:
        """Height of each hit above ``z = plane_z_m`` (NaN where nothing was hit)."""
        z = self.origin[2] + distances * self.directions[:, 2]
        return np.where(distances < self.range_m, z - plane_z_m, np.nan)


class LogicalCamera:
    """Parts (bodies whose name starts with ``prefix``) with their origin inside a pyramid: apex at
    the camera position, axis along its +z (pose R columns: x right, y down, z forward), half angles
    from the horizontal and vertical fields of view, out to ``range_m``."""

    def __init__(self, world: World, name: str, pose, fov_deg: float = 60.0, aspect: float = 4 / 3,
                 range_m: float = 2.0, prefix: str = "part/") -> None:
        if not (0 < fov_deg < 180 and aspect > 0 and range_m > 0):
            raise UsageError(f"logical camera {name!r}: need 0 < fov_deg < 180, aspect > 0, range_m > 0")
        self.world, self.name, self.prefix = world, name, prefix
        self.rotation, self.translation = np.asarray(pose[0], float), np.asarray(pose[1], float)
        self.tan_x = math.tan(math.radians(0.5 * fov_deg))
        self.tan_y = self.tan_x / aspect
        self.range_m = float(range_m)

    def value(self) -> list[tuple[str, tuple, tuple]]:
        """(name, xyz, quat xyzw) of every part in view, by name."""
        out = []
        for name in self.world.names():
            if not name.startswith(self.prefix):
                continue
            state = self.world.state(name)
            p = self.rotation.T @ (np.asarray(state.xyz_m) - self.translation)
            if 0 < p[2] <= self.range_m and abs(p[0]) <= self.tan_x * p[2] and abs(p[1]) <= self.tan_y * p[2]:
                out.append((name, state.xyz_m, state.quat_xyzw))
        return sorted(out)


class ConveyorEncoder:
    """Counts of a line conveyor's belt travel since the start (``counts_per_m`` resolution)."""

    def __init__(self, engine, name: str, conveyor: str, counts_per_m: float = 1000.0) -> None:
        from ..core import layout as L

        if not (math.isfinite(counts_per_m) and counts_per_m > 0):
            raise UsageError(f"encoder {name!r}: counts_per_m must be > 0, got {counts_per_m}")
        self.engine, self.name, self.counts_per_m = engine, name, float(counts_per_m)
        self.node = engine._node(conveyor, L.KIND_CONVEYOR)

    def value(self) -> int:
        s, n = self.engine.state, self.node
        travel = s.cv_d0[n] + s.cv_v[n] * (self.engine.t - s.cv_t0[n])
        return int(math.floor(travel * self.counts_per_m))
