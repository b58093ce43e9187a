"""The control program of the conveyor + robot cell, as a PLC would run it: one scan maps inputs to outputs.

``scan`` is pure (inputs and the previous outputs in, outputs out), so the same logic runs over
Modbus (``plc_modbus.py``) and OPC UA (``plc_opcua.py``). ``scan_wrong`` is a deliberately wrong
variant, the kind of bug commissioning should catch: it starts the robot without stopping the belt.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Inputs:
    eye: bool  # a part sits at the end stop
    robot_busy: bool
    robot_done: bool
    fault: int  # the cell's fault code (0: none)


@dataclass(frozen=True)
class Outputs:
    motor_on: bool
    robot_start: bool


def scan(i: Inputs, prev: Outputs) -> Outputs:
    """Right: stop the belt when a part reaches the eye; once the belt is stopped (last scan's output),
    start the robot; keep the belt stopped while the robot works; restart it when the part is gone."""
    if i.fault:
        return Outputs(motor_on=False, robot_start=False)  # safe state until someone resets
    if i.robot_busy:
        return Outputs(motor_on=False, robot_start=False)
    if i.eye:
        return Outputs(motor_on=False, robot_start=not prev.motor_on)  # interlock: belt stopped first
    return Outputs(motor_on=True, robot_start=False)


def scan_wrong(i: Inputs, prev: Outputs) -> Outputs:
    """Wrong: starts the robot as soon as a part is at the eye, with the belt still running."""
    if i.fault:
        return Outputs(motor_on=False, robot_start=False)
    if i.eye and not i.robot_busy:
        return Outputs(motor_on=True, robot_start=True)
    return Outputs(motor_on=True, robot_start=False)
