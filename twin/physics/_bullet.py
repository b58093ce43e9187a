"""The only module of twin that imports pybullet (a test enforces it).

``BulletClient`` binds one physics client id once, the way pybullet_utils' ``BulletClient`` does,
so that no call can silently reach another world or a global default client. The few PyBullet
results twin reads are converted here into small named types; PyBullet's camelCase stays in this
module. Quaternions are ``(x, y, z, w)``, PyBullet's order, everywhere in twin.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import sys
from dataclasses import dataclass

from ..errors import SimulationError


def _flush_c_stdio() -> None:
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):  # no C library to reach (e.g. some Windows builds)
        pass


@contextlib.contextmanager
def _quiet_stdout():
    """Silence C-level prints to stdout and stderr (PyBullet announces its build time and argv)
    so that CLI output stays clean; a no-op where they have no file descriptor (e.g. captured by a
    test)."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = [os.dup(1), os.dup(2)]
    except (OSError, ValueError, AttributeError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        _flush_c_stdio()  # C's stdio buffers would otherwise reach the real streams later
        for fd, old in zip((1, 2), saved, strict=True):
            os.dup2(old, fd)
            os.close(old)
        os.close(devnull)


with _quiet_stdout():
    import pybullet as _pb
    import pybullet_data

__all__ = ["BulletClient", "BodyState", "DIRECT", "GUI", "GEOM_BOX", "GEOM_MESH", "JOINT_FIXED", "DATA_PATH", "euler_to_quat",
           "egl_plugin_path", "quiet_stdout", "vhacd"]

DIRECT = _pb.DIRECT
GUI = _pb.GUI
GEOM_BOX = _pb.GEOM_BOX
GEOM_MESH = _pb.GEOM_MESH
JOINT_FIXED = _pb.JOINT_FIXED
DATA_PATH = pybullet_data.getDataPath()


@dataclass(frozen=True)
class BodyState:
    """Pose and velocity of a body's base (SI units, quaternion xyzw)."""

    xyz_m: tuple[float, float, float]
    quat_xyzw: tuple[float, float, float, float]
    linear_mps: tuple[float, float, float]
    angular_radps: tuple[float, float, float]


def egl_plugin_path() -> str | None:
    """File of PyBullet's EGL renderer plugin (GPU or Mesa llvmpipe offscreen rendering), if shipped."""
    import importlib.util

    spec = importlib.util.find_spec("eglRenderer")
    return spec.origin if spec is not None else None


quiet_stdout = _quiet_stdout


def vhacd(mesh_in: str, mesh_out: str, log_file: str) -> None:
    """PyBullet's V-HACD convex decomposition of an OBJ file (no physics client needed)."""
    with _quiet_stdout():
        _pb.vhacd(mesh_in, mesh_out, log_file)


def euler_to_quat(roll_rad: float, pitch_rad: float, yaw_rad: float) -> tuple[float, float, float, float]:
    """Quaternion (xyzw) of fixed-axis roll, pitch, yaw rotations (radians)."""
    return tuple(_pb.getQuaternionFromEuler((roll_rad, pitch_rad, yaw_rad)))


class BulletClient:
    """One PyBullet physics client; every call made through it names that client.

    Attribute access returns the pybullet function with ``physicsClientId`` bound, so
    ``client.stepSimulation()`` steps this client and no other.
    """

    def __init__(self, mode: int = DIRECT, options: str = "") -> None:
        with _quiet_stdout():
            self._id = _pb.connect(mode, options=options)
        if self._id < 0:
            raise SimulationError("PyBullet could not start a physics client "
                                  f"({'GUI' if mode == GUI else 'DIRECT'} mode)")

    @property
    def id(self) -> int:
        """The client id, or -1 once disconnected."""
        return self._id

    @property
    def connected(self) -> bool:
        return self._id >= 0

    def __getattr__(self, name: str):
        attr = getattr(_pb, name)
        if not callable(attr):
            return attr
        if self._id < 0:
            raise SimulationError(f"physics client is closed; cannot call {name}()")
        bound = functools.partial(attr, physicsClientId=self._id)
        self.__dict__[name] = bound  # later lookups skip __getattr__ (hot loops call these a lot)
        return bound

    def body_state(self, body: int) -> BodyState:
        """Base pose and velocity of ``body``."""
        xyz, quat = self.getBasePositionAndOrientation(body)
        lin, ang = self.getBaseVelocity(body)
        return BodyState(tuple(xyz), tuple(quat), tuple(lin), tuple(ang))

    def disconnect(self) -> None:
        """Release the client (idempotent)."""
        if self._id >= 0:
            _pb.disconnect(physicsClientId=self._id)
            self._id = -1
            # drop the bound calls, so that a call after closing goes through __getattr__ and fails clearly
            for name in [k for k, v in self.__dict__.items() if isinstance(v, functools.partial)]:
                del self.__dict__[name]
