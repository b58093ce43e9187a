"""``World``: one PyBullet physics world, owned explicitly and closed explicitly.

A World owns exactly one physics client (``BulletClient``) and sets the time step, gravity and
solver iterations on it explicitly rather than relying on Bullet's defaults. Bodies are named
(hierarchical scene names) and looked up by name. Two Worlds in one process never share state.
Use it as a context manager, or call :meth:`close`; nothing relies on garbage collection.
"""

from __future__ import annotations

import difflib
import logging
import math
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..errors import SceneError, SimulationError, UsageError
from ._bullet import (
    DATA_PATH,
    DIRECT,
    GEOM_BOX,
    GEOM_MESH,
    GUI,
    JOINT_FIXED,
    BodyState,
    BulletClient,
    egl_plugin_path,
    euler_to_quat,
    quiet_stdout,
)
from .urdf import diagnose_urdf

__all__ = ["World", "BodyState"]

_log = logging.getLogger("twin.physics")

Vec3 = tuple[float, float, float]

#: Most shapes one PyBullet collision or visual shape array takes (it ignores or crashes on more).
_MAX_SHAPE_ARRAY = 16


def _x_display_problem() -> str | None:
    """Why PyBullet's window cannot open on this X display, or None if it can (PyBullet itself
    would end the process on a failed connection, without a word on stderr)."""
    display = os.environ.get("DISPLAY")
    if not display:
        return "DISPLAY is not set (no graphical session)"
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("X11")
    if name is None:
        return "the X11 client library (libX11) is not installed"
    try:
        x11 = ctypes.CDLL(name)
    except OSError as exc:
        return f"the X11 client library cannot be loaded ({exc})"
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    handle = x11.XOpenDisplay(display.encode())
    if not handle:
        return f"cannot connect to the X display {display!r} (DISPLAY)"
    x11.XCloseDisplay(handle)
    return None


class World:
    """A physics world.

    Args:
        physics_hz: physics rate; each :meth:`step` advances ``1 / physics_hz`` seconds (default
            240 Hz, Bullet's usual rate: fast enough for stable contacts of boxes a few cm big).
        gravity_mps2: gravity vector (m/s²).
        solver_iterations: constraint solver iterations per step (more = stiffer contacts).
        gui: open PyBullet's window (needs a display) instead of headless DIRECT mode.
        renderer: for cameras: ``"tiny"`` (PyBullet's CPU TinyRenderer), ``"egl"`` (the EGL
            plugin: a GPU, or Mesa's llvmpipe on CPU; an error if it does not work), ``"auto"`` (EGL
            where it loads and renders a non-empty image, else TinyRenderer), or ``None`` (no
            cameras planned: TinyRenderer, nothing loaded). EGL must be loaded before any body
            exists, so it is chosen here; ``self.renderer`` says which one is used, and the choice
            is logged.
    """

    def __init__(self, *, physics_hz: float = 240.0, gravity_mps2: Vec3 = (0.0, 0.0, -9.81),
                 solver_iterations: int = 50, gui: bool = False, renderer: str | None = None) -> None:
        if not (math.isfinite(physics_hz) and physics_hz > 0):
            raise UsageError(f"physics_hz must be > 0, got {physics_hz}")
        if solver_iterations < 1:
            raise UsageError(f"solver_iterations must be >= 1, got {solver_iterations}")
        if gui and sys.platform.startswith("linux"):
            problem = _x_display_problem()
            if problem:
                raise UsageError(f"--gui needs a display: {problem}; run without --gui for headless simulation")
        self.physics_hz = float(physics_hz)
        self.dt_s = 1.0 / self.physics_hz
        self._client = BulletClient(GUI if gui else DIRECT)
        c = self._client
        c.resetSimulation()
        c.setTimeStep(self.dt_s)
        c.setGravity(*gravity_mps2)
        c.setPhysicsEngineParameter(numSolverIterations=int(solver_iterations), numSubSteps=0)
        c.setAdditionalSearchPath(DATA_PATH)
        if renderer not in (None, "tiny", "egl", "auto"):
            raise UsageError(f"renderer must be 'auto', 'egl' or 'tiny', got {renderer!r}")
        self.renderer = "tiny"
        self._egl_plugin = -1
        if renderer in ("egl", "auto") and not gui:
            self._try_egl(required=renderer == "egl")
        if renderer is not None:
            _log.info("World renderer: %s", self.renderer)
        self._bodies: dict[str, int] = {}
        self._steps = 0
        self._hooks: list[Callable[[float], None]] = []
        self._tmp: tempfile.TemporaryDirectory | None = None  # files some bodies need (mesh visuals)

    def _try_egl(self, required: bool) -> None:
        """Load the EGL plugin (before any body exists, or it renders empty images) and check that
        it renders a probe box; fall back to TinyRenderer unless ``required``."""
        c = self._client
        path = egl_plugin_path()
        reason = "PyBullet ships no EGL plugin here"
        if path is not None:
            with quiet_stdout():
                plugin = c.loadPlugin(path, "_eglRendererPlugin")
            if plugin < 0:
                reason = "the EGL plugin did not load (no libEGL? install libegl1 libegl-mesa0 libgl1-mesa-dri)"
            else:
                shape = c.createCollisionShape(GEOM_BOX, halfExtents=[0.5, 0.5, 0.5])
                probe = c.createMultiBody(baseMass=0, baseCollisionShapeIndex=shape, basePosition=[0, 0, -50])
                view = c.computeViewMatrix([0, 0, -47], [0, 0, -50], [0, 1, 0])
                proj = c.computeProjectionMatrixFOV(60, 1.0, 0.1, 10)
                with quiet_stdout():
                    _, _, _, _, seg = c.getCameraImage(16, 16, view, proj, renderer=c.ER_BULLET_HARDWARE_OPENGL)
                c.removeBody(probe)
                if probe in set(np.asarray(seg).ravel().tolist()):
                    self.renderer, self._egl_plugin = "egl", plugin
                    return
                with quiet_stdout():
                    c.unloadPlugin(plugin)
                reason = "the EGL plugin rendered an empty image"
        if required:
            raise SimulationError(f"renderer 'egl' is not available: {reason}")
        _log.info("EGL renderer not used (%s); using TinyRenderer", reason)

    @property
    def render_flag(self) -> int:
        """PyBullet's renderer constant for getCameraImage."""
        c = self.client
        return c.ER_BULLET_HARDWARE_OPENGL if self.renderer == "egl" else c.ER_TINY_RENDERER

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> World:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Release the physics client (idempotent)."""
        with quiet_stdout():  # the EGL plugin says goodbye on stdout
            self._client.disconnect()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    @property
    def closed(self) -> bool:
        return self._client.id < 0

    @property
    def client(self) -> BulletClient:
        """The bound physics client, for modules of ``twin.physics`` that build on the world."""
        if self._client.id < 0:  # read every physics step by belts and grippers: kept to one check
            raise SimulationError("this World is closed")
        return self._client

    def _check_open(self) -> None:
        if self._client.id < 0:
            raise SimulationError("this World is closed")

    # -- bodies ------------------------------------------------------------------------------

    def add_floor(self, name: str = "floor", friction: float = 0.8) -> int:
        """A static ground plane at z = 0."""
        self._check_new(name)
        body = self.client.loadURDF("plane.urdf", useFixedBase=True)
        self.client.changeDynamics(body, -1, lateralFriction=float(friction))
        self._bodies[name] = body
        return body

    def add_box(self, name: str, half_extents_m: Vec3, xyz_m: Vec3, *, yaw_rad: float = 0.0,
                mass_kg: float = 0.0, friction: float = 0.6,
                rgba: Sequence[float] = (0.6, 0.6, 0.65, 1.0)) -> int:
        """A box body; ``mass_kg = 0`` makes it static (a machine, a conveyor frame, a rack).

        Damping is set to zero so that free motion follows Newton exactly; contacts and friction
        are what slow bodies down.
        """
        self._check_new(name)
        if any(not (math.isfinite(h) and h > 0) for h in half_extents_m):
            raise UsageError(f"{name}: half_extents_m must be > 0, got {tuple(half_extents_m)}")
        if not (math.isfinite(mass_kg) and mass_kg >= 0):
            raise UsageError(f"{name}: mass_kg must be >= 0, got {mass_kg}")
        c = self.client
        shape = c.createCollisionShape(GEOM_BOX, halfExtents=list(half_extents_m))
        visual = c.createVisualShape(GEOM_BOX, halfExtents=list(half_extents_m), rgbaColor=list(rgba))
        body = c.createMultiBody(baseMass=float(mass_kg), baseCollisionShapeIndex=shape,
                                 baseVisualShapeIndex=visual, basePosition=list(xyz_m),
                                 baseOrientation=euler_to_quat(0.0, 0.0, yaw_rad))
        c.changeDynamics(body, -1, lateralFriction=float(friction), linearDamping=0.0, angularDamping=0.0)
        if mass_kg > 0:
            # a body at rest for a while sleeps (no contact work each step) until something touches
            # or moves it: 20 parts resting on the floor cost 5x less per step
            c.changeDynamics(body, -1, activationState=c.ACTIVATION_STATE_ENABLE_SLEEPING)
        self._bodies[name] = body
        return body

    def add_compound(self, name: str, boxes, xyz_m: Vec3, *, yaw_rad: float = 0.0, mass_kg: float = 0.0,
                     friction: float = 0.6) -> int:
        """One rigid body made of boxes: ``boxes`` is a list of (half extents, centre offset, rgba)
        in the body's frame (e.g. a plate with a hole: four boxes around it)."""
        self._check_new(name)
        if not boxes:
            raise UsageError(f"{name}: a compound needs at least one box")
        c = self.client
        halves = [list(map(float, b[0])) for b in boxes]
        offsets = [list(map(float, b[1])) for b in boxes]
        # PyBullet's shape arrays take at most 16 shapes (it drops or crashes on the rest): boxes
        # beyond the first 16 go, 16 at a time, into links fixed to the base at its origin
        chunks = [range(k, min(k + _MAX_SHAPE_ARRAY, len(boxes))) for k in range(0, len(boxes), _MAX_SHAPE_ARRAY)]
        volume = [math.prod(h) for h in halves]
        total = sum(volume)
        shapes, visuals, masses = [], [], []
        for chunk in chunks:
            hs, os_ = [halves[i] for i in chunk], [offsets[i] for i in chunk]
            shapes.append(c.createCollisionShapeArray([GEOM_BOX] * len(chunk), halfExtents=hs,
                                                      collisionFramePositions=os_))
            visuals.append(c.createVisualShapeArray([GEOM_BOX] * len(chunk), halfExtents=hs, visualFramePositions=os_,
                                                    rgbaColors=[list(map(float, boxes[i][2])) for i in chunk]))
            masses.append(float(mass_kg) * sum(volume[i] for i in chunk) / total if total > 0 else 0.0)
        links = len(chunks) - 1
        body = c.createMultiBody(baseMass=masses[0], baseCollisionShapeIndex=shapes[0], baseVisualShapeIndex=visuals[0],
                                 basePosition=list(xyz_m), baseOrientation=euler_to_quat(0.0, 0.0, yaw_rad),
                                 linkMasses=masses[1:], linkCollisionShapeIndices=shapes[1:],
                                 linkVisualShapeIndices=visuals[1:], linkPositions=[[0.0, 0.0, 0.0]] * links,
                                 linkOrientations=[[0.0, 0.0, 0.0, 1.0]] * links,
                                 linkInertialFramePositions=[[0.0, 0.0, 0.0]] * links,
                                 linkInertialFrameOrientations=[[0.0, 0.0, 0.0, 1.0]] * links,
                                 linkParentIndices=[0] * links, linkJointTypes=[JOINT_FIXED] * links,
                                 linkJointAxis=[[0.0, 0.0, 0.0]] * links)
        for link in range(-1, links):
            c.changeDynamics(body, link, lateralFriction=float(friction))
        if mass_kg > 0:
            c.changeDynamics(body, -1, activationState=c.ACTIVATION_STATE_ENABLE_SLEEPING)
        self._bodies[name] = body
        return body

    def add_mesh(self, name: str, mesh, xyz_m: Vec3, *, yaw_rad: float = 0.0, mass_kg: float = 0.0,
                 friction: float = 0.6, rgba: Sequence[float] = (0.6, 0.6, 0.65, 1.0)) -> int:
        """A body from a ``MeshData`` (``twin.physics.assets``), its origin at ``xyz_m``.

        A static body (``mass_kg = 0``) collides with the exact triangles; a dynamic one with their
        convex hull (Bullet simulates only convex shapes as moving bodies).
        """
        self._check_new(name)
        if not (math.isfinite(mass_kg) and mass_kg >= 0):
            raise UsageError(f"{name}: mass_kg must be >= 0, got {mass_kg}")
        c = self.client
        vertices = mesh.vertices.tolist()
        indices = mesh.faces.reshape(-1).tolist()
        if mass_kg > 0:
            shape = c.createCollisionShape(GEOM_MESH, vertices=vertices)
        else:
            shape = c.createCollisionShape(GEOM_MESH, vertices=vertices, indices=indices)
        # the EGL renderer draws mesh visuals only from files: write the triangles as an OBJ
        obj = self._asset_dir() / f"mesh{len(self._bodies)}_{abs(hash(name)) % 10**8}.obj"
        obj.write_text("".join(f"v {x:.9g} {y:.9g} {z:.9g}\n" for x, y, z in mesh.vertices)
                       + "".join(f"f {a + 1} {b + 1} {d + 1}\n" for a, b, d in mesh.faces))
        visual = c.createVisualShape(GEOM_MESH, fileName=str(obj), rgbaColor=list(rgba))
        body = c.createMultiBody(baseMass=float(mass_kg), baseCollisionShapeIndex=shape,
                                 baseVisualShapeIndex=visual, basePosition=list(xyz_m),
                                 baseOrientation=euler_to_quat(0.0, 0.0, yaw_rad))
        c.changeDynamics(body, -1, lateralFriction=float(friction))
        if mass_kg > 0:
            c.changeDynamics(body, -1, activationState=c.ACTIVATION_STATE_ENABLE_SLEEPING)
        self._bodies[name] = body
        return body

    def _asset_dir(self) -> Path:
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="twin-world-")
        return Path(self._tmp.name)

    def add_urdf(self, name: str, urdf: str, xyz_m: Vec3 = (0.0, 0.0, 0.0),
                 quat_xyzw: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 1.0),
                 fixed_base: bool = True) -> int:
        """Load a URDF (a path, or one inside ``pybullet_data``) as body ``name``.

        Inertia comes from the file (``URDF_USE_INERTIA_FROM_FILE``) rather than being recomputed.
        """
        self._check_new(name)
        c = self.client
        try:
            with quiet_stdout():  # PyBullet's parser notes go to the C stdout; a failure is named below
                body = c.loadURDF(urdf, basePosition=list(xyz_m), baseOrientation=list(quat_xyzw),
                                  useFixedBase=bool(fixed_base), flags=c.URDF_USE_INERTIA_FROM_FILE)
        except Exception:  # pybullet.error, whatever the cause: find and name it
            path = urdf if os.path.isabs(urdf) or os.path.exists(urdf) else os.path.join(DATA_PATH, urdf)
            reason = diagnose_urdf(path) or "PyBullet cannot load it"
            raise SceneError(f"URDF {urdf!r} cannot be loaded: {reason}") from None
        self._bodies[name] = body
        return body

    def remove(self, name: str) -> None:
        """Remove body ``name`` from the world."""
        self.client.removeBody(self.body(name))
        del self._bodies[name]

    def body(self, name: str) -> int:
        """The PyBullet body id of ``name``."""
        try:
            return self._bodies[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._bodies, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise SimulationError(f"no body named {name!r} in this world.{hint} "
                                  f"Valid: {sorted(self._bodies)}") from None

    def names(self) -> list[str]:
        """Names of all bodies, in creation order."""
        return list(self._bodies)

    def state(self, name: str) -> BodyState:
        """Pose and velocity of body ``name``."""
        return self.client.body_state(self.body(name))

    def set_pose(self, name: str, xyz_m: Vec3, quat_xyzw: tuple[float, float, float, float] = (0, 0, 0, 1)) -> None:
        """Move body ``name`` kinematically (teleport), e.g. a part following the core on a conveyor.

        The body is woken up, so that a body that was asleep at rest falls or collides from its new pose.
        """
        body = self.body(name)
        self.client.resetBasePositionAndOrientation(body, list(xyz_m), list(quat_xyzw))
        self.wake(name)

    def wake(self, name: str) -> None:
        """Wake body ``name`` if it sleeps (resting bodies sleep; see :meth:`add_box`)."""
        c = self.client
        c.changeDynamics(self.body(name), -1, activationState=c.ACTIVATION_STATE_WAKE_UP)

    def raycast(self, froms, tos) -> tuple[np.ndarray, np.ndarray]:
        """Cast rays ``froms[i] -> tos[i]`` ((n, 3) each); return each ray's hit fraction along its
        length (1.0: nothing hit) and the body hit (-1: none). Batches of any size."""
        froms = np.asarray(froms, float).reshape(-1, 3)
        tos = np.asarray(tos, float).reshape(-1, 3)
        fraction = np.ones(len(froms))
        body = np.full(len(froms), -1, np.int64)
        c = self.client
        for start in range(0, len(froms), c.MAX_RAY_INTERSECTION_BATCH_SIZE - 1):
            stop = min(len(froms), start + c.MAX_RAY_INTERSECTION_BATCH_SIZE - 1)
            hits = c.rayTestBatch(froms[start:stop].tolist(), tos[start:stop].tolist())
            for i, hit in enumerate(hits):
                if hit[0] >= 0:
                    body[start + i] = hit[0]
                    fraction[start + i] = hit[2]
        return fraction, body

    def _check_new(self, name: str) -> None:
        if name in self._bodies:
            raise UsageError(f"a body named {name!r} already exists in this world")

    # -- time --------------------------------------------------------------------------------

    def add_step_hook(self, hook: Callable[[float], None]) -> None:
        """Call ``hook(dt_s)`` before every physics step (e.g. a belt moving the parts it carries)."""
        self._hooks.append(hook)

    def remove_step_hook(self, hook: Callable[[float], None]) -> None:
        self._hooks.remove(hook)

    def step(self, n: int = 1) -> float:
        """Advance ``n`` physics steps (step hooks run before each); return the world time (s)."""
        step = self.client.stepSimulation
        hooks, dt = self._hooks, self.dt_s
        for _ in range(int(n)):
            for hook in hooks:
                hook(dt)
            step()
            self._steps += 1
        return self._steps * dt

    @property
    def steps(self) -> int:
        """Physics steps taken so far."""
        return self._steps

    @property
    def time_s(self) -> float:
        """Physics time: steps taken x dt (exact multiples, no accumulated rounding)."""
        return self._steps * self.dt_s
