"""`twin report`: a real run's results in, an HTML page with every plot out, and the totals the
plots show equal to kpis.json."""

from __future__ import annotations

import base64
import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from twin.orchestrator import Twin
from twin.scene import load_scene
from twin.viz.report import PLOTS

ROOT = Path(__file__).resolve().parents[2]
SMT = ROOT / "scenes" / "smt_line.yaml"


def twin_cmd(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "twin", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """An 8 h run of the SMT line (30 min warm-up, shift calendar, failures) and its report."""
    folder = tmp_path_factory.mktemp("results")
    r = twin_cmd("run", str(SMT), "--until", "8h", "--seed", "7", "--out", str(folder))
    assert r.returncode == 0, r.stderr
    r = twin_cmd("report", str(folder))
    assert r.returncode == 0, r.stderr
    page = (folder / "report.html").read_text()
    data = json.loads(re.search(r'<script type="application/json" id="twin-report-data">(.*?)</script>',
                                page, re.S).group(1))
    return folder, page, data, json.loads((folder / "kpis.json").read_text())


def test_every_plot_is_in_the_page_and_saved_as_png(report):
    """Six plots, each embedded in the page and written as the same PNG beside it."""
    folder, page, data, _ = report
    assert set(data) == set(PLOTS) and len(PLOTS) == 6
    for key in PLOTS:
        png = folder / f"report_{key}.png"
        m = re.search(rf'data-plot="{key}" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
        assert m, key
        assert base64.b64decode(m.group(1)) == png.read_bytes()
        img = iio.imread(png)
        assert img.shape[0] >= 300 and img.shape[1] >= 1000
        assert img[..., :3].std() > 20  # a drawing, not a blank canvas
    for title, _ in PLOTS.values():
        assert f">{title}</h2>" in page


def test_plotted_totals_equal_the_kpis(report):
    """Every plot's totals come out of its own input file and match kpis.json."""
    _, _, data, k = report
    assert data["throughput"]["parts_out"] == k["throughput"]["total"] > 500
    np.testing.assert_allclose(data["wip"]["wip_avg"], k["wip_avg"], rtol=1e-9)
    lt = k["lead_time_s"]
    assert data["lead_time"]["n"] == lt["n"] == k["throughput"]["total"]
    np.testing.assert_allclose([data["lead_time"][f"{q}_s"] for q in ("mean", "p50", "p95")],
                               [lt["mean"], lt["p50"], lt["p95"]], rtol=1e-9)
    names = [s["name"] for s in k["stations"]]
    for key in ("station_states", "gantt"):
        assert data[key]["stations"] == names
        for state, shares in data[key]["shares"].items():
            np.testing.assert_allclose(shares, [s[f"{state}_frac"] for s in k["stations"]], atol=1e-9,
                                       err_msg=f"{key}: {state}")
    st = next(s for s in k["stations"] if s["name"] == k["bottleneck"])
    assert data["oee"]["station"] == k["bottleneck"]
    np.testing.assert_allclose(data["oee"]["oee"], st["oee"], rtol=1e-12)


def test_timeline_files_add_up_and_do_not_change_results(report):
    """timeline.csv bins cover the run, and running in bins gives the same KPIs as one run."""
    folder, _, _, k = report
    with (folder / "timeline.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    t0 = np.array([float(r["t_start_s"]) for r in rows])
    t1 = np.array([float(r["t_end_s"]) for r in rows])
    assert t0[0] == 0 and t1[-1] == 8 * 3600 and np.all(t0[1:] == t1[:-1])
    assert k["warmup_s"] in t0  # the warm-up end is a bin edge
    after = np.array([int(r["after_warmup"]) for r in rows]) == 1
    assert sum(int(r["parts_out"]) for r, a in zip(rows, after, strict=True) if a) == k["throughput"]["total"]
    assert sum(int(r["scrapped"]) for r, a in zip(rows, after, strict=True) if a) == k["scrapped"]
    tw = Twin(load_scene(SMT), seed=7, trace=False)
    tw.run(until="8h")
    direct = tw.kpis()
    assert direct["throughput"]["total"] == k["throughput"]["total"]
    assert direct["wip_avg"] == pytest.approx(k["wip_avg"], rel=1e-12)
    assert [s["busy_frac"] for s in direct["stations"]] == pytest.approx([s["busy_frac"] for s in k["stations"]])


def test_report_to_another_file(report, tmp_path):
    """--out puts the page and its PNGs elsewhere."""
    folder = report[0]
    r = twin_cmd("report", str(folder), "--out", str(tmp_path / "shift.html"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "shift.html").is_file() and (tmp_path / "shift_gantt.png").is_file()


@pytest.mark.parametrize("case, message", [
    ("missing", "no results folder"),
    ("no_timeline", "lacks timeline.csv, states.csv, lead_times.csv"),
    ("bad_out", "--out must be an .html file"),
])
def test_bad_input_exits_2_with_one_line(report, tmp_path, case, message):
    folder = report[0]
    if case == "missing":
        args = [str(tmp_path / "nope")]
    elif case == "no_timeline":
        (tmp_path / "kpis.json").write_text((folder / "kpis.json").read_text())
        args = [str(tmp_path)]
    else:
        args = [str(folder), "--out", str(tmp_path / "r.pdf")]
    r = twin_cmd("report", *args)
    assert r.returncode == 2
    assert message in " ".join(r.stderr.split()) and "Traceback" not in r.stderr
