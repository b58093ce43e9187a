"""The KPI report's plots (matplotlib, Agg): one function per plot, each returning the figure and
the totals it plots, so that the report can state them and tests can check them against
``kpis.json``.

Inputs are the files of ``twin run --out`` as loaded by :func:`twin.viz.report.load_results`:
``kpis`` (kpis.json), ``timeline``, ``states`` and ``lead_times`` (column dicts of NumPy arrays,
see :mod:`twin.viz.timeline`). Only the KPI window (after the warm-up) counts in any total; the
warm-up is shaded grey where time is the x axis.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

__all__ = ["STATES", "STATE_COLORS", "throughput_over_time", "station_states", "wip_over_time",
           "lead_time_histogram", "state_gantt", "oee_waterfall"]

#: Station states in plotting order, with the labels readers know them by.
STATES = ("busy", "setup", "idle", "blocked", "down", "off_shift")
STATE_LABELS = {"busy": "busy", "setup": "setup", "idle": "starved", "blocked": "blocked", "down": "down",
                "off_shift": "off shift"}
#: The usual andon colours: running green, starved amber, blocked blue, down red.
STATE_COLORS = {"busy": "#2E9E5B", "setup": "#8E6BBF", "idle": "#F2C14E", "blocked": "#3B7DD8",
                "down": "#D64541", "off_shift": "#B8BEC6"}
_INK = "#1F2933"
_ACCENT = "#1F6FB2"
_WARMUP = "#E4E7EB"

plt.rcParams.update({
    "font.family": "DejaVu Sans", "font.size": 9.5, "axes.titlesize": 12, "axes.titleweight": "bold",
    "axes.titlelocation": "left", "axes.labelcolor": _INK, "axes.axisbelow": True, "axes.edgecolor": "#9AA5B1", "axes.grid": True,
    "grid.color": "#E4E7EB", "grid.linewidth": 0.8, "axes.spines.top": False, "axes.spines.right": False,
    "xtick.color": _INK, "ytick.color": _INK, "legend.frameon": False, "figure.dpi": 100,
})


def _hours(t_s: np.ndarray) -> np.ndarray:
    return np.asarray(t_s, float) / 3600.0


def _shade_warmup(ax, kpis: dict, over: bool = False) -> None:
    """Grey out the warm-up: behind the data, or ``over`` it (where bars would hide a background)."""
    if kpis["warmup_s"] > 0:
        if over:
            ax.axvspan(0, kpis["warmup_s"] / 3600.0, color="white", alpha=0.55, zorder=5, lw=0)
            return  # a label would collide with the title; the report's caption says it
        ax.axvspan(0, kpis["warmup_s"] / 3600.0, color=_WARMUP, zorder=0, lw=0)
        ax.text(0.5 * kpis["warmup_s"] / 3600.0, 0.98, "warm-up", transform=ax.get_xaxis_transform(),
                ha="center", va="top", fontsize=8, color="#616E7C")


def _figure(height: float = 4.2) -> tuple[Figure, plt.Axes]:
    fig, ax = plt.subplots(figsize=(10, height), layout="constrained")
    return fig, ax


def throughput_over_time(kpis: dict, timeline: dict, points: int = 48) -> tuple[Figure, dict]:
    """Parts out per hour in ~``points`` intervals (bars) and cumulative parts out in the KPI
    window (line). Total: parts out after the warm-up (``throughput.total``)."""
    t0, t1, out, after = timeline["t_start_s"], timeline["t_end_s"], timeline["parts_out"], timeline["after_warmup"]
    group = max(1, math.ceil(len(t0) / points))
    edges = np.r_[t0[::group], t1[-1]]
    counts = np.add.reduceat(out, np.arange(0, len(out), group))
    rate = counts / np.diff(edges) * 3600.0
    fig, ax = _figure()
    _shade_warmup(ax, kpis)
    ax.bar(_hours(edges[:-1]), rate, width=_hours(np.diff(edges)), align="edge", color=_ACCENT, alpha=0.85,
           edgecolor="white", linewidth=0.5, label="parts out per hour")
    ax.axhline(kpis["throughput"]["per_hour"], color=_INK, ls="--", lw=1.2,
               label=f"KPI window mean {kpis['throughput']['per_hour']:.1f}/h")
    ax.set_xlabel("simulated time (h)")
    ax.set_ylabel("parts out per hour")
    ax2 = ax.twinx()
    cum = np.cumsum(np.where(after == 1, out, 0))
    ax2.step(_hours(t1), cum, where="post", color="#E07A1F", lw=2, label="cumulative parts out (KPI window)")
    ax2.set_ylabel("cumulative parts out")
    ax2.grid(False)
    ax2.spines["right"].set_visible(True)
    ax2.set_ylim(0, max(1, cum[-1]) * 1.08)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncols=3)
    ax.set_title(f"Throughput over time: {int(cum[-1]):,} parts out in the KPI window")
    return fig, {"parts_out": int(cum[-1]), "per_hour": float(kpis["throughput"]["per_hour"])}


def station_states(kpis: dict) -> tuple[Figure, dict]:
    """Stacked bars of each station's time shares over the KPI window (``stations[].*_frac``)."""
    stations = kpis["stations"]
    names = [s["name"] for s in stations]
    fig, ax = _figure(0.9 + 0.42 * len(names))
    left = np.zeros(len(names))
    shares = {}
    for state in STATES:
        v = np.array([s[f"{state}_frac"] for s in stations])
        shares[state] = v.tolist()
        ax.barh(names, v * 100, left=left * 100, color=STATE_COLORS[state], label=STATE_LABELS[state],
                edgecolor="white", linewidth=0.6)
        for y, (x0, w) in enumerate(zip(left, v, strict=True)):
            if w >= 0.06:
                ax.text(100 * (x0 + 0.5 * w), y, f"{100 * w:.0f}%", ha="center", va="center", fontsize=8,
                        color="white" if state not in ("idle", "off_shift") else _INK)
        left += v
    for y, name in enumerate(names):
        if name == kpis.get("bottleneck"):
            ax.text(101, y, "◀ bottleneck", va="center", fontsize=8.5, color="#D64541", fontweight="bold")
    ax.invert_yaxis()
    ax.set_xlim(0, 112)
    ax.set_xticks(range(0, 101, 20))
    ax.set_xlabel("share of the station's time in the KPI window (%)")
    ax.grid(axis="y", visible=False)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.5 / (0.9 + 0.42 * len(names)) - 0.12), ncols=6)
    ax.set_title("Station states")
    return fig, {"stations": names, "shares": shares}


def wip_over_time(kpis: dict, timeline: dict) -> tuple[Figure, dict]:
    """Time-average WIP per bin; its time-weighted mean over the KPI window is ``wip_avg``."""
    t0, t1, wip, after = timeline["t_start_s"], timeline["t_end_s"], timeline["wip_avg"], timeline["after_warmup"]
    dt = t1 - t0
    window = after == 1
    mean = float((wip[window] * dt[window]).sum() / dt[window].sum()) if window.any() else float("nan")
    fig, ax = _figure(3.6)
    _shade_warmup(ax, kpis)
    ax.fill_between(_hours(np.r_[t0, t1[-1]]), np.r_[wip, wip[-1]], step="post", color=_ACCENT, alpha=0.25, lw=0)
    ax.step(_hours(np.r_[t0, t1[-1]]), np.r_[wip, wip[-1]], where="post", color=_ACCENT, lw=1.2,
            label="WIP (time-average per bin)")
    ax.axhline(mean, color=_INK, ls="--", lw=1.2, label=f"KPI window mean {mean:.2f}")
    ax.set_xlabel("simulated time (h)")
    ax.set_ylabel("parts in process")
    ax.set_ylim(0, None)
    ax.legend(loc="lower right", ncols=2)
    ax.set_title("Work in process over time")
    return fig, {"wip_avg": mean}


def lead_time_histogram(kpis: dict, lead_times: dict) -> tuple[Figure, dict]:
    """Histogram of the lead times of parts out in the KPI window, with mean, p50 and p95."""
    v = lead_times["lead_time_s"][lead_times["after_warmup"] == 1]
    fig, ax = _figure(3.6)
    unit, scale = ("min", 60.0) if v.size and np.median(v) >= 120 else ("s", 1.0)
    if v.size:
        ax.hist(v / scale, bins=min(60, max(10, int(np.sqrt(v.size)))), color=_ACCENT, alpha=0.85,
                edgecolor="white", linewidth=0.5)
        for q, label, ls in ((v.mean(), "mean", "-"), (np.quantile(v, 0.5), "p50", "--"),
                             (np.quantile(v, 0.95), "p95", ":")):
            ax.axvline(q / scale, color=_INK, ls=ls, lw=1.3, label=f"{label} {q / scale:.1f} {unit}")
        ax.legend(loc="upper right")
    ax.set_xlabel(f"lead time, release to output ({unit})")
    ax.set_ylabel("parts")
    ax.set_title(f"Lead time: {v.size:,} parts out in the KPI window")
    return fig, {"n": int(v.size), "mean_s": float(v.mean()) if v.size else float("nan"),
                 "p50_s": float(np.quantile(v, 0.5)) if v.size else float("nan"),
                 "p95_s": float(np.quantile(v, 0.95)) if v.size else float("nan")}


def state_gantt(kpis: dict, states: dict) -> tuple[Figure, dict]:
    """One row per station along simulated time, coloured by state. Each bin is split among the
    states in proportion to the time spent in them (exact; bins are ~1/2000 of the run).
    Totals: each station's time per state in the KPI window, as shares (``*_frac``)."""
    names = [s["name"] for s in kpis["stations"]]
    fig, ax = _figure(1.0 + 0.45 * len(names))
    _shade_warmup(ax, kpis, over=True)
    shares = {state: [] for state in STATES}
    for y, name in enumerate(names):
        rows = states["station"] == name
        t0, t1 = states["t_start_s"][rows], states["t_end_s"][rows]
        dt = t1 - t0
        start = t0.copy()
        in_window = t0 >= kpis["warmup_s"] - 1e-9
        for state in STATES:
            frac = states[f"{state}_frac"][rows]
            width = frac * dt
            keep = width > 0
            ax.broken_barh(list(zip(_hours(start[keep]), _hours(width[keep]), strict=True)), (y - 0.38, 0.76),
                           facecolors=STATE_COLORS[state], linewidth=0)
            start = start + width
            shares[state].append(float(width[in_window].sum() / dt[in_window].sum()) if in_window.any() else 0.0)
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlim(0, kpis["t_end_s"] / 3600.0)
    ax.set_xlabel("simulated time (h)")
    ax.grid(axis="y", visible=False)
    handles = [plt.Rectangle((0, 0), 1, 1, color=STATE_COLORS[s]) for s in STATES]
    ax.legend(handles, [STATE_LABELS[s] for s in STATES], loc="upper center", ncols=6,
              bbox_to_anchor=(0.5, -0.55 / (1.0 + 0.45 * len(names)) - 0.1))
    ax.set_title("Station states over time")
    return fig, {"stations": names, "shares": shares}


def oee_waterfall(kpis: dict, station: str | None = None) -> tuple[Figure, dict]:
    """OEE of one station (default: the bottleneck) as a waterfall from planned time: availability
    loss (down), performance loss (starved, blocked, setup, slow cycles), quality loss (scrap,
    defects made, gripper drops). Shares of planned time; the last bar is the station's ``oee``."""
    stations = {s["name"]: s for s in kpis["stations"]}
    name = station or (kpis["bottleneck"] if kpis.get("bottleneck") in stations else next(iter(stations)))
    s = stations[name]
    a, p, q = (float(s[k]) if s[k] is not None else float("nan") for k in ("availability", "performance", "quality"))
    steps = [("planned time", 1.0, 0.0), ("availability loss", -(1 - a), 1.0), ("performance loss", -a * (1 - p), a),
             ("quality loss", -a * p * (1 - q), a * p), ("OEE", a * p * q, 0.0)]
    fig, ax = _figure(3.8)
    colors = ["#9AA5B1", "#D64541", "#F2C14E", "#8E6BBF", "#2E9E5B"]
    for i, ((_, value, base), color) in enumerate(zip(steps, colors, strict=True)):
        bottom = base + value if value < 0 else base
        ax.bar(i, abs(value) * 100, bottom=bottom * 100, color=color, width=0.62, edgecolor="white")
        ax.text(i, (bottom + abs(value)) * 100 + 1.5, f"{'−' if value < 0 else ''}{100 * abs(value):.1f}%",
                ha="center", va="bottom", fontsize=10, fontweight="bold", color=_INK)
        if 0 < i < len(steps) - 1:
            ax.plot([i - 1 + 0.31, i - 0.31], [base * 100, base * 100], color="#616E7C", lw=0.8, ls=":")
    ax.plot([len(steps) - 2 + 0.31, len(steps) - 1 - 0.31], [a * p * q * 100] * 2, color="#616E7C", lw=0.8, ls=":")
    ax.set_xticks(range(len(steps)), [x[0] for x in steps])
    ax.set_ylim(0, 112)
    ax.set_ylabel("share of planned time (%)")
    ax.grid(axis="x", visible=False)
    ax.set_title(f"OEE waterfall: {name}" + (" (bottleneck)" if name == kpis.get("bottleneck") else ""))
    return fig, {"station": name, "availability": a, "performance": p, "quality": q, "oee": a * p * q}
