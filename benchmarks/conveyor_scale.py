"""Conveyor scale: 100 accumulating conveyors holding 100,000 parts, stepped at a 10 ms control step.

Scene (fixed, no randomness): 10 chains of 10 conveyors. Each chain is fed by an always-available
source and drained by a station with a constant process time of 1.25 x the belt's minimum part
interval (spacing / speed), into a sink. The station is the bottleneck (80% of belt rate), so
every conveyor fills to its capacity of 1,000 parts (length = 999 x spacing) and stays
accumulated, yet keeps flowing: each part the station takes opens a gap that travels up the chain,
with hand-offs between conveyors. Parts (0.04 m) are shorter than the spacing (0.0625 m), so the
four photo-eyes per conveyor see real edges. The line is pre-filled (300 s simulated, untimed).

Each control step, timed as one unit ("full semantics"):
  1. ``engine.advance_to(t)``: every event up to t (arrivals at belt ends, hand-offs, accumulation);
  2. ``conveyor_positions(...)``: every part's position, into preallocated arrays;
  3. ``photo_eye_scan(...)``: every photo-eye's blocked state and edges.
In the same run, a bare numba kernel (below) that only advances positions and enforces the
spacing, for the same parts and conveyors, gives the yardstick for ``ratio_vs_bare_kernel``.
After timing, positions and eye states are checked against a brute-force recomputation.

Usage: ``.venv/bin/python benchmarks/conveyor_scale.py [--quick] [--steps N]``.
The last line printed is one JSON object with the figures (keys in benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _harness import Timer, emit_json, machine_info, numba_cache_files, print_header
from numba import njit

CHAINS = 10
CONVEYORS_PER_CHAIN = 10
SPACING_M = 0.0625  # binary-exact, so that capacity = floor(length / spacing) + 1 is exactly 1,000
PARTS_PER_CONVEYOR = 1000
LENGTH_M = (PARTS_PER_CONVEYOR - 1) * SPACING_M
SPEED_MPS = 2.5  # 40 parts/s at minimum spacing
PART_LENGTH_M = 0.04
STATION_S = 1.25 * SPACING_M / SPEED_MPS  # 32 parts/s per chain: the bottleneck
EYES_AT_M = (0.5, LENGTH_M / 3, 2 * LENGTH_M / 3, LENGTH_M - 0.01)
CONTROL_STEP_S = 0.01
PREFILL_S = 300.0


def conveyor_scene_data(chains: int = CHAINS, per_chain: int = CONVEYORS_PER_CHAIN) -> dict:
    """``chains`` chains of ``per_chain`` conveyors, each chain source -> conveyors -> station -> sink."""
    sources, conveyors, stations = [], [], []
    for c in range(chains):
        sources.append({"name": f"c{c}/src", "to": f"c{c}/cv0", "always_available": True})
        for k in range(per_chain):
            conveyors.append({
                "name": f"c{c}/cv{k}", "to": f"c{c}/cv{k + 1}" if k < per_chain - 1 else f"c{c}/end",
                "length_m": LENGTH_M, "speed_mps": SPEED_MPS, "spacing_m": SPACING_M,
                "photo_eyes": [{"name": f"eye{j}", "at_m": at} for j, at in enumerate(EYES_AT_M)]})
        stations.append({"name": f"c{c}/end", "to": "out", "process_time": STATION_S})
    return {"version": 1, "name": "bench_conveyor_scale",
            "part_types": [{"name": "box", "length_m": PART_LENGTH_M}],
            "sources": sources, "conveyors": conveyors, "stations": stations, "sinks": [{"name": "out"}]}


@njit(cache=True)
def bare_advance(pos, conv_off, conv_len, length_m, spacing_m, step_m):
    """Advance every part by ``step_m`` and enforce the spacing behind the part ahead (head first).

    ``pos`` (float64[n_parts]) holds each conveyor's parts head first in ``pos[off:off+len]``
    (``conv_off``/``conv_len``: int64[n_conv]); the head stops at ``length_m``. No events, no
    hand-offs, no eyes: the least a stepped conveyor model can do per part.
    """
    for n in range(conv_off.shape[0]):
        off = conv_off[n]
        m = conv_len[n]
        if m == 0:
            continue
        ahead = min(pos[off] + step_m, length_m)
        pos[off] = ahead
        for j in range(off + 1, off + m):
            x = min(pos[j] + step_m, ahead - spacing_m)
            pos[j] = x
            ahead = x
    return 0


def check_state(engine, node, pos, k) -> list[str]:
    """Brute-force checks of positions (order, spacing, range) and of every photo-eye's state."""
    problems = []
    p = engine.params
    conv = np.flatnonzero(p.node_kind == 2)
    node, pos = node[:k], pos[:k]
    for n in conv:
        x = pos[node == n]
        if x.size and (x.min() < -1e-9 or x.max() > p.cv_length_m[n] + 1e-9):
            problems.append(f"conveyor {engine.names.nodes[n]}: position out of [0, L]: "
                            f"[{x.min():.6f}, {x.max():.6f}]")
        if x.size > 1 and np.min(x[:-1] - x[1:]) < p.cv_spacing_m[n] - 1e-6:
            problems.append(f"conveyor {engine.names.nodes[n]}: gap {np.min(x[:-1] - x[1:]):.6f} m "
                            f"< spacing {p.cv_spacing_m[n]}")
        off, m = p.cv_eye_off[n], p.cv_eye_len[n]
        for e in range(off, off + m):
            want = bool(np.any(np.abs(x - p.eye_at_m[e]) <= 0.5 * PART_LENGTH_M))
            if want != bool(engine.eye_blocked[e]):
                problems.append(f"eye {engine.names.photo_eyes[e]}: scan says "
                                f"blocked={bool(engine.eye_blocked[e])}, positions say {want}")
    return problems


def movement(engine, before, after) -> tuple[float, int]:
    """Mean distance travelled along its chain by parts on conveyors at both snapshots, and the
    number of conveyor-to-conveyor hand-offs between the snapshots (from each part's chain index)."""
    n_nodes = engine.params.n_nodes
    index = np.full(n_nodes, -1, np.int64)  # conveyor -> position in its chain (``c<i>/cv<k>``)
    for n, name in enumerate(engine.names.nodes):
        if "/cv" in name:
            index[n] = int(name.rsplit("/cv", 1)[1])
    (n0, x0, u0), (n1, x1, u1) = before, after
    along0, along1 = index[n0] * LENGTH_M + x0, index[n1] * LENGTH_M + x1
    both, i0, i1 = np.intersect1d(u0, u1, return_indices=True)
    gone = np.setdiff1d(np.arange(u0.size), i0)  # left the last conveyor meanwhile
    new = np.setdiff1d(np.arange(u1.size), i1)  # entered the first conveyor meanwhile
    handoffs = int((index[n1[i1]] - index[n0[i0]]).sum() + (CONVEYORS_PER_CHAIN - 1 - index[n0[gone]]).sum()
                   + index[n1[new]].sum())
    disp = float(np.mean(along1[i1] - along0[i0])) if both.size else float("nan")
    return disp, handoffs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1,000 steps (< 45 s with a cold numba cache)")
    ap.add_argument("--steps", type=int, default=None, help="timed control steps (default 6000; quick 1000)")
    args = ap.parse_args()
    n_steps = args.steps or (1000 if args.quick else 6000)

    cache_files = numba_cache_files()
    machine = machine_info()
    print_header("conveyor_scale: 100 accumulating conveyors x 1,000 parts, 10 ms control step",
                 machine, cache_files)
    with Timer() as t_import:
        import twin
        from twin.core.events import conveyor_positions, photo_eye_scan
        from twin.scene import scene_from_data

    # First calls on a one-conveyor scene, so that compile time excludes building the big model.
    with Timer() as t_compile:
        tiny = twin.Twin(scene_from_data(conveyor_scene_data(1, 1)), seed=1, trace=False).engine
        tiny.advance_to(1.0)
        buf_i, buf_f, buf_p = np.zeros(PARTS_PER_CONVEYOR, np.int32), np.zeros(PARTS_PER_CONVEYOR), \
            np.zeros(PARTS_PER_CONVEYOR, np.int32)
        conveyor_positions(tiny._p, tiny._s, tiny.t, buf_i, buf_f, buf_p)
        photo_eye_scan(tiny._p, tiny._s, tiny.t, tiny.eye_blocked, tiny.eye_edges)
    with Timer() as t_compile_bare:
        bare_advance(np.zeros(2), np.zeros(1, np.int64), np.ones(1, np.int64), 1.0, 0.1, 0.01)
    print(f"import  : {t_import.s:.2f} s   first calls (JIT compile / cache load): engine kernels "
          f"{t_compile.s:.2f} s, bare kernel {t_compile_bare.s:.2f} s")

    with Timer() as t_build:
        tw = twin.Twin(scene_from_data(conveyor_scene_data()), seed=1, trace=False)
        eng = tw.engine
    conv = np.flatnonzero(eng.params.node_kind == 2)
    n_conv = conv.size
    cap_total = int(eng.params.node_cap[conv].sum())
    out_node, out_pos = np.zeros(cap_total, np.int32), np.zeros(cap_total)
    out_part = np.zeros(cap_total, np.int32)
    n_eyes = len(eng.names.photo_eyes)
    print(f"scene   : {CHAINS} chains x {CONVEYORS_PER_CHAIN} conveyors ({LENGTH_M:g} m, {SPEED_MPS:g} m/s, "
          f"spacing {SPACING_M:g} m, capacity {PARTS_PER_CONVEYOR}), {n_eyes} photo-eyes, "
          f"bottleneck station {STATION_S * 1e3:.2f} ms/part; built in {t_build.s:.2f} s")

    with Timer() as t_fill:
        eng.advance_to(PREFILL_S)
    print(f"prefill : {PREFILL_S:g} s simulated in {t_fill.s:.2f} s ({int(eng.state.n_events[0]):,} events); "
          f"{int(eng.state.node_count[conv].sum()):,} parts on conveyors")

    # -- timed: full-semantics control steps
    t_start = eng.t
    node0, pos0, uid0 = eng.conveyor_parts()
    ev0 = int(eng.state.n_events[0])
    out0 = int(eng.state.sink_count.sum())
    eng.scan_photo_eyes()
    edges0 = int(eng.eye_edges.sum())
    blocked, edges = eng.eye_blocked, eng.eye_edges
    adv_s = pos_s = eye_s = 0.0
    parts_sum = 0
    perf = time.perf_counter
    t_wall0 = perf()
    for i in range(1, n_steps + 1):
        a = perf()
        eng.advance_to(t_start + i * CONTROL_STEP_S)
        b = perf()
        # eng._s is re-read each step: the engine rebuilds it when a log (lead times) grows
        k = conveyor_positions(eng._p, eng._s, eng.t, out_node, out_pos, out_part)
        c = perf()
        photo_eye_scan(eng._p, eng._s, eng.t, blocked, edges)
        d = perf()
        adv_s += b - a
        pos_s += c - b
        eye_s += d - c
        parts_sum += k
    wall = perf() - t_wall0
    events = int(eng.state.n_events[0]) - ev0
    exited = int(eng.state.sink_count.sum()) - out0
    n_edges = int(eng.eye_edges.sum()) - edges0
    node1, pos1, uid1 = eng.conveyor_parts()
    steps_per_s = n_steps / wall
    part_updates_per_s = parts_sum / wall
    mean_parts = parts_sum / n_steps

    disp_m, handoffs = movement(eng, (node0, pos0, uid0), (node1, pos1, uid1))
    problems = check_state(eng, out_node, out_pos, k)

    # -- bare kernel on the same parts and conveyors (positions taken from the engine)
    order = np.lexsort((-out_pos[:k], out_node[:k]))
    bare_pos = out_pos[:k][order].copy()
    counts = np.array([int(np.count_nonzero(out_node[:k] == n)) for n in conv], np.int64)
    offs = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    step_m = SPEED_MPS * CONTROL_STEP_S
    bare_advance(bare_pos, offs, counts, LENGTH_M, SPACING_M, step_m)
    t_b0 = perf()
    for _ in range(n_steps):
        bare_advance(bare_pos, offs, counts, LENGTH_M, SPACING_M, step_m)
    bare_wall = perf() - t_b0
    bare_rate = k * n_steps / bare_wall
    ratio = part_updates_per_s / bare_rate

    sim_s = n_steps * CONTROL_STEP_S
    print(f"\ntimed   : {n_steps:,} steps of {CONTROL_STEP_S * 1e3:g} ms ({sim_s:g} s simulated) "
          f"in {wall:.3f} s; {mean_parts:,.0f} parts on {n_conv} conveyors per step (mean)")
    print(f"  steps/s            : {steps_per_s:,.1f}  ({1e6 / steps_per_s:,.0f} us/step, "
          f"realtime factor {sim_s / wall:.2f}x)")
    print(f"  part-updates/s     : {part_updates_per_s / 1e6:,.1f} M  (goal >= 200 M: "
          f"{'met' if part_updates_per_s >= 200e6 else 'NOT met'})")
    print(f"  per step           : advance_to {1e6 * adv_s / n_steps:,.0f} us, conveyor_positions "
          f"{1e6 * pos_s / n_steps:,.0f} us, photo_eye_scan {1e6 * eye_s / n_steps:,.0f} us")
    print(f"  work done          : {events:,} events, {exited:,} parts out ({exited / sim_s:,.0f}/s), "
          f"{n_edges:,} eye edges, {handoffs:,} conveyor-to-conveyor hand-offs; parts on the conveyors "
          f"throughout moved {disp_m:.2f} m on average ({disp_m / sim_s:.2f} m/s, belt {SPEED_MPS:g} m/s)")
    print(f"  checks             : {'positions, spacing and eye states OK' if not problems else 'FAILED'}")
    for msg in problems[:10]:
        print(f"    {msg}")
    print(f"bare kernel: {bare_rate / 1e6:,.1f} M part-updates/s ({1e6 * bare_wall / n_steps:,.0f} us/step); "
          f"engine / bare = {ratio:.3f}")

    emit_json({
        "benchmark": "conveyor_scale", "quick": args.quick, "steps": n_steps,
        "control_step_s": CONTROL_STEP_S, "parts": int(round(mean_parts)), "conveyors": int(n_conv),
        "photo_eyes": n_eyes,
        "steps_per_s": round(steps_per_s, 2), "us_per_step": round(1e6 / steps_per_s, 1),
        "realtime_factor": round(sim_s / wall, 3),
        "part_updates_per_s": round(part_updates_per_s), "bare_part_updates_per_s": round(bare_rate),
        "ratio_vs_bare_kernel": round(ratio, 4),
        "advance_us_per_step": round(1e6 * adv_s / n_steps, 1),
        "positions_us_per_step": round(1e6 * pos_s / n_steps, 1),
        "eyes_us_per_step": round(1e6 * eye_s / n_steps, 1),
        "events": events, "parts_out": exited, "eye_edges": n_edges, "handoffs": handoffs,
        "mean_displacement_m": round(disp_m, 3),
        "checks_ok": not problems,
        "compile_s": round(t_compile.s, 3), "bare_compile_s": round(t_compile_bare.s, 3),
        "numba_cache_cold": cache_files == 0, "build_s": round(t_build.s, 3), "prefill_s": round(t_fill.s, 3),
        "machine": machine,
    })


if __name__ == "__main__":
    main()
