"""`twin record`: real PyBullet frames along the camera path, encoded and read back."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import imageio.v2 as iio
import numpy as np
import pytest
from PIL import Image

from twin.errors import SceneError
from twin.scene import load_scene, load_scene_text, scene_from_data
from twin.sensors.camera import look_at
from twin.viz.camera_path import Orbit, Waypoints, camera_path, scene_bounds
from twin.viz.record import RecordSettings, record

ROOT = Path(__file__).resolve().parents[2]
SMT = ROOT / "scenes" / "smt_line.yaml"


def twin_cmd(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "twin", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


def read_mp4(path: Path) -> tuple[list[np.ndarray], dict]:
    reader = iio.get_reader(path, format="FFMPEG")
    try:
        return [f for f in reader], reader.get_meta_data()
    finally:
        reader.close()


def test_cli_video_has_the_requested_frames_size_and_duration(tmp_path):
    """3 s at 10 fps, 192x144: 30 frames of that size, 3.0 s long; the orbit makes every frame differ."""
    out = tmp_path / "demo.mp4"
    r = twin_cmd("record", str(SMT), "--out", str(out), "--duration", "3", "--fps", "10", "--width", "192",
                 "--height", "144", "--sim-seconds", "30min", "--no-progress")
    assert r.returncode == 0, r.stderr
    # from the warm-up on, 10 simulated minutes per video second; the last frame is at 2.9 s
    w = load_scene(SMT).sim.warmup_s
    assert "30 frames" in r.stdout and f"{w:g}-{w + 2.9 * 600:g} s" in " ".join(r.stdout.split())
    frames, meta = read_mp4(out)
    assert len(frames) == 30
    assert all(f.shape == (144, 192, 3) for f in frames)
    assert meta["fps"] == 10 and meta["duration"] == pytest.approx(3.0, abs=0.05)
    diffs = [np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(frames, frames[1:], strict=False)]
    assert min(diffs) > 0.5, diffs  # the camera moves between every two frames
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 5


BELT = """
version: 1
name: belt_demo
part_types: [{name: box, length_m: 0.3, size_m: [0.3, 0.25, 0.2]}]
sources: [{name: feed, to: belt, interarrival: 1.5, geometry: {xyz_m: [-0.4, 0.0, 0.3], size_m: [0.6, 0.6, 0.6]}}]
conveyors:
  - {name: belt, to: out, length_m: 4.0, speed_mps: 0.4, spacing_m: 0.4,
     geometry: {start_xyz_m: [0.0, 0.0, 0.6], end_xyz_m: [4.0, 0.0, 0.6], width_m: 0.4}}
sinks: [{name: out, geometry: {xyz_m: [4.4, 0.0, 0.3], size_m: [0.6, 0.6, 0.6]}}]
viz:
  camera_path:
    kind: waypoints
    waypoints:   # held still: two identical poses
      - {t_s: 0, eye_m: [2.0, -3.5, 2.5], target_m: [2.0, 0.0, 0.6]}
      - {t_s: 1, eye_m: [2.0, -3.5, 2.5], target_m: [2.0, 0.0, 0.6]}
"""


def test_line_moves_under_a_still_camera(tmp_path):
    """With the camera held still and no caption, frames still change: boxes travel along the belt
    as simulated time advances (4x here), while the hall stands still."""
    out = tmp_path / "still.mp4"
    res = record(load_scene_text(BELT), out, RecordSettings(duration_s=1.0, fps=8, width=160, height=120, speed=4,
                                                            start_s=10, caption=False))
    assert res.frames == 8 and res.sim_start_s == 10 and res.sim_end_s == pytest.approx(10 + 7 * 4 / 8)
    frames, _ = read_mp4(out)
    changed = np.abs(frames[0].astype(int) - frames[-1].astype(int)).max(axis=2) > 40
    assert changed.sum() > 50  # boxes moved (whole pixels, not codec noise)
    assert changed.mean() < 0.25  # while the rest stood still


def test_gif_frames_and_delays(tmp_path):
    """A GIF by extension: the frame count, size and per-frame delay (1/fps) requested."""
    out = tmp_path / "clip.gif"
    res = record(load_scene(SMT), out, RecordSettings(duration_s=0.6, fps=10, width=120, height=90, speed=60,
                                                      start_s=600))
    assert res.frames == 6
    im = Image.open(out)
    delays, sizes = [], []
    for i in range(im.n_frames):
        im.seek(i)
        delays.append(im.info["duration"])
        sizes.append(im.size)
    assert im.n_frames == 6 and set(sizes) == {(120, 90)} and set(delays) == {100}


@pytest.mark.parametrize("args, message", [
    (["--out", "x.avi"], "--out must end in .mp4 or .gif"),
    (["--out", "x.mp4", "--width", "641"], "--width must be even for MP4"),
    (["--out", "x.gif", "--fps", "30"], "--fps must divide 100"),
    (["--out", "x.mp4", "--speed", "10", "--sim-seconds", "1h"], "give --speed or --sim-seconds, not both"),
    (["--out", "x.mp4", "--duration", "abc"], "--duration"),
    (["--out", "x.mp4", "--fps", "0"], "--fps must be in [1, 120]"),
])
def test_bad_options_exit_2(tmp_path, args, message):
    r = twin_cmd("record", str(SMT), *[a if not a.startswith("x.") else str(tmp_path / a) for a in args])
    assert r.returncode == 2, r.stdout
    assert message in " ".join(r.stderr.split()) and "Traceback" not in r.stderr


def test_default_orbit_keeps_the_whole_layout_in_frame():
    """The fitted orbit sees every corner of the layout's bounding box from every angle."""
    scene = load_scene(SMT)
    lo, hi = scene_bounds(scene)
    assert lo[0] < 0.0 and hi[0] > 20.3 and lo[2] == 0.0
    path = camera_path(scene, 16 / 9)
    assert isinstance(path, Orbit)
    tan_h = math.tan(math.radians(0.5 * scene.viz.fov_deg))
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    fills = []
    for t in np.linspace(0, path.period_s, 25):
        eye, target = path.pose(t)
        r, _ = look_at(eye, target)
        cam = (corners - eye) @ r  # x right, y down, z forward
        assert np.all(cam[:, 2] > 0)
        fills.append(max(np.abs(cam[:, 0] / cam[:, 2]).max() / tan_h,
                         np.abs(cam[:, 1] / cam[:, 2]).max() / (tan_h * 9 / 16)))
    assert max(fills) <= 1.0 and max(fills) > 0.85  # in frame, and not lost in the distance


def test_waypoints_pass_through_their_poses_smoothly():
    path = Waypoints(np.array([0.0, 1.0, 3.0]), np.array([[0, 0, 5], [4, 0, 5], [4, 6, 3]], float),
                     np.array([[0, 0, 0], [1, 0, 0], [2, 2, 0]], float))
    for t, eye in ((0.0, [0, 0, 5]), (1.0, [4, 0, 5]), (3.0, [4, 6, 3]), (-1.0, [0, 0, 5]), (9.0, [4, 6, 3])):
        np.testing.assert_allclose(path.pose(t)[0], eye, atol=1e-12)
    h = 1e-6
    for t in (1.0, 0.5, 2.0):  # velocity continuous through a waypoint and inside segments
        left = (path.pose(t)[0] - path.pose(t - h)[0]) / h
        right = (path.pose(t + h)[0] - path.pose(t)[0]) / h
        np.testing.assert_allclose(left, right, atol=1e-4)


def test_scene_viz_section_is_validated():
    base = load_scene(SMT).model_dump(mode="json", exclude_none=True)
    base["viz"] = {"camera_path": {"kind": "waypoints", "waypoints": [
        {"t_s": 2, "eye_m": [0, 0, 5], "target_m": [0, 0, 0]}, {"t_s": 1, "eye_m": [1, 0, 5], "target_m": [0, 0, 0]}]}}
    with pytest.raises(SceneError, match="must increase"):
        scene_from_data(base)
    base["viz"] = {"camera_path": {"kind": "spiral"}}
    with pytest.raises(SceneError, match="orbit|waypoints"):
        scene_from_data(base)
    base["viz"] = {"camera_path": {"kind": "orbit", "radius_m": 12, "height_m": 6, "period_s": 20}}
    path = camera_path(scene_from_data(base), 4 / 3)
    eye, target = path.pose(5.0)  # a quarter turn
    assert np.hypot(*(eye - target)[:2]) == pytest.approx(12) and (eye - target)[2] == pytest.approx(6)
