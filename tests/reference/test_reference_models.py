"""Validate the SimPy reference model against closed-form queueing results.

These tests check the *reference* (tests/reference/simpy_line.py) -- not
twin -- so that it can later be trusted as a yardstick for the twin's engine.
All seeds are fixed, so the tests are deterministic.  Tolerances were chosen
so that each statistical check sits at roughly 3 standard errors or more.
"""

from __future__ import annotations

import math
import statistics

import pytest

from tests.reference.closed_form import (
    availability,
    birth_death_throughput_numeric,
    deterministic_serial_throughput,
    mm1k_mean_number,
    mm1k_throughput,
    two_machine_exponential_throughput,
)
from tests.reference.simpy_line import SerialLine, replicate, simulate

TWO_STATION = SerialLine(process_means=(1.0, 1.25), buffer_capacity=3)
SINGLE_FAILING = SerialLine(
    process_means=(1.0,), buffer_capacity=(), mtbf=100.0, mttr=5.0, deterministic=True
)
FAILING_LINE = SerialLine(
    process_means=(1.0, 1.1, 0.9), buffer_capacity=2, mtbf=50.0, mttr=5.0
)


@pytest.fixture(scope="module")
def two_station_runs():
    # ~145k parts per replication; std. error of the mean of 3 is ~0.1%.
    return replicate(TWO_STATION, until=200_000.0, seeds=[11, 12, 13], warmup=1_000.0)


@pytest.fixture(scope="module")
def single_failing_runs():
    # 5M time units ~ 48k failure cycles; std. error of the down fraction is
    # ~1.35/sqrt(48k) = 0.6% relative, so 2% is > 3 standard errors.
    return replicate(SINGLE_FAILING, until=1_250_000.0, seeds=[21, 22, 23, 24])


@pytest.fixture(scope="module")
def failing_line_run():
    return simulate(FAILING_LINE, until=50_000.0, seed=31, warmup=1_000.0)


# --- closed forms among themselves (fast) ----------------------------------


@pytest.mark.parametrize("mu1,mu2,B", [(1.0, 0.8, 3), (0.8, 1.0, 3), (1.0, 1.0, 0), (2.0, 0.5, 7)])
def test_two_machine_formula_matches_numeric_ctmc(mu1, mu2, B):
    """The two-machine formula equals the numerically solved birth-death chain with K = B + 2."""
    expected = birth_death_throughput_numeric(mu1, mu2, B + 2)
    assert two_machine_exponential_throughput(mu1, mu2, B) == pytest.approx(expected, rel=1e-10)
    assert mm1k_throughput(mu1, mu2, B + 2) == pytest.approx(expected, rel=1e-10)


def test_closed_forms_continuous_at_rho_one():
    """rho == 1 special cases agree with the limits rho -> 1 of the general formulas."""
    for K in (1, 5, 50):
        assert mm1k_throughput(1.0, 1.0, K) == pytest.approx(mm1k_throughput(1.0 + 1e-9, 1.0, K), rel=1e-6)
        assert mm1k_mean_number(1.0, 1.0, K) == pytest.approx(mm1k_mean_number(1.0 - 1e-9, 1.0, K), rel=1e-6)
        assert mm1k_mean_number(1.0, 1.0, K) == pytest.approx(K / 2)
    assert two_machine_exponential_throughput(1.0, 1.0, 3) == pytest.approx(1.0 - 1.0 / 6.0)


# --- SimPy reference model vs theory ----------------------------------------


def test_two_station_throughput_matches_closed_form(two_station_runs):
    """Two exponential stations (means 1.0, 1.25, buffer 3): throughput within 1.5% of the birth-death result."""
    expected = two_machine_exponential_throughput(1.0, 1 / 1.25, 3)
    observed = statistics.fmean(r["throughput"] for r in two_station_runs)
    assert observed == pytest.approx(expected, rel=0.015)


def test_single_station_down_fraction_matches_unavailability(single_failing_runs):
    """A never-starved, never-blocked failing station is down a fraction 1 - A of the time (within 2%)."""
    expected = 1.0 - availability(100.0, 5.0)
    observed = statistics.fmean(r["down_fraction"][0] for r in single_failing_runs)
    assert observed == pytest.approx(expected, rel=0.02)


def test_single_station_throughput_is_availability_over_process_time(single_failing_runs):
    """A failing deterministic station (t = 1) produces A / t parts per time unit (within 1%)."""
    expected = availability(100.0, 5.0) * deterministic_serial_throughput([1.0])
    observed = statistics.fmean(r["throughput"] for r in single_failing_runs)
    assert observed == pytest.approx(expected, rel=0.01)


def test_deterministic_line_runs_at_bottleneck_rate():
    """With constant process times and no failures, throughput is 1 / max(t_i)."""
    times = (1.0, 1.5, 0.8, 1.2)
    line = SerialLine(process_means=times, buffer_capacity=1, deterministic=True)
    r = simulate(line, until=3_000.0, seed=0, warmup=100.0)
    assert r["throughput"] == pytest.approx(deterministic_serial_throughput(times), rel=0.005)


@pytest.mark.parametrize("which", ["two_station", "failing_line"])
def test_littles_law(which, two_station_runs, failing_line_run):
    """Little's law: mean WIP = throughput x mean lead time (within 2%)."""
    runs = two_station_runs if which == "two_station" else [failing_line_run]
    for r in runs:
        assert r["completed"] > 1000
        assert r["mean_wip"] == pytest.approx(r["throughput"] * r["mean_lead_time"], rel=0.02)


def test_same_seed_gives_identical_results():
    """Determinism: the same line and seed give an identical result dict; another seed differs."""
    a = simulate(FAILING_LINE, until=5_000.0, seed=7, warmup=100.0)
    b = simulate(FAILING_LINE, until=5_000.0, seed=7, warmup=100.0)
    c = simulate(FAILING_LINE, until=5_000.0, seed=8, warmup=100.0)
    assert a == b
    assert a != c
    assert all(math.isfinite(v) for v in (a["throughput"], a["mean_wip"], a["mean_lead_time"]))
