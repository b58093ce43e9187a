"""Showcase commands: ``twin view``, ``twin record``, ``twin report``, ``twin export``."""

from __future__ import annotations

from .cli import app, err, out  # noqa: F401
