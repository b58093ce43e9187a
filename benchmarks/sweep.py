"""Sweep throughput: runs per second serial, in the batch runner, and on a Dask local cluster.

Scene: the 10-station line of ``line_vs_simpy.py`` (exponential process times of mean 1, buffers
of 5, failures MTBF 100 / MTTR 5), swept over the capacity of buffer ``b5`` (1..10) with 100
replications each: 1,000 short runs of ``--until`` time units (default 2,000). The same sweep runs
three ways through ``twin.sweep``: ``serial`` (one Twin per run, this process), ``batch`` (one batch
kernel call per configuration, this process) and ``dask`` (a LocalCluster of 2 single-threaded
worker processes, tasks of several replications). The per-run results of the three must be
identical (``identical_results``).

Dask's scaling efficiency is measured on long runs (``--long-until``, default 800,000 time units,
about a second each on the reference machine), as the issue states it: ``long_runs`` runs on the
2-worker cluster against the same runs in the batch runner here,
``dask_efficiency = (runs/s on Dask) / (workers x runs/s in one process)``, each the best of
``--repeat`` alternating measurements (the machine may be shared). The cluster start and the
workers' kernel loading are timed apart (``cluster_start_s``) and not counted. On a shared machine
the wall-clock efficiency is capped by the other load, so the CPU seconds the long runs cost on
Dask (workers plus this process) are compared with their cost in one process too
(``dask_cpu_efficiency``: what Dask's own overhead leaves).

Usage: ``.venv/bin/python benchmarks/sweep.py [--quick] [--until T] [--long-until T] [--long-runs N]``.
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import time

from _harness import Timer, emit_json, machine_info, numba_cache_files, print_header
from line_vs_simpy import line_scene_data

WORKERS = 2
FIRST_SEED = 1
COMPARED = ["config_id", "replication", "seed", "throughput_total", "wip_avg", "lead_time_mean_s", "good"]


def _cpu_s() -> float:
    """CPU seconds of the calling process (run on each Dask worker)."""
    import time

    return time.process_time()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="10 replications per configuration, 2 long runs of 200,000, measured once "
                         "(< 45 s with a cold numba cache)")
    ap.add_argument("--until", type=float, default=2_000.0, help="short run length (time units)")
    ap.add_argument("--long-until", type=float, default=None,
                    help="long run length for the efficiency (default 800,000; quick 200,000)")
    ap.add_argument("--long-runs", type=int, default=None, help="long runs (default 12; quick 2)")
    ap.add_argument("--repeat", type=int, default=None,
                    help="long-run measurements, alternating Dask and one process; the best of each counts "
                         "(default 3; quick 1)")
    args = ap.parse_args()
    long_runs = args.long_runs or (2 if args.quick else 12)
    repeat = args.repeat or (1 if args.quick else 3)
    reps = 10 if args.quick else 100
    if args.long_until is None:
        args.long_until = 200_000.0 if args.quick else 800_000.0

    cache_files = numba_cache_files()
    machine = machine_info()
    print_header(f"sweep: {10 * reps:,} short runs serial / batch runner / Dask local (2 workers)", machine, cache_files)
    with Timer() as t_import:
        import pandas as pd

        import twin
        from twin.scene import scene_from_data
        from twin.sweep.execute import connect
        from twin.sweep.runner import warm_up
    scene = scene_from_data(line_scene_data())
    params = {"b5.capacity": "1..10"}
    with Timer() as t_compile:
        warm_up()
    print(f"import  : {t_import.s:.2f} s   first call (JIT compile / cache load): {t_compile.s:.2f} s")

    def run(executor: str, until: float, reps: int, grid=params, **kw):
        with Timer() as t:
            result = twin.sweep(scene, grid, replications=reps, until=until, seed=FIRST_SEED, executor=executor,
                                **kw)
        return result, t.s

    serial, t_serial = run("serial", args.until, reps)
    batch, t_batch = run("batch", args.until, reps)
    with Timer() as t_start:
        client = connect(None, WORKERS)
        client.run(warm_up)
    long_grid = {"b5.capacity": f"1..{long_runs}"}
    t_long_dask, t_long_batch, cpu_dask, cpu_batch = [], [], [], []
    try:
        dask, t_dask = run("dask", args.until, reps, client=client)
        # alternate, so that a burst of load on the shared machine hits both; the best time of each counts
        for _ in range(repeat):
            before, main0 = client.run(_cpu_s), time.process_time()
            long_dask, t = run("dask", args.long_until, 1, grid=long_grid, client=client, chunk=1)
            after, main1 = client.run(_cpu_s), time.process_time()
            t_long_dask.append(t)
            cpu_dask.append(sum(after[w] - before[w] for w in after) + main1 - main0)
            main0 = time.process_time()
            long_batch, t = run("batch", args.long_until, 1, grid=long_grid)
            cpu_batch.append(time.process_time() - main0)
            t_long_batch.append(t)
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()
    t_long_dask, t_long_batch = min(t_long_dask), min(t_long_batch)

    n = len(serial.runs)
    same = all(r.runs[COMPARED].equals(serial.runs[COMPARED]) for r in (batch, dask))
    same_long = long_dask.runs[COMPARED].equals(long_batch.runs[COMPARED])
    rates = {k: n / t for k, t in (("serial", t_serial), ("batch", t_batch), ("dask", t_dask))}
    long_rate_1 = long_runs / t_long_batch
    long_rate_dask = long_runs / t_long_dask
    efficiency = long_rate_dask / (WORKERS * long_rate_1)
    # CPU seconds the work cost in one process / what it cost on Dask (workers + this process): the
    # efficiency Dask itself allows, whatever else the shared machine was running meanwhile
    cpu_efficiency = min(cpu_batch) / min(cpu_dask)
    short_eff = rates["dask"] / (WORKERS * rates["batch"])
    tp = pd.Series(serial.summary["throughput_total_mean"].values / args.until, index=range(1, 11))

    print(f"\nshort runs: {n:,} runs x {args.until:,.0f} time units (10 configurations x {reps} replications)")
    for k in ("serial", "batch", "dask"):
        print(f"  {k:<6}: {rates[k]:8,.1f} runs/s")
    print(f"  batch runner vs serial: {rates['batch'] / rates['serial']:.2f}x; Dask (2 workers) vs batch here: "
          f"{rates['dask'] / rates['batch']:.2f}x")
    print(f"long runs : {long_runs} runs x {args.long_until:,.0f} time units, {t_long_batch / long_runs:.2f} s each "
          f"in one process; Dask on {WORKERS} workers: {long_rate_dask:.2f} runs/s vs {long_rate_1:.2f} runs/s "
          f"-> efficiency {efficiency:.0%} " + ("(--quick: runs too short to judge the goal, >= 80%)" if args.quick
                                             else f"(goal >= 80%: {'met' if efficiency >= 0.8 else 'NOT met'})"))
    print(f"CPU cost  : {min(cpu_batch):.2f} CPU s in one process, {min(cpu_dask):.2f} CPU s on Dask (workers + "
          f"client) -> CPU efficiency {cpu_efficiency:.0%} (the wall-clock efficiency cannot exceed what the "
          f"machine's load, {machine['load_avg_1m']} at start, leaves of {WORKERS} cores)")
    print(f"cluster   : start + worker kernel load {t_start.s:.2f} s (not counted)")
    print(f"checks    : per-run results identical across serial, batch and Dask: {same}; long runs: {same_long}")
    print("throughput vs b5 capacity (parts/time unit): " + ", ".join(f"{b}: {v:.4f}" for b, v in tp.items()))

    emit_json({
        "benchmark": "sweep", "quick": args.quick, "runs": n, "until": args.until,
        "runs_per_s_serial": round(rates["serial"], 2), "runs_per_s_batch": round(rates["batch"], 2),
        "runs_per_s_dask": round(rates["dask"], 2), "dask_workers": WORKERS,
        "dask_efficiency": round(efficiency, 3), "dask_cpu_efficiency": round(cpu_efficiency, 3), "dask_efficiency_short_runs": round(short_eff, 3),
        "long_runs": long_runs, "long_until": args.long_until, "repeat": repeat, "long_run_s": round(t_long_batch / long_runs, 3),
        "batch_speedup_vs_serial": round(rates["batch"] / rates["serial"], 3),
        "identical_results": bool(same and same_long), "cluster_start_s": round(t_start.s, 3),
        "compile_s": round(t_compile.s, 3), "numba_cache_cold": cache_files == 0, "machine": machine,
    })


if __name__ == "__main__":
    main()
