"""Live 3D web viewer of a running twin (viser: a three.js client served from Python).

The page shows the scene's layout (belts, machines coloured by state, buffers, racks, fixtures and
bins, robot arms from their URDF, AGVs), the parts moving, and a KPI panel; it has pause, speed and
fault-injection controls. Any number of browsers can watch one viewer at once.

Processes: the web server and all drawing run in a process of their own (:class:`_ViewerApp`),
so browsers never take the simulation's interpreter lock. The simulation's loop calls
:meth:`Viewer.publish`, which at most ``rate_hz`` times a second copies a
:class:`~twin.viz.frame.ViewFrame` (small arrays) and queues it without waiting (a frame the viewer
has not taken yet is replaced, never queued up). Controls clicked in a browser come back as
requests that the simulation's loop applies (:meth:`Viewer.take_requests`), so the twin is only
ever touched from its own thread.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from dataclasses import dataclass

import numpy as np

from .frame import STATE_COLORS, FrameReader, ViewFrame
from .layout import box_mesh, layout_shapes, robot_cells

__all__ = ["Viewer", "run_live"]

_PART_RGBS = [(240, 150, 40), (70, 140, 230), (160, 90, 200), (60, 190, 170), (230, 80, 120)]
_AGV_RGB = (245, 180, 0)
_CRANE_RGB = (240, 170, 30)
_FLOOR_RGB = (176, 178, 182)


def _quat_z(yaw: float) -> tuple[float, float, float, float]:
    """wxyz quaternion of a rotation by ``yaw`` about +z (viser's order is wxyz)."""
    return (math.cos(0.5 * yaw), 0.0, 0.0, math.sin(0.5 * yaw))


@dataclass(frozen=True)
class _Spec:
    """What the viewer process needs to draw a twin: its scene and where its AGVs stand."""

    scene: object
    agvs: dict  # vehicle -> (fleet, x, y, heading) at the start


class _ViewerApp:
    """The viewer process's side: the viser server, the drawn scene, the panel and controls."""

    def __init__(self, spec: _Spec, host: str, port: int, requests) -> None:
        import viser

        self.spec = spec
        self.server = viser.ViserServer(host=host, port=port, verbose=False)
        self.requests = requests
        self.frames_drawn = 0
        self.last_frame: ViewFrame | None = None
        self._station_boxes: dict[str, object] = {}
        self._station_states: dict[str, str] = {}
        self._part_meshes: dict[int, object] = {}
        self._robots: dict[str, object] = {}
        self._agvs: dict[str, object] = {}
        self._cranes: dict[str, object] = {}
        self.objects = 0  # scene nodes drawn (static layout + robots + AGVs + part batches)
        self._build_scene()
        self._build_gui()

    # -- layout -------------------------------------------------------------------------------

    def _add_box(self, name: str, rgb, size, xyz, yaw: float = 0.0, opacity: float | None = None):
        self.objects += 1
        return self.server.scene.add_box(name, color=tuple(int(c) for c in rgb), dimensions=tuple(size),
                                         position=tuple(float(v) for v in xyz), wxyz=_quat_z(yaw),
                                         opacity=opacity)

    def _build_scene(self) -> None:
        scene = self.spec.scene
        from .camera_path import scene_bounds

        lo, hi = scene_bounds(scene)
        span = float(max(hi[0] - lo[0], hi[1] - lo[1], 4.0)) + 6.0
        centre = 0.5 * (lo + hi)
        self.server.scene.set_up_direction("+z")
        from .camera_path import camera_path

        eye, target = camera_path(scene, 16 / 9).pose(0.0)  # browsers open where the video starts,
        eye = target + 0.6 * (eye - target)  # a little closer: the panel covers the right of the page
        cam = self.server.initial_camera
        cam.up, cam.position, cam.look_at = (0.0, 0.0, 1.0), tuple(map(float, eye)), tuple(map(float, target))
        self.server.scene.add_grid("/floor", width=span, height=span, position=(float(centre[0]), float(centre[1]), 0.0),
                                   plane_color=_FLOOR_RGB, plane_opacity=1.0, cell_size=1.0, section_size=5.0,
                                   cell_color=(150, 152, 156), section_color=(120, 122, 128))
        self.objects += 1
        for shape in layout_shapes(scene):
            opacity = None if shape.opacity >= 0.999 else shape.opacity
            if shape.size is not None:
                handle = self._add_box(f"/layout/{shape.name}", shape.rgb, shape.size, shape.xyz, shape.yaw, opacity)
            else:
                handle = self.server.scene.add_mesh_simple(f"/layout/{shape.name}", shape.vertices, shape.faces,
                                                           color=shape.rgb, opacity=opacity, position=shape.xyz,
                                                           wxyz=_quat_z(shape.yaw))
                self.objects += 1
            if shape.role == "station":
                self._station_boxes[shape.name] = handle
                top = shape.xyz[2] + 0.5 * shape.size[2] + 0.25
                self.server.scene.add_label(f"/labels/{shape.name}", shape.name.split("/")[-1],
                                            position=(shape.xyz[0], shape.xyz[1], top))
        self._add_robots()
        self._add_agvs()
        self._add_cranes()
        for t, pt in enumerate(scene.part_types):
            v, f = box_mesh(pt.body_size_m())
            self._part_meshes[t] = self.server.scene.add_batched_meshes_simple(
                f"/parts/{pt.name}", v, f, batched_wxyzs=np.zeros((0, 4), np.float32),
                batched_positions=np.zeros((0, 3), np.float32), batched_colors=_PART_RGBS[t % len(_PART_RGBS)])
            self.objects += 1

    def _add_robots(self) -> None:
        from pathlib import Path

        from viser.extras import ViserUrdf

        for st, path in robot_cells(self.spec.scene):
            cell = st.robot_cell
            root = f"/robots/{st.name.replace('/', '_')}"
            self.server.scene.add_frame(root, show_axes=False, position=tuple(cell.base_xyz_m),
                                        wxyz=_quat_z(math.radians(cell.base_yaw_deg)))
            urdf = ViserUrdf(self.server, Path(path), root_node_name=root, mesh_color_override=(0.92, 0.45, 0.1))
            self._robots[st.name] = urdf
            self.objects += 1
            if st.robot_motion is not None and len(st.robot_motion):
                self._pose_robot(urdf, st.robot_motion[-1])

    @staticmethod
    def _pose_robot(urdf, row) -> None:
        n = len(urdf.get_actuated_joint_limits())
        q = np.zeros(n)
        q[:min(n, len(row))] = np.asarray(row, float)[:n]
        urdf.update_cfg(q)

    def _add_cranes(self) -> None:
        """Each rack's crane carriage, at its input/output point until the first frame moves it."""
        from ..physics.rack_view import rack_point

        for storage in self.spec.scene.storages:
            g = storage.geometry
            if g is not None:
                size = (0.9 * storage.bay_width_m, 0.8 * g.size_m[1], 0.06)
                self._cranes[storage.name] = self._add_box(f"/cranes/{storage.name}", _CRANE_RGB, size,
                                                           rack_point(storage, 0.0, 0.0), math.radians(g.yaw_deg))

    def _add_agvs(self) -> None:
        chassis = {f.name: f.chassis_m for f in self.spec.scene.agv_fleets}
        for vehicle, (fleet, x, y, heading) in self.spec.agvs.items():
            size = chassis[fleet]
            self._agvs[vehicle] = self._add_box(f"/agvs/{vehicle}", _AGV_RGB, size, (x, y, 0.5 * size[2]), heading)

    # -- panel and controls -------------------------------------------------------------------

    def _build_gui(self) -> None:
        gui = self.server.gui
        name = self.spec.scene.name or "scene"
        gui.configure_theme(dark_mode=True, control_width="large")
        gui.add_markdown(f"### {name} (lights-out)\n" + " ".join(self.spec.scene.description.split()))
        with gui.add_folder("KPIs"):
            self._kpi_md = gui.add_markdown(self._kpi_text(None))
        with gui.add_folder("Controls"):
            pause = gui.add_checkbox("Pause", False)
            speed = gui.add_slider("Speed (x real time)", min=0.5, max=500.0, step=0.5, initial_value=1.0)
            faults = self._fault_options()
            kind = gui.add_dropdown("Fault", faults or ["(none)"], initial_value=(faults or ["(none)"])[0])
            duration = gui.add_number("Duration (s)", 120.0, min=1.0, max=36000.0, step=1.0)
            inject = gui.add_button("Inject fault", disabled=not faults)
        self._speed_slider = speed

        @pause.on_update
        def _(_event) -> None:
            self.requests.put(("pause", bool(pause.value)))

        @speed.on_update
        def _(_event) -> None:
            self.requests.put(("speed", float(speed.value)))

        @inject.on_click
        def _(_event) -> None:
            fault_kind, target = kind.value.split(": ", 1)
            self.requests.put(("inject_fault", fault_kind, target, float(duration.value)))

        self._legend = gui.add_markdown("States: " + ", ".join(
            f"<span style='color:rgb{c}'>■</span> {s}" for s, c in STATE_COLORS.items()))
        self._objects_md = gui.add_markdown(f"Scene objects: {self.objects}")

    def _fault_options(self) -> list[str]:
        scene = self.spec.scene
        out = [f"conveyor_stop: {c.name}" for c in scene.conveyors]
        for st in scene.stations:
            out.append(f"{'robot_malfunction' if st.robot_cell is not None else 'station_down'}: {st.name}")
        return out

    @staticmethod
    def _kpi_text(k: dict | None) -> str:
        if not k:
            return "Sim time: warming up\n\nThroughput: - parts/h\n\nLine OEE: -\n\nWIP: -\n\nBottleneck: -"

        def num(v, fmt):
            return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, fmt)

        return (f"Sim time: {num(k['t_s'], '.1f')} s\n\n"
                f"Throughput: {num(k['throughput_per_hour'], '.1f')} parts/h\n\n"
                f"Good parts: {k['good']}\n\n"
                f"Line OEE: {num(k['line_oee'], '.3f')}\n\n"
                f"WIP: {num(k['wip_avg'], '.2f')}\n\n"
                f"Lead time: {num(k['lead_time_mean_s'], '.1f')} s\n\n"
                f"Bottleneck: {k['bottleneck'] or '-'}")

    # -- frames -------------------------------------------------------------------------------

    def _draw(self, frame: ViewFrame) -> None:
        with self.server.atomic():
            for t, handle in self._part_meshes.items():
                xyz, yaw = frame.parts.get(t, (np.zeros((0, 3)), np.zeros(0)))
                handle.batched_positions = np.asarray(xyz, np.float32).reshape(-1, 3)
                handle.batched_wxyzs = np.array([_quat_z(a) for a in yaw], np.float32).reshape(-1, 4)
            for name, state in frame.stations.items():
                box = self._station_boxes.get(name)
                if box is not None and self._station_states.get(name) != state:
                    box.color = STATE_COLORS[state]
                    self._station_states[name] = state
            last = self.last_frame
            for name, row in frame.robots.items():  # only what moved: a pose costs forward kinematics
                urdf = self._robots.get(name)
                if urdf is not None and (last is None or not np.array_equal(last.robots.get(name), row)):
                    self._pose_robot(urdf, row)
            for vehicle, pose in frame.agvs.items():
                box = self._agvs.get(vehicle)
                if box is not None and (last is None or last.agvs.get(vehicle) != pose):
                    x, y, heading = pose
                    box.position = (float(x), float(y), float(box.position[2]))
                    box.wxyz = _quat_z(heading)
            for storage, xyz in frame.cranes.items():
                box = self._cranes.get(storage)
                if box is not None and (last is None or last.cranes.get(storage) != xyz):
                    box.position = tuple(float(v) for v in xyz)
            if frame.kpis:
                self._kpi_md.content = self._kpi_text(frame.kpis)
        self.last_frame = frame
        self.frames_drawn += 1


def _viewer_main(spec: _Spec, host: str, port: int, frames, commands, requests, status) -> None:
    """The viewer process: serve the page, draw every frame that arrives, until ``None`` arrives."""
    import queue as queue_mod

    try:
        app = _ViewerApp(spec, host, port, requests)
    except OSError as exc:
        status.put(("error", f"cannot listen on {host}:{port} ({exc.strerror or exc})"))
        return
    status.put(("ready", app.server.get_host(), app.server.get_port(), app.objects))
    try:
        while True:
            while not commands.empty():
                command = commands.get()
                if command[0] == "notify":
                    app.server.gui.add_notification(command[1], command[2], color="red")
                elif command[0] == "speed":
                    app._speed_slider.value = command[1]
            try:
                item = frames.get(timeout=0.2)
            except queue_mod.Empty:
                continue
            if item is None:
                break
            try:
                app._draw(item)
            except Exception:  # a browser that left mid-update must not end the viewer  # noqa: BLE001
                continue
            status.put(("drawn", app.frames_drawn))
    finally:
        app.server.stop()


class Viewer:
    """Serves one twin's 3D view and KPI panel on ``http://host:port``, from a process of its own.

    Args:
        tw: the twin (core-only is enough: positions come from the core's state).
        host, port: where to listen (port 0: any free port; see :attr:`url`).
        rate_hz: most frames per second sent to browsers.

    Raises:
        OSError: the port cannot be listened on.
    """

    def __init__(self, tw, host: str = "127.0.0.1", port: int = 8080, rate_hz: float = 10.0,
                 start_timeout_s: float = 120.0) -> None:
        import multiprocessing as mp

        if not (rate_hz > 0 and math.isfinite(rate_hz)):
            raise ValueError(f"rate_hz must be > 0, got {rate_hz}")
        self.tw = tw
        self.rate_hz = float(rate_hz)
        self.reader = FrameReader(tw)
        self.paused = False
        self.speed = 1.0
        self.frames_dropped = 0
        self._frames_drawn = 0
        self._next_publish = 0.0
        agvs = {}
        if tw.logistics is not None:
            for fleet_name, fleet in tw.logistics.fleets.items():
                agvs.update({v: (fleet_name, *pose) for v, pose in fleet.poses(tw.time_s).items()})
        ctx = mp.get_context("spawn")  # a clean interpreter: no threads or numba state inherited
        self._frames = ctx.Queue(maxsize=1)
        self._commands = ctx.Queue()
        self._requests = ctx.Queue()
        self._status = ctx.Queue()
        self._process = ctx.Process(target=_viewer_main, name="twin-viewer", daemon=True,
                                    args=(_Spec(tw.scene, agvs), host, port, self._frames, self._commands,
                                          self._requests, self._status))
        self._process.start()
        try:
            msg = self._status.get(timeout=start_timeout_s)
        except queue.Empty:
            self._process.kill()
            raise OSError(f"the viewer did not start within {start_timeout_s:g} s") from None
        if msg[0] == "error":
            self._process.join(timeout=5)
            raise OSError(msg[1])
        _, self.host, self.port, self.objects = msg

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def frames_sent(self) -> int:
        """Frames the viewer process has drawn (sent to browsers) so far."""
        while True:
            try:
                msg = self._status.get_nowait()
            except queue.Empty:
                return self._frames_drawn
            if msg[0] == "drawn":
                self._frames_drawn = msg[1]

    def publish(self, force: bool = False) -> bool:
        """Called from the simulation's loop: hand a frame to the viewer when one is due.

        Returns whether a frame was taken. Cheap when none is due (one clock read); never waits: a
        frame the viewer has not taken yet is replaced by the new one.
        """
        now = time.monotonic()
        if not force and now < self._next_publish:
            return False
        self._next_publish = now + 1.0 / self.rate_hz
        frame = self.reader.read()
        try:
            self._frames.put_nowait(frame)
        except queue.Full:
            self.frames_dropped += 1
            try:  # the viewer is behind: drop its stale frame, keep the newest
                self._frames.get_nowait()
                self._frames.put_nowait(frame)
            except (queue.Empty, queue.Full):
                pass
        return True

    def notify(self, title: str, body: str) -> None:
        """Show a notification on every page (e.g. a control that could not be applied)."""
        self._commands.put(("notify", title, body))

    def set_speed(self, speed: float) -> None:
        """Set the pace (x real time) here and on the pages' speed slider."""
        self.speed = float(speed)
        self._commands.put(("speed", self.speed))

    def take_requests(self) -> list[tuple]:
        """Fault requests from browsers since the last call (pause and speed are applied here)."""
        out = []
        while True:
            try:
                request = self._requests.get_nowait()
            except queue.Empty:
                return out
            if request[0] == "pause":
                self.paused = request[1]
            elif request[0] == "speed":
                self.speed = request[1]
            else:
                out.append(request)

    def close(self) -> None:
        """Stop the viewer process (pages show "disconnected")."""
        if self._process.is_alive():
            try:
                self._frames.put(None, timeout=2.0)
            except queue.Full:
                pass
            self._process.join(timeout=5.0)
            if self._process.is_alive():
                self._process.kill()
        self.frames_sent  # noqa: B018 - drain the last counts


def run_live(tw, viewer: Viewer, until_s: float | None = None, speed: float = 1.0,
             stop: threading.Event | None = None) -> None:
    """Run ``tw`` paced to the wall clock (``speed`` x real time, changeable from the page) and
    show it in ``viewer`` until ``until_s`` (simulated), ``stop`` is set, or Ctrl-C.

    Each tick advances the twin to where the wall clock says it should be (event to event, so
    a fast speed costs no more than a slow one), applies browser requests, then publishes.
    """
    viewer.set_speed(speed)
    wall0, sim0 = time.monotonic(), tw.time_s
    tick = 1.0 / viewer.rate_hz
    while (until_s is None or tw.time_s < until_s - 1e-9) and not (stop is not None and stop.is_set()):
        for request in viewer.take_requests():
            if request[0] == "inject_fault":
                try:
                    tw.inject_fault(*request[1:])
                except Exception as exc:  # a bad request from a page never stops the twin  # noqa: BLE001
                    viewer.notify("fault not injected", str(exc))
        if viewer.paused:
            wall0, sim0 = time.monotonic(), tw.time_s
            viewer.publish()
            time.sleep(tick)
            continue
        target = sim0 + (time.monotonic() - wall0) * viewer.speed
        if viewer.speed != speed:  # re-anchor the pacing when the page changed the speed
            speed, wall0, sim0 = viewer.speed, time.monotonic(), tw.time_s
            target = tw.time_s
        if until_s is not None:
            target = min(target, until_s)
        if target > tw.time_s:
            tw.run(until=target, check_deadlock=False)
        viewer.publish()
        time.sleep(max(0.0, tick - 0.001))
