"""6-D pose of a known part from what a camera sees: ICP against the part's CAD mesh.

The part's mesh (trimesh) is sampled into a model cloud once. For an observed cloud of the part
(world frame, e.g. one segmented cluster), :func:`estimate_pose` starts from its centroid with a
ring of yaw hypotheses (parts lie on a surface, so the unknown is mostly the turn about the
vertical), refines each with point-to-plane ICP (open3d), and keeps the hypothesis with the best
fit (the most model points within the correspondence distance, then the smallest RMSE). Only the
visible side of the part is observed, so the model is matched to it, not the other way round.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["PoseEstimate", "estimate_pose"]


@dataclass(frozen=True)
class PoseEstimate:
    """The part's pose in the world: ``transform`` (4x4) maps mesh coordinates to world coordinates."""

    transform: np.ndarray
    fitness: float  # share of observed points with a model point within the distance
    rmse_m: float

    @property
    def translation(self) -> np.ndarray:
        return self.transform[:3, 3]

    @property
    def rotation(self) -> np.ndarray:
        return self.transform[:3, :3]


def estimate_pose(observed: np.ndarray, mesh, *, yaw_hypotheses: int = 12, max_distance_m: float = 0.004,
                  model_points: int = 4000, seed: int = 0) -> PoseEstimate:
    """Pose of ``mesh`` that best explains the ``observed`` points ((n, 3), world frame)."""
    import open3d as o3d
    import trimesh

    obs = np.asarray(observed, float)
    if len(obs) < 20:
        raise ValueError(f"need at least 20 observed points, got {len(obs)}")
    model = trimesh.sample.sample_surface(mesh, model_points, seed=seed)[0]
    target = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(obs))
    target.estimate_normals(o3d.geometry.KDTreeSearchParamHybrid(radius=4 * max_distance_m, max_nn=30))
    source = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(model))
    source.estimate_normals(o3d.geometry.KDTreeSearchParamHybrid(radius=4 * max_distance_m, max_nn=30))
    centre_obs = obs.mean(axis=0)
    centre_model = np.asarray(mesh.bounds).mean(axis=0)
    # the observed surface is the upper, visible side: start with the model's centre a little below
    # the observed centroid, by half the model's height
    drop = 0.5 * float(mesh.extents[2]) * 0.5
    best = None
    criteria = o3d.pipelines.registration.ICPConvergenceCriteria(max_iteration=60)
    for k in range(yaw_hypotheses):
        yaw = 2 * math.pi * k / yaw_hypotheses
        c, s = math.cos(yaw), math.sin(yaw)
        init = np.eye(4)
        init[:3, :3] = [[c, -s, 0], [s, c, 0], [0, 0, 1]]
        init[:3, 3] = centre_obs - init[:3, :3] @ centre_model - [0.0, 0.0, drop]
        for dist in (4 * max_distance_m, max_distance_m):  # coarse, then fine
            result = o3d.pipelines.registration.registration_icp(
                target, source, dist, np.linalg.inv(init),
                o3d.pipelines.registration.TransformationEstimationPointToPlane(), criteria)
            init = np.linalg.inv(result.transformation)
        key = (round(result.fitness, 3), -result.inlier_rmse)
        if best is None or key > best[0]:
            best = (key, init, result)
    _, transform, result = best
    return PoseEstimate(transform, float(result.fitness), float(result.inlier_rmse))
