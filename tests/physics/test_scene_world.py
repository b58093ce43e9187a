"""The scene's 3D layout: static bodies from geometry, conveyor parts following the core exactly."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

import twin

CELL = """
version: 1
sim: {physics_hz: 240}
part_types: [{name: box, length_m: 0.3, size_m: [0.3, 0.2, 0.1]}]
sources: [{name: feed, to: belt, interarrival: 2.0}]
conveyors:
  - name: belt
    to: press
    length_m: 4.0
    speed_mps: 0.5
    spacing_m: 0.4
    geometry: {start_xyz_m: [1.0, 2.0, 0.8], end_xyz_m: [1.0, 6.0, 0.8], width_m: 0.5}
stations:
  - name: press
    to: out
    process_time: 3.0
    geometry: {xyz_m: [1.0, 6.8, 0.5], size_m: [1.0, 1.0, 1.0]}
sinks: [{name: out}]
"""


def test_layout_bodies_and_parts_follow_the_core():
    """Every conveyor part's body sits on the belt at the core's position, every step."""
    with twin.Twin(twin.load_scene_text(CELL), seed=1, physics=True, control_step_s=0.05) as tw:
        assert {"floor", "belt", "press"} <= set(tw.world.names())
        press = tw.world.state("press").xyz_m
        assert press == pytest.approx((1.0, 6.8, 0.5))
        max_shown = 0
        for _ in range(600):  # 30 s
            tw.step()
            node, pos, uid = tw.engine.conveyor_parts()
            shown = tw.scene_world.sync()
            assert shown == len(uid)
            max_shown = max(max_shown, shown)
            for x, u in zip(pos, uid, strict=True):
                state = tw.world.state(tw.scene_world.part_body(u))
                # belt along +y from (1, 2, 0.8); the part rests on it (half its 0.1 m height)
                assert state.xyz_m == pytest.approx((1.0, 2.0 + x, 0.85), abs=1e-9)
                yaw = math.atan2(2 * (state.quat_xyzw[3] * state.quat_xyzw[2]), 1 - 2 * state.quat_xyzw[2] ** 2)
                assert yaw == pytest.approx(math.pi / 2, abs=1e-9)
        assert max_shown >= 3
        # parts that left the belt have no body any more
        part_bodies = [n for n in tw.world.names() if n.startswith("part/")]
        assert len(part_bodies) == len(tw.engine.conveyor_parts()[2])


def test_physics_does_not_change_the_line():
    """Stepping with the 3D world gives exactly the same trace as the line alone."""
    scene = twin.load_scene_text(CELL)
    traces = []
    for physics in (False, True):
        with twin.Twin(scene, seed=3, physics=physics, control_step_s=0.1) as tw:
            for _ in range(300):
                tw.step()
            traces.append(tw.trace())
    for key in traces[0]:
        np.testing.assert_array_equal(traces[0][key], traces[1][key])


def test_belt_length_must_match_geometry():
    """A conveyor whose geometry disagrees with length_m is a scene error naming both."""
    bad = CELL.replace("end_xyz_m: [1.0, 6.0, 0.8]", "end_xyz_m: [1.0, 6.5, 0.8]")
    with pytest.raises(twin.SceneError, match=r"conveyors\[0\].*4\.5000 m long, but length_m is 4\.0"):
        twin.load_scene_text(bad)


def test_core_only_use_never_loads_pybullet():
    """Running a twin without physics does not import pybullet at all."""
    code = ("import sys, twin; tw = twin.Twin(twin.load_scene_text(open(sys.argv[1]).read()), seed=1); "
            "tw.run(until=60); print('pybullet' in sys.modules)")
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as fh:
        fh.write(CELL)
    out = subprocess.run([sys.executable, "-c", code, fh.name], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"
