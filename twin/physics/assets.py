"""Meshes for the 3D world, loaded or built with trimesh.

``load_mesh`` reads STL, OBJ, PLY, GLB/GLTF and the other formats trimesh knows, merges a file with
several parts into one mesh, scales it, and checks it. A mesh that is broken (no faces, non-finite
vertices, no volume) or not watertight cannot be trusted as a collision shape, so it is replaced by
its convex hull, with a warning that names the file and the reason. ``bin_mesh`` builds an open box
(floor and four walls) for bins and trays.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np
import trimesh

from ..errors import SceneError

__all__ = ["MeshData", "load_mesh", "bin_mesh", "MeshFallbackWarning"]


class MeshFallbackWarning(UserWarning):
    """A mesh was replaced by its convex hull."""


@dataclass(frozen=True)
class MeshData:
    """Triangles ready for a physics engine: vertices (m, (n, 3)) and faces ((m, 3) indices)."""

    vertices: np.ndarray
    faces: np.ndarray
    convex_hull: bool  # True when this is the convex hull of what was asked for
    source: str

    @property
    def extents_m(self) -> np.ndarray:
        return self.vertices.max(axis=0) - self.vertices.min(axis=0)


def mesh_bounds(path: str, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper corners of the bounding box of the mesh file at ``path`` (scaled), in its frame."""
    vertices = load_mesh(path, scale).vertices
    return vertices.min(axis=0), vertices.max(axis=0)


def load_mesh(path: str, scale: float = 1.0) -> MeshData:
    """Load the mesh file at ``path``, scaled by ``scale``; fall back to its convex hull when needed.

    Raises:
        SceneError: the file does not exist or cannot be read as a mesh at all.
    """
    if not os.path.isfile(path):
        raise SceneError(f"mesh file {path!r} not found")
    try:
        mesh = trimesh.load(path, force="mesh", process=True)
    except Exception as exc:  # trimesh raises many kinds for unreadable files
        raise SceneError(f"mesh file {path!r} cannot be read: {exc}") from None
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.vertices) == 0:
        raise SceneError(f"mesh file {path!r} holds no triangles")
    mesh = mesh.copy()
    mesh.apply_scale(float(scale))
    return _checked(mesh, path)


def bin_boxes(size_m, wall_m: float = 0.01) -> list[tuple[str, tuple, tuple]]:
    """The five boxes of an open box of outer size ``size_m`` centred on the origin: (label, full
    extents, centre) of the floor and the walls at -x, +x, -y, +y (``wall_m`` thick)."""
    sx, sy, sz = (float(v) for v in size_m)
    w = min(float(wall_m), 0.25 * min(sx, sy), 0.5 * sz)
    return [
        ("floor", (sx, sy, w), (0.0, 0.0, -0.5 * sz + 0.5 * w)),
        ("wall_-x", (w, sy, sz), (-0.5 * sx + 0.5 * w, 0.0, 0.0)), ("wall_+x", (w, sy, sz), (0.5 * sx - 0.5 * w, 0.0, 0.0)),
        ("wall_-y", (sx - 2 * w, w, sz), (0.0, -0.5 * sy + 0.5 * w, 0.0)),
        ("wall_+y", (sx - 2 * w, w, sz), (0.0, 0.5 * sy - 0.5 * w, 0.0)),
    ]


def bin_mesh(size_m, wall_m: float = 0.01) -> MeshData:
    """An open box of outer size ``size_m`` (x, y, z) with walls and floor ``wall_m`` thick, centred
    on the origin."""
    boxes = [trimesh.creation.box(extents=ext, transform=trimesh.transformations.translation_matrix(c))
             for _, ext, c in bin_boxes(size_m, wall_m)]
    mesh = trimesh.util.concatenate(boxes)
    return MeshData(np.asarray(mesh.vertices, float), np.asarray(mesh.faces, np.int64), False, "bin")


def _checked(mesh: trimesh.Trimesh, source: str) -> MeshData:
    reason = None
    if not np.all(np.isfinite(mesh.vertices)):
        reason = "it has non-finite vertices"
        mesh = trimesh.Trimesh(mesh.vertices[np.all(np.isfinite(mesh.vertices), axis=1)])
    elif len(mesh.faces) == 0:
        reason = "it has no faces"
    elif not mesh.is_watertight:
        reason = "it is not watertight"
    elif not mesh.is_volume:
        reason = "it does not enclose a volume (inconsistent winding or normals)"
    if reason is None:
        return MeshData(np.asarray(mesh.vertices, float), np.asarray(mesh.faces, np.int64), False, source)
    try:
        hull = trimesh.convex.convex_hull(np.asarray(mesh.vertices, float))
    except Exception:  # qhull fails on flat or degenerate point sets
        hull = None
    if hull is None or len(hull.faces) == 0 or hull.volume <= 0:
        raise SceneError(f"mesh {source!r}: {reason}, and its convex hull has no volume either")
    warnings.warn(f"mesh {source!r}: {reason}; using its convex hull instead", MeshFallbackWarning, stacklevel=3)
    return MeshData(np.asarray(hull.vertices, float), np.asarray(hull.faces, np.int64), True, source)
