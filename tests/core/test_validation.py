"""The engine against queueing theory and an independent SimPy model.

Each statistical check states its tolerance in standard errors (SE) of the estimate, measured
from the replications themselves, so a pass means agreement and not just loose bounds. Seeds
are fixed, so the tests are deterministic.
"""

from __future__ import annotations

import math
import statistics

import pytest
from scipy import stats

from tests.core.lines import exp, run, serial_line, station
from tests.reference import simpy_line
from tests.reference.closed_form import (
    availability,
    deterministic_serial_throughput,
    mm1k_mean_number,
    two_machine_exponential_throughput,
)

MTBF, MTTR = 100.0, 5.0


def _mean_se(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) / math.sqrt(len(values))


@pytest.fixture(scope="module")
def two_machine_runs() -> list[dict]:
    """KPIs of 5 replications x 400k s of M1 (exp, mean 1) -> buffer 3 -> M2 (exp, mean 1.25)."""
    scene = serial_line([exp(1.0), exp(1.25)], 3)
    return [run(scene, 1_000.0 + 400_000.0, seed=seed, warmup_s=1_000.0).kpis() for seed in range(1, 6)]


def test_two_machine_exponential_line_matches_closed_form(two_machine_runs):
    """Two exponential machines with a buffer of 3: throughput within 1% of mu2 (1 - p0)."""
    rates = [k["throughput"]["total"] / k["window_s"] for k in two_machine_runs]
    expected = two_machine_exponential_throughput(1.0, 1 / 1.25, 3)
    mean, se = _mean_se(rates)
    assert se < 0.003 * expected  # so that the 1% tolerance below is > 3 SE
    assert mean == pytest.approx(expected, rel=0.01)


def test_two_machine_state_probabilities_and_wip(two_machine_runs):
    """Two-machine line: M2 starved p0, M1 blocked pK, WIP = E[n] + 1 - pK (2%)."""
    rho, big_k = 1.25, 3 + 2
    weights = [rho**n for n in range(big_k + 1)]
    p0, pk = weights[0] / sum(weights), weights[-1] / sum(weights)
    idle = statistics.fmean(station(k, "m2")["idle_frac"] for k in two_machine_runs)
    blocked = statistics.fmean(station(k, "m1")["blocked_frac"] for k in two_machine_runs)
    wip = statistics.fmean(k["wip_avg"] for k in two_machine_runs)
    assert idle == pytest.approx(p0, rel=0.02)
    assert blocked == pytest.approx(pk, rel=0.02)
    assert wip == pytest.approx(mm1k_mean_number(1.0, 0.8, big_k) + 1.0 - pk, rel=0.02)


@pytest.mark.parametrize("basis", ["operating", "calendar"])
def test_never_starved_station_availability_is_mtbf_over_mtbf_plus_mttr(basis):
    """A never-starved station is up MTBF / (MTBF + MTTR) of the time (1%), on either basis."""
    scene = serial_line([1.0], failures=[{"mtbf_s": MTBF, "mttr_s": MTTR, "basis": basis}])
    tw = run(scene, 2_000_000.0, seed=3)
    row = station(tw.kpis(), "m1")
    expected = availability(MTBF, MTTR)
    assert row["failures"] > 15_000  # ~1.4 / sqrt(n) = 1.1% relative SE on the down fraction
    assert 1.0 - row["down_frac"] == pytest.approx(expected, rel=0.01)
    assert row["availability"] == pytest.approx(expected, rel=0.01)
    assert row["down_frac"] == pytest.approx(1.0 - expected, rel=0.04)
    # deterministic process time 1: throughput is A parts per second
    assert tw.kpis()["throughput"]["total"] / 2_000_000.0 == pytest.approx(
        expected * deterministic_serial_throughput([1.0]), rel=0.01)


def test_failure_bases_coincide_for_a_never_starved_station():
    """For a station that always processes, operating and calendar failures are identical."""
    rows = []
    for basis in ("operating", "calendar"):
        scene = serial_line([1.0], failures=[{"mtbf_s": MTBF, "mttr_s": MTTR, "basis": basis}])
        rows.append(station(run(scene, 200_000.0, seed=5).kpis(), "m1"))
    assert rows[0]["failures"] == rows[1]["failures"] > 1_000
    assert rows[0]["down_frac"] == pytest.approx(rows[1]["down_frac"], rel=1e-9)


@pytest.mark.parametrize("basis", ["operating", "calendar"])
def test_starved_station_failure_basis(basis):
    """Starved: operating failures accrue only while processing, calendar failures always."""
    scene = serial_line([1.0], failures=[{"mtbf_s": MTBF, "mttr_s": MTTR, "basis": basis}],
                        source={"interarrival": exp(2.0)})
    row = station(run(scene, 2_000_000.0, seed=3).kpis(), "m1")
    assert 0.3 < row["idle_frac"] < 0.7
    assert row["failures"] > 8_000  # relative SE of the down fraction <= 1.6%
    if basis == "operating":
        expected = row["busy_frac"] * MTTR / MTBF
    else:
        expected = 1.0 - availability(MTBF, MTTR)
    assert row["down_frac"] == pytest.approx(expected, rel=0.05)


@pytest.mark.parametrize("basis", ["operating", "calendar"])
def test_two_failure_modes_on_one_station(basis):
    """Two failure modes: operating clocks freeze during the other's repair, calendar ones do not."""
    failures = [{"name": f"f{i}", "mtbf_s": MTBF, "mttr_s": MTTR, "basis": basis} for i in (1, 2)]
    row = station(run(serial_line([1.0], failures=failures), 2_000_000.0, seed=4).kpis(), "m1")
    assert row["failures"] > 35_000  # relative SE of the down fraction ~0.7%
    if basis == "operating":
        r = 2 * MTTR / MTBF
        expected = r / (1 + r)
    else:
        expected = 1.0 - availability(MTBF, MTTR) ** 2
    assert row["down_frac"] == pytest.approx(expected, rel=0.015)


def test_deterministic_serial_line_runs_at_bottleneck_rate():
    """Constant process times 2, 5, 3 with buffers: exactly window / 5 parts (to within one part)."""
    times = [2.0, 5.0, 3.0]
    window = 10_000.0
    tw = run(serial_line(times, 2), 200.0 + window, warmup_s=200.0)
    k = tw.kpis()
    expected = window * deterministic_serial_throughput(times)
    assert abs(k["throughput"]["total"] - expected) <= 1
    assert station(k, "m2")["busy_frac"] == pytest.approx(1.0, abs=5.0 / window)
    assert k["bottleneck"] == "m2"


@pytest.mark.parametrize("seed", [1, 2])
def test_littles_law(seed):
    """Little's law: time-average WIP = throughput (per second) x mean lead time, within 1%."""
    scene = serial_line([exp(1.0), exp(0.8), {"dist": "uniform", "low": 0.5, "high": 1.3}], 4,
                        failures=[{"mtbf_s": 200.0, "mttr_s": 8.0}],
                        source={"interarrival": exp(1.3)})
    window = 200_000.0
    k = run(scene, 2_000.0 + window, seed=seed, warmup_s=2_000.0).kpis()
    assert k["lead_time_s"]["n"] == k["throughput"]["total"] > 100_000
    rate = k["throughput"]["total"] / k["window_s"]
    assert k["wip_avg"] > 2.0
    assert k["wip_avg"] == pytest.approx(rate * k["lead_time_s"]["mean"], rel=0.01)


def test_ten_station_line_matches_simpy_reference():
    """10-station failing line: throughput, WIP, lead time within the 95% CI of the SimPy model."""
    until, warmup, reps = 20_000.0, 1_000.0, 10
    scene = serial_line([exp(1.0)] * 10, 5, failures=[{"mtbf_s": MTBF, "mttr_s": MTTR}])
    ours = {"throughput": [], "mean_wip": [], "mean_lead_time": []}
    for seed in range(reps):
        k = run(scene, until, seed=100 + seed, warmup_s=warmup).kpis()
        ours["throughput"].append(k["throughput"]["total"] / k["window_s"])
        ours["mean_wip"].append(k["wip_avg"])
        ours["mean_lead_time"].append(k["lead_time_s"]["mean"])
    theirs = simpy_line.replicate(simpy_line.BENCHMARK_LINE, until=until, seeds=range(reps), warmup=warmup)
    for key, a in ours.items():
        b = [r[key] for r in theirs]
        (ma, sa), (mb, sb) = _mean_se(a), _mean_se(b)
        se = math.hypot(sa, sb)
        dof = se**4 / (sa**4 / (reps - 1) + sb**4 / (reps - 1))  # Welch-Satterthwaite
        half = stats.t.ppf(0.975, dof) * se
        assert half < 0.03 * mb, f"{key}: CI too wide to mean anything ({half:.4g})"
        assert abs(ma - mb) < half, f"{key}: twin {ma:.5g} vs SimPy {mb:.5g}, 95% CI half-width {half:.3g}"
