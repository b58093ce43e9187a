"""Simulated plant devices and control programs that talk to a served twin (``twin device``).

Two programs, each a scan cycle over a :class:`~twin.bridge.client.CloneClient` (read the copy,
decide, write), paced by the wall clock at ``rate_hz``:

- :class:`Commissioning`: a control program under test against the twin (virtual
  commissioning). It reads a photo-eye (``<eye>.blocked``) and drives a belt's motor
  (``<conveyor>.motor_on``): when the eye becomes blocked (rising edge) it stops the belt, and
  after ``dwell_s`` of twin time it starts it again.
- :class:`Shadow`: a plant device feeding measurements into the twin (shadow mode). It writes a
  belt's measured speed (``<conveyor>.speed_mps``) following a speed profile over twin time, with
  Gaussian measurement noise, clipped to the signal's range.

Both run for ``until_s`` of twin time (from when they start) and return what they did; they never write a value the twin's
metadata says is out of range, and they count what the twin accepted and refused.
"""

from __future__ import annotations

import bisect
import difflib
import time

import numpy as np

from ..errors import UsageError

__all__ = ["Commissioning", "Shadow", "parse_profile", "require_signal"]


def parse_profile(text: str) -> list[tuple[float, float]]:
    """``"0:0.5,10:0.3,20:0"`` -> [(0, 0.5), (10, 0.3), (20, 0.0)]: speed (m/s) from each twin time (s) on.

    Raises:
        UsageError: not of that form, times not increasing, or a value not finite.
    """
    points = []
    for part in (text or "").split(","):
        try:
            t, v = part.split(":")
            t, v = float(t), float(v)
        except ValueError:
            raise UsageError(f"--speed-profile must look like 0:0.5,10:0.3 (twin seconds:m/s, ...), got {text!r}") \
                from None
        if not (np.isfinite(t) and np.isfinite(v) and t >= 0):
            raise UsageError(f"--speed-profile: {part!r}: times must be >= 0 and values finite")
        if points and t <= points[-1][0]:
            raise UsageError(f"--speed-profile: times must increase, got {part!r} after {points[-1][0]:g}")
        points.append((t, v))
    return points


def require_signal(client, name: str, option: str) -> dict:
    """The metadata of signal ``name`` in the twin's snapshot.

    Raises:
        UsageError: the twin has no such signal (with a suggestion).
    """
    if name not in client.meta:
        close = difflib.get_close_matches(name, list(client.meta), n=1)
        hint = f" Did you mean {close[0].rsplit('.', 1)[0]!r}?" if close else ""
        raise UsageError(f"{option}: the twin has no signal {name!r}.{hint}")
    return client.meta[name]


class _Program:
    """A scan cycle: poll, :meth:`scan`, sleep to the next cycle; for ``until_s`` of twin time."""

    def __init__(self, client, rate_hz: float, until_s: float | None) -> None:
        if not rate_hz > 0:
            raise UsageError(f"--rate-hz must be > 0, got {rate_hz}")
        self.client, self.period_s, self.until_s = client, 1.0 / rate_hz, until_s
        self.stats = {"cycles": 0, "writes_accepted": 0, "writes_refused": 0}

    def write(self, values: dict) -> bool:
        reply = self.client.set(values)
        ok = bool(reply["accepted"]) and not reply["rejected"]
        self.stats["writes_accepted" if ok else "writes_refused"] += 1
        return ok

    def run(self) -> dict:
        """Scan for ``until_s`` of twin time (None: for ever). Raises TimeoutError when the twin goes silent."""
        next_cycle = time.monotonic()
        end = None if self.until_s is None else self.client.t_s + self.until_s
        self.stats["t_start_s"] = self.client.t_s
        while end is None or not self.client.t_s >= end:
            self.client.poll(0.0)
            if self.client.stale_since is not None:
                raise TimeoutError(f"the twin went silent at t={self.client.t_s:.2f} s")
            self.scan(self.client.t_s)
            self.stats["cycles"] += 1
            next_cycle += self.period_s
            self.client.poll(max(0.0, next_cycle - time.monotonic()))
        self.stats["t_end_s"] = self.client.t_s
        return self.stats

    def scan(self, t: float) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class Commissioning(_Program):
    """Stop ``conveyor`` when ``eye`` becomes blocked; start it again ``dwell_s`` of twin time later."""

    def __init__(self, client, conveyor: str, eye: str, dwell_s: float = 2.0, rate_hz: float = 50.0,
                 until_s: float | None = None) -> None:
        super().__init__(client, rate_hz, until_s)
        if not dwell_s >= 0:
            raise UsageError(f"--dwell must be >= 0, got {dwell_s}")
        self.motor, self.eye = f"{conveyor}.motor_on", f"{eye}.blocked"
        require_signal(client, self.motor, "--conveyor")
        require_signal(client, self.eye, "--eye")
        self.dwell_s = dwell_s
        self.stats.update(stops=0, restarts=0)
        self._blocked = bool(client.get(self.eye))
        self._stopped_at: float | None = None
        self.write({self.motor: True})

    def scan(self, t: float) -> None:
        blocked = bool(self.client.get(self.eye))
        if self._stopped_at is None and blocked and not self._blocked:  # rising edge: a part at the eye
            if self.write({self.motor: False}):
                self._stopped_at = t
                self.stats["stops"] += 1
        elif self._stopped_at is not None and t - self._stopped_at >= self.dwell_s:
            if self.write({self.motor: True}):
                self._stopped_at = None
                self.stats["restarts"] += 1
        self._blocked = blocked


class Shadow(_Program):
    """Write ``conveyor``'s measured speed: ``profile`` (twin time -> m/s) plus noise (m/s, 1 sigma)."""

    def __init__(self, client, conveyor: str, profile: list[tuple[float, float]], noise: float = 0.0,
                 seed: int = 0, rate_hz: float = 20.0, until_s: float | None = None) -> None:
        super().__init__(client, rate_hz, until_s)
        if not noise >= 0:
            raise UsageError(f"--noise must be >= 0, got {noise}")
        self.signal = f"{conveyor}.speed_mps"
        meta = require_signal(client, self.signal, "--conveyor")
        if meta["direction"] != "both":
            raise UsageError(f"--conveyor: {self.signal!r} is not writable")
        self.low, self.high = meta["range"]
        self.times = [t for t, _ in profile]
        self.speeds = [v for _, v in profile]
        self.noise, self.rng = noise, np.random.default_rng(seed)
        self.written: list[float] = []

    def scan(self, t: float) -> None:
        k = max(0, bisect.bisect_right(self.times, t) - 1)
        value = self.speeds[k] + (self.rng.normal(0.0, self.noise) if self.noise else 0.0)
        value = float(min(self.high, max(self.low, value)))
        if self.write({self.signal: value}):
            self.written.append(value)

    def run(self) -> dict:
        stats = super().run()
        stats["mean_speed_mps"] = float(np.mean(self.written)) if self.written else float("nan")
        stats["last_read_back_mps"] = self.client.get(self.signal)
        return stats
