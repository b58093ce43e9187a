"""Scene files for the sweep tests, written as real YAML files."""

from __future__ import annotations

from pathlib import Path

TWO_MACHINES = """\
version: 1
name: two_machines
sim: {{seed: 1, until: 2000}}
part_types: [{{name: p}}]
sources: [{{name: src, to: m1, always_available: true}}]
stations:
  - {{name: m1, to: b1, process_time: {{dist: exponential, mean: {m1}}}}}
  - {{name: m2, to: out, process_time: {{dist: exponential, mean: {m2}}}}}
buffers: [{{name: b1, to: m2, capacity: 3}}]
sinks: [{{name: out}}]
"""

# failures on both bases, setups, scrap, defects, inspection, a round-robin diverter and a shift calendar
BUSY = """\
version: 1
name: busy
sim: {seed: 3, warmup_s: 100}
part_types: [{name: a}, {name: b}]
calendars:
  - {name: shift, period_h: 1.0, shifts: [{start: "00:00", end: "00:50"}], breaks: [{start: "00:20", end: "00:25"}]}
sources:
  - {name: src, to: m1, interarrival: {dist: exponential, mean: 1.1}, part_mix: {a: 2, b: 1}}
stations:
  - name: m1
    to: b1
    process_time: {dist: exponential, mean: 0.9}
    failures: [{name: jam, mtbf_s: 60.0, mttr_s: 4.0}]
    setup_time: 0.5
    scrap_prob: 0.02
    defect_prob: 0.1
    calendar: shift
  - name: m2
    to: rr
    process_time: {dist: triangular, low: 0.5, mode: 0.8, high: 1.5}
    inspection: {detect_prob: 0.9}
    failures: [{mtbf_s: 80.0, mttr_s: 3.0, basis: calendar}]
  - {name: m3a, to: out, process_time: {dist: exponential, mean: 1.6}, capacity: 2}
  - {name: m3b, to: out, process_time: {dist: exponential, mean: 1.6}}
buffers: [{name: b1, to: m2, capacity: 3}]
diverters: [{name: rr, rule: round_robin, outputs: [m3a, m3b]}]
sinks: [{name: out}]
"""


def two_machines(folder: Path, m1: float = 1.0, m2: float = 1.0) -> Path:
    """A two-machine line (exponential machines, buffer ``b1`` between them) as a file in ``folder``."""
    path = folder / "two_machines.yaml"
    path.write_text(TWO_MACHINES.format(m1=m1, m2=m2))
    return path


def busy(folder: Path) -> Path:
    path = folder / "busy.yaml"
    path.write_text(BUSY)
    return path
