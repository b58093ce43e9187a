"""Forward kinematics and Jacobian of a serial chain, compiled, from PyBullet's own joint frames.

Asking PyBullet for a link pose means placing the arm (``resetJointStatesMultiDof``, about 5 µs),
then computing forward kinematics (``getLinkState``, 3 µs), and a Jacobian is another call: an IK
iteration cost about 15 µs in calls alone, and the arm had to be put back afterwards. This module
reads the chain once and evaluates it in a compiled kernel (well under a microsecond), without
touching the world.

The frames are PyBullet's, so the poses are the ones ``getLinkState`` reports. PyBullet stores a
joint's frame relative to its parent link's centre-of-mass frame (``getJointInfo`` fields 14 and
15; the orientation as the rotation from the parent to the joint frame, the inverse of the
frame's), and each link's centre-of-mass frame relative to its URDF link frame
(``getDynamicsInfo`` fields 3 and 4); the base pose it reports is its centre-of-mass frame. So,
from the base along the chain:

    link frame(child) = com(parent) * joint frame * motion(q)     (rotation about / shift along the axis)
    com(child)        = link frame(child) * inertial frame(child)

Every call goes through the robot's physics client; nothing here imports pybullet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

__all__ = ["Chain", "chain_pose", "attached_path", "quat_of_matrix", "matrix_of_quat"]

JOINT_REVOLUTE, JOINT_PRISMATIC, JOINT_FIXED = 0, 1, 4  # PyBullet's getJointInfo joint types


@njit(cache=True)
def matrix_of_quat(x, y, z, w):
    """Rotation matrix of the unit quaternion (x, y, z, w)."""
    r = np.empty((3, 3))
    r[0, 0] = 1.0 - 2.0 * (y * y + z * z)
    r[0, 1] = 2.0 * (x * y - z * w)
    r[0, 2] = 2.0 * (x * z + y * w)
    r[1, 0] = 2.0 * (x * y + z * w)
    r[1, 1] = 1.0 - 2.0 * (x * x + z * z)
    r[1, 2] = 2.0 * (y * z - x * w)
    r[2, 0] = 2.0 * (x * z - y * w)
    r[2, 1] = 2.0 * (y * z + x * w)
    r[2, 2] = 1.0 - 2.0 * (x * x + y * y)
    return r


@njit(cache=True)
def quat_of_matrix(r):
    """Unit quaternion (x, y, z, w), w >= 0, of rotation matrix ``r`` (Shepperd's method: the
    largest of the four candidates is divided by, so no precision is lost near any angle)."""
    tr = r[0, 0] + r[1, 1] + r[2, 2]
    q = np.empty(4)
    if tr >= r[0, 0] and tr >= r[1, 1] and tr >= r[2, 2]:
        s = 2.0 * math.sqrt(1.0 + tr)
        q[3] = 0.25 * s
        q[0] = (r[2, 1] - r[1, 2]) / s
        q[1] = (r[0, 2] - r[2, 0]) / s
        q[2] = (r[1, 0] - r[0, 1]) / s
    elif r[0, 0] >= r[1, 1] and r[0, 0] >= r[2, 2]:
        s = 2.0 * math.sqrt(1.0 + r[0, 0] - r[1, 1] - r[2, 2])
        q[3] = (r[2, 1] - r[1, 2]) / s
        q[0] = 0.25 * s
        q[1] = (r[0, 1] + r[1, 0]) / s
        q[2] = (r[0, 2] + r[2, 0]) / s
    elif r[1, 1] >= r[2, 2]:
        s = 2.0 * math.sqrt(1.0 + r[1, 1] - r[0, 0] - r[2, 2])
        q[3] = (r[0, 2] - r[2, 0]) / s
        q[0] = (r[0, 1] + r[1, 0]) / s
        q[1] = 0.25 * s
        q[2] = (r[1, 2] + r[2, 1]) / s
    else:
        s = 2.0 * math.sqrt(1.0 + r[2, 2] - r[0, 0] - r[1, 1])
        q[3] = (r[1, 0] - r[0, 1]) / s
        q[0] = (r[0, 2] + r[2, 0]) / s
        q[1] = (r[1, 2] + r[2, 1]) / s
        q[2] = 0.25 * s
    if q[3] < 0.0:
        q *= -1.0
    return q


@njit(cache=True, inline="always")
def _mv(r, v):
    """``r @ v`` for a 3x3 matrix and a 3-vector (plain arithmetic: BLAS calls cost more here)."""
    out = np.empty(3)
    for i in range(3):
        out[i] = r[i, 0] * v[0] + r[i, 1] * v[1] + r[i, 2] * v[2]
    return out


@njit(cache=True, inline="always")
def _mm(a, b):
    """``a @ b`` for 3x3 matrices."""
    out = np.empty((3, 3))
    for i in range(3):
        for j in range(3):
            out[i, j] = a[i, 0] * b[0, j] + a[i, 1] * b[1, j] + a[i, 2] * b[2, j]
    return out


@njit(cache=True)
def _axis_rotation(ax, ay, az, angle):
    """Rotation by ``angle`` about the unit axis (ax, ay, az) (Rodrigues)."""
    c, s = math.cos(angle), math.sin(angle)
    t = 1.0 - c
    r = np.empty((3, 3))
    r[0, 0] = t * ax * ax + c
    r[0, 1] = t * ax * ay - s * az
    r[0, 2] = t * ax * az + s * ay
    r[1, 0] = t * ax * ay + s * az
    r[1, 1] = t * ay * ay + c
    r[1, 2] = t * ay * az - s * ax
    r[2, 0] = t * ax * az - s * ay
    r[2, 1] = t * ay * az + s * ax
    r[2, 2] = t * az * az + c
    return r


@njit(cache=True)
def chain_pose(q, fixed_q, base_pos, base_rot, joint_pos, joint_rot, axis, jtype, column, inertial_pos,
               inertial_rot, jac):
    """World pose of the chain's last link frame at arm joints ``q``; fills ``jac`` (6 x len(q):
    linear rows, then angular, in the world frame, for the last link frame's origin) unless it is
    empty. Returns ``(position, rotation matrix)``.

    Joint ``k`` of the chain takes its value from ``q[column[k]]``, or from ``fixed_q[k]`` when
    ``column[k]`` is -1 (a joint that is not planned, such as a finger on the way to a fingertip).
    """
    p = base_pos.copy()
    r = base_rot.copy()
    n = jtype.shape[0]
    origins = np.empty((n, 3))
    axes = np.empty((n, 3))
    link_p = p
    link_r = r
    for k in range(n):
        # the joint frame, from the parent's centre-of-mass frame
        jp = p + _mv(r, joint_pos[k])
        jr = _mm(r, joint_rot[k])
        value = q[column[k]] if column[k] >= 0 else fixed_q[k]
        a = _mv(jr, axis[k])
        origins[k] = jp
        axes[k] = a
        if jtype[k] == JOINT_REVOLUTE:
            link_r = _mm(jr, _axis_rotation(axis[k, 0], axis[k, 1], axis[k, 2], value))
            link_p = jp
        elif jtype[k] == JOINT_PRISMATIC:
            link_r = jr
            link_p = jp + a * value
        else:
            link_r = jr
            link_p = jp
        p = link_p + _mv(link_r, inertial_pos[k])
        r = _mm(link_r, inertial_rot[k])
    if jac.shape[1] > 0:
        jac[:, :] = 0.0
        for k in range(n):
            col = column[k]
            if col < 0:
                continue
            a = axes[k]
            if jtype[k] == JOINT_REVOLUTE:
                d = link_p - origins[k]
                jac[0, col] = a[1] * d[2] - a[2] * d[1]
                jac[1, col] = a[2] * d[0] - a[0] * d[2]
                jac[2, col] = a[0] * d[1] - a[1] * d[0]
                jac[3, col] = a[0]
                jac[4, col] = a[1]
                jac[5, col] = a[2]
            else:
                jac[0, col] = a[0]
                jac[1, col] = a[1]
                jac[2, col] = a[2]
    return link_p, link_r


@dataclass(frozen=True)
class Chain:
    """The joints from a body's base to one of its links, as arrays for :func:`chain_pose`.

    ``supported`` is False when a joint on the way is neither revolute, prismatic nor fixed (a
    spherical or planar joint); such a chain is not evaluated here.
    """

    supported: bool
    joint_pos: np.ndarray  # (k, 3) joint frame position in the parent's centre-of-mass frame
    joint_rot: np.ndarray  # (k, 3, 3) its orientation
    axis: np.ndarray  # (k, 3) joint axis in the joint frame
    jtype: np.ndarray  # (k,) PyBullet joint type
    column: np.ndarray  # (k,) index into the arm's joint vector, -1 for a joint not planned
    joints: tuple[int, ...]  # (k,) PyBullet joint index of each
    inertial_pos: np.ndarray  # (k, 3) the child's centre of mass in its link frame
    inertial_rot: np.ndarray  # (k, 3, 3)

    @classmethod
    def of(cls, client, body: int, link: int, arm_joints: list[int]) -> Chain:
        """The chain of ``body`` from its base to ``link``; ``arm_joints`` are the planned joints, in
        the order of the joint vectors that will be passed."""
        path = []
        j = link
        while j >= 0:
            path.append(j)
            j = client.getJointInfo(body, j)[16]
        path.reverse()
        infos = [client.getJointInfo(body, j) for j in path]
        dyn = [client.getDynamicsInfo(body, j) for j in path]
        return cls(
            supported=all(info[2] in (JOINT_REVOLUTE, JOINT_PRISMATIC, JOINT_FIXED) for info in infos),
            joint_pos=np.array([info[14] for info in infos], float).reshape(-1, 3),
            # PyBullet reports the rotation from the parent to the joint frame: the frame's inverse
            joint_rot=np.array([matrix_of_quat(*info[15]).T for info in infos], float).reshape(-1, 3, 3),
            axis=np.array([_unit(info[13]) for info in infos], float).reshape(-1, 3),
            jtype=np.array([info[2] for info in infos], np.int64),
            column=np.array([arm_joints.index(j) if j in arm_joints else -1 for j in path], np.int64),
            joints=tuple(path),
            inertial_pos=np.array([d[3] for d in dyn], float).reshape(-1, 3),
            inertial_rot=np.array([matrix_of_quat(*d[4]) for d in dyn], float).reshape(-1, 3, 3),
        )

    def arrays(self) -> tuple:
        """The chain's arrays, in :func:`chain_pose`'s argument order (after the base pose)."""
        return (self.joint_pos, self.joint_rot, self.axis, self.jtype, self.column, self.inertial_pos,
                self.inertial_rot)


def _unit(v) -> tuple[float, float, float]:
    n = math.sqrt(sum(x * x for x in v))
    return tuple(x / n for x in v) if n > 0 else (0.0, 0.0, 1.0)


@njit(cache=True)
def attached_path(q_rows, qd_rows, held, base_pos, base_rot, joint_pos, joint_rot, axis, jtype, column,
                  inertial_pos, inertial_rot, offset_pos, offset_rot):
    """Pose and velocity of a body fixed to the chain's last link (at ``offset_pos`` /
    ``offset_rot`` in its frame) for each row of joint positions ``q_rows`` and velocities
    ``qd_rows``: ``(position (n, 3), quaternion xyzw (n, 4), linear velocity (n, 3), angular
    velocity (n, 3))``, world frame. The velocity is the rigid motion of the body's own origin:
    ``v = J_lin qd + w x (p - link origin)``, ``w = J_ang qd``."""
    n, dof = q_rows.shape
    pos = np.empty((n, 3))
    quat = np.empty((n, 4))
    lin = np.empty((n, 3))
    ang = np.empty((n, 3))
    jac = np.empty((6, dof))
    for i in range(n):
        link_p, link_r = chain_pose(q_rows[i], held, base_pos, base_rot, joint_pos, joint_rot, axis, jtype,
                                    column, inertial_pos, inertial_rot, jac)
        arm = _mv(link_r, offset_pos)
        p = link_p + arm
        pos[i] = p
        quat[i] = quat_of_matrix(_mm(link_r, offset_rot))
        v = np.zeros(3)
        w = np.zeros(3)
        for k in range(dof):
            for r in range(3):
                v[r] += jac[r, k] * qd_rows[i, k]
                w[r] += jac[3 + r, k] * qd_rows[i, k]
        lin[i, 0] = v[0] + w[1] * arm[2] - w[2] * arm[1]
        lin[i, 1] = v[1] + w[2] * arm[0] - w[0] * arm[2]
        lin[i, 2] = v[2] + w[0] * arm[1] - w[1] * arm[0]
        ang[i] = w
    return pos, quat, lin, ang
