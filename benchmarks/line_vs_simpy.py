"""Serial-line speed and agreement: the twin engine against the independent SimPy reference model.

Scene: 10 stations in series, exponential process times (mean 1), buffers of 5 between them,
operation-dependent failures on every station (exponential MTBF 100, MTTR 5), an always-available
source and an output sink. Both models run the same horizon (100,000 time units, ``--quick``:
20,000) for the same seeds, interleaved in one process, and start empty (no warm-up).

Measured:
- ``compile_s``: the first call (build a twin, run 1 time unit) in this process, i.e. numba
  compilation, or loading the on-disk cache when it is warm; reported apart from steady state.
- ``engine_s`` / ``simpy_s``: summed wall time of the replications (model build + run + KPIs).
- throughput of each model (parts per time unit), mean and 95% CI over the seeds, and Welch's t
  statistic for the difference: |t| below the critical value means no significant difference.

Usage: ``.venv/bin/python benchmarks/line_vs_simpy.py [--quick] [--seeds N] [--until T]``.
The last line printed is one JSON object with the figures (keys in benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import time

from _harness import Timer, emit_json, machine_info, numba_cache_files, print_header, welch_t

N_STATIONS = 10
PROCESS_MEAN = 1.0
BUFFER_CAPACITY = 5
MTBF = 100.0
MTTR = 5.0
FIRST_SEED = 1


def line_scene_data(n: int = N_STATIONS) -> dict:
    """The benchmark line as a scene dict (the same line as ``tests.reference.simpy_line``)."""
    return {
        "version": 1, "name": "bench_serial_line", "part_types": [{"name": "p"}],
        "sources": [{"name": "src", "to": "m1", "always_available": True}],
        "stations": [{"name": f"m{i}", "to": (f"b{i}" if i < n else "out"),
                      "process_time": {"dist": "exponential", "mean": PROCESS_MEAN},
                      "failures": [{"mtbf_s": MTBF, "mttr_s": MTTR}]} for i in range(1, n + 1)],
        "buffers": [{"name": f"b{i}", "to": f"m{i + 1}", "capacity": BUFFER_CAPACITY} for i in range(1, n)],
        "sinks": [{"name": "out"}],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="20,000 time units, 3 seeds (< 45 s with a cold numba cache)")
    ap.add_argument("--seeds", type=int, default=None, help="replications per model (default 5; quick 3)")
    ap.add_argument("--until", type=float, default=None, help="horizon (default 100000; quick 20000)")
    args = ap.parse_args()
    until = args.until or (20_000.0 if args.quick else 100_000.0)
    n_seeds = args.seeds or (3 if args.quick else 5)
    seeds = list(range(FIRST_SEED, FIRST_SEED + n_seeds))

    cache_files = numba_cache_files()
    machine = machine_info()
    print_header("line_vs_simpy: 10-station serial line, twin engine vs SimPy reference",
                 machine, cache_files)

    with Timer() as t_import:
        import twin
        from tests.reference.simpy_line import SerialLine, simulate
        from twin.scene import scene_from_data
        from twin.stats import mean_ci95, t_quantile_975
    scene = scene_from_data(line_scene_data())
    ref_line = SerialLine(process_means=(PROCESS_MEAN,) * N_STATIONS, buffer_capacity=BUFFER_CAPACITY,
                          mtbf=MTBF, mttr=MTTR)
    print(f"scene   : {N_STATIONS} stations, exp(mean {PROCESS_MEAN}) process, buffers of {BUFFER_CAPACITY}, "
          f"operation-dependent failures MTBF {MTBF:g} / MTTR {MTTR:g}")
    print(f"run     : horizon {until:,.0f} time units, seeds {seeds}, trace off, no warm-up")

    # First call: numba compiles (or loads from cache) every kernel reachable from run_until.
    with Timer() as t_compile:
        warm = twin.Twin(scene, seed=0, trace=False)
        warm.run(until=1.0, check_deadlock=False)
        warm.kpis()
    print(f"import  : {t_import.s:.2f} s   first call (JIT compile / cache load): {t_compile.s:.2f} s")

    eng_tp, eng_s, eng_run_s, eng_events = [], [], [], []
    ref_tp, ref_s, ref_events = [], [], []
    print(f"\n{'seed':>4} | {'twin thr':>9} {'twin s':>7} {'events':>9} | {'simpy thr':>9} {'simpy s':>8} "
          f"{'events':>9} | speedup")
    for seed in seeds:
        # interleaved, so that a change in machine load affects both models alike
        t0 = time.perf_counter()
        tw = twin.Twin(scene, seed=seed, trace=False)
        t1 = time.perf_counter()
        tw.run(until=until, check_deadlock=False)
        t2 = time.perf_counter()
        total = tw.kpis()["throughput"]["total"]
        t3 = time.perf_counter()
        eng_tp.append(total / until)
        eng_s.append(t3 - t0)
        eng_run_s.append(t2 - t1)
        eng_events.append(int(tw.engine.state.n_events[0]))

        with Timer() as t_ref:
            res = simulate(ref_line, until=until, seed=seed)
        ref_tp.append(res["throughput"])
        ref_s.append(t_ref.s)
        ref_events.append(int(res["events"]))
        print(f"{seed:>4} | {eng_tp[-1]:>9.5f} {eng_s[-1]:>7.3f} {eng_events[-1]:>9,} | {ref_tp[-1]:>9.5f} "
              f"{ref_s[-1]:>8.3f} {ref_events[-1]:>9,} | {ref_s[-1] / eng_s[-1]:6.1f}x")

    engine_s, simpy_s = sum(eng_s), sum(ref_s)
    speedup = simpy_s / engine_s
    m_eng, h_eng = mean_ci95(eng_tp)
    m_ref, h_ref = mean_ci95(ref_tp)
    t_stat, df = welch_t(eng_tp, ref_tp)
    t_crit = t_quantile_975(max(1, int(df))) if df != float("inf") else 1.96
    equal = abs(t_stat) < t_crit
    events_per_s = sum(eng_events) / sum(eng_run_s)
    sim_time = until * len(seeds)

    print(f"\nthroughput  twin : {m_eng:.5f} +/- {h_eng:.5f} parts/time unit (95% CI, n={len(seeds)})")
    print(f"throughput  simpy: {m_ref:.5f} +/- {h_ref:.5f} parts/time unit (95% CI, n={len(seeds)})")
    print(f"Welch t = {t_stat:+.3f} (df {df:.1f}, critical {t_crit:.3f}): "
          f"{'no significant difference at 5%' if equal else 'SIGNIFICANT DIFFERENCE at 5%'}")
    print(f"wall        twin : {engine_s:.3f} s for {sim_time:,.0f} time units "
          f"(realtime factor {sim_time / engine_s:,.0f}x, {sum(eng_events):,} events, "
          f"{events_per_s / 1e6:.2f} M events/s, {1e6 * sum(eng_run_s) / sum(eng_events):.2f} us/event)")
    print(f"wall        simpy: {simpy_s:.3f} s for {sim_time:,.0f} time units "
          f"(realtime factor {sim_time / simpy_s:,.0f}x, {sum(ref_events):,} SimPy events; "
          f"event counts are not comparable across engines)")
    print(f"speedup vs SimPy : {speedup:.1f}x (goal >= 50x: {'met' if speedup >= 50 else 'NOT met'})")

    emit_json({
        "benchmark": "line_vs_simpy", "quick": args.quick, "until": until, "seeds": seeds,
        "speedup_vs_simpy": round(speedup, 2),
        "throughput": round(m_eng, 6), "throughput_ci95": round(h_eng, 6),
        "simpy_throughput": round(m_ref, 6), "simpy_throughput_ci95": round(h_ref, 6),
        "welch_t": round(t_stat, 4), "welch_df": round(df, 2), "t_critical": round(t_crit, 4),
        "throughput_equal_at_5pct": bool(equal),
        "compile_s": round(t_compile.s, 3), "numba_cache_cold": cache_files == 0,
        "engine_s": round(engine_s, 4), "engine_run_s": round(sum(eng_run_s), 4),
        "simpy_s": round(simpy_s, 4),
        "events": sum(eng_events), "events_per_s": round(events_per_s), "simpy_events": sum(ref_events),
        "per_seed": {"throughput": eng_tp, "simpy_throughput": ref_tp,
                     "engine_s": [round(x, 4) for x in eng_s],
                     "simpy_s": [round(x, 4) for x in ref_s]},
        "machine": machine,
    })


if __name__ == "__main__":
    main()
