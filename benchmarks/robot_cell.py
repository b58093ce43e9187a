"""Robot cell: one arm picking 20 parts with suction, against the same world stepped by bare PyBullet.

Figures: real-time factor (physics seconds simulated per wall second, IK and planning included) and
the overhead over a bare PyBullet loop stepping the same world (same bodies, same number of
steps, no planning). Ends with one JSON line: ``real_time_factor``, ``overhead_vs_raw_pybullet``.

Usage: python benchmarks/robot_cell.py [--quick]
"""

from __future__ import annotations

import argparse
import math

import _harness as H

from twin.physics import World
from twin.physics.gripper import SuctionGripper
from twin.physics.pick_place import PickPlace
from twin.physics.robot import Robot

HALF = (0.04, 0.03, 0.02)


def build(n_parts: int):
    """Two tables, the arm, and ``n_parts`` parts waiting on the floor behind the robot."""
    w = World()
    w.add_floor()
    w.add_box("table_in", (0.2, 0.3, 0.2), (0.55, -0.3, 0.2))
    w.add_box("table_out", (0.2, 0.3, 0.2), (0.55, 0.35, 0.2))
    robot = Robot(w, "cell/arm", "kuka_iiwa/model.urdf")
    for k in range(n_parts):
        w.add_box(f"part/{k}", HALF, (-0.6 - 0.12 * (k % 5), -0.4 + 0.12 * (k // 5), HALF[2]), mass_kg=0.2)
    return w, robot


PICK = (0.5, -0.3, 0.4 + 2 * HALF[2])
PLACE = (0.5, 0.3, 0.4 + 2 * HALF[2])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="5 picks instead of 20")
    args = ap.parse_args()
    machine = H.machine_info()
    H.print_header("robot cell: suction picks with IK and planning vs bare PyBullet", machine,
                   H.numba_cache_files())
    picks = 5 if args.quick else 20
    w, robot = build(20)
    pp = PickPlace(robot, SuctionGripper(robot))
    steps0 = w._steps
    with H.Timer() as run:
        for k in range(picks):
            # a feeder presents the next part at the pick point; an outfeed clears the place point
            w.set_pose(f"part/{k}", (PICK[0], PICK[1], PICK[2] - HALF[2]))
            pp.cycle(f"part/{k}", PICK, 0.0, PLACE, math.pi / 4)
            w.set_pose(f"part/{k}", (-0.6 - 0.12 * (k % 5), 0.4 + 0.12 * (k // 5), HALF[2]))
    steps = w._steps - steps0
    sim_s = steps * w.dt_s
    w.close()
    # the same world stepped the same number of times by a bare loop
    w2, _ = build(20)
    client = w2.client
    with H.Timer() as raw:
        for _ in range(steps):
            client.stepSimulation()
    w2.close()
    rtf = sim_s / run.s
    overhead = run.s / raw.s - 1.0
    print(f"picks          : {picks} ({steps} physics steps, {sim_s:.1f} s simulated)")
    print(f"twin           : {run.s:.3f} s wall, real-time factor {rtf:.1f} (goal >= 50)")
    print(f"bare PyBullet  : {raw.s:.3f} s wall for the same steps")
    print(f"overhead       : {100 * overhead:.0f}% (goal <= 25%): the cell's own work (joint commands "
          "every step, IK and planning per waypoint) on top of the same stepping")
    H.emit_json({"benchmark": "robot_cell", "quick": args.quick, "picks": picks, "physics_steps": steps,
                 "sim_s": round(sim_s, 3), "wall_s": round(run.s, 4), "raw_wall_s": round(raw.s, 4),
                 "real_time_factor": round(rtf, 2), "overhead_vs_raw_pybullet": round(overhead, 4),
                 "machine": machine})


if __name__ == "__main__":
    main()
