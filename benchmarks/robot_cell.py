"""Robot cell: one arm picking parts off a moving conveyor with suction, 20 parts in the world,
against the same world stepped by bare PyBullet.

Each cycle a feeder puts the next part of a staging table onto the belt upstream; the arm meets it,
tracks it, grips it and places it on a pallet, where it stays (so 20 parts are always in the world).
Figures: real-time factor (physics seconds simulated per wall second, IK, tracking and
collision-checked planning included) and the overhead over a bare PyBullet loop stepping the same
world (same bodies, same number of steps, no planning). Also the time the twin's run spent inside
``stepSimulation`` itself (``physics_s``): a moving arm and moving parts make each step dearer than
in the bare loop's resting world, and ``overhead_vs_own_stepping`` is the twin's own work on top of
its own stepping. Ends with one JSON line: ``real_time_factor``, ``overhead_vs_raw_pybullet``,
``physics_s``, ``overhead_vs_own_stepping``.

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


def build():
    """Belt, staging table, pallet, the arm, and 20 parts resting on the staging table."""
    w = World()
    w.add_floor()
    belt = Belt(w, "infeed", (0.6, -0.8, BELT_Z), (0.6, 0.4, BELT_Z), width_m=0.3, speed_mps=0.15)
    w.add_box("staging", (0.3, 0.4, 0.5 * BELT_Z), (-0.7, -0.4, 0.5 * BELT_Z))
    w.add_box("pallet", (0.2, 0.2, 0.5 * BELT_Z), (0.05, 0.6, 0.5 * BELT_Z))
    robot = Robot(w, "cell/arm", "kuka_iiwa/model.urdf")
    for k in range(N_PARTS):
        w.add_box(f"part/{k}", HALF, (-0.9 + 0.1 * (k % 5), -0.7 + 0.12 * (k // 5), BELT_Z + HALF[2]),
                  mass_kg=0.2)
    w.step(240)  # settle: resting parts fall asleep
    return w, belt, robot


def slot(k: int) -> tuple[float, float, float]:
    return (-0.1 + 0.1 * (k % 4), 0.45 + 0.1 * ((k // 4) % 4), BELT_Z + 2 * HALF[2] + 2 * HALF[2] * (k // 16))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="5 picks instead of 20")
    args = ap.parse_args()
    machine = H.machine_info()
    H.print_header("robot cell: tracked conveyor picks with IK and planning vs bare PyBullet", machine,
                   H.numba_cache_files())
    picks = 5 if args.quick else 20
    w, belt, robot = build()
    pp = PickPlace(robot, SuctionGripper(robot))
    steps0 = w._steps
    # time spent inside stepSimulation during the twin's run: the physics of a moving arm and
    # moving parts costs more per step than the bare loop's resting world, and this tells that
    # apart from the twin's own (Python) work
    step_s = [0.0]
    bullet_step = w.client.stepSimulation

    def timed_step():
        t0 = time.perf_counter()
        bullet_step()
        step_s[0] += time.perf_counter() - t0

    w.client.stepSimulation = timed_step
    with H.Timer() as run:
        for k in range(picks):
            belt.carry(f"part/{k}", 0.05, lateral_m=0.04 * math.sin(k), yaw_rad=0.3 * k)
            pp.pick_from_belt(f"part/{k}", belt)
            pp.place(slot(k), math.pi / 2)
    steps = w._steps - steps0
    sim_s = steps * w.dt_s
    w.close()
    # the same world stepped the same number of times by a bare loop
    w2, _, _ = build()
    client = w2.client
    with H.Timer() as raw:
        for _ in range(steps):
            client.stepSimulation()
    w2.close()
    rtf = sim_s / run.s
    overhead = run.s / raw.s - 1.0
    own = run.s / step_s[0] - 1.0
    print(f"picks          : {picks} ({steps} physics steps, {sim_s:.1f} s simulated)")
    print(f"twin           : {run.s:.3f} s wall, real-time factor {rtf:.1f} (goal >= 50)")
    print(f"bare PyBullet  : {raw.s:.3f} s wall for the same steps")
    print(f"overhead       : {100 * overhead:.0f}% (goal <= 25%): the cell's own work (joint commands "
          "every step, IK and planning per waypoint) on top of the same stepping")
    print(f"in physics     : {step_s[0]:.3f} s of the twin's run inside stepSimulation "
          f"({1e6 * step_s[0] / steps:.1f} us/step vs {1e6 * raw.s / steps:.1f} in the bare loop); "
          f"the twin's own work adds {100 * own:.0f}% to its own stepping")
    H.emit_json({"benchmark": "robot_cell", "quick": args.quick, "picks": picks, "physics_steps": steps,
                 "sim_s": round(sim_s, 3), "wall_s": round(run.s, 4), "raw_wall_s": round(raw.s, 4),
                 "real_time_factor": round(rtf, 2), "overhead_vs_raw_pybullet": round(overhead, 4),
                 "physics_s": round(step_s[0], 4), "overhead_vs_own_stepping": round(own, 4),
                 "machine": machine})


if __name__ == "__main__":
    main()
