"""Bridge commands besides ``twin serve``: ``twin device`` (a simulated plant device or control program)."""

from __future__ import annotations

from .cli import app, err, out  # noqa: F401
