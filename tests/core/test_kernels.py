"""Pure kernels, JIT-compiled and as plain Python (``.py_func``), must agree exactly.

Kernels take the params/state StructRefs when compiled; their ``.py_func`` reads the same fields
from the namedtuples (``engine.params`` / ``engine.state``), as with NUMBA_DISABLE_JIT.
"""

from __future__ import annotations

import heapq
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.stats
from numba import njit

import twin
from tests.core.lines import build, busy_line, exp
from twin.core.engine import Engine
from twin.core.heap import HeapArrays, heap_cancel, heap_peek_time, heap_pop, heap_set, new_heap
from twin.core.rng import next_u01, sample, std_exponential, stream_seed, ziggurat_tables

DISTS = {
    "constant": {"dist": "constant", "value": 2.5},
    "uniform": {"dist": "uniform", "low": 1.0, "high": 3.0},
    "triangular": {"dist": "triangular", "low": 1.0, "mode": 1.5, "high": 4.0},
    "normal": {"dist": "normal", "mean": 5.0, "std": 1.0},
    "lognormal": {"dist": "lognormal", "mean": 2.0, "std": 0.8},
    "exponential": exp(1.7),
    "empirical": {"dist": "empirical", "samples": [1.0, 2.0, 2.0, 7.0]},
}
VARIANCE = {"constant": 0.0, "uniform": 4 / 12, "triangular": (1 + 2.25 + 16 - 1.5 - 4 - 6) / 18,
            "normal": 1.0, "lognormal": 0.64, "exponential": 1.7**2, "empirical": 5.25}


def _dist_scene():
    """One station per distribution kind, so each gets a parameter slot."""
    return build(
        sources=[{"name": f"src_{k}", "to": f"m_{k}", "always_available": True} for k in DISTS],
        stations=[{"name": f"m_{k}", "to": "out", "process_time": d} for k, d in DISTS.items()],
    )


def _dist_ids(engine: Engine) -> dict[str, int]:
    return {k: int(engine.params.st_ptime[engine.names.node_id(f"m_{k}"), 0]) for k in DISTS}


def test_next_u01_jit_matches_py_func():
    """The SplitMix64 uniform draw gives bit-identical sequences compiled and in Python, in [0, 1)."""
    seeds = np.array([stream_seed(7, "m1", "main"), stream_seed(7, "m2", "main")], np.uint64)
    a, b = seeds.copy(), seeds.copy()
    jit = np.array([next_u01(a, i % 2) for i in range(2_000)])
    with np.errstate(over="ignore"):  # uint64 arithmetic wraps on purpose
        py = np.array([next_u01.py_func(b, i % 2) for i in range(2_000)])
    np.testing.assert_array_equal(jit, py)
    np.testing.assert_array_equal(a, b)
    assert jit.min() >= 0.0 and jit.max() < 1.0
    assert abs(jit.mean() - 0.5) < 3 * math.sqrt(1 / 12 / jit.size)


def test_stream_seeds_differ_per_entity_and_purpose():
    """Stream seeds depend on seed, entity and purpose, and are stable across calls."""
    s = {stream_seed(1, "m1", "main"), stream_seed(1, "m1", "quality"), stream_seed(1, "m2", "main"),
         stream_seed(2, "m1", "main")}
    assert len(s) == 4
    assert stream_seed(1, "m1", "main") == stream_seed(1, "m1", "main")


@pytest.mark.parametrize("kind", list(DISTS))
def test_sample_jit_matches_py_func(kind):
    """``sample`` draws the same values compiled (StructRefs) and in Python (namedtuples)."""
    jit_engine, py_engine = Engine(_dist_scene(), seed=3), Engine(_dist_scene(), seed=3)
    d = _dist_ids(jit_engine)[kind]
    jit = np.array([sample(jit_engine._p, jit_engine._s, d, 0) for _ in range(300)])
    with np.errstate(over="ignore"):
        py = np.array([sample.py_func(py_engine.params, py_engine.state, d, 0) for _ in range(300)])
    np.testing.assert_allclose(jit, py, rtol=1e-13, atol=0)
    np.testing.assert_array_equal(jit_engine.state.rng_state, py_engine.state.rng_state)


@pytest.mark.parametrize("kind", list(DISTS))
def test_sample_mean_matches_distribution(kind):
    """Sample means of every distribution kind match the scene's mean (within 4 SE), all >= 0."""
    engine = Engine(_dist_scene(), seed=5)
    d = _dist_ids(engine)[kind]
    draws = np.array([sample(engine._p, engine._s, d, 1) for _ in range(20_000)])
    scene_dist = next(s.process_time for s in engine.scene.stations if s.name == f"m_{kind}")
    se = math.sqrt(VARIANCE[kind] / draws.size)
    assert draws.min() >= 0.0
    assert abs(draws.mean() - scene_dist.mean_value()) <= 4 * se + 1e-12
    if kind != "constant":
        assert draws.var() == pytest.approx(VARIANCE[kind], rel=0.08)


@njit
def _exponential_draws(params, rng_state, n):
    out = np.empty(n)
    for i in range(n):
        out[i] = std_exponential(params, rng_state, 0)
    return out


def test_ziggurat_tables_have_equal_layers():
    """Every layer of the exponential ziggurat has the same area (the method's premise)."""
    x, f = ziggurat_tables()
    areas = x[1:-1] * (f[2:] - f[1:-1])  # layers 1 .. 255: boxes [0, x_i] x [f_i, f_(i+1)]
    base = x[1] * f[1] + math.exp(-x[1])  # layer 0: the box under f(r) plus the tail beyond r
    np.testing.assert_allclose(areas, base, rtol=1e-9)
    assert x[0] * f[1] == pytest.approx(base, rel=1e-12)
    assert base == pytest.approx(3.949659822581572e-3, rel=1e-12)  # Marsaglia & Tsang's V for 256
    assert np.all(np.diff(x) < 0) and x[-1] == 0.0


def test_ziggurat_exponential_matches_the_distribution():
    """A million ziggurat draws pass a Kolmogorov-Smirnov test against Exp(1), and the tail beyond
    the base layer (drawn apart, as r + Exp(1)) has the right weight and shape."""
    engine = Engine(_dist_scene(), seed=11)
    draws = _exponential_draws(engine.params, engine.state.rng_state.copy(), 1_000_000)
    assert draws.min() >= 0.0
    assert scipy.stats.kstest(draws, "expon").pvalue > 1e-3
    r = ziggurat_tables()[0][1]
    tail = draws[draws > r]
    expected = draws.size * math.exp(-r)  # about 453
    assert abs(tail.size - expected) < 5 * math.sqrt(expected)
    assert scipy.stats.kstest(tail - r, "expon").pvalue > 1e-3
    # the wedges: within each of a few layers near the curve's bend, the density is still exp(-x)
    for lo, hi in ((0.5, 0.6), (2.0, 2.2), (5.0, 6.0)):
        inside = draws[(draws >= lo) & (draws < hi)]
        assert inside.size == pytest.approx(draws.size * (math.exp(-lo) - math.exp(-hi)),
                                            abs=5 * math.sqrt(inside.size))


# an importable type: numba caches compiled signatures, which must unpickle in any process
_Heap = HeapArrays


def _heap_ops(fns, n_slots: int, seed: int) -> tuple[list[int], _Heap]:
    """Apply one random sequence of set/cancel/pop to a fresh heap with the given functions."""
    set_, cancel, pop, peek = fns
    h = _Heap(**new_heap(n_slots))
    rng = np.random.default_rng(seed)
    popped = []
    for _ in range(3_000):
        r = rng.random()
        slot = int(rng.integers(n_slots))
        if r < 0.6:
            set_(h, slot, float(rng.integers(0, 50)))  # many ties: the stamp must break them
        elif r < 0.75:
            cancel(h, slot)
        elif h.heap_size[0] > 0:
            t = peek(h)
            s = pop(h)
            assert h.tm_time[s] == np.inf and t >= 0
            popped.append(s)
    return popped, h


def test_heap_jit_matches_py_func_and_reference():
    """The timer heap pops in (time, stamp) order, the same compiled, in Python and in heapq."""
    n_slots = 40
    jit_pop, jit_h = _heap_ops((heap_set, heap_cancel, heap_pop, heap_peek_time), n_slots, 1)
    py_pop, py_h = _heap_ops((heap_set.py_func, heap_cancel.py_func, heap_pop.py_func,
                              heap_peek_time.py_func), n_slots, 1)
    assert jit_pop == py_pop
    for a, b in zip(jit_h, py_h, strict=True):
        np.testing.assert_array_equal(a, b)
    # reference: a plain priority queue with lazy deletion
    rng = np.random.default_rng(1)
    due: dict[int, tuple[float, int]] = {}
    stamp = 0
    ref_pop = []
    for _ in range(3_000):
        r = rng.random()
        slot = int(rng.integers(n_slots))
        if r < 0.6:
            stamp += 1
            due[slot] = (float(rng.integers(0, 50)), stamp)
        elif r < 0.75:
            due.pop(slot, None)
        elif due:
            q = [(t, st, s) for s, (t, st) in due.items()]
            heapq.heapify(q)
            s = q[0][2]
            del due[s]
            ref_pop.append(s)
    assert jit_pop == ref_pop
    assert len(ref_pop) > 300


def test_engine_without_jit_gives_the_same_trace(tmp_path: Path):
    """The engine as plain Python (NUMBA_DISABLE_JIT=1) gives the compiled run's KPIs and trace."""
    until = 150.0
    tw = twin.Twin(busy_line(calendar=True), seed=21, trace=True, warmup_s=20.0)
    tw.run(until=until)
    script = tmp_path / "nojit.py"
    out = tmp_path / "trace.csv"
    script.write_text(
        "import json\n"
        "import numba\n"
        "import twin\n"
        "assert numba.config.DISABLE_JIT\n"
        "from tests.core.lines import busy_line\n"
        "tw = twin.Twin(busy_line(calendar=True), seed=21, trace=True, warmup_s=20.0)\n"
        f"tw.run(until={until})\n"
        f"tw.write_trace({str(out)!r})\n"
        "print(json.dumps(tw.kpis()))\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1", "PYTHONPATH": str(root)}
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env,
                          cwd=root, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout) == json.loads(json.dumps(tw.kpis()))
    jit_csv = tmp_path / "jit.csv"
    tw.write_trace(jit_csv)
    assert out.read_text() == jit_csv.read_text()
    assert tw.kpis()["throughput"]["total"] > 50


def test_heap_reset_to_same_time_goes_behind_equal_times():
    """Re-setting a pending timer to its own time gives it a new stamp: it now pops after equal times."""
    for fns in ((heap_set, heap_pop), (heap_set.py_func, heap_pop.py_func)):
        set_, pop = fns
        h = _Heap(**new_heap(4))
        set_(h, 0, 5.0)
        set_(h, 1, 5.0)
        set_(h, 2, 7.0)
        set_(h, 0, 5.0)  # same time, later stamp: slot 1 is now first
        assert [pop(h), pop(h), pop(h)] == [1, 0, 2]
