"""Determinism, step-size independence and snapshot/restore of the engine."""

from __future__ import annotations

import numpy as np
import pytest

import twin
from tests.core.lines import build, busy_line, exp, serial_line, traces_equal


def _kpis_and_trace(scene, seed, until=3_000.0):
    tw = twin.Twin(scene, seed=seed, trace=True, warmup_s=100.0)
    tw.run(until=until)
    return tw.kpis(), tw.trace()


def test_same_seed_gives_identical_kpis_and_trace():
    """Two runs of one scene with the same seed produce identical KPIs and traces."""
    scene = busy_line()
    k1, tr1 = _kpis_and_trace(scene, 42)
    k2, tr2 = _kpis_and_trace(scene, 42)
    assert k1["throughput"]["total"] > 1_000
    assert k1 == k2
    assert traces_equal(tr1, tr2)


def test_different_seed_gives_different_trace():
    """Another seed changes the random draws, so the trace (and the output count) differs."""
    scene = busy_line()
    k1, tr1 = _kpis_and_trace(scene, 42)
    k2, tr2 = _kpis_and_trace(scene, 43)
    assert not traces_equal(tr1, tr2)
    assert not np.array_equal(tr1["t_s"][:100], tr2["t_s"][:100])
    assert k1 != k2


def test_unrelated_station_does_not_shift_random_streams():
    """Adding a station on another branch leaves an existing station's random draws unchanged."""
    base = serial_line([exp(1.0), exp(1.2)], 2, source={"interarrival": exp(2.0)})
    data = base.model_dump(exclude_none=True)
    data["sources"].append({"name": "src2", "to": "other", "interarrival": exp(3.0)})
    data["stations"].append({"name": "other", "to": "out", "process_time": exp(0.5)})
    grown = twin.scene.loader.scene_from_data(data)
    times = []
    for scene in (base, grown):
        tw = twin.Twin(scene, seed=9, trace=True)
        tw.run(until=2_000.0)
        tr = tw.trace()
        keep = (tr["element"] == "m2") & (tr["event"] == "process_end")
        times.append(tr["t_s"][keep])
    assert times[0].size > 500
    np.testing.assert_array_equal(times[0], times[1])


def _belt_line():
    """src -> belt -> m1 -> out, with exponential arrivals and processing."""
    return build(sources=[{"name": "src", "to": "belt", "interarrival": exp(0.6)}],
                 conveyors=[{"name": "belt", "to": "m1", "length_m": 3.3, "speed_mps": 0.3, "spacing_m": 0.45}],
                 stations=[{"name": "m1", "to": "out", "process_time": exp(0.55),
                            "failures": [{"mtbf_s": 30.0, "mttr_s": 2.0}]}])


def _station_line():
    return serial_line([exp(0.4), exp(0.5), exp(0.45)], 2, failures=[{"mtbf_s": 30.0, "mttr_s": 2.0}],
                       source={"interarrival": exp(0.55)})


@pytest.mark.parametrize("make_scene,seed", [(_station_line, 3), (_station_line, 4), (_belt_line, 3)])
def test_control_step_does_not_change_results(make_scene, seed):
    """Control steps of 1, 10 and 50 ms give the throughput (and trace) of one run(), belts included."""
    scene = make_scene()
    horizon = 200.0
    ref = twin.Twin(scene, seed=seed, trace=True, warmup_s=10.0)
    ref.run(until=horizon)
    ref_total = ref.kpis()["throughput"]["total"]
    assert ref_total > 100
    for dt in (0.001, 0.01, 0.05):
        tw = twin.Twin(scene, seed=seed, trace=True, warmup_s=10.0, control_step_s=dt)
        n_steps = round(horizon / dt)
        for _ in range(n_steps):
            tw.step()
        assert tw.time_s == pytest.approx(horizon, abs=1e-9)
        total = tw.kpis()["throughput"]["total"]
        assert total == pytest.approx(ref_total, rel=0.005)
        assert total == ref_total
        assert traces_equal(tw.trace(), ref.trace()), f"trace differs with control step {dt} s"


@pytest.mark.parametrize("make_scene", [busy_line, lambda: busy_line(calendar=True), _belt_line])
def test_get_state_set_state_continues_identically(make_scene):
    """get_state -> run -> set_state -> run again repeats the continuation exactly (KPIs, trace)."""
    scene = make_scene()
    straight = twin.Twin(scene, seed=11, trace=True, warmup_s=100.0)
    straight.run(until=2_500.0)

    tw = twin.Twin(scene, seed=11, trace=True, warmup_s=100.0)
    tw.run(until=1_000.0)
    snap = tw.get_state()
    tw.run(until=2_500.0)
    first_k, first_tr = tw.kpis(), tw.trace()
    tw.set_state(snap)
    assert tw.time_s == 1_000.0
    tw.run(until=2_500.0)
    assert tw.kpis() == first_k
    assert traces_equal(tw.trace(), first_tr)
    assert first_k == straight.kpis()
    assert traces_equal(first_tr, straight.trace())


@pytest.mark.parametrize("t_snap", [30.0, 700.0])
def test_set_state_into_a_fresh_twin_continues_identically(t_snap):
    """A snapshot restored into a new Twin continues exactly like the original, warm-up or not."""
    scene = busy_line()
    a = twin.Twin(scene, seed=5, trace=True, warmup_s=50.0)
    a.run(until=t_snap)
    b = twin.Twin(scene, seed=99, trace=True, warmup_s=50.0)
    b.set_state(a.get_state())
    a.run(until=1_500.0)
    b.run(until=1_500.0)
    assert a.kpis() == b.kpis()
    assert traces_equal(a.trace(), b.trace())


def test_snapshot_is_a_copy():
    """Running on after get_state does not alter the snapshot taken."""
    tw = twin.Twin(busy_line(), seed=2, trace=False)
    tw.run(until=300.0)
    snap = tw.get_state()
    frozen = {k: v.copy() for k, v in snap["engine"].items()}
    tw.run(until=600.0)
    assert all(np.array_equal(frozen[k], snap["engine"][k]) for k in frozen)


def test_control_steps_do_not_accumulate_rounding_error():
    """After k plain steps the clock reads exactly k x control_step_s (t = k dt, not t += dt)."""
    dt = 0.001
    tw = twin.Twin(serial_line([1.0]), control_step_s=dt)
    off = [k for k in range(1, 20_001) if tw.step() != k * dt]
    assert off == []


def test_bad_seeds_and_snapshots_are_usage_errors():
    """Seeds outside sim.seed's range and things that are not snapshots get clear errors."""
    scene = serial_line([1.0])
    for bad in (-1, 2**63, 2.5, True, "7"):
        with pytest.raises(twin.UsageError, match="seed must be"):
            twin.Twin(scene, seed=bad)
    tw = twin.Twin(scene, seed=1)
    for bad in ({"x": 1}, None, [1, 2]):
        with pytest.raises(twin.UsageError, match=r"set_state needs a snapshot from Twin\.get_state\(\)"):
            tw.set_state(bad)
