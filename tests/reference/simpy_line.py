"""Independent SimPy reference model of a serial production line.

Why this module exists
----------------------
``twin`` has its own simulation engine.  To check that engine we need a
second, independently written model of the same system whose results we can
compare against statistically.  This module is that model: it is built
directly on SimPy, deliberately written in the plainest possible way, and does
**not** import anything from ``twin``.  Where a closed-form answer exists (see
``closed_form.py``) this model is itself checked against the theory in
``test_reference_models.py``, so it can serve as a trusted yardstick for cases
where no closed form exists (long lines, failures, blocking).

Semantics (these are the contract the twin is compared against)
----------------------------------------------------------------
* Station 1 is never starved: whenever it is free a new part is available
  immediately.  A part's lead time starts when station 1 *starts* it.
* Each station holds one part at a time.  Between consecutive stations there
  is a FIFO buffer of finite capacity (a ``simpy.Store``).
* Blocking after service: a station finishes processing, then keeps holding
  the finished part until the downstream buffer has space; only then does it
  take its next part.  The last station sends to an infinite sink and is never
  blocked.
* Operation-dependent failures: each station has a remaining time-to-failure
  (Exp with mean ``mtbf``) that counts down only while it is processing.  When
  it reaches zero the station is down for Exp(mean ``mttr``), then resumes the
  *same* part with its remaining work (preempt-resume) and draws a fresh
  time-to-failure.  A station never fails while starved or blocked.
* Randomness: one independent ``numpy.random.Generator`` per station, spawned
  from ``SeedSequence(seed)``, so a seed reproduces a run exactly.

Run ``python -m tests.reference.simpy_line`` to time the 10-station benchmark.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import simpy


@dataclass(frozen=True)
class SerialLine:
    """Description of a serial line.

    process_means:   mean process time of each station (exponential unless
                     ``deterministic``), one entry per station.
    buffer_capacity: capacity of each of the ``n_stations - 1`` buffers between
                     consecutive stations; an int applies to all of them.
    mtbf:            mean operating time to failure (exponential); ``None``
                     means stations never fail.
    mttr:            mean time to repair (exponential).
    deterministic:   if True, process times are exactly ``process_means``
                     (failures/repairs, if any, are still random).
    """

    process_means: tuple[float, ...]
    buffer_capacity: int | tuple[int, ...]
    mtbf: float | None = None
    mttr: float | None = None
    deterministic: bool = False

    @property
    def n_stations(self) -> int:
        return len(self.process_means)

    def buffer_capacities(self) -> tuple[int, ...]:
        """Capacities of the n_stations - 1 inter-station buffers."""
        n_buffers = self.n_stations - 1
        if isinstance(self.buffer_capacity, int):
            caps = (self.buffer_capacity,) * n_buffers
        else:
            caps = tuple(self.buffer_capacity)
        if len(caps) != n_buffers:
            raise ValueError(f"need {n_buffers} buffer capacities, got {len(caps)}")
        if any(c < 1 for c in caps):
            # simpy.Store(capacity=0) would never accept a put.
            raise ValueError("buffer capacities must be >= 1")
        return caps


class _CountingEnvironment(simpy.Environment):
    """A SimPy environment that counts the events it processes."""

    def __init__(self) -> None:
        super().__init__()
        self.events_processed = 0

    def step(self) -> None:
        self.events_processed += 1
        super().step()


class _Stats:
    """Statistics collected over the observation window [warmup, until]."""

    def __init__(self, env: simpy.Environment, warmup: float, until: float, n: int):
        self.env = env
        self.warmup = warmup
        self.until = until
        self.completed = 0
        self.lead_time_sum = 0.0
        self.wip = 0  # parts currently in the line (stations + buffers)
        self.wip_area = 0.0  # integral of wip over the window
        self.wip_last_t = 0.0
        self.down_time = [0.0] * n

    def _overlap(self, t0: float, t1: float) -> float:
        """Length of [t0, t1] intersected with the observation window."""
        return max(0.0, min(t1, self.until) - max(t0, self.warmup))

    def _change_wip(self, delta: int) -> None:
        now = self.env.now
        self.wip_area += self.wip * self._overlap(self.wip_last_t, now)
        self.wip_last_t = now
        self.wip += delta

    def part_started(self) -> None:
        self._change_wip(+1)

    def part_finished(self, start_time: float) -> None:
        self._change_wip(-1)
        now = self.env.now
        if self.warmup <= now <= self.until:
            self.completed += 1
            self.lead_time_sum += now - start_time

    def station_down(self, station: int, t0: float, t1: float) -> None:
        self.down_time[station] += self._overlap(t0, t1)

    def close(self) -> None:
        """Flush the WIP integral up to the end of the run."""
        self._change_wip(0)


def _station(env, index, line, rng, upstream, downstream, stats):
    """One station's life: take a part, process it (with failures), pass it on."""
    mean = line.process_means[index]
    failures = line.mtbf is not None
    if failures:
        ttf = rng.exponential(line.mtbf)  # remaining operating time to failure

    while True:
        # 1. Take the next part.  Station 1 is never starved: a fresh part,
        #    stamped with its start time, is always there.
        if upstream is None:
            part = env.now
            stats.part_started()
        else:
            part = yield upstream.get()

        # 2. Process it.  Failures count down only during processing; a
        #    failure suspends the work, which resumes after the repair.
        work = mean if line.deterministic else rng.exponential(mean)
        if not failures:
            yield env.timeout(work)
        else:
            while work > 0:
                if ttf < work:
                    yield env.timeout(ttf)
                    work -= ttf
                    repair = rng.exponential(line.mttr)
                    down_start = env.now
                    yield env.timeout(repair)
                    stats.station_down(index, down_start, down_start + repair)
                    ttf = rng.exponential(line.mtbf)
                else:
                    yield env.timeout(work)
                    ttf -= work
                    work = 0.0

        # 3. Pass it on.  Blocking after service: we hold the finished part
        #    until the downstream buffer accepts it.  The sink never blocks.
        if downstream is None:
            stats.part_finished(part)
        else:
            yield downstream.put(part)


def simulate(line: SerialLine, until: float, seed: int, warmup: float = 0.0) -> dict:
    """Simulate ``line`` on [0, until] and report statistics over [warmup, until].

    Returns a dict with
      throughput      parts finished by the last station per time unit in the window
      completed       number of those parts
      events          number of SimPy events processed
      mean_wip        time-average number of parts in the line (stations + buffers)
      mean_lead_time  mean (finish - start at station 1) of parts finished in the window
      down_time       per-station time spent under repair within the window
      down_fraction   down_time divided by the window length
    """
    if not 0.0 <= warmup < until:
        raise ValueError("need 0 <= warmup < until")
    n = line.n_stations
    if n < 1:
        raise ValueError("a line needs at least one station")
    if line.mtbf is not None and line.mttr is None:
        raise ValueError("mttr is required when mtbf is given")
    caps = line.buffer_capacities()

    env = _CountingEnvironment()
    stats = _Stats(env, warmup, until, n)
    buffers = [simpy.Store(env, capacity=c) for c in caps]
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n)]

    for i in range(n):
        upstream = buffers[i - 1] if i > 0 else None
        downstream = buffers[i] if i < n - 1 else None
        env.process(_station(env, i, line, rngs[i], upstream, downstream, stats))

    env.run(until=until)
    stats.close()

    window = until - warmup
    return {
        "throughput": stats.completed / window,
        "completed": stats.completed,
        "events": env.events_processed,
        "mean_wip": stats.wip_area / window,
        "mean_lead_time": (
            stats.lead_time_sum / stats.completed if stats.completed else float("nan")
        ),
        "down_time": tuple(stats.down_time),
        "down_fraction": tuple(d / window for d in stats.down_time),
    }


def replicate(
    line: SerialLine, until: float, seeds, warmup: float = 0.0
) -> list[dict]:
    """Run ``simulate`` once per seed (independent replications)."""
    return [simulate(line, until, seed, warmup) for seed in seeds]


BENCHMARK_LINE = SerialLine(
    process_means=(1.0,) * 10, buffer_capacity=5, mtbf=100.0, mttr=5.0
)


if __name__ == "__main__":
    t0 = time.perf_counter()
    result = simulate(BENCHMARK_LINE, until=100_000.0, seed=1)
    wall = time.perf_counter() - t0
    print("10-station benchmark line, until=100000, seed=1")
    print(f"throughput = {result['throughput']:.5f}")
    print(f"completed  = {result['completed']}")
    print(f"events     = {result['events']}")
    print(f"mean_wip   = {result['mean_wip']:.3f}")
    print(f"lead_time  = {result['mean_lead_time']:.3f}")
    print(f"wall time  = {wall:.2f} s")
