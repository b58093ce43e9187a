"""Cameras in a World: RGB, metric depth and segmentation, from pinhole intrinsics.

Conventions (OpenCV's, which vision code expects): the camera frame has +z along the optical axis,
+x to the right of the image and +y down it; pixel (u, v) has u along a row (to the right) and v
down the columns, (0, 0) the top-left pixel's corner. Intrinsics are ``fx, fy, cx, cy`` in pixels,
from a horizontal field of view or a K matrix. Depth is metric: the distance along the optical axis
(camera z), linearised from the renderer's depth buffer, and ``far_m`` where nothing was hit.

A camera is fixed (a pose in the world, or ``look_at``) or mounted on a link of a body (a robot's
wrist), with a fixed offset in that link's frame. It renders at its own rate (``due``) with the
World's renderer (EGL or TinyRenderer; ``World(renderer=...)``), and adds seeded Gaussian noise to
pixels and depth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from ..errors import UsageError
from ..physics._bullet import quiet_stdout
from ..physics.world import World

__all__ = ["Intrinsics", "Camera", "Frame", "look_at"]


@njit(cache=True)
def _decode(zbuf, seg, near, far, depth, body, link):
    """One pass over the image: depth buffer -> metric depth (far where nothing was hit), the
    segmentation value -> body id and link index (PyBullet packs ``body + ((link + 1) << 24)``)."""
    h, w = zbuf.shape
    for v in range(h):
        for u in range(w):
            s = seg[v, u]
            if s < 0:
                depth[v, u] = far
                body[v, u] = -1
                link[v, u] = -1
            else:
                depth[v, u] = far * near / (far - (far - near) * zbuf[v, u])
                body[v, u] = s & 0xFFFFFF
                link[v, u] = (s >> 24) - 1


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics of a ``width`` x ``height`` image (pixels)."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float

    def __post_init__(self) -> None:
        problems = []
        if not (isinstance(self.width, int) and isinstance(self.height, int) and 1 <= self.width <= 8192
                and 1 <= self.height <= 8192):
            problems.append(f"width and height must be whole numbers of pixels in 1..8192, got "
                            f"{self.width} x {self.height}")
        for key in ("fx", "fy", "cx", "cy"):
            if not math.isfinite(getattr(self, key)):
                problems.append(f"{key} must be finite")
        if not problems:
            if self.fx <= 0 or self.fy <= 0:
                problems.append(f"focal lengths must be > 0, got fx={self.fx}, fy={self.fy}")
            if not (0 <= self.cx <= self.width and 0 <= self.cy <= self.height):
                problems.append(f"the principal point ({self.cx}, {self.cy}) is outside the "
                                f"{self.width} x {self.height} image")
        if problems:
            raise UsageError("invalid intrinsics: " + "; ".join(problems))

    @classmethod
    def from_fov(cls, width: int, height: int, fov_deg: float) -> Intrinsics:
        """Square pixels, principal point at the centre, ``fov_deg`` the horizontal field of view."""
        if not (math.isfinite(fov_deg) and 0 < fov_deg < 180):
            raise UsageError(f"invalid intrinsics: fov_deg must be in (0, 180), got {fov_deg}")
        f = 0.5 * width / math.tan(math.radians(0.5 * fov_deg))
        return cls(int(width), int(height), f, f, 0.5 * width, 0.5 * height)

    @classmethod
    def from_matrix(cls, width: int, height: int, k) -> Intrinsics:
        """From a 3x3 K matrix ``[[fx, 0, cx], [0, fy, cy], [0, 0, 1]]`` (skew must be 0)."""
        k = np.asarray(k, float)
        if k.shape != (3, 3) or k[0, 1] != 0 or k[1, 0] != 0 or k[2, 0] != 0 or k[2, 1] != 0 or k[2, 2] != 1:
            raise UsageError(f"invalid intrinsics: K must be [[fx, 0, cx], [0, fy, cy], [0, 0, 1]], got {k.tolist()}")
        return cls(int(width), int(height), float(k[0, 0]), float(k[1, 1]), float(k[0, 2]), float(k[1, 2]))

    @property
    def matrix(self) -> np.ndarray:
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    def projection(self, near_m: float, far_m: float) -> list[float]:
        """OpenGL projection matrix (column-major, as PyBullet takes it) with this principal point."""
        w, h, n, f = self.width, self.height, near_m, far_m
        p = np.array([
            [2 * self.fx / w, 0.0, 1.0 - 2 * self.cx / w, 0.0],
            [0.0, 2 * self.fy / h, 2 * self.cy / h - 1.0, 0.0],
            [0.0, 0.0, -(f + n) / (f - n), -2 * f * n / (f - n)],
            [0.0, 0.0, -1.0, 0.0],
        ])
        return p.T.reshape(-1).tolist()


@dataclass(frozen=True)
class Frame:
    """One capture. ``rgb`` uint8 (H, W, 3); ``depth_m`` float32 (H, W), camera z, ``far_m`` where
    nothing was hit; ``body`` int32 (H, W), the PyBullet body seen (-1: none); ``link`` int32 (H, W),
    its link (-1: base); ``pose`` (R 3x3, t 3) of the camera frame in the world at capture time."""

    t_s: float
    rgb: np.ndarray
    depth_m: np.ndarray
    body: np.ndarray
    link: np.ndarray
    rotation: np.ndarray
    translation: np.ndarray
    intrinsics: Intrinsics
    far_m: float


def look_at(eye_xyz, target_xyz, up=(0.0, 0.0, 1.0)) -> tuple[np.ndarray, np.ndarray]:
    """Camera pose (R, t) at ``eye_xyz`` looking at ``target_xyz``, image up along ``up``."""
    eye = np.asarray(eye_xyz, float)
    forward = np.asarray(target_xyz, float) - eye
    if np.linalg.norm(forward) == 0:
        raise UsageError("look_at: the camera is at its target")
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, np.asarray(up, float))
    if np.linalg.norm(right) < 1e-9:  # looking along `up`: any right will do
        right = np.cross(forward, [0.0, 1.0, 0.0] if abs(forward[1]) < 0.9 else [1.0, 0.0, 0.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    return np.column_stack([right, down, forward]), eye


class Camera:
    """An RGB-D camera with segmentation.

    Args:
        world: the World it looks into.
        name: sensor name (for messages and files).
        intrinsics: image size and pinhole parameters.
        pose: (R, t) of the camera frame in the world, for a fixed camera (see :func:`look_at`).
        mount: (body id, link index, (R, t) offset in that link's frame) for a mounted camera.
        near_m, far_m: clipping range (depth beyond ``far_m`` reads ``far_m``).
        rate_hz: how often it captures (:meth:`due`).
        depth_noise_m, pixel_noise: standard deviations of Gaussian noise on depth and on RGB (0-255).
        seed: noise stream seed.
    """

    def __init__(self, world: World, name: str, intrinsics: Intrinsics, *, pose=None, mount=None,
                 near_m: float = 0.05, far_m: float = 10.0, rate_hz: float = 15.0, depth_noise_m: float = 0.0,
                 pixel_noise: float = 0.0, seed: int = 0) -> None:
        if (pose is None) == (mount is None):
            raise UsageError(f"camera {name!r}: give exactly one of pose and mount")
        if not (0 < near_m < far_m and math.isfinite(far_m)):
            raise UsageError(f"camera {name!r}: need 0 < near_m < far_m, got {near_m}, {far_m}")
        if not (math.isfinite(rate_hz) and rate_hz > 0):
            raise UsageError(f"camera {name!r}: rate_hz must be > 0, got {rate_hz}")
        if depth_noise_m < 0 or pixel_noise < 0:
            raise UsageError(f"camera {name!r}: noise must be >= 0")
        self.world, self.name, self.intrinsics = world, name, intrinsics
        self.near_m, self.far_m, self.rate_hz = float(near_m), float(far_m), float(rate_hz)
        self.depth_noise_m, self.pixel_noise = float(depth_noise_m), float(pixel_noise)
        self._pose = None if pose is None else (np.asarray(pose[0], float), np.asarray(pose[1], float))
        self._mount = mount
        self._projection = intrinsics.projection(self.near_m, self.far_m)
        # EGL (OpenGL) samples pixel (u, v) at its centre, as this module assumes; TinyRenderer's
        # pixels sit half a pixel off each way (measured against EGL: a box's edges move by half a
        # pixel). Shifting its principal point by (-1/2, +1/2) makes both renderers see the same rays.
        k = intrinsics
        self._projection_tiny = Intrinsics(k.width, k.height, k.fx, k.fy, k.cx - 0.5, k.cy + 0.5).projection(
            self.near_m, self.far_m) if k.cx >= 0.5 and k.cy + 0.5 <= k.height else self._projection
        self._rng = np.random.default_rng(seed)
        self._next_t = 0.0

    def reseed(self, seed: int) -> None:
        """Restart the noise stream (a rig that judges parts one by one seeds it per part, so a
        part's picture does not depend on how many came before)."""
        self._rng = np.random.default_rng(seed)

    def due(self, t_s: float) -> bool:
        """Whether a capture is due at ``t_s`` (its own rate); marks it taken when so."""
        if t_s + 1e-9 < self._next_t:
            return False
        self._next_t = max(self._next_t + 1.0 / self.rate_hz, t_s)
        return True

    def pose(self) -> tuple[np.ndarray, np.ndarray]:
        """(R, t) of the camera frame in the world now."""
        if self._pose is not None:
            return self._pose
        body, link, (r_off, t_off) = self._mount
        c = self.world.client
        if link < 0:
            pos, quat = c.getBasePositionAndOrientation(body)
        else:
            state = c.getLinkState(body, link, computeForwardKinematics=True)
            pos, quat = state[4], state[5]
        r_link = np.array(c.getMatrixFromQuaternion(quat)).reshape(3, 3)
        return r_link @ r_off, np.asarray(pos) + r_link @ t_off

    def view_matrix(self) -> list[float]:
        """OpenGL view matrix (column-major) of the current pose."""
        r, t = self.pose()
        gl = np.diag([1.0, -1.0, -1.0]) @ r.T  # camera frame (x right, y down, z forward) -> GL axes
        m = np.eye(4)
        m[:3, :3] = gl
        m[:3, 3] = -gl @ t
        return m.T.reshape(-1).tolist()

    def capture(self, t_s: float | None = None) -> Frame:
        """Render now: RGB, metric depth, segmentation; ``t_s`` stamps the frame (default: the
        World's physics time)."""
        k = self.intrinsics
        c = self.world.client
        r, t = self.pose()
        args = (k.width, k.height, self.view_matrix(),
                self._projection if self.world.renderer == "egl" else self._projection_tiny)
        kwargs = dict(renderer=self.world.render_flag, flags=c.ER_SEGMENTATION_MASK_OBJECT_AND_LINKINDEX)
        if self.world.renderer == "egl" and not getattr(self.world, "_egl_greeted", False):
            with quiet_stdout():  # the EGL context announces its vendor on the first frame
                _, _, rgba, zbuf, seg = c.getCameraImage(*args, **kwargs)
            self.world._egl_greeted = True
        else:
            _, _, rgba, zbuf, seg = c.getCameraImage(*args, **kwargs)
        rgb = np.asarray(rgba, np.uint8).reshape(k.height, k.width, 4)[:, :, :3]
        depth = np.empty((k.height, k.width), np.float32)
        body = np.empty((k.height, k.width), np.int32)
        link = np.empty((k.height, k.width), np.int32)
        _decode(np.asarray(zbuf, np.float32).reshape(k.height, k.width),
                np.asarray(seg, np.int32).reshape(k.height, k.width), self.near_m, self.far_m, depth, body, link)
        n, f = self.near_m, self.far_m
        if self.depth_noise_m > 0:
            hit = body >= 0
            noisy = depth + self._rng.normal(0.0, self.depth_noise_m, depth.shape).astype(np.float32)
            depth = np.where(hit, np.clip(noisy, n, f), depth).astype(np.float32)
        if self.pixel_noise > 0:
            rgb = np.clip(rgb + self._rng.normal(0.0, self.pixel_noise, rgb.shape), 0, 255).astype(np.uint8)
        else:
            rgb = rgb.copy()
        return Frame(self.world.time_s if t_s is None else float(t_s), rgb, depth, body, link, r, t, k, f)
