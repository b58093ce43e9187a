"""The virtual-commissioning example: right logic runs the cell, wrong logic is caught (Modbus and OPC UA)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(120)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "commissioning" / "run.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("commissioning_run", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    sys.path.remove(str(EXAMPLE.parent))


@pytest.mark.parametrize("transport", ["modbus", "opcua"])
def test_right_logic_runs_the_cell(example, transport):
    r = example.commission(transport, wrong=False, sim_s=22.0, speed=5.0)
    assert r["fault"] == "none", r["text"]
    assert r["cycles"] >= 2  # parts reached the eye, the belt stopped, the robot cycled, the belt restarted
    assert r["parts_out"] == r["cycles"]
    events = [(name, value) for _, name, value in r["history"]]
    i_eye = events.index(("cell/infeed/eye_end.blocked", True))
    after = events[i_eye:]
    # the order a controls engineer expects: eye -> belt stops -> robot starts -> busy -> done -> belt runs
    order = [("cell/infeed.motor_on", False), ("cell/robot.start", True), ("cell/robot.busy", True),
             ("cell/robot.done", True), ("cell/infeed.motor_on", True)]
    positions = [after.index(e) for e in order]
    assert positions == sorted(positions), after[:20]


@pytest.mark.parametrize("transport", ["modbus", "opcua"])
def test_wrong_logic_is_caught_with_the_signal_history(example, transport):
    r = example.commission(transport, wrong=True, sim_s=12.0, speed=5.0)
    assert r["fault"] == "collision"
    assert "while cell/infeed was moving" in r["text"]
    assert r["cycles"] == 0 and r["parts_out"] == 0
    last = {name: value for _, name, value in r["history"]}  # the state that led to the fault
    assert last["cell/infeed/eye_end.blocked"] is True and last["cell/infeed.motor_on"] is True
    assert r["history"][-1][0] <= r["t_s"]
