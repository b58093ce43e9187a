"""Local inverse kinematics: damped least squares (Newton) steps on the arm's Jacobian.

PyBullet's ``calculateInverseKinematics`` costs about 0.3 ms a call and, from a seed already close
to the answer, still needs several calls to reach sub-millimetre accuracy. For dense points along
a path (each seeded with its neighbour's solution) a plain Newton iteration does the same work in
two or three steps: forward kinematics and Jacobian of the chain, a 6x6 damped system, a clip to
the joint limits. The whole iteration is one compiled call (a few microseconds); the chain comes
from PyBullet's own joint frames (:mod:`twin.physics.kinematics`), so the poses it solves for are
the ones PyBullet reports, and the world is not touched.

An optional rest pose is followed in the null space of the task (the smallest joint motion that
also draws the arm towards it), which is how :meth:`Robot.ik` keeps the arm configuration of its
ready pose.

Every call goes through the robot's physics client; nothing here imports pybullet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from .kinematics import JOINT_FIXED, Chain, chain_pose, matrix_of_quat, quat_of_matrix

__all__ = ["LocalIK", "LocalSolution"]

#: where the iteration stops once within the tolerances: about the precision of PyBullet's link
#: poses (single precision). Solutions along a path must be converged this far, not just to the
#: tolerance: a spline through knots every 25 ms turns 1e-3 rad of knot-to-knot noise into
#: several rad/s² of joint acceleration.
PRECISION_M = 1e-6
PRECISION_RAD = 1e-5
#: keeps the null-space projector finite at an exact singularity, and is otherwise negligible
_PROJECTOR_REGULARISATION = 1e-9


@dataclass(frozen=True)
class LocalSolution:
    """Where the iteration stopped: joints, remaining errors (m, rad), whether both are within
    the requested tolerances, and the iterations taken."""

    q: np.ndarray
    position_error_m: float
    orientation_error_rad: float
    converged: bool
    iterations: int


class LocalIK:
    """Damped least squares IK for one arm (the joints of ``joints``, in order).

    Args:
        client: the World's physics client.
        body, ee: the robot body and its end-effector link.
        joints: arm joint indices (the ones solved for).
        lower, upper: their limits.
        damping: the least-squares damping (m or rad); small next to the arm's reach, so steps are
            Newton steps away from singularities and bounded near them.
        max_step_rad: the largest joint change of one iteration (far from the target the linear
            model is poor; shorter steps keep the iteration on the same arm configuration).
    """

    def __init__(self, client, body: int, ee: int, joints: list[int], lower: np.ndarray, upper: np.ndarray,
                 damping: float = 1e-2, max_step_rad: float = 0.3) -> None:
        self._c = client
        self._body = body
        self._lower, self._upper = np.asarray(lower, float), np.asarray(upper, float)
        self._damping2 = float(damping) ** 2
        self._max_step = float(max_step_rad)
        self.chain = Chain.of(client, body, ee, list(joints))
        #: only revolute, prismatic and fixed joints on the way to the end effector: otherwise
        #: :meth:`solve` declines and the caller uses PyBullet's IK
        self.supported = self.chain.supported
        # joints on the way that are not solved for (a finger, towards a fingertip): read at each solve
        self._held = [(k, j) for k, j in enumerate(self.chain.joints)
                      if self.chain.column[k] < 0 and self.chain.jtype[k] != JOINT_FIXED]
        self._no_pull = np.zeros(len(joints))

    def base_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """The body's base (centre-of-mass) position and rotation matrix now."""
        pos, quat = self._c.getBasePositionAndOrientation(self._body)
        return np.array(pos), matrix_of_quat(*quat)

    def held_values(self) -> np.ndarray:
        """Values of the chain's joints that are not solved for (zero for the others)."""
        values = np.zeros(len(self.chain.joints))
        if self._held:
            states = self._c.getJointStates(self._body, [j for _, j in self._held])
            for (k, _), state in zip(self._held, states, strict=True):
                values[k] = state[0]
        return values

    def pose(self, q) -> tuple[np.ndarray, np.ndarray]:
        """End-effector link position and quaternion (xyzw) at arm joints ``q`` (the world untouched)."""
        base_pos, base_rot = self.base_pose()
        pos, rot = chain_pose(np.asarray(q, float), self.held_values(), base_pos, base_rot, *self.chain.arrays(),
                              np.empty((6, 0)))
        return pos, quat_of_matrix(rot)

    def solve(self, target_xyz, target_quat, q0, tolerance_m: float, tolerance_rad: float,
              rest=None, rest_gain: float = 0.5, max_iterations: int = 10) -> LocalSolution:
        """Iterate from ``q0`` until the end effector is at the target (to ``PRECISION_M`` and
        ``PRECISION_RAD``, or as close as ``max_iterations`` get); converged: within the tolerances.

        ``target_quat`` None: position only. ``rest``: joint positions drawn towards in the null
        space (``rest_gain`` of the way each iteration). The world is not touched: the chain is
        evaluated by :func:`twin.physics.kinematics.chain_pose`.
        """
        if not self.supported:
            return LocalSolution(np.asarray(q0, float), math.inf, math.inf, False, 0)
        target = np.asarray(target_xyz, float)
        quat = np.zeros(4) if target_quat is None else np.asarray(target_quat, float)
        base_pos, base_rot = self.base_pose()
        pull = rest is not None
        rest_q = np.asarray(rest, float) if pull else self._no_pull
        q, pos_err, ang_err, it = solve_chain(
            np.asarray(q0, float), self.held_values(), base_pos, base_rot, *self.chain.arrays(), target, quat,
            target_quat is not None, self._lower, self._upper, self._damping2, self._max_step, rest_q, pull,
            float(rest_gain), int(max_iterations), PRECISION_M, PRECISION_RAD)
        return LocalSolution(q, pos_err, ang_err, pos_err <= tolerance_m and ang_err <= tolerance_rad, it)


@njit(cache=True)
def solve_chain(q0, held, base_pos, base_rot, joint_pos, joint_rot, axis, jtype, column, inertial_pos,
                inertial_rot, target, quat, use_quat, lower, upper, damping2, max_step, rest, pull, rest_gain,
                max_iterations, precision_m, precision_rad):
    """The Newton iteration of :meth:`LocalIK.solve`; returns ``(q, position error, orientation
    error, iterations)``. Errors and Jacobian are in the world frame."""
    n = q0.shape[0]
    rows = 6 if use_quat else 3
    jac = np.empty((6, n))
    if use_quat:
        norm = math.sqrt(quat[0] ** 2 + quat[1] ** 2 + quat[2] ** 2 + quat[3] ** 2)
        qx, qy, qz, qw = quat[0] / norm, quat[1] / norm, quat[2] / norm, quat[3] / norm
    else:
        qx = qy = qz = 0.0
        qw = 1.0
    q = np.minimum(np.maximum(q0, lower), upper)
    pos_err = ang_err = math.inf
    it = 0
    for it in range(max_iterations + 1):
        pos, rot = chain_pose(q, held, base_pos, base_rot, joint_pos, joint_rot, axis, jtype, column,
                              inertial_pos, inertial_rot, jac)
        e = np.empty(rows)
        e[0], e[1], e[2] = target[0] - pos[0], target[1] - pos[1], target[2] - pos[2]
        pos_err = math.sqrt(e[0] * e[0] + e[1] * e[1] + e[2] * e[2])
        ang_err = 0.0
        if use_quat:
            cur = quat_of_matrix(rot)
            cx, cy, cz, cw = cur[0], cur[1], cur[2], cur[3]
            # rotation taking the current orientation to the target: q_t * conj(q_c)
            rw = qw * cw + qx * cx + qy * cy + qz * cz
            rx = -qw * cx + qx * cw - qy * cz + qz * cy
            ry = -qw * cy + qx * cz + qy * cw - qz * cx
            rz = -qw * cz - qx * cy + qy * cx + qz * cw
            if rw < 0.0:
                rw, rx, ry, rz = -rw, -rx, -ry, -rz
            s = math.sqrt(rx * rx + ry * ry + rz * rz)
            # atan2, not acos of the dot product: acos loses small angles
            ang_err = 2.0 * math.atan2(s, rw)
            k = ang_err / s if s > 1e-12 else 2.0
            e[3], e[4], e[5] = k * rx, k * ry, k * rz
        if (pos_err <= precision_m and ang_err <= precision_rad) or it == max_iterations:
            break
        z = rest_gain * (rest - q) if pull else rest
        q = dls_update(q, jac[:rows], e, z, pull, damping2, lower, upper, max_step)
    return q, pos_err, ang_err, it


@njit(cache=True)
def _cholesky_solve(a, b):
    """``a^-1 b`` for a small symmetric positive definite ``a`` (overwritten by its factor)."""
    m = a.shape[0]
    for j in range(m):
        d = a[j, j]
        for k in range(j):
            d -= a[j, k] * a[j, k]
        d = math.sqrt(d)
        a[j, j] = d
        for i in range(j + 1, m):
            v = a[i, j]
            for k in range(j):
                v -= a[i, k] * a[j, k]
            a[i, j] = v / d
    x = b.copy()
    for i in range(m):
        for k in range(i):
            x[i] -= a[i, k] * x[k]
        x[i] /= a[i, i]
    for i in range(m - 1, -1, -1):
        for k in range(i + 1, m):
            x[i] -= a[k, i] * x[k]
        x[i] /= a[i, i]
    return x


@njit(cache=True)
def _transpose_times(jac, x):
    """``J^T x``."""
    m, n = jac.shape
    out = np.zeros(n)
    for i in range(m):
        for k in range(n):
            out[k] += jac[i, k] * x[i]
    return out


@njit(cache=True)
def _dls_step(jac, e, z, pull, damping2):
    """Damped least squares step towards error ``e``, plus ``z`` projected on the null space of
    the task (when ``pull``): ``J^T (J J^T + d^2 I)^-1 e + (I - J^+ J) z``.

    The projection uses the undamped pseudo-inverse, so the rest-pose pull never moves the end
    effector (a damped one would leave a residual that stalls the iteration short of the target).
    """
    m, n = jac.shape
    jjt = np.empty((m, m))  # small: plain loops beat a BLAS call
    for i in range(m):
        for j in range(i + 1):
            v = 0.0
            for k in range(n):
                v += jac[i, k] * jac[j, k]
            jjt[i, j] = v
            jjt[j, i] = v
    a = jjt.copy()
    for i in range(m):
        a[i, i] += damping2
    dq = _transpose_times(jac, _cholesky_solve(a, e))
    if pull:
        for i in range(m):
            jjt[i, i] += _PROJECTOR_REGULARISATION
        jz = np.zeros(m)
        for i in range(m):
            for k in range(n):
                jz[i] += jac[i, k] * z[k]
        dq += z - _transpose_times(jac, _cholesky_solve(jjt, jz))
    return dq


@njit(cache=True)
def dls_update(q, jac, e, z, pull, damping2, lower, upper, max_step):
    """One iteration from joints ``q``: the damped least squares step (a joint on its limit that
    the step pushes further out is held there, and the step recomputed with the others, or
    clipping would stall the iteration), shortened to ``max_step`` on the largest joint, clipped
    to the limits. Compiled: NumPy's per-call overhead on 6x7 matrices was most of a solve."""
    dq = _dls_step(jac, e, z, pull, damping2)
    n = q.shape[0]
    outside = False
    for i in range(n):
        v = q[i] + dq[i]
        if v < lower[i] or v > upper[i]:
            outside = True
    if outside:
        blocked = (q <= lower) & (dq < 0.0) | (q >= upper) & (dq > 0.0)
        if blocked.any():
            jac_free = jac.copy()
            z_free = z.copy()
            for i in range(n):
                if blocked[i]:
                    jac_free[:, i] = 0.0
                    z_free[i] = 0.0
            dq = _dls_step(jac_free, e, z_free, pull, damping2)
            for i in range(n):
                if blocked[i]:
                    dq[i] = 0.0
    peak = np.abs(dq).max()
    if peak > max_step:
        dq *= max_step / peak
    return np.minimum(np.maximum(q + dq, lower), upper)
