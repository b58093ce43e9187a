"""Live 3D web viewer of a running twin (viser: a three.js client served from Python).

The page shows the scene's layout (belts, machines coloured by state, buffers, racks, fixtures and
bins, robot arms from their URDF, AGVs), the parts moving, and a KPI panel; it has pause, speed and
fault-injection controls. Any number of browsers can watch one viewer at once.

Threads: the simulation's loop calls :meth:`Viewer.publish`, which at most ``rate_hz`` times a
second copies a :class:`~twin.viz.frame.ViewFrame` (small arrays) and hands it over; a viewer thread
draws it. The simulation never waits for a browser. Controls clicked in a browser are queued and
applied by the simulation's loop (:meth:`Viewer.take_requests`), so the twin is only ever touched
from its own thread.
"""

from __future__ import annotations

import math
import queue
import threading
import time

import numpy as np

from .frame import STATE_COLORS, FrameReader, ViewFrame
from .layout import box_mesh, layout_shapes

__all__ = ["Viewer", "run_live"]

_PART_RGBS = [(240, 150, 40), (70, 140, 230), (160, 90, 200), (60, 190, 170), (230, 80, 120)]
_AGV_RGB = (245, 180, 0)
_FLOOR_RGB = (176, 178, 182)


def _quat_z(yaw: float) -> tuple[float, float, float, float]:
    """wxyz quaternion of a rotation by ``yaw`` about +z (viser's order is wxyz)."""
    return (math.cos(0.5 * yaw), 0.0, 0.0, math.sin(0.5 * yaw))


class Viewer:
    """Serves one twin's 3D view and KPI panel on ``http://host:port``.

    Args:
        tw: the twin (core-only is enough: positions come from the core's state).
        host, port: where to listen (port 0: any free port; see :attr:`url`).
        rate_hz: most frames per second sent to browsers.
    """

    def __init__(self, tw, host: str = "127.0.0.1", port: int = 8080, rate_hz: float = 10.0) -> None:
        import viser

        if not (rate_hz > 0 and math.isfinite(rate_hz)):
            raise ValueError(f"rate_hz must be > 0, got {rate_hz}")
        self.tw = tw
        self.rate_hz = float(rate_hz)
        self.server = viser.ViserServer(host=host, port=port, verbose=False)
        self.reader = FrameReader(tw)
        self.paused = False
        self.speed = 1.0
        self.frames_sent = 0
        self.last_frame: ViewFrame | None = None
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self._pending: ViewFrame | None = None
        self._wake = threading.Event()
        self._stop = False
        self._next_publish = 0.0
        self._station_boxes: dict[str, object] = {}
        self._station_states: dict[str, str] = {}
        self._part_meshes: dict[int, object] = {}
        self._robots: dict[str, object] = {}
        self._agvs: dict[str, object] = {}
        self.objects = 0  # scene nodes drawn (static layout + robots + AGVs + part batches)
        self._build_scene()
        self._build_gui()
        self._thread = threading.Thread(target=self._pump, name="twin-viewer", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.server.get_host()}:{self.server.get_port()}"

    # -- layout -------------------------------------------------------------------------------

    def _add_box(self, name: str, rgb, size, xyz, yaw: float = 0.0, opacity: float | None = None):
        self.objects += 1
        return self.server.scene.add_box(name, color=tuple(int(c) for c in rgb), dimensions=tuple(size),
                                         position=tuple(float(v) for v in xyz), wxyz=_quat_z(yaw),
                                         opacity=opacity)

    def _build_scene(self) -> None:
        scene = self.tw.scene
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
        for t, pt in enumerate(scene.part_types):
            v, f = box_mesh(pt.body_size_m())
            self._part_meshes[t] = self.server.scene.add_batched_meshes_simple(
                f"/parts/{pt.name}", v, f, batched_wxyzs=np.zeros((0, 4), np.float32),
                batched_positions=np.zeros((0, 3), np.float32), batched_colors=_PART_RGBS[t % len(_PART_RGBS)])
            self.objects += 1

    def _add_robots(self) -> None:
        from pathlib import Path

        from viser.extras import ViserUrdf

        from ..scene.assets_path import candidates

        for st in self.tw.scene.stations:
            cell = st.robot_cell
            if cell is None:
                continue
            path = next((c for c in candidates(cell.urdf, "") if c.is_file()), None)
            if path is None:
                continue
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

    def _add_agvs(self) -> None:
        if self.tw.logistics is None:
            return
        fleets = {f.name: f for f in self.tw.scene.agv_fleets}
        for name, fleet in self.tw.logistics.fleets.items():
            chassis = fleets[name].chassis_m
            for vehicle, (x, y, heading) in fleet.poses(0.0).items():
                self._agvs[vehicle] = self._add_box(f"/agvs/{vehicle}", _AGV_RGB, chassis,
                                                    (x, y, 0.5 * chassis[2]), heading)

    # -- panel and controls -------------------------------------------------------------------

    def _build_gui(self) -> None:
        gui = self.server.gui
        name = self.tw.scene.name or "scene"
        gui.configure_theme(dark_mode=True, control_width="large")
        gui.add_markdown(f"### {name} (lights-out)\n" + " ".join(self.tw.scene.description.split()))
        with gui.add_folder("KPIs"):
            self._kpi_md = gui.add_markdown(self._kpi_text(None))
        with gui.add_folder("Controls"):
            pause = gui.add_checkbox("Pause", False)
            speed = gui.add_slider("Speed (x real time)", min=0.5, max=500.0, step=0.5, initial_value=self.speed)
            faults = self._fault_options()
            kind = gui.add_dropdown("Fault", faults or ["(none)"], initial_value=(faults or ["(none)"])[0])
            duration = gui.add_number("Duration (s)", 120.0, min=1.0, max=36000.0, step=1.0)
            inject = gui.add_button("Inject fault", disabled=not faults)

        @pause.on_update
        def _(_event) -> None:
            self.paused = bool(pause.value)

        @speed.on_update
        def _(_event) -> None:
            self.speed = float(speed.value)

        @inject.on_click
        def _(_event) -> None:
            fault_kind, target = kind.value.split(": ", 1)
            self._requests.put(("inject_fault", fault_kind, target, float(duration.value)))

        self._legend = gui.add_markdown("States: " + ", ".join(
            f"<span style='color:rgb{c}'>■</span> {s}" for s, c in STATE_COLORS.items()))
        self._objects_md = gui.add_markdown(f"Scene objects: {self.objects}")

    def _fault_options(self) -> list[str]:
        scene = self.tw.scene
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

    def publish(self, force: bool = False) -> bool:
        """Called from the simulation's loop: hand a frame to the viewer thread when one is due.

        Returns whether a frame was taken. Cheap when none is due (one clock read).
        """
        now = time.monotonic()
        if not force and now < self._next_publish:
            return False
        self._next_publish = now + 1.0 / self.rate_hz
        self._pending = self.reader.read()
        self._wake.set()
        return True

    def take_requests(self) -> list[tuple]:
        """Control requests from browsers since the last call (applied by the simulation's loop)."""
        out = []
        while True:
            try:
                out.append(self._requests.get_nowait())
            except queue.Empty:
                return out

    def _pump(self) -> None:
        while not self._stop:
            if not self._wake.wait(0.5):
                continue
            self._wake.clear()
            frame, self._pending = self._pending, None
            if frame is not None:
                try:
                    self._draw(frame)
                except Exception:  # a browser that left mid-update must not end the viewer  # noqa: BLE001
                    if self._stop:
                        return

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
            for name, row in frame.robots.items():
                urdf = self._robots.get(name)
                if urdf is not None:
                    self._pose_robot(urdf, row)
            for vehicle, (x, y, heading) in frame.agvs.items():
                box = self._agvs.get(vehicle)
                if box is not None:
                    box.position = (float(x), float(y), float(box.position[2]))
                    box.wxyz = _quat_z(heading)
            if frame.kpis:
                self._kpi_md.content = self._kpi_text(frame.kpis)
        self.last_frame = frame
        self.frames_sent += 1

    def close(self) -> None:
        self._stop = True
        self._wake.set()
        self._thread.join(timeout=2.0)
        self.server.stop()


def run_live(tw, viewer: Viewer, until_s: float | None = None, speed: float = 1.0,
             stop: threading.Event | None = None) -> None:
    """Run ``tw`` paced to the wall clock (``speed`` x real time, changeable from the page) and
    show it in ``viewer`` until ``until_s`` (simulated), ``stop`` is set, or Ctrl-C.

    Each tick advances the twin to where the wall clock says it should be (event to event, so
    a fast speed costs no more than a slow one), applies browser requests, then publishes.
    """
    viewer.speed = speed
    wall0, sim0 = time.monotonic(), tw.time_s
    tick = 1.0 / viewer.rate_hz
    while (until_s is None or tw.time_s < until_s - 1e-9) and not (stop is not None and stop.is_set()):
        for request in viewer.take_requests():
            if request[0] == "inject_fault":
                try:
                    tw.inject_fault(*request[1:])
                except Exception as exc:  # a bad request from a page never stops the twin  # noqa: BLE001
                    viewer.server.gui.add_notification("fault not injected", str(exc), color="red")
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
