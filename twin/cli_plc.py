"""PLC adapter commands: ``twin tags`` (the OPC UA / Modbus tag map)."""

from __future__ import annotations

from .cli import app, err, out  # noqa: F401
