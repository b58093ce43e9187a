"""Time-scaled joint-space motions that respect velocity and acceleration limits.

A motion from ``q0`` to ``q1`` follows the straight line ``q(t) = q0 + s(t) (q1 - q0)`` in joint
space, with a scalar time scaling ``s`` from 0 to 1. Scaling one path parameter keeps every joint
synchronised (they start and stop together), and a joint's velocity is ``|q1 - q0| * s'(t)``, so
limits on ``s'`` and ``s''`` derived from the tightest joint bound every joint. Two scalings:

- ``trapezoidal``: constant acceleration, cruise, constant deceleration (a triangle when the
  cruise speed is never reached): the fastest motion within the limits.
- ``quintic``: ``s = 10 τ³ − 15 τ⁴ + 6 τ⁵``, smooth (zero velocity and acceleration at both
  ends, continuous acceleration), with peak velocity 15/8 and peak acceleration 10/√3 (per unit
  path and time) setting its duration.

Pure NumPy; no physics engine involved.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import CubicSpline

__all__ = ["JointMotion", "SplineMotion", "plan_motion", "limit_ratios"]

_QUINTIC_PEAK_V = 15.0 / 8.0
_QUINTIC_PEAK_A = 10.0 / math.sqrt(3.0)


@dataclass(frozen=True)
class JointMotion:
    """A planned joint-space motion; evaluate it with :meth:`at` or :meth:`sample`."""

    q0: np.ndarray
    q1: np.ndarray
    duration_s: float
    profile: str
    v_peak: float  # peak ds/dt (1/s)
    a_peak: float  # peak d2s/dt2 (1/s²); for trapezoidal, the (de)acceleration used
    t_accel_s: float  # trapezoidal: length of the acceleration phase

    def _scaling(self, t: np.ndarray):
        T = self.duration_s
        if T == 0.0:
            z = np.zeros_like(t)
            return np.ones_like(t), z, z
        t = np.clip(t, 0.0, T)
        if self.profile == "quintic":
            tau = t / T
            s = tau ** 3 * (10 - 15 * tau + 6 * tau ** 2)
            sd = 30 * tau ** 2 * (1 - tau) ** 2 / T
            sdd = 60 * tau * (1 - tau) * (1 - 2 * tau) / T ** 2
            return s, sd, sdd
        a, v, ta = self.a_peak, self.v_peak, self.t_accel_s
        s = np.where(t < ta, 0.5 * a * t ** 2,
                     np.where(t <= T - ta, 0.5 * a * ta ** 2 + v * (t - ta), 1.0 - 0.5 * a * (T - t) ** 2))
        sd = np.where(t < ta, a * t, np.where(t <= T - ta, v, a * (T - t)))
        sdd = np.where(t < ta, a, np.where(t <= T - ta, 0.0, -a))
        return s, sd, sdd

    def at(self, t) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Joint positions, velocities and accelerations at time(s) ``t``: arrays of shape (..., n)."""
        s, sd, sdd = self._scaling(np.asarray(t, float))
        dq = self.q1 - self.q0
        return (self.q0 + s[..., None] * dq, sd[..., None] * dq, sdd[..., None] * dq)

    def sample(self, dt_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(t, q, qd, qdd) every ``dt_s``, ending exactly at the duration."""
        n = max(1, math.ceil(self.duration_s / dt_s - 1e-9))
        t = np.minimum(np.arange(n + 1) * dt_s, self.duration_s)
        return (t, *self.at(t))


def plan_motion(q0, q1, v_max, a_max, profile: str = "quintic") -> JointMotion:
    """The fastest motion of the given profile from ``q0`` to ``q1`` within per-joint limits.

    Args:
        q0, q1: joint positions (rad or m), shape (n,).
        v_max, a_max: per-joint velocity (/s) and acceleration (/s²) limits, > 0, shape (n,).
        profile: ``"quintic"`` or ``"trapezoidal"``.
    """
    q0 = np.asarray(q0, float)
    q1 = np.asarray(q1, float)
    v_max = np.broadcast_to(np.asarray(v_max, float), q0.shape)
    a_max = np.broadcast_to(np.asarray(a_max, float), q0.shape)
    if profile not in ("quintic", "trapezoidal"):
        raise ValueError(f"profile must be 'quintic' or 'trapezoidal', got {profile!r}")
    if np.any(v_max <= 0) or np.any(a_max <= 0):
        raise ValueError("velocity and acceleration limits must be > 0")
    dq = np.abs(q1 - q0)
    moving = dq > 0
    if not moving.any():
        return JointMotion(q0, q1, 0.0, profile, 0.0, 0.0, 0.0)
    # limits on the path parameter: |dq_j| * s' <= v_j and |dq_j| * s'' <= a_j for every joint
    vs = float(np.min(v_max[moving] / dq[moving]))
    as_ = float(np.min(a_max[moving] / dq[moving]))
    if profile == "quintic":
        T = max(_QUINTIC_PEAK_V / vs, math.sqrt(_QUINTIC_PEAK_A / as_))
        return JointMotion(q0, q1, T, profile, _QUINTIC_PEAK_V / T, _QUINTIC_PEAK_A / T ** 2, 0.0)
    if vs * vs / as_ >= 1.0:  # the cruise speed is never reached: triangle
        ta = math.sqrt(1.0 / as_)
        return JointMotion(q0, q1, 2 * ta, profile, as_ * ta, as_, ta)
    ta = vs / as_
    T = 1.0 / vs + ta
    return JointMotion(q0, q1, T, profile, vs, as_, ta)


@dataclass(frozen=True)
class SplineMotion:
    """A joint motion through timed knots (e.g. IK solutions along a Cartesian path).

    A clamped cubic spline through ``(t_knots, q_knots)``: positions pass through every knot,
    velocity is zero at both ends, acceleration is continuous. Used where the timing is imposed
    from outside (tracking a part on a moving belt), so the limits are checked, not planned:
    see :func:`limit_ratios`.
    """

    t_knots: np.ndarray
    q_knots: np.ndarray

    @property
    def duration_s(self) -> float:
        return float(self.t_knots[-1] - self.t_knots[0])

    def _spline(self):
        zero = np.zeros(self.q_knots.shape[1])
        return CubicSpline(self.t_knots - self.t_knots[0], self.q_knots, bc_type=((1, zero), (1, zero)))

    def at(self, t) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        spline = self._spline()
        t = np.clip(np.asarray(t, float), 0.0, self.duration_s)
        return spline(t), spline(t, 1), spline(t, 2)

    def sample(self, dt_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(t, q, qd, qdd) every ``dt_s``, ending exactly at the duration."""
        n = max(1, math.ceil(self.duration_s / dt_s - 1e-9))
        t = np.minimum(np.arange(n + 1) * dt_s, self.duration_s)
        return (t, *self.at(t))


def limit_ratios(motion, v_max, a_max, dt_s: float) -> tuple[float, float]:
    """Peak |velocity| / limit and |acceleration| / limit over all joints and samples of ``motion``.

    Both at most 1 means the motion is within the limits at every sample (every ``dt_s``).
    """
    _, _, qd, qdd = motion.sample(dt_s)
    return (float(np.max(np.abs(qd) / np.asarray(v_max, float))),
            float(np.max(np.abs(qdd) / np.asarray(a_max, float))))
