"""Growing logs: a transfer cascade that fills the trace pauses, the log grows, nothing is lost."""

from __future__ import annotations

import numpy as np

import twin
from twin.core.engine import Engine
from twin.core.trace import trace_columns

FLOOD = """
version: 1
part_types: [{name: p}]
sources:
  - name: plan
    to: store
    schedule: [{at_s: 0, count: 3000}, {at_s: 50, count: 3000}]
buffers: [{name: store, to: m, capacity: 4000}]
stations: [{name: m, to: out, process_time: 0.05}]
sinks: [{name: out}]
"""


def _run(capacity: int) -> tuple[dict, dict]:
    engine = Engine(twin.load_scene_text(FLOOD), seed=1, trace=True, log_capacity=capacity)
    engine.advance_to(400.0)
    return trace_columns(engine.state, engine.names), {
        "out": int(engine.state.sink_count.sum()), "lt": engine.state.lt_value[: engine.state.lt_n[0]].copy()}


def test_cascade_larger_than_log_loses_nothing():
    """3,000 parts released in one instant into a 16-record trace give the same trace as a big log."""
    small_trace, small = _run(16)
    big_trace, big = _run(1_000_000)
    assert small["out"] == big["out"] == 6000
    np.testing.assert_array_equal(small["lt"], big["lt"])
    for key in big_trace:
        np.testing.assert_array_equal(small_trace[key], big_trace[key])
    created = big_trace["event"] == "created"
    assert created.sum() == 6000
    # every created part entered the buffer at its release time: the cascade was not cut short
    entered = (big_trace["event"] == "enter") & (big_trace["element"] == "store")
    assert entered.sum() == 6000


def _routed_line(depth: int) -> str:
    """A drop-on-block source feeding a station through ``depth`` routing points in a row."""
    hops = [f"r{i}" for i in range(depth)]
    diverters = ", ".join(f"{{name: {h}, rule: by_part_type, routes: {{}}, default: {nxt}}}"
                          for h, nxt in zip(hops, hops[1:] + ["m"], strict=True))
    return f"""
version: 1
part_types: [{{name: p}}]
sources: [{{name: src, to: r0, interarrival: {{dist: exponential, mean: 1.0}}, on_blocked: drop}}]
diverters: [{diverters}]
stations: [{{name: m, to: out, process_time: {{dist: exponential, mean: 1.2}}}}]
sinks: [{{name: out}}]
"""


def test_routes_through_many_routing_points_fit_any_log():
    """40 routing points in a row (80 trace records a transfer) and a 16-record log: the log grows,
    every record is kept, and no part is dropped for want of log room: the same run as a big log."""
    def run(capacity):
        engine = Engine(twin.load_scene_text(_routed_line(40)), seed=3, trace=True, log_capacity=capacity)
        engine.advance_to(500.0)
        return trace_columns(engine.state, engine.names), int(engine.state.src_dropped.sum())

    # the room checked before an event covers a whole transfer too (a drop-on-block source hands its
    # part on inside the arrival event, and a part it cannot hand on is dropped)
    engine = Engine(twin.load_scene_text(_routed_line(40)), seed=3, trace=True, log_capacity=16)
    assert engine.params.trace_room == 16 + 2 * 40 and engine._trace_margin > engine.params.trace_room
    small_trace, small_dropped = run(16)
    big_trace, big_dropped = run(1_000_000)
    assert small_dropped == big_dropped > 0  # the station is slower than the arrivals: some are dropped
    for key in big_trace:
        np.testing.assert_array_equal(small_trace[key], big_trace[key])
    part = big_trace["part_id"] == big_trace["part_id"][big_trace["event"] == "exit"][0]
    assert list(big_trace["element"][part & (big_trace["event"] == "enter")]) == [f"r{i}" for i in range(40)] + ["m"]
