"""Vision for a belt: where the parts on it are, from what a camera sees (never from ground truth).

``sight_belt_parts`` turns one camera frame into :class:`twin.physics.belt.BeltSighting` s: the
frame's points (world frame), the boxes found on the belt's surface (``detect_boxes``), and each
box's centre expressed in the belt's coordinates (along, across, height above the surface) at the
frame's time. A robot can then pick with ``PickPlace.pick_from_belt(part, belt, seen=sighting)``,
aiming where the camera says the part is, moving with the belt.
"""

from __future__ import annotations

import numpy as np

from ..physics.belt import Belt, BeltSighting
from .camera import Frame
from .perception import BoxDetection, detect_boxes
from .pointcloud import frame_points

__all__ = ["sight_belt_parts", "to_belt"]


def to_belt(det: BoxDetection, belt: Belt, t_s: float) -> BeltSighting:
    """A box detection in the belt's coordinates."""
    rel = det.top_center - belt.start
    along = float(rel @ belt.direction)
    # half the extent along the belt of a box of this footprint and yaw
    dyaw = det.yaw_rad - belt.yaw_rad
    half = 0.5 * (abs(np.cos(dyaw)) * det.length_m + abs(np.sin(dyaw)) * det.width_m)
    return BeltSighting(along, t_s, float(rel @ belt.side), det.yaw_rad, float(rel @ belt.normal), float(half))


def sight_belt_parts(frame: Frame, belt: Belt, *, stride: int = 1, **detect) -> list[BeltSighting]:
    """Parts on ``belt`` seen in ``frame``, upstream first; only boxes standing on the belt count."""
    dets, plane = detect_boxes(frame_points(frame, stride=stride), **detect)
    out = []
    for det in dets:
        s = to_belt(det, belt, frame.t_s)
        on_belt = (-s.half_length_m <= s.s_m <= belt.length_m + s.half_length_m
                   and abs(s.lateral_m) <= 0.5 * belt.width_m and s.height_m > 0)
        if on_belt:
            out.append(s)
    out.sort(key=lambda sighting: sighting.s_m)
    return out
