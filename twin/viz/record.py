"""Videos of a running twin along the scene's camera path (``twin record``).

The line advances in simulated time, scaled by ``speed`` (simulated seconds per video second),
while the camera moves along its path in video time. Frame ``k`` shows simulated time
``start_s + k * speed / fps`` from the eye at video time ``k / fps``. Between frames the core
jumps event to event; only the last ``1 / fps`` simulated seconds before a frame run through
physics, so that parts dropping into bins fall at their natural pace whatever the speed-up, and a
60x video costs no more physics than a 1x one.

Frames come from PyBullet's TinyRenderer (the same picture on every machine) through
:class:`twin.sensors.camera.Camera`, get a caption (scene, simulated time, parts out, WIP), and go
to an MP4 (H.264 via imageio's ffmpeg plugin) or a GIF, chosen by the file's extension.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UsageError
from ..scene.models import Scene

__all__ = ["RecordSettings", "RecordResult", "record", "check_settings"]

_NEAR_M = 0.25  # a coarser near plane keeps depth precision for the far walls


@dataclass(frozen=True)
class RecordSettings:
    """What to film: ``duration_s`` seconds of video at ``fps`` frames per second, ``width`` x
    ``height`` pixels, covering ``speed`` simulated seconds per video second from ``start_s``."""

    duration_s: float = 20.0
    fps: float = 30.0
    width: int = 640
    height: int = 480
    speed: float = 60.0
    start_s: float = 0.0
    caption: bool = True

    @property
    def frames(self) -> int:
        """Number of frames: ``round(duration_s * fps)``, at least 1."""
        return max(1, round(self.duration_s * self.fps))


@dataclass(frozen=True)
class RecordResult:
    """What was written: the file, its frame count and size, and the times it covers."""

    path: Path
    frames: int
    width: int
    height: int
    fps: float
    video_s: float
    sim_start_s: float
    sim_end_s: float
    renderer: str
    render_s: float
    loop_s: float
    wall_s: float

    @property
    def render_fps(self) -> float:
        """Frames rendered per second of wall time (rendering only, not the simulation)."""
        return self.frames / self.render_s if self.render_s > 0 else math.inf

    @property
    def record_fps(self) -> float:
        """Frames per second of the whole frame loop: simulation, rendering, caption, encoding
        (not building the 3D world)."""
        return self.frames / self.loop_s if self.loop_s > 0 else math.inf


def check_settings(path: Path, s: RecordSettings) -> str:
    """Validate ``s`` for writing ``path``; return the container (``mp4`` or ``gif``).

    Raises:
        UsageError: naming the bad value and what is valid.
    """
    kind = path.suffix.lower().lstrip(".")
    if kind not in ("mp4", "gif"):
        raise UsageError(f"--out must end in .mp4 or .gif, got {str(path)!r}")
    if not (math.isfinite(s.duration_s) and 0 < s.duration_s <= 3600):
        raise UsageError(f"--duration must be in (0, 3600] video seconds, got {s.duration_s:g}")
    if not (math.isfinite(s.fps) and 1 <= s.fps <= 120):
        raise UsageError(f"--fps must be in [1, 120], got {s.fps:g}")
    for key in ("width", "height"):
        v = getattr(s, key)
        if not 16 <= v <= 4096:
            raise UsageError(f"--{key} must be in 16..4096 pixels, got {v}")
        if kind == "mp4" and v % 2:
            raise UsageError(f"--{key} must be even for MP4 (H.264 with 4:2:0 colour), got {v}")
    if kind == "gif" and abs(100.0 / s.fps - round(100.0 / s.fps)) > 1e-9:
        raise UsageError(f"GIF frame delays are whole hundredths of a second, so --fps must divide 100 "
                         f"(e.g. 10, 20, 25, 50); got {s.fps:g}")
    if not (math.isfinite(s.speed) and 0 < s.speed <= 1e6):
        raise UsageError(f"--speed must be in (0, 1e6] simulated seconds per video second, got {s.speed:g}")
    if not (math.isfinite(s.start_s) and s.start_s >= 0):
        raise UsageError(f"--start must be >= 0, got {s.start_s:g}")
    return kind


class _Writer:
    """Appends RGB frames to an MP4 (libx264, yuv420p) or a GIF (looping)."""

    def __init__(self, path: Path, kind: str, fps: float) -> None:
        import imageio.v2 as iio

        path.parent.mkdir(parents=True, exist_ok=True)
        if kind == "mp4":
            # macro_block_size=2: keep the requested size (the default 16 would rescale 1080 to 1088)
            self._w = iio.get_writer(path, format="FFMPEG", mode="I", fps=fps, codec="libx264", quality=8,
                                     pixelformat="yuv420p", macro_block_size=2, ffmpeg_log_level="error")
        else:
            self._w = iio.get_writer(path, mode="I", duration=round(1000.0 / fps), loop=0)

    def append(self, rgb: np.ndarray) -> None:
        self._w.append_data(rgb)

    def close(self) -> None:
        self._w.close()


def _caption(rgb: np.ndarray, lines: list[str]) -> np.ndarray:
    """Draw ``lines`` in a translucent band at the top left of the frame."""
    from PIL import Image, ImageDraw, ImageFont

    h = rgb.shape[0]
    size = max(10, round(h / 30))
    img = Image.fromarray(rgb).convert("RGBA")
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    font = ImageFont.load_default(size=size)
    pad = max(4, size // 2)
    widths = [draw.textlength(line, font=font) for line in lines]
    box_w = int(max(widths)) + 2 * pad
    box_h = len(lines) * int(1.35 * size) + 2 * pad - int(0.35 * size)
    draw.rectangle([pad, pad, pad + box_w, pad + box_h], fill=(20, 24, 30, 170))
    for i, line in enumerate(lines):
        draw.text((2 * pad, 2 * pad + i * int(1.35 * size)), line, font=font,
                  fill=(255, 214, 80, 255) if i == 0 else (235, 238, 242, 255))
    return np.asarray(Image.alpha_composite(img, layer).convert("RGB"))


def _clock(t_s: float) -> str:
    t = int(t_s)
    return f"{t // 3600:d}:{t % 3600 // 60:02d}:{t % 60:02d}"


def record(scene: Scene, path: str | Path, settings: RecordSettings, *, seed: int | None = None,
           on_frame: Callable[[int, int], None] | None = None) -> RecordResult:
    """Run ``scene`` with its 3D world and film it along its camera path into ``path``.

    Args:
        scene: a loaded scene with a 3D layout (element ``geometry`` or fixtures).
        path: ``.mp4`` or ``.gif`` file to write.
        settings: length, frame rate, size, speed-up and start time.
        seed: random seed (default: the scene's).
        on_frame: called as ``on_frame(done, total)`` after each frame (progress bars).

    Raises:
        UsageError: bad settings, or a scene with nothing to film.
    """
    from ..orchestrator import Twin
    from ..sensors.camera import Camera, Intrinsics, look_at
    from .camera_path import Orbit, camera_path, scene_bounds
    from .stage import dress_hall

    path = Path(path)
    kind = check_settings(path, settings)
    s = settings
    lo, hi = scene_bounds(scene)
    cam_path = camera_path(scene, s.width / s.height)
    n = s.frames
    video_t = np.arange(n) / s.fps
    eyes = np.array([cam_path.pose(t)[0] for t in video_t])
    if isinstance(cam_path, Orbit):  # the walls stand beyond the whole circle, not just the arc filmed
        eyes = np.vstack([eyes, [cam_path.pose(t)[0] for t in np.linspace(0, abs(cam_path.period_s), 64)]])
    far_m = 2.5 * float(np.linalg.norm(np.ptp(np.vstack([eyes, lo, hi]), axis=0))) + 20.0
    intrinsics = Intrinsics.from_fov(s.width, s.height, scene.viz.fov_deg)
    out_sinks = [sk.name for sk in scene.sinks if not sk.reject]
    started = time.perf_counter()
    render_s = 0.0
    # Videos use TinyRenderer everywhere, for the picture: PyBullet's EGL renderer lights a large
    # floor face with visible triangle wedges and breaks thin lane lines into dashes. EGL was
    # faster here (640x480 on 2 CPU cores with llvmpipe: 8-16 against 5.5 frames/s rendered).
    scene = scene.model_copy(update={"sim": scene.sim.model_copy(update={"renderer": "tiny"})})
    with Twin(scene, seed=seed, trace=False, physics=True) as tw:
        dress_hall(tw.world, lo, hi, eyes)
        # The video does not show the scene's own cameras, and nothing in the line reads their
        # images (the core decides inspections): rendering them would double the cost per frame.
        tw.cameras.clear()
        sink_idx = [tw.engine.names.nodes.index(name) for name in out_sinks]
        writer = _Writer(path, kind, s.fps)
        window = 1.0 / s.fps  # simulated seconds of physics before each frame
        loop_start = time.perf_counter()
        try:
            for k in range(n):
                target = s.start_s + k * s.speed / s.fps
                if target > tw.time_s:
                    w = min(window, target - tw.time_s)
                    if target - w > tw.time_s + 1e-9:
                        tw.run(until=target - w, check_deadlock=False)
                    tw.step(target - tw.time_s)
                eye, look = cam_path.pose(float(video_t[k]))
                t0 = time.perf_counter()
                cam = Camera(tw.world, "video", intrinsics, pose=look_at(eye, look), near_m=_NEAR_M, far_m=far_m)
                rgb = cam.capture(tw.time_s).rgb
                render_s += time.perf_counter() - t0
                if s.caption:
                    parts_out = int(tw.engine.sink_counts()[sink_idx].sum())
                    wip = int(tw.engine.state.wip[0])
                    rgb = _caption(rgb, [f"{scene.name or path.stem}  ·  digital twin",
                                         f"sim time {_clock(tw.time_s)}  ({s.speed:g}x)",
                                         f"parts out {parts_out:,}   WIP {wip}"])
                writer.append(rgb)
                if on_frame is not None:
                    on_frame(k + 1, n)
        finally:
            writer.close()
        loop_s = time.perf_counter() - loop_start
        renderer, sim_end = tw.world.renderer, tw.time_s
    return RecordResult(path, n, s.width, s.height, s.fps, n / s.fps, s.start_s, sim_end, renderer, render_s,
                        loop_s, time.perf_counter() - started)
