"""Scene builders and small helpers shared by the engine tests.

Scenes are built as plain dicts (the YAML structure) and validated by the real loader, so every
test also exercises the scene format. Times are in seconds.
"""

from __future__ import annotations

import numpy as np

import twin
from twin.scene.loader import scene_from_data
from twin.scene.models import Scene


def exp(mean: float) -> dict:
    """An exponential distribution with the given mean."""
    return {"dist": "exponential", "mean": mean}


def build(*, part_types=("p",), **sections) -> Scene:
    """A validated scene from its sections (``stations=[...]``, ``sinks=[...]``, ...)."""
    data = {"version": 1, "part_types": [{"name": t} for t in part_types], **sections}
    data.setdefault("sinks", [{"name": "out"}])
    return scene_from_data(data)


def serial_line(process_times, buffer_capacity: int | None = None, *, failures=None,
                source: dict | None = None, sink: str = "out") -> Scene:
    """Stations ``m1..mN`` in series fed by ``src``; a buffer ``b1..`` between consecutive stations
    when ``buffer_capacity`` is given. ``source`` overrides the always-available source's fields."""
    n = len(process_times)
    stations, buffers = [], []
    for i, pt in enumerate(process_times, start=1):
        nxt = sink if i == n else (f"b{i}" if buffer_capacity else f"m{i + 1}")
        st = {"name": f"m{i}", "to": nxt, "process_time": pt}
        if failures:
            st["failures"] = failures
        stations.append(st)
        if buffer_capacity and i < n:
            buffers.append({"name": f"b{i}", "to": f"m{i + 1}", "capacity": buffer_capacity})
    src = {"name": "src", "to": "m1", "always_available": True}
    if source is not None:
        src = {"name": "src", "to": "m1", **source}
    return build(sources=[src], stations=stations, buffers=buffers, sinks=[{"name": sink}])


def run(scene: Scene, until: float, *, seed: int = 1, warmup_s: float = 0.0, trace: bool = False,
        **kwargs) -> twin.Twin:
    """A twin of ``scene`` run to ``until``."""
    tw = twin.Twin(scene, seed=seed, trace=trace, warmup_s=warmup_s, **kwargs)
    tw.run(until=until)
    return tw


def station(kpis: dict, name: str) -> dict:
    """The KPI row of station ``name``."""
    return next(r for r in kpis["stations"] if r["name"] == name)


def element(kpis: dict, name: str) -> dict:
    """The KPI row of buffer/conveyor/source ``name``."""
    return next(r for r in kpis["elements"] if r["name"] == name)


def events(tw: twin.Twin, event: str, element_name: str | None = None) -> dict[str, np.ndarray]:
    """Trace rows of one event kind (and element), as columns."""
    tr = tw.trace()
    keep = tr["event"] == event
    if element_name is not None:
        keep &= tr["element"] == element_name
    return {k: v[keep] for k, v in tr.items()}


def traces_equal(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    """Whether two traces have the same columns and identical values."""
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def busy_line(calendar: bool = False) -> Scene:
    """A stochastic line using most features: part mix, failures on both bases, setups, scrap,
    defects, inspection, a buffer and a round-robin diverter (and optionally a shift calendar)."""
    m1 = {"name": "m1", "to": "b1", "process_time": exp(0.9), "failures": [{"mtbf_s": 60.0, "mttr_s": 4.0}],
          "setup_time": 0.5, "scrap_prob": 0.02, "defect_prob": 0.1}
    calendars = []
    if calendar:
        m1["calendar"] = "shift"
        calendars = [{"name": "shift", "period_h": 1.0, "shifts": [{"start": "00:00", "end": "00:50"}],
                      "breaks": [{"start": "00:20", "end": "00:25"}]}]
    return build(
        part_types=("a", "b"),
        sources=[{"name": "src", "to": "m1", "interarrival": exp(1.1), "part_mix": {"a": 2, "b": 1}}],
        stations=[
            m1,
            {"name": "m2", "to": "rr", "process_time": {"dist": "triangular", "low": 0.5, "mode": 0.8,
                                                          "high": 1.5},
             "inspection": {"detect_prob": 0.9},
             "failures": [{"mtbf_s": 80.0, "mttr_s": 3.0, "basis": "calendar"}]},
            {"name": "m3a", "to": "out", "process_time": exp(1.6), "capacity": 2},
            {"name": "m3b", "to": "out", "process_time": exp(1.6)},
        ],
        buffers=[{"name": "b1", "to": "m2", "capacity": 3}],
        diverters=[{"name": "rr", "rule": "round_robin", "outputs": ["m3a", "m3b"]}],
        calendars=calendars,
    )
