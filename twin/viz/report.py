"""The KPI report (``twin report results/``): one self-contained HTML page with plots.

It reads what ``twin run --out`` wrote (``kpis.json``, ``timeline.csv``, ``states.csv``,
``lead_times.csv``), draws the plots of :mod:`twin.viz.plots`, saves each as a PNG next to the
page, and embeds the same PNGs in the page (base64), so the HTML can be mailed on its own. The
totals each plot shows are also embedded as JSON (``<script id="twin-report-data">``), so that a
reader, or a test, can check them against ``kpis.json``.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .. import jsonout
from ..errors import UsageError
from . import plots

__all__ = ["PLOTS", "load_results", "write_report", "Report"]

#: Plot id -> (title, what it shows and how it is computed), in page order.
PLOTS = {
    "throughput": ("Throughput over time", "Bars: parts reaching an output sink per hour, in equal intervals. "
                   "Line: cumulative parts out after the warm-up; its end is throughput.total."),
    "station_states": ("Station states", "Share of each station's server time in each state over the KPI "
                       "window (stations.csv *_frac); starved = idle waiting for a part."),
    "gantt": ("Station states over time", "Each station's state along simulated time, from the time spent in "
              "each state within ~2,000 equal bins (states.csv); within a bin, states are drawn in proportion. "
              "The warm-up is faded."),
    "wip": ("Work in process over time", "Time-average number of parts released and not yet out, per bin "
            "(timeline.csv); the dashed line is its mean over the KPI window, wip_avg."),
    "lead_time": ("Lead time", "Release to output sink, for every part out in the KPI window "
                  "(lead_times.csv), with mean, median (p50) and p95."),
    "oee": ("OEE waterfall", "The bottleneck's planned time, less down time (availability), less time not "
            "producing at ideal rate (performance), less bad parts (quality), leaves its OEE."),
}


@dataclass(frozen=True)
class Report:
    """What :func:`write_report` wrote: the page, the PNGs by plot id, and the plotted totals."""

    html: Path
    pngs: dict[str, Path]
    data: dict


def _read_csv(path: Path) -> dict[str, np.ndarray]:
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise UsageError(f"{path} has no rows")
    cols = {}
    for key in rows[0]:
        values = [r[key] for r in rows]
        try:
            cols[key] = np.array([float(v) for v in values])
        except ValueError:
            cols[key] = np.array(values)
    return cols


def load_results(folder: Path) -> dict:
    """The files of ``twin run --out`` that the report needs, parsed.

    Raises:
        UsageError: the folder or a file is missing (naming it and how to make it).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"no results folder {str(folder)!r}: run `twin run <scene.yaml> --out {folder}` first")
    needed = ["kpis.json", "timeline.csv", "states.csv", "lead_times.csv"]
    missing = [name for name in needed if not (folder / name).is_file()]
    if missing:
        raise UsageError(f"{folder} lacks {', '.join(missing)} (the report needs {', '.join(needed)}): "
                         f"run `twin run <scene.yaml> --out {folder}` to write them")
    try:
        kpis = json.loads((folder / "kpis.json").read_text())
    except json.JSONDecodeError as exc:
        raise UsageError(f"{folder / 'kpis.json'} is not valid JSON: {exc}") from None
    if not kpis.get("stations"):
        raise UsageError(f"{folder / 'kpis.json'} has no stations: the report plots station KPIs")
    return {"kpis": kpis, "timeline": _read_csv(folder / "timeline.csv"), "states": _read_csv(folder / "states.csv"),
            "lead_times": _lead_times(folder / "lead_times.csv")}


def _lead_times(path: Path) -> dict[str, np.ndarray]:
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {"lead_time_s": np.array([float(r["lead_time_s"]) for r in rows]),
            "after_warmup": np.array([int(r["after_warmup"]) for r in rows], int)}


def _figures(results: dict):
    k = results["kpis"]
    yield "throughput", plots.throughput_over_time(k, results["timeline"])
    yield "station_states", plots.station_states(k)
    yield "gantt", plots.state_gantt(k, results["states"])
    yield "wip", plots.wip_over_time(k, results["timeline"])
    yield "lead_time", plots.lead_time_histogram(k, results["lead_times"])
    yield "oee", plots.oee_waterfall(k)


def _minutes(seconds):
    return None if seconds is None else seconds / 60


def _num(v, digits: int = 3, pct: bool = False) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if pct:
        return f"{100 * v:.1f}%"
    if isinstance(v, int) or float(v).is_integer() and abs(v) >= 100:
        return f"{int(v):,}"
    return f"{v:,.{digits}g}"


def _tiles(k: dict) -> str:
    lt = k["lead_time_s"]
    tiles = [("Throughput", f"{_num(k['throughput']['per_hour'], 4)}/h", f"{k['throughput']['total']:,} parts out"),
             ("Line OEE", _num(k["line_oee"], pct=True), f"yield {_num(k['yield'], pct=True)}"),
             ("WIP", _num(k["wip_avg"], 3), "parts, time-average"),
             ("Lead time", f"{_num(_minutes(lt['mean']), 3)} min", f"p95 {_num(_minutes(lt['p95']), 3)} min"),
             ("Rejected / scrapped", f"{k['rejected']:,} / {k['scrapped']:,}", f"{k['good']:,} good"),
             ("Bottleneck", html.escape(str(k["bottleneck"])), "longest mean active period")]
    return "".join(f'<div class="tile"><div class="label">{a}</div><div class="value">{b}</div>'
                   f'<div class="sub">{c}</div></div>' for a, b, c in tiles)


def _station_table(k: dict) -> str:
    head = ("station", "busy", "setup", "starved", "blocked", "down", "off shift", "availability", "performance",
            "quality", "OEE", "processed", "failures")
    rows = []
    for s in k["stations"]:
        cells = [html.escape(s["name"]) + (" ◀" if s["name"] == k["bottleneck"] else "")]
        cells += [_num(s[f"{x}_frac"], pct=True) for x in plots.STATES]
        cells += [_num(s[x], pct=True) for x in ("availability", "performance", "quality", "oee")]
        cells += [f"{s['processed']:,}", str(s["failures"])]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return ("<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


_CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1F2933;background:#F5F7FA;margin:0}
main{max-width:1080px;margin:0 auto;padding:28px 32px 48px}
h1{font-size:26px;margin:0 0 4px} h2{font-size:18px;margin:34px 0 6px}
.meta{color:#616E7C;font-size:13px}
.tiles{display:grid;grid-template-columns:repeat(3,1fr);gap:12px;margin-top:20px}
.tile{background:#fff;border-radius:8px;padding:14px 16px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.tile .label{font-size:12px;text-transform:uppercase;letter-spacing:.05em;color:#616E7C}
.tile .value{font-size:24px;font-weight:700;margin:4px 0 2px}.tile .sub{font-size:12px;color:#616E7C}
figure{background:#fff;border-radius:8px;margin:14px 0;padding:12px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
figure img{width:100%;display:block} figcaption{font-size:13px;color:#3E4C59;margin:8px 4px 0}
table{border-collapse:collapse;width:100%;background:#fff;font-size:12.5px;margin-top:10px}
th,td{padding:6px 8px;text-align:right;border-bottom:1px solid #E4E7EB} th:first-child,td:first-child{text-align:left}
th{background:#EEF1F4;font-weight:600}
"""


def write_report(folder: Path, out: Path | None = None, *, dpi: int = 130) -> Report:
    """Write the HTML report of the run in ``folder`` (default ``folder/report.html``) and one PNG
    per plot beside it (``<page stem>_<plot>.png``)."""
    import matplotlib.pyplot as plt

    folder = Path(folder)
    results = load_results(folder)
    out = Path(out) if out is not None else folder / "report.html"
    if out.suffix.lower() not in (".html", ".htm"):
        raise UsageError(f"--out must be an .html file, got {str(out)!r}")
    out.parent.mkdir(parents=True, exist_ok=True)
    k = results["kpis"]
    pngs, data, sections = {}, {}, []
    for key, (fig, totals) in _figures(results):
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
        plt.close(fig)
        png = out.with_name(f"{out.stem}_{key}.png")
        png.write_bytes(buf.getvalue())
        pngs[key], data[key] = png, totals
        title, caption = PLOTS[key]
        sections.append(f'<h2 id="{key}">{title}</h2><figure><img alt="{title}" data-plot="{key}" '
                        f'src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'
                        f"<figcaption>{html.escape(caption)}</figcaption></figure>")
    scene = html.escape(str(k.get("scene", folder.name)))
    meta = (f"{k['window_s'] / 3600:.3g} h KPI window ({k['t_start_s'] / 3600:.3g}–{k['t_end_s'] / 3600:.3g} h; "
            f"warm-up {k['warmup_s'] / 3600:.3g} h) · seed {k.get('seed', '–')} · {k.get('replications', 1)} "
            f"replication(s), plots of the first · generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{scene}: KPI report</title>'
            f"<style>{_CSS}</style></head><body><main><h1>{scene}: KPI report</h1>"
            f'<div class="meta">{html.escape(meta)}</div><div class="tiles">{_tiles(k)}</div>'
            + "".join(sections) + f"<h2>Stations</h2>{_station_table(k)}"
            f'<script type="application/json" id="twin-report-data">{jsonout.dumps(data, default=float)}</script>'
            "</main></body></html>\n")
    out.write_text(page)
    return Report(out, pngs, data)
