"""KPIs over time, for reports: the run's accumulators sampled on a time grid.

``twin run --out`` writes one number per KPI for the whole window; plots over time need more. A
:class:`Timeline` runs the twin in chunks (results are identical: the core is event-driven) and
after each chunk reads the same accumulators the KPIs come from (``twin.core.kpi.accumulators``).
Differences between samples are exact: the time each station spent busy, blocked, down...
within each bin, the WIP integral, parts out, the lead times recorded. So the bins after the
warm-up add up to the KPIs exactly (the warm-up end is always a bin edge). It writes:

- ``timeline.csv``: per bin ``t_start_s``, ``t_end_s``, ``after_warmup``, ``wip_avg`` (time-average
  WIP in the bin), ``parts_out`` (to output sinks), ``rejected``, ``scrapped``;
- ``states.csv``: per station and bin, the share of its servers' time in each state
  (``busy_frac``, ``setup_frac``, ``idle_frac`` (starved), ``blocked_frac``, ``down_frac``,
  ``off_shift_frac``), as in ``stations.csv``;
- ``lead_times.csv``: every lead time recorded (release to output sink), with the bin it ended in.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ..core import layout as L
from ..core.kpi import accumulators

__all__ = ["Timeline", "DEFAULT_BINS"]

#: Bins over the run: 14.4 s each over an 8 h shift, finer than most process times' variation.
DEFAULT_BINS = 2000
#: at most this many rows in states.csv (stations x bins), and never fewer bins than MIN_BINS
MAX_STATE_ROWS = 2_000_000
MIN_BINS = 20


class Timeline:
    """Samples ``tw``'s accumulators at bin edges between now and ``until_s``.

    Args:
        tw: a :class:`twin.Twin` at time 0 (or wherever the timeline should start).
        until_s: end of the run.
        bins: number of equal bins; the warm-up end is added as an edge.
    """

    def __init__(self, tw, until_s: float, bins: int = DEFAULT_BINS) -> None:
        self.tw = tw
        e = tw.engine
        p = e.params
        self.until_s = float(until_s)
        self.warmup_s = float(tw.warmup_s)
        self.stations = [n for n in range(p.n_nodes) if p.node_kind[n] == L.KIND_STATION and not p.st_external[n]]
        # states.csv has a row per station and bin: a line of thousands of stations gets fewer bins
        bins = max(MIN_BINS, min(int(bins), MAX_STATE_ROWS // max(1, len(self.stations))))
        grid = np.linspace(tw.time_s, self.until_s, int(bins) + 1)
        if tw.time_s < self.warmup_s < self.until_s:
            grid = np.union1d(grid, [self.warmup_s])
        self.grid = grid
        self._next = 1
        # the servers of the stations counted, station after station, and where each station starts
        caps = [int(p.node_cap[n]) for n in self.stations]
        self._servers = np.array([int(p.st_srv_off[n]) + k for n, c in zip(self.stations, caps, strict=True)
                                  for k in range(c)], np.int64)
        self._starts = np.concatenate([[0], np.cumsum(caps)[:-1]]).astype(np.int64) if caps else np.zeros(0, np.int64)
        self.out_sinks = [n for n in range(p.n_nodes) if p.node_kind[n] == L.KIND_SINK and not p.sink_reject[n]]
        self.reject_sinks = [n for n in range(p.n_nodes) if p.node_kind[n] == L.KIND_SINK and p.sink_reject[n]]
        self.t: list[float] = []
        self._rows: list[dict[str, np.ndarray]] = []
        self._sample()

    def _sample(self) -> None:
        e = self.tw.engine
        acc = accumulators(e.params, e.state)
        srv = acc["srv_acc"].reshape(-1, 6)[self._servers]
        # one segmented sum for all stations (a Python loop over 10^4 stations per bin was the cost)
        per_station = np.add.reduceat(srv, self._starts, axis=0) if len(self._starts) else np.zeros((0, 6))
        self.t.append(self.tw.time_s)
        self._rows.append({
            "states": per_station, "wip_area": float(acc["wip_area"][0]),
            "out": float(acc["sink_count"][self.out_sinks].sum()),
            "rejected": float(acc["sink_count"][self.reject_sinks].sum()),
            "scrapped": float(acc["st_scrapped"].sum() + acc["st_drops"].sum()),
            "lt_n": int(acc["lt_n"][0]),
        })

    def sample_if_due(self) -> None:
        """Sample if the twin has passed the next bin edge (for runs stepped by the caller)."""
        if self._next < len(self.grid) and self.tw.time_s >= self.grid[self._next] - 1e-9:
            self._sample()
            while self._next < len(self.grid) and self.grid[self._next] <= self.tw.time_s + 1e-9:
                self._next += 1

    def run(self) -> None:
        """Run the twin to ``until_s`` bin by bin, sampling at each edge; like ``Twin.run``, check
        for a deadlock at the end (``DeadlockError``)."""
        for edge in self.grid[self._next:-1]:
            self.tw.run(until=float(edge), check_deadlock=False)
            self._sample()
        self._next = len(self.grid) - 1
        self.tw.run(until=self.until_s)
        self.sample_if_due()

    def write(self, folder: Path) -> list[Path]:
        """Write ``timeline.csv``, ``states.csv`` and ``lead_times.csv`` into ``folder``."""
        if self.t[-1] < self.tw.time_s - 1e-9:  # a run that ended off the grid (stopped early)
            self._sample()
        folder = Path(folder)
        t = np.array(self.t)
        rows = self._rows
        names = self.tw.engine.names.nodes
        paths = [folder / "timeline.csv", folder / "states.csv", folder / "lead_times.csv"]
        with paths[0].open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["t_start_s", "t_end_s", "after_warmup", "wip_avg", "parts_out", "rejected", "scrapped"])
            for i in range(1, len(t)):
                dt = t[i] - t[i - 1]
                a, b = rows[i - 1], rows[i]
                w.writerow([repr(float(t[i - 1])), repr(float(t[i])), int(t[i - 1] >= self.warmup_s - 1e-9),
                            repr(float((b["wip_area"] - a["wip_area"]) / dt) if dt > 0 else 0.0),
                            int(round(b["out"] - a["out"])), int(round(b["rejected"] - a["rejected"])),
                            int(round(b["scrapped"] - a["scrapped"]))])
        with paths[1].open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["station", "t_start_s", "t_end_s", *[f"{s}_frac" for s in L.SRV_STATE_NAMES]])
            for k, n in enumerate(self.stations):
                for i in range(1, len(t)):
                    d = rows[i]["states"][k] - rows[i - 1]["states"][k]
                    total = d.sum()
                    fr = d / total if total > 0 else np.zeros(6)
                    w.writerow([names[n], repr(float(t[i - 1])), repr(float(t[i])), *[repr(float(v)) for v in fr]])
        s = self.tw.engine.state
        n_lt = rows[-1]["lt_n"]
        ends = np.array([r["lt_n"] for r in rows])
        with paths[2].open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["lead_time_s", "sink", "bin_end_s", "after_warmup"])
            for j in range(n_lt):
                sink = int(s.lt_sink[j])
                if sink not in self.out_sinks:
                    continue
                i = int(np.searchsorted(ends, j, side="right"))  # first sample that counts record j
                i = min(i, len(t) - 1)
                w.writerow([repr(float(s.lt_value[j])), names[sink], repr(float(t[i])),
                            int(t[i - 1] >= self.warmup_s - 1e-9) if i > 0 else 0])
        return paths
