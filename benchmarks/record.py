"""Video recording: frames per second of ``twin record`` at 640x480, against rendering alone.

The bundled SMT line (seed 7) is filmed along its default orbit from the end of its warm-up, at
60 simulated seconds per video second, 30 fps, 640x480, into an MP4 (H.264). Figures:

- ``record_fps``: frames per second of the whole frame loop (advance the line, physics, render,
  caption, encode), the number a user waits on; ``record_s`` its wall time;
- ``render_fps``: the PyBullet renders alone, timed inside the same loop (the reference);
  ``overhead_vs_render`` = render_fps / record_fps - 1, the share the rest adds;
- ``setup_s``: building the 3D world and the hall before the first frame (numba compile excluded:
  the twin is built once before timing).

The renderer is the World's (EGL where it works, else TinyRenderer), named in ``renderer``.
Ends with one JSON line. Usage: python benchmarks/record.py [--quick] [--seconds S]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import _harness as H
import imageio.v2 as iio

from twin.orchestrator import Twin
from twin.scene import load_scene
from twin.viz.record import RecordSettings, record

SCENE = H.REPO_ROOT / "scenes" / "smt_line.yaml"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="3 s of video instead of 10")
    ap.add_argument("--seconds", type=float, default=None, help="video seconds to record")
    args = ap.parse_args()
    machine = H.machine_info()
    H.print_header("record: twin record at 640x480 vs its renders alone", machine, H.numba_cache_files())
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    scene = load_scene(SCENE)
    with H.Timer() as compile_t:  # numba kernels (compiled or loaded from the cache) outside the timing
        Twin(scene, seed=7, trace=False).run(until=60)
    settings = RecordSettings(duration_s=seconds, fps=30, width=640, height=480, speed=60,
                              start_s=scene.sim.warmup_s)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.mp4"
        res = record(scene, path, settings, seed=7)
        reader = iio.get_reader(path, format="FFMPEG")
        frames = reader.count_frames()
        reader.close()
        size_mb = path.stat().st_size / 1e6
    if frames != res.frames:
        raise SystemExit(f"the MP4 holds {frames} frames, {res.frames} were recorded")
    out = {"benchmark": "record", "quick": args.quick, "renderer": res.renderer, "width": 640, "height": 480,
           "fps": 30, "frames": res.frames, "video_s": res.video_s, "speed": settings.speed,
           "record_fps": round(res.record_fps, 2), "record_s": round(res.loop_s, 2),
           "render_fps": round(res.render_fps, 2), "overhead_vs_render": round(res.render_fps / res.record_fps - 1, 3),
           "setup_s": round(res.wall_s - res.loop_s, 2), "compile_s": round(compile_t.s, 2),
           "mp4_mb": round(size_mb, 2), "machine": machine}
    print(f"{res.frames} frames 640x480 ({res.renderer}): recorded at {out['record_fps']:.1f} fps "
          f"({out['record_s']:.1f} s), renders alone {out['render_fps']:.1f} fps, overhead "
          f"{100 * out['overhead_vs_render']:.0f}%; setup {out['setup_s']:.1f} s; MP4 {size_mb:.2f} MB")
    H.emit_json(out)


if __name__ == "__main__":
    main()
