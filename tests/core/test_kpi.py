"""KPI definitions: warm-up window, active periods and bottleneck, OEE, WIP."""

from __future__ import annotations

import numpy as np
import pytest

import twin
from tests.core.lines import build, exp, run, serial_line, station


def test_warmup_is_excluded_from_kpis():
    """A 2 s station run to 300 s with a 100 s warm-up counts only the 100 parts out in (100, 300]."""
    scene = serial_line([2.0])
    with_warmup = run(scene, 300.0, warmup_s=100.0).kpis()
    assert with_warmup["window_s"] == 200.0
    assert with_warmup["throughput"]["total"] == 100
    assert station(with_warmup, "m1")["processed"] == 100
    assert with_warmup["lead_time_s"]["n"] == 100
    assert with_warmup["throughput"]["per_hour"] == pytest.approx(100 / (200 / 3600))
    assert run(scene, 300.0).kpis()["throughput"]["total"] == 150


def test_warmup_excludes_lead_times_of_parts_out_before_it():
    """Lead times are those of the parts out after the warm-up, one per part counted as output."""
    scene = serial_line([1.0, 3.0], 1, source={"interarrival": 4.0})
    k = run(scene, 400.0, warmup_s=100.0).kpis()
    assert k["lead_time_s"]["n"] == k["throughput"]["total"] == 75
    assert k["lead_time_s"]["mean"] == pytest.approx(4.0)  # 1 + 3, never waits


def test_kpis_before_warmup_end_raise():
    """Asking for KPIs before the warm-up has passed is a usage error naming both times."""
    tw = twin.Twin(serial_line([1.0]), warmup_s=50.0)
    tw.run(until=10.0)
    with pytest.raises(twin.UsageError, match="has not passed the warm-up"):
        tw.kpis()


@pytest.mark.parametrize("warmup", [0.0, 100.0])
def test_station_active_all_window_has_one_period_of_window_length(warmup):
    """A station never starved or blocked has one active period as long as the window."""
    k = run(serial_line([1.0]), warmup + 1_000.0, warmup_s=warmup).kpis()
    assert station(k, "m1")["mean_active_period_s"] == pytest.approx(1_000.0)


def test_active_periods_of_a_starved_station():
    """A station with 4 s jobs every 10 s (at 10, 20, ...) has active periods of exactly 4 s."""
    k = run(serial_line([4.0], source={"interarrival": 10.0}), 1_004.0, warmup_s=95.0).kpis()
    assert station(k, "m1")["mean_active_period_s"] == pytest.approx(4.0)


def test_bottleneck_is_the_saturated_station():
    """The saturated station is the bottleneck: its active periods span many parts."""
    scene = build(
        sources=[{"name": "src", "to": "m1", "always_available": True}],
        stations=[{"name": "m1", "to": "b1", "process_time": 1.0},
                  {"name": "m2", "to": "out", "process_time": exp(0.9)}],
        buffers=[{"name": "b1", "to": "m2", "capacity": 3}],
    )
    k = run(scene, 20_100.0, warmup_s=100.0).kpis()
    m1, m2 = station(k, "m1"), station(k, "m2")
    assert m1["busy_frac"] > m2["busy_frac"]
    assert m1["mean_active_period_s"] > 5.0 * 1.0
    assert k["bottleneck"] == "m1"


def test_oee_components_of_a_scrapping_station():
    """A never-starved station without failures has availability 1, performance 1, OEE = quality."""
    scene = serial_line([2.0])
    data = scene.model_dump(exclude_none=True)
    data["stations"][0]["scrap_prob"] = 0.25
    k = run(type(scene).model_validate(data), 20_000.0).kpis()
    row = station(k, "m1")
    assert row["availability"] == 1.0
    assert row["performance"] == pytest.approx(1.0)
    assert row["quality"] == pytest.approx(1.0 - row["scrapped"] / row["processed"])
    assert row["oee"] == pytest.approx(row["quality"])
    assert row["quality"] == pytest.approx(0.75, abs=0.02)


def test_wip_of_a_deterministic_line():
    """A saturated deterministic line holds exactly 4 parts: m1, the full buffer (2) and m2."""
    k = run(serial_line([1.0, 2.0], 2), 1_000.0, warmup_s=100.0).kpis()
    # m1 holds 1 (busy or blocked), b1 holds 2, m2 holds 1
    assert k["wip_avg"] == pytest.approx(4.0, abs=0.01)


def test_littles_law_is_exact_for_a_run_that_starts_and_ends_empty():
    """Over a run that starts and ends empty, the WIP integral equals the sum of lead times."""
    scene = build(
        part_types=("a", "b"),
        sources=[{"name": "sa", "to": "join", "interarrival": exp(2.0), "part_type": "a", "max_parts": 300},
                 {"name": "sb", "to": "join", "always_available": True, "part_type": "b", "max_parts": 200}],
        merges=[{"name": "join", "to": "belt"}],
        conveyors=[{"name": "belt", "to": "m1", "length_m": 4.0, "speed_mps": 0.4, "spacing_m": 0.6}],
        stations=[{"name": "m1", "to": "sq", "process_time": exp(1.0), "capacity": 2, "setup_time": 0.7,
                   "failures": [{"mtbf_s": 40.0, "mttr_s": 6.0}]},
                  {"name": "ma", "to": "out", "process_time": exp(1.5)},
                  {"name": "mb", "to": "out", "process_time": exp(2.5)}],
        buffers=[{"name": "qa", "to": "ma", "capacity": 4}, {"name": "qb", "to": "mb", "capacity": 4}],
        diverters=[{"name": "sq", "rule": "shortest_queue", "outputs": ["qa", "qb"]}],
    )
    tw = run(scene, 5_000.0)
    k = tw.kpis()
    assert k["released"] == k["throughput"]["total"] == k["lead_time_s"]["n"] == 500
    assert k["throughput"]["per_part_type"] == {"a": 300, "b": 200}
    assert tw.engine.state.wip[0] == 0
    total_lead = k["lead_time_s"]["mean"] * 500
    assert k["wip_avg"] * k["window_s"] == pytest.approx(total_lead, rel=1e-9)
    assert station(k, "m1")["setup_frac"] > 0.005  # the merge interleaves a and b


def test_no_warmup_counts_what_happens_at_time_zero():
    """Without a warm-up, parts released at t = 0 count as released (nothing is subtracted)."""
    scene = twin.load_scene_text("""
version: 1
part_types: [{name: p}]
sources: [{name: plan, to: store, schedule: [{at_s: 0, count: 7}]}]
buffers: [{name: store, to: m, capacity: 10}]
stations: [{name: m, to: out, process_time: 1.0}]
sinks: [{name: out}]
""")
    tw = twin.Twin(scene, seed=1, warmup_s=0)
    tw.run(until=100)
    k = tw.kpis()
    assert k["released"] == 7 and k["throughput"]["total"] == 7


REWORK = """
version: 1
part_types: [{name: p}]
sources: [{name: src, to: q, interarrival: {dist: exponential, mean: 30}}]
buffers: [{name: q, to: mill, capacity: 50}, {name: cq, to: cmm, capacity: 50}]
stations:
  - {name: mill, to: cq, process_time: {dist: exponential, mean: 10}, defect_prob: 0.1}
  - name: cmm
    to: sort
    process_time: 5
    inspection: {detect_prob: 0.9, false_reject_prob: 0.1}
  - {name: rework, to: cq, process_time: 20}
diverters: [{name: sort, rule: by_inspection, on_pass: out, on_fail: rework}]
sinks: [{name: out}]
"""


def test_first_pass_yield_counts_parts_that_never_failed_an_inspection():
    """With a rework loop, yield counts reworked parts that finally pass; first-pass yield does not.
    Checked part by part against the trace."""
    import twin

    tw = twin.Twin(twin.load_scene_text(REWORK), seed=5, warmup_s=0)
    tw.run(until="24h")
    k = tw.kpis()
    tr = tw.trace()
    assert k["throughput"]["total"] > 2500
    failed_once = set(tr["part_id"][tr["event"] == "inspect_fail"].tolist())
    defect = set(tr["part_id"][tr["event"] == "defect"].tolist())
    out = tr["part_id"][(tr["event"] == "exit") & (tr["element"] == "out")].tolist()
    first_pass = sum(1 for u in out if u not in failed_once and u not in defect)
    left = k["throughput"]["total"] + k["rejected"] + k["scrapped"]
    assert k["first_pass_yield"] == pytest.approx(first_pass / left, abs=1e-12)
    assert k["first_pass_yield"] < k["yield"] - 0.05  # about 10% of parts are reworked


def test_inspection_confusion_matrix_against_the_truth():
    """Per inspection station: true/false positives and negatives, precision and recall, counted from
    the parts' real defects, agree with the trace and with the scene's detection rates."""
    import twin

    tw = twin.Twin(twin.load_scene_text(REWORK), seed=8, warmup_s=0)
    tw.run(until="48h")
    cmm = next(s for s in tw.kpis()["stations"] if s["name"] == "cmm")["inspection"]
    tr = tw.trace()
    fails = int(np.sum((tr["event"] == "inspect_fail") & (tr["element"] == "cmm")))
    passes = int(np.sum((tr["event"] == "inspect_pass") & (tr["element"] == "cmm")))
    assert cmm["true_positive"] + cmm["false_positive"] == fails
    assert cmm["false_negative"] + cmm["true_negative"] == passes
    assert cmm["recall"] == pytest.approx(0.9, abs=0.05)  # detect_prob
    fp_rate = cmm["false_positive"] / (cmm["false_positive"] + cmm["true_negative"])
    assert fp_rate == pytest.approx(0.1, abs=0.02)  # false_reject_prob


def _kpis_after_10000s(elements: str) -> dict:
    """KPIs of a scene (these element sections, a sink 'out') run 10,000 s from empty, seed 1."""
    tw = twin.Twin(twin.load_scene_text("version: 1\n" + elements + "sinks: [{name: out}]\n"), seed=1, warmup_s=0)
    tw.run(until=10_000)
    return tw.kpis()


def test_line_oee_charges_a_station_only_with_the_flows_through_it():
    """Two saturated product flows side by side: each bottleneck runs flat out, so line OEE is 1, not
    the 1.5 that charging the slower station with both flows' output would give."""
    k = _kpis_after_10000s("""
part_types: [{name: a}, {name: b}]
sources:
  - {name: sa, to: ma, always_available: true, part_type: a}
  - {name: sb, to: mb, always_available: true, part_type: b}
stations:
  - {name: ma, to: out, process_time: 10}
  - {name: mb, to: out, process_time: 20}
""")
    assert k["throughput"]["per_part_type"] == {"a": 1000, "b": 500}
    assert k["line_oee"] == pytest.approx(1.0)


def test_parallel_stations_of_one_stage_share_the_line_oee():
    """A round-robin pair of 10 s stations fed without pause: both run flat out, line OEE is 1 (each
    is charged with the half that passed it, not with the whole output, which would give 2)."""
    k = _kpis_after_10000s("""
part_types: [{name: a}]
sources: [{name: src, to: split, always_available: true}]
diverters: [{name: split, rule: round_robin, outputs: [m1, m2]}]
stations:
  - {name: m1, to: out, process_time: 10}
  - {name: m2, to: out, process_time: 10}
""")
    assert k["throughput"]["total"] == 2000
    assert k["line_oee"] == pytest.approx(1.0)
    assert [station(k, m)["oee"] for m in ("m1", "m2")] == [pytest.approx(1.0)] * 2


def test_scrap_downstream_is_not_charged_to_the_stations_upstream():
    """Constant 2 s and 1 s stations; the second scraps 25 %: the bottleneck is charged with the
    good parts only, so line OEE = good x 2 s / window (0.75), the quality loss."""
    scene = serial_line([2.0, 1.0])
    data = scene.model_dump(exclude_none=True)
    data["stations"][1]["scrap_prob"] = 0.25
    tw = twin.Twin(twin.scene.scene_from_data(data), seed=3, warmup_s=0)
    tw.run(until=20_000)
    k = tw.kpis()
    assert k["line_oee"] == pytest.approx(k["good"] * 2.0 / 20_000)
    assert k["line_oee"] == pytest.approx(0.75, abs=0.02)


def test_no_output_gives_zero_line_oee_and_undefined_lead_time():
    scene = serial_line([50.0])
    k = run(scene, 10.0).kpis()
    assert k["line_oee"] == 0.0
    assert np.isnan(k["lead_time_s"]["mean"])


def test_truncated_normal_process_times_have_their_real_mean_as_ideal_time():
    """normal(mean 2, std 4) truncated at 0 has mean 4.04: a station busy all the time has a
    performance near 1, not the 0.49 the untruncated mean would give."""
    from math import erfc, pi, sqrt
    from math import exp as e

    from twin.scene.models import Distribution

    a = -2.0 / 4.0
    expected = 2.0 + 4.0 * e(-a * a / 2) / sqrt(2 * pi) / (0.5 * erfc(a / sqrt(2)))
    assert Distribution(dist="normal", mean=2, std=4).mean_value() == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(4.0366, abs=1e-4)
    scene = serial_line([{"dist": "normal", "mean": 2.0, "std": 4.0}])
    k = run(scene, 50_000.0).kpis()
    assert station(k, "m1")["performance"] == pytest.approx(1.0, abs=0.02)


def test_lead_time_quantiles_are_numpys_linear_quantiles():
    """The KPIs' quantiles (one partition around the order statistics needed) equal np.quantile's,
    bit for bit: on ties, tiny and large samples, and quantiles at and between the ends."""
    from twin.core.kpi import _quantiles

    rng = np.random.default_rng(7)
    for n in (1, 2, 3, 10, 101, 5_000, 19_999):
        for values in (rng.exponential(30.0, n), rng.integers(0, 4, n).astype(float), rng.normal(0.0, 1e6, n)):
            for qs in ((0.5, 0.95), (0.0, 1.0), tuple(rng.random(4))):
                assert _quantiles(values, qs) == [float(v) for v in np.quantile(values, qs)], (n, qs)
    assert all(np.isnan(_quantiles(np.zeros(0), (0.5, 0.95))))
