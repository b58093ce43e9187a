"""The film set around a line for videos: a factory hall instead of an endless chequered plane.

The 3D world a scene builds has the line and a ground plane only. For a video shown to visitors,
:func:`dress_hall` adds static, visual-only scenery through the ``World`` API: a concrete floor
slab in place of the ground plane, yellow walkway markings around the layout, and hall walls
beyond the camera's reach, so that the background is a hall rather than sky. Nothing here moves or touches the line's parts
(it sits below the belts and outside the layout), so recording never changes results.
"""

from __future__ import annotations

import numpy as np

from ..physics.world import World

__all__ = ["dress_hall"]

_FLOOR_RGBA = (0.60, 0.61, 0.60, 1.0)     # sealed concrete
_LANE_RGBA = (0.93, 0.74, 0.10, 1.0)      # safety yellow
_WALL_RGBA = (0.80, 0.82, 0.84, 1.0)      # painted sandwich panels
_DADO_RGBA = (0.30, 0.36, 0.42, 1.0)      # darker band at the foot of the walls
# 1 cm above the slab: a finer step z-fights in the depth buffer at 50 m (seen with EGL)
_LANE_TOP_M = 0.01
_WALL_HEIGHT_M = 9.0
_DADO_HEIGHT_M = 1.2


def dress_hall(world: World, layout_lo: np.ndarray, layout_hi: np.ndarray, eyes: np.ndarray,
               margin_m: float = 4.0) -> list[str]:
    """Add floor, walkway markings and walls around a layout; return the body names added.

    Args:
        world: the World to dress (bodies named ``stage/...``).
        layout_lo, layout_hi: the layout's bounding box (metres); the walkway runs around it.
        eyes: camera eye positions (n, 3) the video will use; the walls stand beyond all of them.
        margin_m: room between the outermost camera position or layout point and a wall.
    """
    lo, hi = np.asarray(layout_lo, float), np.asarray(layout_hi, float)
    pts = np.vstack([lo[None, :2], hi[None, :2], np.asarray(eyes, float).reshape(-1, 3)[:, :2]])
    hall_lo, hall_hi = pts.min(axis=0) - margin_m, pts.max(axis=0) + margin_m
    centre, half = 0.5 * (hall_lo + hall_hi), 0.5 * (hall_hi - hall_lo)
    names = []

    def box(name: str, half_extents, xyz, rgba) -> None:
        world.add_box(f"stage/{name}", tuple(float(v) for v in half_extents), tuple(float(v) for v in xyz),
                      rgba=rgba)
        names.append(f"stage/{name}")

    # the slab replaces the chequered ground plane (at the same height, z = 0, so that nothing that
    # rests on the floor moves); keeping both would make them z-fight
    if "floor" in world.names():
        world.remove("floor")
    slab = 0.05
    box("floor", (half[0] + 1.0, half[1] + 1.0, slab), (centre[0], centre[1], -slab), _FLOOR_RGBA)
    # walkway: a yellow rectangle 1 m outside the layout's footprint, 15 cm wide
    w, t = 0.075, 0.5 * _LANE_TOP_M
    wlo, whi = lo[:2] - 1.0, hi[:2] + 1.0
    mid = 0.5 * (wlo + whi)
    hx, hy = 0.5 * (whi - wlo)
    box("lane_s", (hx + w, w, t), (mid[0], wlo[1], t), _LANE_RGBA)
    box("lane_n", (hx + w, w, t), (mid[0], whi[1], t), _LANE_RGBA)
    box("lane_w", (w, hy + w, t), (wlo[0], mid[1], t), _LANE_RGBA)
    box("lane_e", (w, hy + w, t), (whi[0], mid[1], t), _LANE_RGBA)
    # walls, with a darker dado band in front at the foot
    th = 0.15
    for side, (hx_, hy_, x, y) in {
        "s": (half[0] + th, th, centre[0], hall_lo[1] - th), "n": (half[0] + th, th, centre[0], hall_hi[1] + th),
        "w": (th, half[1] + th, hall_lo[0] - th, centre[1]), "e": (th, half[1] + th, hall_hi[0] + th, centre[1]),
    }.items():
        box(f"wall_{side}", (hx_, hy_, 0.5 * _WALL_HEIGHT_M), (x, y, 0.5 * _WALL_HEIGHT_M), _WALL_RGBA)
        inward = np.array([centre[0] - x, centre[1] - y])
        inward = 0.02 * inward / np.linalg.norm(inward)
        box(f"dado_{side}", (hx_, hy_, 0.5 * _DADO_HEIGHT_M), (x + inward[0], y + inward[1], 0.5 * _DADO_HEIGHT_M),
            _DADO_RGBA)
    return names
