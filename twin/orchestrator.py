"""``Twin``: the one orchestrator a user drives.

It owns the line engine (and, as they land, the physics world, sensors and bridge) and runs them in
a fixed phase order per control step: bridge_in -> controllers -> core kernels -> physics substeps ->
sensors -> KPIs -> bridge_out. Only the core exists today, so a step is "advance the core". The
caller owns the clock: ``step()`` advances one control step, ``run(until=...)`` loops over events
(a headless run jumps from event to event; results do not depend on the control step).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .core import layout as L
from .core.deadlock import find_deadlock
from .core.engine import Engine
from .core.kpi import accumulators, compute_kpis
from .core.rng import stream_seed
from .core.trace import merge_rows, part_summary, trace_columns, write_table, write_trace
from .errors import DeadlockError, UsageError
from .faults import FaultRunner, blackout_windows, fault_summary
from .scene.durations import parse_duration_s
from .scene.models import Scene

#: Scheduled sensor blackouts are expanded into windows up to this simulated time (a year).
_FAULT_HORIZON_S = 366 * 86400.0

__all__ = ["Twin"]


class Twin:
    """A running digital twin of one scene.

    Args:
        scene: a scene from :func:`twin.load_scene`.
        seed: seed of all random streams; defaults to the scene's ``sim.seed``.
        trace: keep the per-part trace (``trace()``); off saves memory and time.
        warmup_s: KPIs exclude [0, warmup_s); defaults to the scene's ``sim.warmup_s``.
        control_step_s: length of one ``step()``; defaults to the scene's ``sim.control_step_s``.
        physics: also build the scene's 3D world (PyBullet, ``sim.physics_hz``); each ``step()``
            then places the conveyor parts' bodies and advances physics by the same time. ``run()``
            jumps from event to event and does not step physics. Close the twin (or use ``with``).
        gui: show the 3D world in PyBullet's window (needs a display; implies ``physics``).
    """

    def __init__(self, scene: Scene, seed: int | None = None, *, trace: bool = True,
                 warmup_s: float | None = None, control_step_s: float | None = None,
                 physics: bool = False, gui: bool = False) -> None:
        if not isinstance(scene, Scene):
            raise UsageError(f"Twin needs a Scene from twin.load_scene(), got {type(scene).__name__}")
        self.scene = scene
        self.seed = scene.sim.seed if seed is None else check_seed(seed)
        self.warmup_s = scene.sim.warmup_s if warmup_s is None else float(warmup_s)
        self.control_step_s = scene.sim.control_step_s if control_step_s is None else float(control_step_s)
        if not (math.isfinite(self.control_step_s) and self.control_step_s > 0):
            raise UsageError(f"control_step_s must be > 0, got {self.control_step_s}")
        if not (math.isfinite(self.warmup_s) and self.warmup_s >= 0):
            raise UsageError(f"warmup_s must be >= 0, got {self.warmup_s}")
        self.engine = Engine(scene, self.seed, trace=trace)
        self.faults = FaultRunner(scene, self.engine)
        self.logistics = None
        #: per-part camera inspections (``inspection.vision.per_part``), or None
        self.inline_inspections = None
        if any(s.inspection is not None and s.inspection.vision is not None and s.inspection.vision.per_part
               for s in scene.stations):
            from .sensors.inline import InlineInspections

            self.inline_inspections = InlineInspections(scene, self.engine, self.seed)
        if scene.transports or scene.storages:
            from .logistics import Logistics

            self.logistics = Logistics(scene, self.engine, self.seed)
        self.world = None
        self.scene_world = None
        #: cameras of the scene by name (built with the 3D world); their latest frames in ``frames``
        self.cameras: dict = {}
        self.frames: dict = {}
        #: latest delivered reading of every other sensor, by name (``twin.sensors.channel.Reading``)
        self.readings: dict = {}
        self._sensors: list = []
        self._physics_origin_s = 0.0
        self._frame_hooks: list = []
        self._camera_blackouts: dict[str, list[tuple[float, float]]] = {}
        if physics or gui:
            # imported here so that core-only use never loads PyBullet
            from .physics import World
            from .physics.scene_world import SceneWorld

            self.world = World(physics_hz=scene.sim.physics_hz, gui=gui,
                               renderer=scene.sim.renderer if scene.sensors.cameras else None)
            self.scene_world = SceneWorld(scene, self.world, self.engine)
            self.scene_world.sync()
            self.cameras = self._build_cameras()
            self._camera_blackouts = {name: blackout_windows(scene, name, _FAULT_HORIZON_S) for name in self.cameras}
            self._sensors = self._build_sensors()
        # Accumulators at the end of the warm-up, subtracted from every KPI. Without a warm-up the
        # baseline is all zeros, so that what happens at t = 0 (the first releases) is counted.
        self._baseline: dict[str, np.ndarray] | None = None
        self._steps = 0
        if self.warmup_s == 0:
            self._baseline = {k: np.zeros_like(v) for k, v in
                              accumulators(self.engine.params, self.engine.state).items()}

    @property
    def time_s(self) -> float:
        """Simulated time (s)."""
        return self.engine.t

    def _advance(self, t_end: float) -> None:
        if self._baseline is None and t_end >= self.warmup_s:
            self._advance_faults(self.warmup_s)
            self._baseline = accumulators(self.engine.params, self.engine.state)
        self._advance_faults(t_end)

    def _advance_faults(self, t_end: float) -> None:
        """Advance to ``t_end``, stopping and restarting belts at their scheduled faults' exact times."""
        faults = self.faults
        if self.time_s == 0.0:
            faults.apply(0.0)
        while (t_fault := faults.next_time(self.time_s)) <= t_end:
            self._advance_core(t_fault)
            faults.apply(t_fault)
        self._advance_core(t_end)

    def _advance_core(self, t_end: float) -> None:
        """Advance the core, and the fleets and cranes with it, event by event in time order."""
        engine, logistics, inline = self.engine, self.logistics, self.inline_inspections
        if logistics is None:
            while started := engine.advance_to(t_end):  # per-part camera inspections start
                inline.request(started, engine.t)
            return
        while True:
            t_next = min(t_end, logistics.next_time())
            started = engine.advance_to(t_next)
            if started:  # stopped early: parts entered transports, storages or camera inspections
                judged = [s for s in started if inline is not None and s in inline.servers]
                if judged:
                    inline.request(judged, engine.t)
                moved = [s for s in started if inline is None or s not in inline.servers]
                if moved:
                    logistics.request(moved, engine.t)
                continue
            done = logistics.advance(t_next)
            for server in done:
                engine.complete_external(server, t_next)
            if not done and t_next >= t_end:
                return

    def step(self, dt_s: float | None = None) -> float:
        """Advance one control step (``control_step_s``, or ``dt_s``); return the new time."""
        dt = self.control_step_s if dt_s is None else float(dt_s)
        if not (math.isfinite(dt) and dt > 0):
            raise UsageError(f"step length must be > 0, got {dt_s}")
        if dt_s is None:
            # t = k * dt rather than t += dt, so that long runs do not accumulate rounding error;
            # after a run() to an off-grid time, the next step is a full step from there
            self._steps += 1
            target = self._steps * self.control_step_s
            if target <= self.time_s:
                target = self.time_s + dt
                self._steps = int(target / self.control_step_s)
        else:
            target = self.time_s + dt
        self._advance(target)
        if self.world is not None:
            # phase order: core kernels -> physics substeps (bridge and sensors join here later)
            self.scene_world.sync()
            if self.logistics is not None:
                self.logistics.sync_world(self.world, self.time_s)
            # physics catches up with the twin's clock: steps are counted from a fixed origin, so
            # physics time stays within half a physics step of the core's time whatever the
            # control step (a run() that jumps ahead moves the origin instead of replaying physics)
            due = round((self.time_s - self._physics_origin_s) * self.world.physics_hz) - self.world.steps
            self.world.step(max(0, due))
            # sensors: each at its own rate; readings arrive after their latency
            for sensor, channel in self._sensors:
                if channel.due(self.time_s):
                    channel.sample(self.time_s, sensor.value())
                reading = channel.deliver(self.time_s)
                if reading is not None:
                    self.readings[sensor.name] = reading
            # cameras render at their own rates, and only then
            for name, camera in self.cameras.items():
                if camera.due(self.time_s) and not self._camera_dark(name):
                    frame = camera.capture(self.time_s)
                    self.frames[name] = frame
                    for hook in self._frame_hooks:
                        hook(name, frame)
        return self.time_s

    def inject_fault(self, kind: str, target: str, duration_s: float) -> str:
        """Start a fault now, recovered after ``duration_s`` (what a demo's fault button does).

        ``kind`` and ``target`` as in the scene's ``faults:`` (``station_down``, ``robot_malfunction``,
        ``conveyor_stop``, ``sensor_blackout``). Returns the effect. Station faults appear in the
        trace as failure and repair with detail ``injected``.
        """
        sensors = {sensor.name: channel for sensor, channel in self._sensors}
        station_names = {s.name for s in self.scene.stations}
        if kind == "sensor_blackout" and target not in station_names and target not in sensors \
                and target not in self.cameras:
            valid = sorted(sensors) + sorted(self.cameras)
            raise UsageError(f"inject_fault('sensor_blackout'): no sensor or camera named {target!r} in the 3D "
                             f"world (Twin(physics=True) builds them). Valid: {valid}")
        effect = self.faults.inject(kind, target, float(duration_s), self.time_s)
        if effect == "no readings":
            window = (self.time_s, self.time_s + float(duration_s))
            if target in sensors:
                from .sensors.channel import Fault

                sensors[target].faults = (*sensors[target].faults, Fault("blackout", *window))
            else:
                self._camera_blackouts.setdefault(target, []).append(window)
        return effect

    def _camera_dark(self, name: str) -> bool:
        """Whether a scheduled blackout of camera ``name`` is on now (it then delivers no frame)."""
        return any(a <= self.time_s < b for a, b in self._camera_blackouts.get(name, ()))

    def on_frame(self, hook) -> None:
        """Call ``hook(camera name, frame)`` for every camera frame captured while stepping."""
        self._frame_hooks.append(hook)

    def _build_sensors(self) -> list:
        from .scene import models as M
        from .sensors.camera import look_at
        from .sensors.channel import Channel, Fault
        from .sensors.rays import BreakBeam, ConveyorEncoder, LaserProfiler, LogicalCamera, Proximity

        out = []
        for spec in self.scene.sensors.cheap():
            if isinstance(spec, M.BreakBeamSensor):
                sensor = BreakBeam(self.world, spec.name, spec.from_xyz_m, spec.to_xyz_m)
            elif isinstance(spec, M.ProximitySensor):
                sensor = Proximity(self.world, spec.name, spec.xyz_m, spec.direction, spec.range_m)
            elif isinstance(spec, M.LaserProfilerSensor):
                sensor = LaserProfiler(self.world, spec.name, spec.xyz_m, spec.direction, spec.fan_axis, spec.fan_deg,
                                       spec.n_rays, spec.range_m)
            elif isinstance(spec, M.LogicalCameraSensor):
                sensor = LogicalCamera(self.world, spec.name, look_at(spec.pose.xyz_m, spec.pose.look_at_m, spec.pose.up),
                                       spec.fov_deg, spec.aspect, spec.range_m)
            else:
                sensor = ConveyorEncoder(self.engine, spec.name, spec.conveyor, spec.counts_per_m)
            faults = [Fault(f.kind, f.start_s, math.inf if f.end_s is None else f.end_s, f.drift_per_s)
                      for f in spec.faults]
            faults += [Fault("blackout", a, b) for a, b in blackout_windows(self.scene, spec.name, _FAULT_HORIZON_S)]
            channel = Channel(spec.rate_hz, spec.noise_m, spec.latency_s, faults,
                              seed=int(stream_seed(self.seed, f"sensor:{spec.name}", "noise")) >> 1)
            out.append((sensor, channel))
        return out

    def _build_cameras(self) -> dict:
        from .sensors.camera import Camera, look_at

        robots = {robot.name.removesuffix("/robot"): robot for robot, _, _ in self.scene_world.robots}
        out = {}
        for cam in self.scene.sensors.cameras:
            kw = dict(near_m=cam.near_m, far_m=cam.far_m, rate_hz=cam.rate_hz, depth_noise_m=cam.depth_noise_m,
                      pixel_noise=cam.pixel_noise, seed=int(stream_seed(self.seed, f"camera:{cam.name}", "noise")) >> 1)
            if cam.pose is not None:
                pose = look_at(cam.pose.xyz_m, cam.pose.look_at_m, cam.pose.up)
                out[cam.name] = Camera(self.world, cam.name, cam.intrinsics(), pose=pose, **kw)
            else:
                robot = robots[cam.mount.robot]
                roll, pitch, yaw = (math.radians(a) for a in cam.mount.rpy_deg)
                rot = _rpy_matrix(roll, pitch, yaw)
                mount = (robot.body, robot.links[cam.mount.link], (rot, np.array(cam.mount.xyz_m, float)))
                out[cam.name] = Camera(self.world, cam.name, cam.intrinsics(), mount=mount, **kw)
        return out

    def close(self) -> None:
        """Release the 3D world and the per-part inspection rigs, if any (idempotent)."""
        if self.world is not None:
            self.world.close()
        if self.inline_inspections is not None:
            self.inline_inspections.close()

    def __enter__(self) -> Twin:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def run(self, until: float | str, *, check_deadlock: bool = True) -> None:
        """Run to absolute time ``until`` (seconds or a duration such as ``"8h"``).

        Raises:
            DeadlockError: when, at the end, parts wait in a closed set of blocked elements.
        """
        try:
            t_end = parse_duration_s(until)
        except ValueError as exc:
            raise UsageError(f"until: {exc}") from None
        if t_end < self.time_s:
            raise UsageError(f"until ({t_end} s) is before the current time ({self.time_s} s)")
        self._advance(t_end)
        self._steps = int(self.time_s / self.control_step_s)
        if self.world is not None:  # physics does not replay the jump; it goes on from here
            self._physics_origin_s = self.time_s - self.world.time_s
        if check_deadlock:
            self.check_deadlock()

    def deadlocked(self) -> list[str]:
        """Names of the elements in a deadlock now ([] when none)."""
        return find_deadlock(self.engine.params, self.engine.state, self.engine.names)

    def check_deadlock(self) -> None:
        """Raise :class:`DeadlockError` naming the blocked elements if the line is deadlocked."""
        blocked = self.deadlocked()
        if blocked:
            e = self.engine
            index = {name: i for i, name in enumerate(e.names.nodes)}
            waits = [float(e.state.node_blocked_since[index[b]]) for b in blocked]
            since = max((w for w in waits if w >= 0.0), default=float(e.state.last_move_t[0]))
            raise DeadlockError(f"deadlock at t={since:.1f}s (the last of these elements blocked then): they "
                                f"are full and wait on each other: {', '.join(blocked)}", blocked)

    def kpis(self) -> dict:
        """KPIs over [warm-up end, now] (see docs/kpis.md)."""
        if self._baseline is None:
            raise UsageError(f"no KPIs yet: the run ({self.time_s:g} s) has not passed the warm-up "
                             f"({self.warmup_s:g} s)")
        e = self.engine
        out = compute_kpis(e.params, e.state, e.names, self._baseline, self.warmup_s)
        out["scheduled_faults"] = fault_summary(self.scene, self.warmup_s, self.time_s)
        out["deadlock"] = self.deadlocked()  # the elements deadlocked now; [] when none
        if self.logistics is not None:
            out.update(self.logistics.kpis(out))
        else:
            out.pop("transports_and_storages")
        return out

    def trace(self) -> dict[str, np.ndarray]:
        """The per-part trace so far, as columns (see :mod:`twin.core.trace`).

        With transports or storages, their events (``agv_loaded``, ``agv_unloaded``,
        ``agv_breakdown``, ``agv_repaired``, ``stored``, ``retrieved``) are merged in, in time order.
        """
        columns = trace_columns(self.engine.state, self.engine.names)
        if self.logistics is not None and self.engine.state.trace_on[0]:
            columns = merge_rows(columns, self.logistics.trace_rows(), self.engine.names)
        return columns

    def write_trace(self, path: str | Path) -> Path:
        """Write the trace to CSV, or Parquet when ``path`` ends in ``.parquet``."""
        return write_trace(self.trace(), path)

    def parts(self) -> dict[str, np.ndarray]:
        """One row per part so far: type, times, final state and where (see ``part_summary``)."""
        p, names = self.engine.params, self.engine.names
        rejects = {names.nodes[n] for n in range(p.n_nodes) if p.node_kind[n] == L.KIND_SINK and p.sink_reject[n]}
        return part_summary(self.trace(), rejects)

    def write_parts(self, path: str | Path) -> Path:
        """Write :meth:`parts` to CSV, or Parquet when ``path`` ends in ``.parquet``."""
        return write_table(self.parts(), path)

    def get_state(self) -> dict:
        """A complete snapshot: restoring it with :meth:`set_state` continues identically."""
        return {"engine": self.engine.get_state(), "steps": self._steps,
                "baseline": None if self._baseline is None else {k: v.copy() for k, v in self._baseline.items()},
                "logistics": None if self.logistics is None else self.logistics.get_state(),
                "faults": self.faults.get_state(),
                "inline": None if self.inline_inspections is None else self.inline_inspections.get_state()}

    def set_state(self, snapshot: dict) -> None:
        """Restore a snapshot from :meth:`get_state` of a twin of the same scene."""
        missing = [k for k in ("engine", "steps", "baseline") if not isinstance(snapshot, dict) or k not in snapshot]
        if missing:
            got = type(snapshot).__name__ if not isinstance(snapshot, dict) else f"a dict without {missing}"
            raise UsageError(f"set_state needs a snapshot from Twin.get_state(), got {got}")
        if (snapshot.get("logistics") is None) != (self.logistics is None):
            raise UsageError("set_state: the snapshot is from a twin of another scene (transports/storages differ)")
        if self.logistics is not None:
            self.logistics.set_state(snapshot["logistics"])
        self.engine.set_state(snapshot["engine"])
        self._steps = int(snapshot["steps"])
        self.faults.set_state(snapshot.get("faults", {}))
        if self.inline_inspections is not None:
            self.inline_inspections.set_state(snapshot["inline"])
        base = snapshot["baseline"]
        self._baseline = None if base is None else {k: v.copy() for k, v in base.items()}


def check_seed(seed) -> int:
    """``seed`` as an int in [0, 2**63), the range of ``sim.seed``; UsageError otherwise."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise UsageError(f"seed must be an integer, got {seed!r}")
    if not 0 <= int(seed) < 2**63:
        raise UsageError(f"seed must be in [0, 2**63), got {seed}")
    return int(seed)


def _rpy_matrix(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """Rotation matrix of fixed-axis roll, pitch, yaw (radians): Rz(yaw) Ry(pitch) Rx(roll)."""
    cr, sr, cp, sp, cy, sy = math.cos(roll), math.sin(roll), math.cos(pitch), math.sin(pitch), math.cos(yaw), math.sin(yaw)
    return np.array([[cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
                     [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
                     [-sp, cp * sr, cp * cr]])
