"""The static 3D layout of a scene as plain shapes, for the web viewer and the glTF export.

One list of :class:`Shape` s describes what the factory floor looks like: each conveyor as a belt
on a frame, stations, buffers, sources and sinks as boxes, each AS/RS as a rack (uprights at every
bay boundary and a shelf at every level), and fixtures as boxes, open bins or meshes. Both the
viewer (viser) and :func:`twin.viz.gltf.export_gltf` (trimesh) draw this same list, so a layout
looks the same in a browser and in any glTF tool. Robots (URDF) and AGVs are added by each of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .frame import STATE_COLORS, belt_geometry

__all__ = ["Shape", "layout_shapes", "box_mesh", "robot_cells"]

BELT_RGB, FRAME_RGB, RACK_RGB, SHELF_RGB = (40, 42, 46), (150, 155, 165), (200, 130, 40), (90, 100, 120)
SECTION_RGB = {"buffers": (110, 115, 125), "sources": (40, 110, 120), "sinks": (90, 90, 100)}


@dataclass(frozen=True)
class Shape:
    """One static shape: a box of ``size`` or a mesh (``vertices``, ``faces``), centred (box) or with
    its origin (mesh) at ``xyz``, turned by ``yaw`` (rad) about +z; colour RGB 0-255 and opacity."""

    name: str
    role: str  # "belt", "frame", "station", "buffer", "source", "sink", "rack", "fixture"
    xyz: tuple[float, float, float]
    yaw: float
    rgb: tuple[int, int, int]
    opacity: float = 1.0
    size: tuple[float, float, float] | None = None
    vertices: np.ndarray | None = None
    faces: np.ndarray | None = None


def box_mesh(size) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (float32) and outward-facing triangles of a box of ``size`` centred at the origin."""
    h = 0.5 * np.asarray(size, float)
    v = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], float) * h
    f = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                  [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]], np.int32)
    return v.astype(np.float32), f


def layout_shapes(scene) -> list[Shape]:
    """Every static shape of ``scene``'s layout (elements without geometry are not drawn)."""
    out: list[Shape] = []
    for cv in scene.conveyors:
        if cv.geometry is None:
            continue
        start, direction, length, yaw = belt_geometry(cv.geometry)
        mid = start + 0.5 * length * direction
        width = cv.geometry.width_m
        out.append(Shape(f"{cv.name}/belt", "belt", tuple(mid - [0, 0, 0.02]), yaw, BELT_RGB,
                         size=(length, width, 0.04)))
        leg_h = max(float(mid[2]) - 0.04, 0.01)
        out.append(Shape(f"{cv.name}/frame", "frame", (mid[0], mid[1], 0.5 * leg_h), yaw, FRAME_RGB,
                         size=(length, width + 0.06, leg_h)))
    for st in scene.stations:
        if st.geometry is not None:
            g = st.geometry
            out.append(Shape(st.name, "station", tuple(g.xyz_m), math.radians(g.yaw_deg), STATE_COLORS["idle"],
                             size=tuple(g.size_m)))
    for section, rgb in SECTION_RGB.items():
        for el in getattr(scene, section):
            if el.geometry is not None:
                g = el.geometry
                out.append(Shape(el.name, section[:-1], tuple(g.xyz_m), math.radians(g.yaw_deg), rgb,
                                 size=tuple(g.size_m)))
    for storage in scene.storages:
        if storage.geometry is not None:
            out += _rack(storage)
    for fx in scene.fixtures:
        out.append(_fixture(fx))
    return out


def _rack(storage) -> list[Shape]:
    g = storage.geometry
    yaw = math.radians(g.yaw_deg)
    sx, sy, sz = g.size_m
    c = np.array(g.xyz_m, float)
    along = np.array([math.cos(yaw), math.sin(yaw), 0.0])
    out = [Shape(f"{storage.name}/upright{b}", "rack", tuple(c + (-0.5 * sx + sx * b / storage.bays) * along),
                 yaw, RACK_RGB, size=(0.06, sy, sz)) for b in range(storage.bays + 1)]
    for k in range(storage.levels + 1):
        z = c[2] - 0.5 * sz + sz * k / storage.levels
        out.append(Shape(f"{storage.name}/shelf{k}", "rack", (c[0], c[1], z + 0.015), yaw, SHELF_RGB,
                         size=(sx, sy, 0.03)))
    return out


def _fixture(fx) -> Shape:
    rgb = tuple(int(round(255 * v)) for v in fx.rgba[:3])
    yaw = math.radians(fx.yaw_deg)
    if fx.shape == "box":
        return Shape(fx.name, "fixture", tuple(fx.xyz_m), yaw, rgb, float(fx.rgba[3]), size=tuple(fx.size_m))
    from ..physics.assets import bin_mesh, load_mesh  # trimesh only where fixtures need it

    mesh = bin_mesh(fx.size_m, fx.wall_m) if fx.shape == "bin" else load_mesh(fx.mesh_path, fx.scale)
    return Shape(fx.name, "fixture", tuple(fx.xyz_m), yaw, rgb, float(fx.rgba[3]),
                 vertices=np.asarray(mesh.vertices, np.float32), faces=np.asarray(mesh.faces, np.int32))


def robot_cells(scene):
    """``(station, URDF path)`` of every robot cell whose URDF is found (next to the scene was
    resolved when it loaded; otherwise in ``pybullet_data``)."""
    from ..scene.assets_path import candidates

    for st in scene.stations:
        if st.robot_cell is not None:
            path = next((c for c in candidates(st.robot_cell.urdf, "") if c.is_file()), None)
            if path is not None:
                yield st, path
