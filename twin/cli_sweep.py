"""Experiment commands: ``twin sweep`` and ``twin optimize``."""

from __future__ import annotations

from .cli import app, err, out  # noqa: F401
