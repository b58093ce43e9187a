"""An AS/RS in the 3D world: the rack's frame, the stacker crane moving in it, the stored loads.

The rack stands in its storage's ``geometry`` box: bays along the box's x axis (its yaw turns
them), levels upwards, the input/output point at the bottom of the box's -x end, in the middle of
its depth. Slot (bay, level) is centred ``(bay + 0.5) x bay_width_m`` along the aisle and
``(level + 0.5) x level_height_m`` up from that point, as in the line model, so what the 3D world
shows is where the crane is in the model (``StorageSystem.carriage_xz``), step by step.
"""

from __future__ import annotations

import math

__all__ = ["RackView", "rack_frame_boxes", "rack_point"]

_FRAME_RGBA = (0.55, 0.6, 0.68, 1.0)
_CRANE_RGBA = (0.95, 0.7, 0.1, 1.0)
_LOAD_RGBA = (0.72, 0.52, 0.3, 1.0)
_POST_M = 0.05  # upright cross-section
_SHELF_M = 0.02  # shelf thickness


def rack_frame_boxes(storage) -> list[tuple]:
    """The rack frame as (half extents, centre, rgba) boxes around the geometry box's centre:
    an upright at the front and back of every bay boundary, a shelf under every level and a roof."""
    g = storage.geometry
    depth = g.size_m[1]
    length = storage.bays * storage.bay_width_m
    height = storage.levels * storage.level_height_m
    x0, z0 = -0.5 * g.size_m[0], -0.5 * g.size_m[2]
    boxes = []
    for b in range(storage.bays + 1):
        x = x0 + b * storage.bay_width_m
        for y in (-0.5 * depth + 0.5 * _POST_M, 0.5 * depth - 0.5 * _POST_M):
            boxes.append(((0.5 * _POST_M, 0.5 * _POST_M, 0.5 * height), (x, y, z0 + 0.5 * height), _FRAME_RGBA))
    for lv in range(storage.levels + 1):
        z = z0 + lv * storage.level_height_m
        boxes.append(((0.5 * length, 0.5 * depth, 0.5 * _SHELF_M), (x0 + 0.5 * length, 0.0, z + 0.5 * _SHELF_M),
                      _FRAME_RGBA))
    return boxes


def rack_point(storage, x_m: float, z_m: float) -> tuple[float, float, float]:
    """World position of the point ``x_m`` along the aisle and ``z_m`` up from the input/output point."""
    g = storage.geometry
    yaw = math.radians(g.yaw_deg)
    lx, lz = -0.5 * g.size_m[0] + x_m, -0.5 * g.size_m[2] + z_m
    return (g.xyz_m[0] + lx * math.cos(yaw), g.xyz_m[1] + lx * math.sin(yaw), g.xyz_m[2] + lz)


class RackView:
    """The moving parts of one storage in a World: its crane carriage and its stored loads."""

    def __init__(self, world, storage) -> None:
        self.world, self.storage = world, storage
        g = storage.geometry
        self._quat = (0.0, 0.0, math.sin(0.5 * math.radians(g.yaw_deg)), math.cos(0.5 * math.radians(g.yaw_deg)))
        self.crane = f"{storage.name}/crane"
        depth = 0.8 * g.size_m[1]
        self._yaw = math.radians(g.yaw_deg)
        world.add_box(self.crane, (0.45 * storage.bay_width_m, 0.5 * depth, 0.03), rack_point(storage, 0.0, 0.0),
                      yaw_rad=self._yaw, rgba=_CRANE_RGBA)
        self._load_half = (0.3 * storage.bay_width_m, 0.3 * g.size_m[1], 0.25 * storage.level_height_m)
        self._loads: dict[tuple[int, int], str] = {}

    def sync(self, system, t: float) -> None:
        """Place the carriage where ``system``'s crane (a ``StorageSystem``) is at ``t``, and a box in
        every slot holding a load."""
        x, z = system.carriage_xz(t)
        self.world.set_pose(self.crane, rack_point(self.storage, x, z), self._quat)
        rack = system.rack
        held = {(b, lv) for b in range(rack.bays) for lv in range(rack.levels)
                if rack.content[b][lv] not in (None, "#blocked")}
        for slot in [s for s in self._loads if s not in held]:
            self.world.remove(self._loads.pop(slot))
        for slot in sorted(held - set(self._loads)):
            name = f"{self.storage.name}/load/{slot[0]}_{slot[1]}"
            sx, sz = rack.slot_xz(slot)
            bottom = sz - 0.5 * rack.level_height_m + _SHELF_M  # resting on the shelf
            self.world.add_box(name, self._load_half, rack_point(self.storage, sx, bottom + self._load_half[2]),
                               yaw_rad=self._yaw, rgba=_LOAD_RGBA)
            self._loads[slot] = name
