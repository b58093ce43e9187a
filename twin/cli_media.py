"""Media commands: ``twin record`` (video along the scene's camera path) and ``twin report`` (HTML KPI report)."""

from __future__ import annotations

from .cli import app, err, out  # noqa: F401
