"""The numbers: a buffer sweep reproduces the exact two-machine line, and CIs shrink as 1/sqrt(n)."""

from __future__ import annotations

import math

import pytest

import twin
from twin.stats import t_quantile_975

from ..reference.closed_form import birth_death_throughput_numeric, two_machine_exponential_throughput
from .scenes import two_machines

MEAN_M1, MEAN_M2 = 1.0, 0.8  # seconds; M2 is the faster machine


def ctmc_throughput(mu1: float, mu2: float, buffer: int) -> float:
    """Throughput of the two-machine line from its Markov chain, solved numerically.

    State n = parts between M1's output and M2's completion (buffer + M2 + the part M1 holds when
    blocked), n = 0..B+2. Solve pi Q = 0, sum(pi) = 1; throughput = mu2 * P(M2 busy) = mu2 (1 - pi_0).
    Independent of the closed form it checks.
    """
    return birth_death_throughput_numeric(mu1, mu2, buffer + 2)


def test_buffer_sweep_reproduces_the_closed_form_curve(tmp_path):
    """Throughput per buffer size 1..6: the exact curve lies within the sweep's confidence band.

    Under common random numbers the six means share their errors (one unlucky seed lowers the whole
    curve), so the six 95% intervals are not six independent chances: the band is the simultaneous
    (Bonferroni) 95% band, each half-width scaled by t(1 - 0.025/6, n-1) / t(0.975, n-1).
    """
    from scipy.stats import t

    scene = two_machines(tmp_path, MEAN_M1, MEAN_M2)
    n = 20
    result = twin.sweep(scene, {"b1.capacity": "1..6"}, replications=n, until=20_000, warmup=500,
                        executor="batch")
    s = result.summary
    assert list(s["b1.capacity"]) == [1, 2, 3, 4, 5, 6] and (s["n"] == n).all()
    simultaneous = t.ppf(1 - 0.025 / len(s), n - 1) / t_quantile_975(n - 1)
    for _, row in s.iterrows():
        exact = 3600 * two_machine_exponential_throughput(1 / MEAN_M1, 1 / MEAN_M2, int(row["b1.capacity"]))
        assert exact == pytest.approx(3600 * ctmc_throughput(1 / MEAN_M1, 1 / MEAN_M2, int(row["b1.capacity"])),
                                      rel=1e-9)
        mean, half = row["throughput_per_hour_mean"], row["throughput_per_hour_ci95"]
        assert 0 < half < 0.01 * exact
        assert abs(mean - exact) <= simultaneous * half, (row["b1.capacity"], mean, half, exact)
    # common random numbers: the gain from a bigger buffer is measured far more tightly than each level
    diff = s["throughput_per_hour_diff"].iloc[-1]
    exact_gain = 3600 * (two_machine_exponential_throughput(1.0, 1.25, 6) - two_machine_exponential_throughput(1.0, 1.25, 1))
    assert abs(diff - exact_gain) <= s["throughput_per_hour_diff_ci95"].iloc[-1]
    # Over 300 replications the difference's standard deviation is about 0.52 of the level's with
    # common random numbers, and about 1.3 times it with independent streams (sqrt(sd1^2 + sd6^2))
    assert s["throughput_per_hour_diff_ci95"].iloc[-1] < 0.75 * s["throughput_per_hour_ci95"].iloc[-1]


def test_confidence_intervals_shrink_as_one_over_sqrt_n(tmp_path):
    """Half-widths for n = 64, 256, 1024 replications: h * sqrt(n) / t(n-1) (the sample standard
    deviation) agrees within 35%, so h falls by 2 for each 4x replications.

    The tolerance is the sampling error of a standard deviation, not slack: with 64 replications
    s / sigma lies in [0.74, 1.27] with probability 99.9% (chi distribution, 63 degrees of freedom).
    """
    scene = two_machines(tmp_path)
    halves = {}
    for n in (64, 256, 1024):
        r = twin.sweep(scene, {"b1.capacity": "2"}, replications=n, until=2000, executor="batch")
        halves[n] = float(r.summary["throughput_per_hour_ci95"].iloc[0])
    sds = {n: h * math.sqrt(n) / t_quantile_975(n - 1) for n, h in halves.items()}
    assert max(sds.values()) / min(sds.values()) < 1.35, sds
    assert 1.5 < halves[64] / halves[256] < 2.7 and 1.7 < halves[256] / halves[1024] < 2.35, halves
