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
