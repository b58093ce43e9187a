"""A conveyor belt in a World that carries the parts lying on it at its speed.

A belt is a static frame whose top face is the belt surface. Bullet has no moving-surface
contact, so the parts a belt carries are moved kinematically before every physics step: a
part's position along the belt is ``s``, advanced by ``speed * dt``, and its body is placed at
``start + s * direction + lateral * side`` resting on the surface, with the belt's velocity set on
it (so contacts and grippers see a moving part, not a teleporting one). This is the same closed-form
motion the line core uses, so a part can be handed between the core and the world without a jump.
A part the belt no longer carries (a gripper took it) is left to physics. A part reaching the end
of the belt stops there, against the end stop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import UsageError
from ._bullet import euler_to_quat
from .world import World

__all__ = ["Belt", "BeltSighting", "BeltFrame", "add_belt_frame", "BELT_THICKNESS_M"]

BELT_THICKNESS_M = 0.05
_BELT_RGBA = (0.20, 0.22, 0.25, 1.0)
_AT_REST = (0.0, 0.0, 0.0)


@dataclass
class _Carried:
    s_m: float  # position of the part's centre along the belt
    lateral_m: float  # offset across the belt (left of the direction of travel is positive)
    yaw_rad: float  # yaw relative to the direction of travel
    half_height_m: float
    half_length_m: float  # half the part's extent along the belt, for the end stop
    body: int = -1  # the part's body id
    quat: tuple = ()  # the part's orientation on the belt (constant while carried)
    base: tuple = ()  # world point of s = 0 at the part's lateral offset and height


@dataclass(frozen=True)
class BeltFrame:
    """Orientation of a straight belt: unit ``direction`` of travel, ``side`` (left of travel, level),
    surface ``normal``, and yaw, pitch and quaternion (xyzw) of its frame box."""

    direction: np.ndarray
    side: np.ndarray
    normal: np.ndarray
    yaw_rad: float
    pitch_rad: float
    quat: tuple[float, float, float, float]


def add_belt_frame(world: World, name: str, start, end, width_m: float, rgba=_BELT_RGBA) -> BeltFrame:
    """Add the static frame box of a belt from ``start`` to ``end`` (points on its surface) to
    ``world``; return its orientation. Shared by :class:`Belt` and the scene's layout."""
    start, end = np.asarray(start, float), np.asarray(end, float)
    length = float(np.linalg.norm(end - start))
    direction = (end - start) / length
    yaw = math.atan2(direction[1], direction[0])
    pitch = -math.asin(max(-1.0, min(1.0, float(direction[2]))))
    side = np.array([-math.sin(yaw), math.cos(yaw), 0.0])
    normal = np.cross(direction, side)
    quat = euler_to_quat(0.0, pitch, yaw)
    centre = 0.5 * (start + end) - 0.5 * BELT_THICKNESS_M * normal
    world.add_box(name, (0.5 * length, 0.5 * width_m, 0.5 * BELT_THICKNESS_M), tuple(centre), yaw_rad=yaw,
                  rgba=rgba)
    if pitch:
        world.set_pose(name, tuple(centre), quat)
    return BeltFrame(direction, side, normal, yaw, pitch, quat)


@dataclass(frozen=True)
class BeltSighting:
    """Where a part on a belt was at time ``t_s``: ground truth (:meth:`Belt.sighting`) or what a
    camera saw (``twin.sensors.vision``). Parts move with the belt, so that is where it is later too.

    ``s_m``: its centre along the belt; ``lateral_m``: across it; ``yaw_rad``: world yaw;
    ``height_m``: its top face above the belt surface; ``half_length_m``: half its extent along the belt.
    """

    s_m: float
    t_s: float
    lateral_m: float
    yaw_rad: float
    height_m: float
    half_length_m: float

    def s_at(self, t_s: float, speed_mps: float) -> float:
        return self.s_m + speed_mps * (t_s - self.t_s)


class Belt:
    """A straight conveyor from ``start_xyz_m`` to ``end_xyz_m`` (points on the belt surface).

    Args:
        world: the World it is built in (the belt registers a step hook on it).
        name: body name of the frame.
        width_m: belt width.
        speed_mps: belt speed (>= 0), from start to end.
    """

    def __init__(self, world: World, name: str, start_xyz_m, end_xyz_m, width_m: float, speed_mps: float) -> None:
        start = np.asarray(start_xyz_m, float)
        end = np.asarray(end_xyz_m, float)
        axis = end - start
        self.length_m = float(np.linalg.norm(axis))
        if not self.length_m > 0:
            raise UsageError(f"belt {name!r}: start and end are the same point")
        if not (math.isfinite(speed_mps) and speed_mps >= 0):
            raise UsageError(f"belt {name!r}: speed_mps must be >= 0, got {speed_mps}")
        self.world = world
        self.name = name
        self.start = start
        self.direction = axis / self.length_m
        self.width_m = float(width_m)
        self.speed_mps = float(speed_mps)
        frame = add_belt_frame(world, name, start, end, self.width_m)
        self.yaw_rad, self.pitch_rad, self.quat = frame.yaw_rad, frame.pitch_rad, frame.quat
        self.side, self.normal = frame.side, frame.normal
        self._carried: dict[str, _Carried] = {}
        self._direction = tuple(self.direction.tolist())
        world.add_step_hook(self._advance)

    @property
    def speed_mps(self) -> float:
        return self._speed_mps

    @speed_mps.setter
    def speed_mps(self, value: float) -> None:
        self._speed_mps = float(value)
        self._velocity = tuple((self._speed_mps * self.direction).tolist())

    # -- geometry ----------------------------------------------------------------------------

    def point(self, s_m: float, lateral_m: float = 0.0, height_m: float = 0.0) -> np.ndarray:
        """World point at ``s_m`` along the belt, ``lateral_m`` across it, ``height_m`` above it."""
        return self.start + s_m * self.direction + lateral_m * self.side + height_m * self.normal

    # -- parts -------------------------------------------------------------------------------

    def carry(self, part: str, s_m: float, *, lateral_m: float = 0.0, yaw_rad: float = 0.0) -> None:
        """Put body ``part`` on the belt at ``s_m`` and carry it from now on.

        The part's size is read from its collision bounds (at yaw 0 relative to the belt).
        """
        c = self.world.client
        body = self.world.body(part)
        c.resetBasePositionAndOrientation(body, [0, 0, 0], [0, 0, 0, 1])
        lo, hi = (np.array(v) for v in c.getAABB(body))
        half = 0.5 * (hi - lo)
        extent = abs(math.cos(yaw_rad)) * half[0] + abs(math.sin(yaw_rad)) * half[1]
        if abs(lateral_m) + 1e-9 > 0.5 * self.width_m:
            raise UsageError(f"belt {self.name!r}: lateral offset {lateral_m} m is off a belt "
                             f"{self.width_m} m wide")
        k = _Carried(float(s_m), float(lateral_m), float(yaw_rad), float(half[2]), float(extent), body,
                     tuple(euler_to_quat(0.0, self.pitch_rad, self.yaw_rad + yaw_rad)),
                     tuple(self.point(0.0, lateral_m, float(half[2])).tolist()))
        self._carried[part] = k
        self._place((k,), 0.0)  # where it is now; s stays

    def release(self, part: str) -> None:
        """Stop carrying ``part`` (a gripper has it, or it fell off); physics takes over."""
        if self._carried.pop(part, None) is not None:
            self.world.wake(part)

    def carries(self, part: str) -> bool:
        return part in self._carried

    def parts(self) -> list[str]:
        """Names of the parts on the belt, in the order they were put on."""
        return list(self._carried)

    def s(self, part: str) -> float:
        """Position of ``part``'s centre along the belt (m)."""
        return self._carried[part].s_m

    def end_s(self, part: str) -> float:
        """Where ``part`` stops at the end of the belt (its centre, against the end stop)."""
        return self.length_m - self._carried[part].half_length_m

    def lateral(self, part: str) -> float:
        return self._carried[part].lateral_m

    def part_yaw_rad(self, part: str) -> float:
        """World yaw of ``part`` (belt yaw + the part's yaw on the belt)."""
        return self.yaw_rad + self._carried[part].yaw_rad

    def top(self, part: str, s_m: float | None = None) -> np.ndarray:
        """Centre of ``part``'s top face, now or when it is at ``s_m``."""
        k = self._carried[part]
        return self.point(k.s_m if s_m is None else s_m, k.lateral_m, 2.0 * k.half_height_m)

    def sighting(self, part: str) -> BeltSighting:
        """Ground truth: where ``part`` is now."""
        k = self._carried[part]
        return BeltSighting(k.s_m, self.world.time_s, k.lateral_m, self.yaw_rad + k.yaw_rad, 2.0 * k.half_height_m,
                            k.half_length_m)

    def _advance(self, dt_s: float) -> None:
        # each part placed where it is, moving at the belt's speed; the physics step then carries it
        # to where ``s`` says it is after the step
        if self._carried:
            self._place(self._carried.values(), self.speed_mps * dt_s)

    def _place(self, parts, step_m: float) -> None:
        """Put each carried part (``_Carried``) where it is on the belt, moving with it, then move
        its ``s`` on by ``step_m`` (up to the end stop). Runs every physics step for every carried
        part: the calls and constants are looked up once."""
        c = self.world.client
        place, push = c.resetBasePositionAndOrientation, c.resetBaseVelocity
        dx, dy, dz = self._direction
        length, velocity = self.length_m, self._velocity
        for k in parts:
            s = k.s_m
            bx, by, bz = k.base
            place(k.body, (bx + s * dx, by + s * dy, bz + s * dz), k.quat)
            stop = length - k.half_length_m
            push(k.body, velocity if s < stop else _AT_REST, _AT_REST)
            k.s_m = min(s + step_m, max(s, stop))
