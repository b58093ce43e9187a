"""Export a scene's 3D layout to glTF (``.glb`` binary or ``.gltf`` JSON with its buffers embedded), with trimesh.

The file holds one node per shape of :func:`twin.viz.layout.layout_shapes` (named after the
element, e.g. ``smt/printer``, ``smt/infeed/belt``), each robot arm's visual links at its base in
its ready pose (from its URDF, via yourdfpy), and each AGV at its parking place. Units are metres;
glTF's up axis is +Y, so the scene (z up) is turned by -90 degrees about x at the root, as glTF
viewers expect. Colours are the viewer's (stations in their idle colour).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..errors import UsageError
from .layout import box_mesh, layout_shapes, robot_cells

__all__ = ["export_gltf", "layout_scene"]

_ROBOT_RGBA = (235, 115, 25, 255)
_AGV_RGBA = (245, 180, 0, 255)


def _transform(xyz, yaw: float) -> np.ndarray:
    m = np.eye(4)
    c, s = math.cos(yaw), math.sin(yaw)
    m[:2, :2] = [[c, -s], [s, c]]
    m[:3, 3] = xyz
    return m


def layout_scene(scene):
    """A ``trimesh.Scene`` of the layout (z up, metres)."""
    import trimesh

    out = trimesh.Scene()
    for shape in layout_shapes(scene):
        if shape.size is not None:
            v, f = box_mesh(shape.size)
        else:
            v, f = shape.vertices, shape.faces
        mesh = trimesh.Trimesh(vertices=np.asarray(v, float), faces=np.asarray(f), process=False)
        mesh.visual.face_colors = (*shape.rgb, int(round(255 * shape.opacity)))
        out.add_geometry(mesh, node_name=shape.name, geom_name=shape.name, transform=_transform(shape.xyz, shape.yaw))
    _add_robots(out, scene)
    _add_agvs(out, scene)
    return out


def _add_robots(out, scene) -> None:
    import yourdfpy

    for st, path in robot_cells(scene):
        cell = st.robot_cell
        urdf = yourdfpy.URDF.load(str(path), load_meshes=True, build_scene_graph=True)
        if st.robot_motion is not None and len(st.robot_motion):
            q = np.zeros(len(urdf.actuated_joints))
            row = np.asarray(st.robot_motion[-1], float)
            q[:min(len(q), len(row))] = row[:len(q)]
            urdf.update_cfg(q)
        base = _transform(cell.base_xyz_m, math.radians(cell.base_yaw_deg))
        for k, (node, geometry) in enumerate(urdf.scene.graph.to_flattened().items()):
            name = geometry.get("geometry")
            if name is None:
                continue
            mesh = urdf.scene.geometry[name].copy()
            if not isinstance(mesh, type(next(iter(urdf.scene.geometry.values())))):
                continue
            mesh.visual = mesh.visual.to_color() if hasattr(mesh.visual, "to_color") else mesh.visual
            mesh.visual.face_colors = _ROBOT_RGBA
            transform = base @ np.asarray(geometry["transform"], float)
            out.add_geometry(mesh, node_name=f"{st.name}/robot/{k}_{node}", geom_name=f"{st.name}/robot/{k}",
                             transform=transform)


def _add_agvs(out, scene) -> None:
    import trimesh

    for fleet in scene.agv_fleets:
        xy = {n.name: n.xy_m for n in fleet.nodes}
        for k, park in enumerate(fleet.parking):
            v, f = box_mesh(fleet.chassis_m)
            mesh = trimesh.Trimesh(vertices=np.asarray(v, float), faces=f, process=False)
            mesh.visual.face_colors = _AGV_RGBA
            x, y = xy[park]
            name = f"{fleet.name}/agv{k}"
            out.add_geometry(mesh, node_name=name, geom_name=name,
                             transform=_transform((x, y, 0.5 * fleet.chassis_m[2]), 0.0))


def export_gltf(scene, path: str | Path) -> Path:
    """Write the layout of ``scene`` to ``path`` (``.glb`` or ``.gltf``); return the path."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".glb", ".gltf"):
        raise UsageError(f"glTF export: the file must end in .glb or .gltf, got {path.name!r}")
    layout = layout_scene(scene)
    if not layout.geometry:
        raise UsageError("glTF export: the scene has no 3D layout (no element has a geometry, no fixtures)")
    z_up_to_y_up = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, -1, 0, 0], [0, 0, 0, 1]], float)
    layout.apply_transform(z_up_to_y_up)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".gltf":  # one self-contained JSON file: buffers embedded as data URIs
            from trimesh.exchange.gltf import export_gltf as to_gltf

            path.write_bytes(to_gltf(layout, embed_buffers=True)["model.gltf"])
        else:
            path.write_bytes(layout.export(file_type="glb"))
    except OSError as exc:
        raise UsageError(f"glTF export: cannot write {path}: {exc.strerror}") from None
    return path
