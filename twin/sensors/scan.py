"""Scan-to-twin: from a point cloud to a mesh asset a scene can place, and scanning in the world.

- :func:`scan_body` looks at one body of a World with a ring of simulated depth cameras around
  and above it and merges what they see of it (segmentation keeps only its pixels) into one cloud
  in world coordinates: the whole loop can be tested without hardware.
- :func:`reconstruct` turns a cloud into a surface with open3d: normals estimated and oriented
  outwards, then Poisson reconstruction (or ball pivoting), trimmed of low-density surface where
  Poisson invents it, simplified to a face budget, the largest connected piece kept, then cleaned
  with trimesh (no degenerate or duplicate faces).
- :func:`write_asset` writes ``<name>.obj`` (the visual mesh), ``<name>_collision.obj`` (a convex
  decomposition by PyBullet's V-HACD, for a loose body; a static fixture uses the exact mesh) and
  ``<name>.urdf`` that ties them together, with the origin at the bottom centre; ``fixtures: [{shape: mesh, mesh: <name>.obj}]`` places it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..errors import SceneError
from ..physics.world import World
from .camera import Camera, Intrinsics, look_at
from .pointcloud import frame_points

__all__ = ["scan_body", "reconstruct", "write_asset", "chamfer_m"]


def scan_body(world: World, body_name: str, *, views: int = 12, distance_m: float | None = None,
              resolution=(320, 240), fov_deg: float = 50.0, elevations_deg=(20.0, 55.0)) -> np.ndarray:
    """Points (world frame) of ``body_name`` seen from ``views`` cameras around it."""
    c = world.client
    body = world.body(body_name)
    lo, hi = (np.array(v) for v in c.getAABB(body))
    centre, radius = 0.5 * (lo + hi), 0.5 * float(np.linalg.norm(hi - lo))
    distance = distance_m or 2.2 * radius / math.tan(math.radians(0.5 * fov_deg))
    intr = Intrinsics.from_fov(int(resolution[0]), int(resolution[1]), fov_deg)
    clouds = []
    per_ring = max(1, views // len(elevations_deg))
    for ring, elevation in enumerate(elevations_deg):
        for k in range(per_ring):
            az = 2 * math.pi * (k + 0.5 * ring) / per_ring
            el = math.radians(elevation)
            eye = centre + distance * np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
            cam = Camera(world, f"scan{ring}_{k}", intr, pose=look_at(eye, centre), near_m=0.01,
                         far_m=distance + 4 * radius)
            clouds.append(frame_points(cam.capture(), keep_bodies=[body]))
    return np.vstack(clouds) if clouds else np.zeros((0, 3))


def reconstruct(points: np.ndarray, *, method: str = "poisson", voxel_m: float | None = None,
                depth: int = 8, target_faces: int = 20_000):
    """A ``trimesh.Trimesh`` surface through ``points`` ((n, 3), metres).

    Raises:
        SceneError: too few points, or no surface could be made.
    """
    import open3d as o3d
    import trimesh

    pts = np.asarray(points, float)
    if len(pts) < 100 or not np.all(np.isfinite(pts)):
        raise SceneError(f"cannot reconstruct a surface from {len(pts)} points (need at least 100 finite ones)")
    if method not in ("poisson", "ball_pivoting"):
        raise SceneError(f"reconstruction method must be 'poisson' or 'ball_pivoting', got {method!r}")
    extent = float(np.linalg.norm(pts.max(axis=0) - pts.min(axis=0)))
    voxel = voxel_m or extent / 200.0
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(pts)).voxel_down_sample(voxel)
    cloud.estimate_normals(o3d.geometry.KDTreeSearchParamHybrid(radius=4 * voxel, max_nn=30))
    # outwards: away from the centroid works for the compact parts and fixtures scanned here
    normals = np.asarray(cloud.normals)
    outward = np.asarray(cloud.points) - np.asarray(cloud.points).mean(axis=0)
    normals[np.sum(normals * outward, axis=1) < 0] *= -1
    cloud.normals = o3d.utility.Vector3dVector(normals)
    if method == "poisson":
        mesh, density = o3d.geometry.TriangleMesh.create_from_point_cloud_poisson(cloud, depth=depth)
        density = np.asarray(density)
        mesh.remove_vertices_by_mask(density < np.quantile(density, 0.02))
    else:
        radii = o3d.utility.DoubleVector([1.5 * voxel, 3 * voxel, 6 * voxel])
        mesh = o3d.geometry.TriangleMesh.create_from_point_cloud_ball_pivoting(cloud, radii)
    if len(mesh.triangles) > target_faces:
        mesh = mesh.simplify_quadric_decimation(target_faces)
    if len(mesh.triangles) == 0:
        raise SceneError("reconstruction produced no surface")
    clusters, sizes, _ = mesh.cluster_connected_triangles()  # keep the largest connected piece
    mesh.remove_triangles_by_mask(np.asarray(clusters) != int(np.argmax(np.asarray(sizes))))
    mesh.remove_unreferenced_vertices()
    out = trimesh.Trimesh(np.asarray(mesh.vertices), np.asarray(mesh.triangles), process=True)
    out.update_faces(out.nondegenerate_faces())
    out.update_faces(out.unique_faces())
    out.remove_unreferenced_vertices()
    return out


def write_asset(mesh, folder: str | Path, name: str, mass_kg: float = 0.5) -> Path:
    """Write ``<name>.obj``, ``<name>_collision.obj`` (V-HACD convex parts) and ``<name>.urdf``
    into ``folder``; return the URDF's path. The asset's origin is the centre of the bottom of its
    bounding box (so ``xyz_m`` places it standing on a surface); the mesh is moved accordingly."""
    from ..physics._bullet import vhacd

    mesh = mesh.copy()
    lo, hi = mesh.bounds
    mesh.apply_translation([-0.5 * (lo[0] + hi[0]), -0.5 * (lo[1] + hi[1]), -lo[2]])
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    visual = folder / f"{name}.obj"
    mesh.export(visual)
    collision = folder / f"{name}_collision.obj"
    vhacd(str(visual), str(collision), str(folder / f"{name}_vhacd.log"))
    urdf = folder / f"{name}.urdf"
    inertia = 0.1 * mass_kg * float(np.max(mesh.extents)) ** 2
    urdf.write_text(f"""<?xml version="1.0"?>
<robot name="{name}">
  <link name="base">
    <inertial><origin xyz="0 0 {0.5 * float(mesh.extents[2]):.6g}"/><mass value="{mass_kg}"/>
      <inertia ixx="{inertia}" iyy="{inertia}" izz="{inertia}" ixy="0" ixz="0" iyz="0"/></inertial>
    <visual><geometry><mesh filename="{visual.name}"/></geometry></visual>
    <collision><geometry><mesh filename="{collision.name}"/></geometry></collision>
  </link>
</robot>
""")
    return urdf


def chamfer_m(a, b, samples: int = 20_000, seed: int = 0) -> float:
    """Symmetric mean Chamfer distance (m) between two meshes' surfaces (uniform samples)."""
    import trimesh

    rng_a = trimesh.sample.sample_surface(a, samples, seed=seed)[0]
    rng_b = trimesh.sample.sample_surface(b, samples, seed=seed + 1)[0]
    from scipy.spatial import cKDTree

    d_ab = cKDTree(rng_b).query(rng_a)[0]
    d_ba = cKDTree(rng_a).query(rng_b)[0]
    return float(0.5 * (d_ab.mean() + d_ba.mean()))
