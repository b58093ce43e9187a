"""Local inverse kinematics: damped least squares (Newton) steps on the arm's Jacobian.

PyBullet's ``calculateInverseKinematics`` costs about 0.3 ms a call and, from a seed already close
to the answer, still needs several calls to reach sub-millimetre accuracy. For dense points along
a path (each seeded with its neighbour's solution) a plain Newton iteration does the same work in
two or three steps of a few tens of microseconds: place the arm, read the end-effector pose (one
forward kinematics), read the Jacobian, solve a 6x6 damped system, clip to the joint limits.

PyBullet's Jacobian is expressed in the base frame (for the origin of the link frame, the point
``getLinkState`` reports), so the error is rotated into the base frame rather than the Jacobian
into the world. An optional rest
pose is followed in the null space of the task (the smallest joint motion that also draws the arm
towards it), which is how :meth:`Robot.ik` keeps the arm configuration of its ready pose.

Every call goes through the robot's physics client; nothing here imports pybullet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

__all__ = ["LocalIK", "LocalSolution"]

#: where the iteration stops once within the tolerances: about the precision of PyBullet's link
#: poses (single precision). Solutions along a path must be converged this far, not just to the
#: tolerance: a spline through knots every 25 ms turns 1e-3 rad of knot-to-knot noise into
#: several rad/s² of joint acceleration.
PRECISION_M = 1e-6
PRECISION_RAD = 1e-5
_ONE_DOF = (0, 1)  # revolute, prismatic joint types in PyBullet's getJointInfo
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
        self._body, self._ee = body, ee
        self._joints = list(joints)
        self._lower, self._upper = np.asarray(lower, float), np.asarray(upper, float)
        self._damping2 = float(damping) ** 2
        self._max_step = float(max_step_rad)
        # calculateJacobian wants every movable degree of freedom (fingers included); its columns
        # follow the joint order, so the arm's columns are picked out by index
        infos = [client.getJointInfo(body, j) for j in range(client.getNumJoints(body))]
        movable = [info[0] for info in infos if info[3] > -1]
        #: one column per movable joint holds only for revolute and prismatic joints (a spherical
        #: joint has three): otherwise :meth:`solve` declines and the caller uses PyBullet's IK
        self.supported = all(info[2] in _ONE_DOF for info in infos if info[3] > -1)
        self._movable = movable
        self._columns = [movable.index(j) for j in self._joints]
        self._zeros = [0.0] * len(movable)
        # the arm's joints are usually all the movable ones, in order (no fingers to fill in)
        self._arm_only = self._columns == list(range(len(movable)))
        self._no_pull = np.zeros(len(self._joints))
        self._base_quat: tuple | None = None
        self._to_base: dict[int, np.ndarray] = {}

    def _base_rotation(self, rows: int) -> np.ndarray:
        """World-to-base rotation of the error (3 or 6 rows); recomputed only if the base turned."""
        quat = self._c.getBasePositionAndOrientation(self._body)[1]
        if quat != self._base_quat:
            to_base = np.array(self._c.getMatrixFromQuaternion(quat)).reshape(3, 3).T
            self._to_base = {3: to_base, 6: np.kron(np.eye(2), to_base)}
            self._base_quat = quat
        return self._to_base[rows]

    def solve(self, target_xyz, target_quat, q0, tolerance_m: float, tolerance_rad: float,
              rest=None, rest_gain: float = 0.5, max_iterations: int = 10) -> LocalSolution:
        """Iterate from ``q0`` until the end effector is at the target (to ``PRECISION_M`` and
        ``PRECISION_RAD``, or as close as ``max_iterations`` get); converged: within the tolerances.

        ``target_quat`` None: position only. ``rest``: joint positions drawn towards in the null
        space (``rest_gain`` of the way each iteration). Leaves the arm at the returned joints
        (the caller restores what it needs).
        """
        if not self.supported:
            return LocalSolution(np.asarray(q0, float), math.inf, math.inf, False, 0)
        c, body, ee = self._c, self._body, self._ee
        reset, link_state, jacobian = c.resetJointStatesMultiDof, c.getLinkState, c.calculateJacobian
        joints, columns, lower, upper = self._joints, self._columns, self._lower, self._upper
        tx, ty, tz = (float(v) for v in target_xyz)
        rows = 3
        if target_quat is not None:
            qx, qy, qz, qw = (float(v) for v in target_quat)
            n = math.sqrt(qx * qx + qy * qy + qz * qz + qw * qw)
            qx, qy, qz, qw = qx / n, qy / n, qz / n, qw / n
            rows = 6
        # the Jacobian is in the base frame: errors are rotated into it
        to_base = self._base_rotation(rows)
        q_all = None if self._arm_only else [s[0] for s in c.getJointStates(body, self._movable)]
        rest = None if rest is None else np.asarray(rest, float)
        q = np.clip(np.asarray(q0, float), lower, upper)
        q_list = q.tolist()
        pos_err = ang_err = math.inf
        for it in range(max_iterations + 1):
            reset(body, joints, [[v] for v in q_list])
            state = link_state(body, ee, computeForwardKinematics=True)
            px, py, pz = state[4]
            ex, ey, ez = tx - px, ty - py, tz - pz
            pos_err = math.sqrt(ex * ex + ey * ey + ez * ez)
            error = [ex, ey, ez]
            ang_err = 0.0
            if rows == 6:
                cx, cy, cz, cw = state[5]
                # rotation taking the current orientation to the target: q_t * conj(q_c)
                rw = qw * cw + qx * cx + qy * cy + qz * cz
                rx = -qw * cx + qx * cw - qy * cz + qz * cy
                ry = -qw * cy + qx * cz + qy * cw - qz * cx
                rz = -qw * cz - qx * cy + qy * cx + qz * cw
                if rw < 0.0:
                    rw, rx, ry, rz = -rw, -rx, -ry, -rz
                s = math.sqrt(rx * rx + ry * ry + rz * rz)
                # atan2, not acos of the dot product: acos loses small angles (below about 1e-4
                # rad with single-precision quaternions), which would stall the iteration there
                ang_err = 2.0 * math.atan2(s, rw)
                k = ang_err / s if s > 1e-12 else 2.0
                error += [k * rx, k * ry, k * rz]
            if (pos_err <= PRECISION_M and ang_err <= PRECISION_RAD) or it == max_iterations:
                break
            if q_all is None:
                lin, ang = jacobian(body, ee, (0.0, 0.0, 0.0), q_list, self._zeros, self._zeros)
                jac = np.array(lin + ang if rows == 6 else lin)
            else:
                for i, col in enumerate(columns):
                    q_all[col] = q_list[i]
                lin, ang = jacobian(body, ee, (0.0, 0.0, 0.0), q_all, self._zeros, self._zeros)
                jac = np.array(lin + ang if rows == 6 else lin)[:, columns]
            e = to_base @ np.array(error)
            z = self._no_pull if rest is None else rest_gain * (rest - q)
            q = dls_update(q, jac, e, z, rest is not None, self._damping2, lower, upper, self._max_step)
            q_list = q.tolist()
        return LocalSolution(q, pos_err, ang_err, pos_err <= tolerance_m and ang_err <= tolerance_rad, it)


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
