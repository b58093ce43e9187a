"""Fixtures shared by the physics tests."""

from __future__ import annotations

import pytest

from twin.physics import World


@pytest.fixture
def world():
    """A fresh World (its own PyBullet client), closed after the test."""
    w = World()
    yield w
    w.close()
