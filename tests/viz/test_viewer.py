"""The live web viewer, opened in headless Chromium (Debian's ``chromium``, driven by Playwright).

The page must show the scene (a screenshot that is not blank, and as many scene objects as the
viewer drew), a KPI panel whose numbers are the twin's KPIs at the shown time, controls that reach
the twin (pause, fault injection), and serve several browsers at once.
"""

from __future__ import annotations

import io
import re
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import twin

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed "
                                "(make test installs it)")


def _number(text: str, label: str) -> float:
    match = re.search(rf"{label}: (-?[0-9.]+)", text)
    assert match, f"{label!r} not on the page:\n{text}"
    return float(match.group(1))


@pytest.fixture(scope="module")
def live():
    """The machining cell (belts, machines, robot arm, AGVs, racks) served live at 40x real time."""
    from twin.viz.viewer import Viewer, run_live

    tw = twin.Twin(twin.load_scene(ROOT / "scenes" / "machining_cell.yaml"), seed=2, trace=True, warmup_s=0)
    viewer = Viewer(tw, port=0, rate_hz=10)
    stop = threading.Event()
    thread = threading.Thread(target=run_live, args=(tw, viewer, 4 * 3600.0, 40.0), kwargs={"stop": stop},
                              daemon=True)
    thread.start()
    yield tw, viewer
    stop.set()
    thread.join(timeout=5)
    viewer.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _open(browser, viewer):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(viewer.url)
    page.wait_for_selector("text=Scene objects", timeout=30_000)
    page.wait_for_selector("text=Throughput", timeout=30_000)
    return page


def test_page_shows_the_scene_and_its_objects(live, browser):
    tw, viewer = live
    page = _open(browser, viewer)
    page.wait_for_timeout(3000)  # let three.js draw a few frames
    shot = np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("RGB"), float)
    scene_area = shot[:, :860]  # left of the control panel
    assert scene_area.std() > 20, "the 3D view is blank"
    assert len(np.unique(scene_area.reshape(-1, 3).astype(int) // 16, axis=0)) > 30, "too few colours: no scene"
    text = page.inner_text("body")
    shown = int(_number(text, "Scene objects"))
    geometry = sum(el.geometry is not None for sec in ("conveyors", "stations", "sources", "sinks", "storages")
                   for el in getattr(tw.scene, sec))
    assert shown == viewer.objects
    assert shown >= geometry + len(tw.scene.fixtures)
    assert viewer.frames_sent > 0
    page.close()


def test_kpi_panel_matches_the_twin_and_pause_works(live, browser):
    """Click Pause on the page: the twin stops advancing, and the panel's numbers equal
    ``twin.kpis()`` at the time it shows."""
    tw, viewer = live
    page = _open(browser, viewer)
    page.wait_for_function("() => /Sim time: [0-9]/.test(document.body.innerText)", timeout=30_000)
    page.get_by_text("Pause", exact=True).click()
    page.wait_for_timeout(1500)
    assert viewer.paused
    t_paused = tw.time_s
    page.wait_for_timeout(1000)
    assert tw.time_s == t_paused, "the twin kept running while paused"
    text = page.inner_text("body")
    k = tw.kpis()
    assert _number(text, "Sim time") == pytest.approx(tw.time_s, abs=0.051)
    assert _number(text, "Throughput") == pytest.approx(k["throughput"]["per_hour"], abs=0.051)
    assert _number(text, "Good parts") == k["good"]
    assert _number(text, "WIP") == pytest.approx(k["wip_avg"], abs=0.0051)
    assert f"Bottleneck: {k['bottleneck']}" in text
    page.get_by_text("Pause", exact=True).click()
    page.wait_for_timeout(1000)
    assert not viewer.paused and tw.time_s > t_paused
    page.close()


def test_fault_button_injects_into_the_twin_and_two_browsers_watch(live, browser):
    tw, viewer = live
    pages = [_open(browser, viewer), _open(browser, viewer)]
    for page in pages:
        assert int(_number(page.inner_text("body"), "Scene objects")) == viewer.objects
    pages[0].get_by_role("button", name="Inject fault").click()
    first = viewer.reader.tw.scene.conveyors[0].name  # the dropdown's first option: stop the first belt
    for _ in range(50):
        if any(t == first for _k, t, *_ in tw.faults.injected):
            break
        pages[0].wait_for_timeout(100)
    assert any(k == "conveyor_stop" and t == first for k, t, *_ in tw.faults.injected)
    for page in pages:
        page.close()
