"""Robot cell: one arm picking parts off a moving conveyor with suction, 20 parts in the world,
against the same world stepped by bare PyBullet.

Each cycle a feeder puts the next part of a staging table onto the belt upstream; the arm meets it,
tracks it, grips it and places it on a pallet, where it stays (so 20 parts are always in the world).

The reference is bare PyBullet doing the same physical work: every call of the twin's run that
changes the world (joint resets and motor commands, parts placed by the belt and the gripper,
constraints, and each ``stepSimulation``) is recorded in a first, untimed run, and replayed on a
freshly built identical world by a plain loop over the recorded calls. The twin is timed in
further runs, unrecorded, each of which must end exactly like the first; the twin's figure and the
replay's are each the fastest of ``REPEATS`` runs. What the replay leaves out is exactly the twin's
own work: IK, tracking, collision-checked planning and its Python. The replay must end with every
part where the twin's run left it (checked, ``replay_max_deviation_m``).

Figures: real-time factor (physics seconds simulated per wall second, IK, tracking and planning
included); ``overhead_vs_raw_pybullet`` = twin wall time / replay wall time - 1; ``overhead_vs_resting_world``, the same against a loop stepping
the world at rest the same number of times (what this script reported before the replay existed:
a moving arm with contacts makes each step dearer than a resting world); ``physics_s``, the time
the twin's run spent inside ``stepSimulation``, and ``overhead_vs_own_stepping``. Ends with one
JSON line.

Usage: python benchmarks/robot_cell.py [--quick]
"""

from __future__ import annotations

import argparse
import math
import time

import _harness as H

from twin.physics import World
from twin.physics.belt import Belt
from twin.physics.gripper import SuctionGripper
from twin.physics.pick_place import PickPlace
from twin.physics.robot import Robot

HALF = (0.04, 0.03, 0.02)
BELT_Z = 0.3
N_PARTS = 20
#: timed runs of the twin and of the replay; each figure is the fastest
REPEATS = 3


def build(recorder: list | None = None):
    """Belt, staging table, pallet, the arm, and 20 parts resting on the staging table.

    ``recorder``: a list to record the world-changing calls into from the end of the build on (the
    recording wrappers go in first, so that the belt and gripper, which keep the calls they make
    every step, keep the wrappers)."""
    w = World()
    recording = [False]
    if recorder is not None:
        record_world_changes(w.client, recorder, recording)
    w.add_floor()
    belt = Belt(w, "infeed", (0.6, -0.8, BELT_Z), (0.6, 0.4, BELT_Z), width_m=0.3, speed_mps=0.15)
    w.add_box("staging", (0.3, 0.4, 0.5 * BELT_Z), (-0.7, -0.4, 0.5 * BELT_Z))
    w.add_box("pallet", (0.2, 0.2, 0.5 * BELT_Z), (0.05, 0.6, 0.5 * BELT_Z))
    robot = Robot(w, "cell/arm", "kuka_iiwa/model.urdf")
    for k in range(N_PARTS):
        w.add_box(f"part/{k}", HALF, (-0.9 + 0.1 * (k % 5), -0.7 + 0.12 * (k // 5), BELT_Z + HALF[2]),
                  mass_kg=0.2)
    w.step(240)  # settle: resting parts fall asleep
    recording[0] = True
    return w, belt, robot


def slot(k: int) -> tuple[float, float, float]:
    return (-0.1 + 0.1 * (k % 4), 0.45 + 0.1 * ((k // 4) % 4), BELT_Z + 2 * HALF[2] + 2 * HALF[2] * (k // 16))


#: PyBullet calls that change the world (everything else the twin calls only reads it)
WORLD_CHANGES = ("stepSimulation", "resetJointStatesMultiDof", "resetJointState", "setJointMotorControlArray",
                 "setJointMotorControl2", "resetBasePositionAndOrientation", "resetBaseVelocity",
                 "createConstraint", "changeConstraint", "removeConstraint", "changeDynamics")


def record_world_changes(client, log: list, recording: list) -> None:
    """Append every world-changing call made through ``client`` to ``log`` while ``recording[0]``.

    The client caches one bound function per name, so replacing those entries reaches every caller
    that looks the call up afterwards. Constraint ids repeat on an identical world (handed out in order).
    """
    for name in WORLD_CHANGES:
        fn = getattr(client, name)

        def wrapper(*args, _fn=fn, _name=name, **kwargs):
            if recording[0]:
                log.append((_name, args, kwargs))
            return _fn(*args, **kwargs)

        setattr(client, name, wrapper)


def run_cell(w, belt, robot, picks: int) -> None:
    """The cell's work: feed, track and pick each part off the belt, place it on the pallet."""
    pp = PickPlace(robot, SuctionGripper(robot))
    for k in range(picks):
        belt.carry(f"part/{k}", 0.05, lateral_m=0.04 * math.sin(k), yaw_rad=0.3 * k)
        pp.pick_from_belt(f"part/{k}", belt)
        pp.place(slot(k), math.pi / 2)


def part_positions(w) -> list[tuple[float, float, float]]:
    return [w.client.getBasePositionAndOrientation(w.body(f"part/{k}"))[0] for k in range(N_PARTS)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="5 picks instead of 20")
    args = ap.parse_args()
    machine = H.machine_info()
    H.print_header("robot cell: tracked conveyor picks with IK and planning vs bare PyBullet", machine,
                   H.numba_cache_files())
    picks = 5 if args.quick else 20
    # first, untimed: the twin's run with every world-changing call recorded (recording 50,000
    # calls or so costs time of its own, mostly the garbage collector walking the growing log).
    # It also measures the time spent inside stepSimulation: the physics of a moving arm and moving
    # parts costs more per step than a resting world, and this tells that apart from the twin's
    # own (Python) work
    recorded: list[tuple[str, tuple, dict]] = []
    w, belt, robot = build(recorded)
    step_s = [0.0]
    recording_step = w.client.stepSimulation

    def timed_step():
        t0 = time.perf_counter()
        recording_step()
        step_s[0] += time.perf_counter() - t0

    w.client.stepSimulation = timed_step
    steps0 = w._steps
    run_cell(w, belt, robot, picks)
    steps = w._steps - steps0
    sim_s = steps * w.dt_s
    recorded_final = part_positions(w)
    w.close()

    # the timed runs, each on a fresh identical world: the best of REPEATS (timer noise on a shared
    # machine is a few percent of a run this short; the replay is timed the same way)
    run_s = math.inf
    for _ in range(REPEATS):
        w, belt, robot = build()
        with H.Timer() as run:
            run_cell(w, belt, robot, picks)
        final = part_positions(w)
        w.close()
        if final != recorded_final:
            raise SystemExit("the twin's run is not deterministic: the recorded and the timed run differ")
        run_s = min(run_s, run.s)
    # the same world, the same motion: the recorded calls replayed by a plain loop
    replay_s, deviation = math.inf, 0.0
    for _ in range(REPEATS):
        w3, _, _ = build()
        calls = [(getattr(w3.client, name), call_args, call_kwargs) for name, call_args, call_kwargs in recorded]
        with H.Timer() as replay:
            for fn, call_args, call_kwargs in calls:
                fn(*call_args, **call_kwargs)
        deviation = max(deviation, max(math.dist(a, b) for a, b in zip(final, part_positions(w3), strict=True)))
        w3.close()
        replay_s = min(replay_s, replay.s)
    # the same world stepped the same number of times by a bare loop
    w2, _, _ = build()
    client = w2.client
    with H.Timer() as raw:
        for _ in range(steps):
            client.stepSimulation()
    w2.close()
    rtf = sim_s / run_s
    overhead = run_s / replay_s - 1.0
    resting = run_s / raw.s - 1.0
    own = run_s / step_s[0] - 1.0
    print(f"picks          : {picks} ({steps} physics steps, {sim_s:.1f} s simulated)")
    print(f"twin           : {run_s:.3f} s wall, real-time factor {rtf:.1f} (goal >= 50)")
    print(f"bare PyBullet  : {replay_s:.3f} s wall replaying the run's {len(recorded):,} world-changing calls "
          f"(parts end within {1000 * deviation:.3f} mm of the twin's run)")
    print(f"overhead       : {100 * overhead:.0f}% (goal <= 25%): the twin's own work (IK, tracking, "
          "collision-checked planning, its Python) on top of the same physics")
    print(f"resting world  : {raw.s:.3f} s wall for the same number of steps of the world at rest "
          f"(twin +{100 * resting:.0f}%)")
    print(f"in physics     : {step_s[0]:.3f} s of the twin's run inside stepSimulation "
          f"({1e6 * step_s[0] / steps:.1f} us/step vs {1e6 * raw.s / steps:.1f} at rest); "
          f"the twin's own work adds {100 * own:.0f}% to its own stepping")
    H.emit_json({"benchmark": "robot_cell", "quick": args.quick, "picks": picks, "physics_steps": steps,
                 "sim_s": round(sim_s, 3), "wall_s": round(run_s, 4), "raw_wall_s": round(raw.s, 4),
                 "real_time_factor": round(rtf, 2), "overhead_vs_raw_pybullet": round(overhead, 4),
                 "replay_wall_s": round(replay_s, 4), "replay_calls": len(recorded),
                 "replay_max_deviation_m": deviation, "overhead_vs_resting_world": round(resting, 4),
                 "physics_s": round(step_s[0], 4), "overhead_vs_own_stepping": round(own, 4),
                 "machine": machine})


if __name__ == "__main__":
    main()
