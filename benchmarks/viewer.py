"""Web viewer: what watching costs the simulation, and how often the page is updated.

The whole lights-out factory scene steps at its 10 ms control step as fast as it can (the free-running
clock of ``twin serve``/``twin view``), first alone, then with a live viewer attached: each step
offers the viewer a frame (``Viewer.publish``, which takes one at most ``rate_hz`` times a second)
and a headless Chromium page (Debian's ``chromium``, via Playwright) is connected and drawing.
The steps alone and with the viewer alternate in rounds, so a change in machine load hits both.

- ``rtf_alone``, ``rtf_with_viewer``: simulated seconds per wall second;
- ``slowdown_with_viewer`` = 1 - rtf_with_viewer / rtf_alone (goal: at most 0.10);
- ``viewer_hz``: frames the viewer drew per wall second while attached (goal: its ``rate_hz``, 10).

Usage: python benchmarks/viewer.py [--quick] [--no-browser]
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import _harness as H

import twin
from twin.viz.viewer import Viewer

SCENE = H.REPO_ROOT / "scenes" / "lights_out_factory.yaml"


def run_steps(tw, seconds: float, viewer: Viewer | None) -> float:
    """Wall seconds to step ``tw`` through ``seconds`` of simulated time."""
    end = tw.time_s + seconds
    start = time.perf_counter()
    if viewer is None:
        while tw.time_s < end - 1e-9:
            tw.step()
    else:
        while tw.time_s < end - 1e-9:
            tw.step()
            viewer.publish()
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer rounds (under a minute)")
    ap.add_argument("--no-browser", action="store_true", help="no Chromium page connected")
    args = ap.parse_args()
    machine = H.machine_info()
    H.print_header("web viewer: simulation slowdown and update rate", machine, H.numba_cache_files())
    scene = twin.load_scene(SCENE)
    alone = twin.Twin(scene, seed=1, trace=False, warmup_s=0)
    watched = twin.Twin(scene, seed=1, trace=False, warmup_s=0)
    viewer = Viewer(watched, port=0, rate_hz=10)
    browser = page = pw = None
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not args.no_browser and Path(chromium).exists():
        from playwright.sync_api import sync_playwright

        pw = sync_playwright().start()
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu",
                                                                     "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(viewer.url)
        page.wait_for_selector("text=Scene objects", timeout=30_000)
    print(f"scene: {scene.name}; viewer at {viewer.url}; browser: {'connected' if page else 'none'}")
    rounds, chunk = (4, 1200.0) if args.quick else (8, 3600.0)
    run_steps(alone, 60.0, None)  # warm both (first steps build part-type tables, caches)
    run_steps(watched, 60.0, viewer)
    t_alone = t_viewer = 0.0
    frames0 = viewer.frames_sent
    for r in range(rounds):
        a = run_steps(alone, chunk, None)
        v = run_steps(watched, chunk, viewer)
        t_alone, t_viewer = t_alone + a, t_viewer + v
        print(f"round {r + 1}: {chunk:g} sim s alone {a:.2f} s wall, with viewer {v:.2f} s wall")
    frames = viewer.frames_sent - frames0
    rtf_alone, rtf_viewer = rounds * chunk / t_alone, rounds * chunk / t_viewer
    out = {"scene": scene.name, "control_step_s": scene.sim.control_step_s, "browser": page is not None,
           "rtf_alone": round(rtf_alone, 1), "rtf_with_viewer": round(rtf_viewer, 1),
           "slowdown_with_viewer": round(1.0 - rtf_viewer / rtf_alone, 4),
           "viewer_hz": round(frames / t_viewer, 2), "viewer_rate_hz": viewer.rate_hz}
    print(f"real-time factor alone {out['rtf_alone']}, with viewer {out['rtf_with_viewer']}: slowdown "
          f"{out['slowdown_with_viewer']:.1%} (goal <= 10%); viewer drew {out['viewer_hz']} frames/s")
    if browser is not None:
        browser.close()
        pw.stop()
    viewer.close()
    out["machine"] = machine
    H.emit_json(out)


if __name__ == "__main__":
    main()
