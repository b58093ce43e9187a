"""What turns a true value into a sensor reading: sampling rate, latency, noise and faults.

A :class:`Channel` samples the true value at its own rate (on the grid ``k / rate_hz``), adds
seeded Gaussian noise, applies the active fault, and delivers the reading ``latency_s`` later, as a
real sensor's fieldbus would. Faults (each in a time window ``[start_s, end_s)``):

- ``blackout``: no reading at all (``valid`` is False, the value is None);
- ``stuck``: the reading stays at the last value before the fault began;
- ``drift``: an offset growing at ``drift_per_s`` from the start of the fault.

Readings are :class:`Reading` tuples ``(t_s, value, valid)``: ``t_s`` is when the value was sampled.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from ..errors import UsageError

__all__ = ["Fault", "Channel", "Reading"]


@dataclass(frozen=True)
class Fault:
    kind: str  # "blackout", "stuck" or "drift"
    start_s: float
    end_s: float = math.inf
    drift_per_s: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ("blackout", "stuck", "drift"):
            raise UsageError(f"fault kind must be 'blackout', 'stuck' or 'drift', got {self.kind!r}")
        if not (self.start_s >= 0 and self.end_s > self.start_s):
            raise UsageError(f"fault window must have 0 <= start_s < end_s, got [{self.start_s}, {self.end_s})")


@dataclass(frozen=True)
class Reading:
    t_s: float
    value: object
    valid: bool


class Channel:
    """Sampling, noise, latency and faults of one sensor output.

    Args:
        rate_hz: samples per second.
        noise_sigma: standard deviation of Gaussian noise added to numeric values (arrays too).
        latency_s: delay between sampling and delivery.
        faults: fault windows.
        seed: noise stream seed.
    """

    def __init__(self, rate_hz: float, noise_sigma: float = 0.0, latency_s: float = 0.0, faults=(),
                 seed: int = 0) -> None:
        if not (math.isfinite(rate_hz) and rate_hz > 0):
            raise UsageError(f"rate_hz must be > 0, got {rate_hz}")
        if noise_sigma < 0 or latency_s < 0:
            raise UsageError("noise_sigma and latency_s must be >= 0")
        self.rate_hz, self.noise_sigma, self.latency_s = float(rate_hz), float(noise_sigma), float(latency_s)
        self.faults = tuple(faults)
        self._rng = np.random.default_rng(seed)
        self._next = 0.0
        self._pending: deque[Reading] = deque()
        self._last_good: object = None
        self.latest: Reading | None = None

    def due(self, t_s: float) -> bool:
        """Whether a sample is due at ``t_s``."""
        return t_s + 1e-9 >= self._next

    def sample(self, t_s: float, value) -> None:
        """Record the true ``value`` at ``t_s`` (call when :meth:`due`)."""
        self._next = max(self._next + 1.0 / self.rate_hz, t_s)
        fault = next((f for f in self.faults if f.start_s <= t_s < f.end_s), None)
        if fault is not None and fault.kind == "blackout":
            reading = Reading(t_s, None, False)
        elif fault is not None and fault.kind == "stuck":
            reading = Reading(t_s, self._last_good, self._last_good is not None)
        else:
            noisy = self._noisy(value)
            if fault is not None:  # drift
                noisy = noisy + fault.drift_per_s * (t_s - fault.start_s)
            reading = Reading(t_s, noisy, True)
            self._last_good = noisy
        self._pending.append(reading)

    def deliver(self, t_s: float) -> Reading | None:
        """The newest reading delivered by ``t_s`` (sampled at least ``latency_s`` before)."""
        while self._pending and self._pending[0].t_s + self.latency_s <= t_s + 1e-12:
            self.latest = self._pending.popleft()
        return self.latest

    def _noisy(self, value):
        if self.noise_sigma == 0 or isinstance(value, bool | np.bool_) or value is None:
            return value
        if isinstance(value, np.ndarray):
            return value + self._rng.normal(0.0, self.noise_sigma, value.shape)
        if isinstance(value, int | float | np.floating | np.integer):
            return float(value) + float(self._rng.normal(0.0, self.noise_sigma))
        return value
