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
            assert shown == len(uid) + len(tw.engine.station_parts()[2])
            max_shown = max(max_shown, shown)
            for x, u in zip(pos, uid, strict=True):
                state = tw.world.state(tw.scene_world.part_body(u))
                # belt along +y from (1, 2, 0.8); the part rests on it (half its 0.1 m height)
                assert state.xyz_m == pytest.approx((1.0, 2.0 + x, 0.85), abs=1e-9)
                yaw = math.atan2(2 * (state.quat_xyzw[3] * state.quat_xyzw[2]), 1 - 2 * state.quat_xyzw[2] ** 2)
                assert yaw == pytest.approx(math.pi / 2, abs=1e-9)
        assert max_shown >= 3
        # a part in the press sits on top of it; parts that left the belt and the press have no body
        _, _, at_press, _ = tw.engine.station_parts()
        for u in at_press:
            assert tw.world.state(tw.scene_world.part_body(u)).xyz_m == pytest.approx((1.0, 6.8, 1.05), abs=1e-9)
        part_bodies = {n for n in tw.world.names() if n.startswith("part/")}
        assert part_bodies == {f"part/{u}" for u in [*tw.engine.conveyor_parts()[2], *at_press]}


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


FULL = """
version: 1
part_types: [{name: box, length_m: 0.2, size_m: [0.2, 0.15, 0.1], mass_kg: 0.8, friction: 0.7}]
sources: [{name: feed, to: belt, interarrival: 3.0}]
conveyors:
  - name: belt
    to: agv
    length_m: 3.0
    speed_mps: 0.5
    spacing_m: 0.3
    geometry: {start_xyz_m: [0.0, 0.0, 0.8], end_xyz_m: [3.0, 0.0, 0.8]}
transports: [{name: agv, to: out, fleet: carts, pickup: p, dropoff: d, capacity: 3}]
sinks:
  - {name: out, geometry: {xyz_m: [8.0, 3.0, 0.2], size_m: [0.1, 0.1, 0.1]}}
agv_fleets:
  - name: carts
    speed_mps: 2.0
    handling_s: 2
    chassis_m: [0.6, 0.4, 0.3]  # small carts: 0.72 m across, and the nodes are 1 m apart
    nodes:
      - {name: a, xy_m: [4, 1]}
      - {name: b, xy_m: [8, 1]}
      - {name: p, xy_m: [4, 0]}
      - {name: d, xy_m: [8, 0]}
      - {name: k, xy_m: [6, 2]}
      - {name: m, xy_m: [6, 1]}
    edges: [[a, m], [m, b], [p, a], [d, b], [k, m]]
    parking: [k]
fixtures:
  - {name: guard, xyz_m: [1.5, 1.0, 0.5], size_m: [3.0, 0.05, 1.0]}
  - {name: bin, shape: bin, xyz_m: [8.0, 3.0, 0.25], size_m: [0.8, 0.6, 0.5], wall_m: 0.02}
  - {name: tote, shape: mesh, mesh: MESH, xyz_m: [2.0, -2.0, 0.1], scale: 1.0}
"""


def _full_scene(tmp_path, mesh_ok: bool = True):
    import trimesh

    mesh = trimesh.creation.box(extents=(0.4, 0.3, 0.2))
    if not mesh_ok:
        mesh.faces = mesh.faces[:-2]  # a hole: not watertight
    path = tmp_path / "meshes" / "tote.obj"
    path.parent.mkdir()
    mesh.export(path)
    scene_file = tmp_path / "line.yaml"
    scene_file.write_text(FULL.replace("MESH", "meshes/tote.obj"))  # relative to the scene file
    return scene_file


def test_full_world_fixtures_agvs_and_a_physical_bin(tmp_path):
    """Fixtures, a mesh, AGV bodies moving with the fleet, and parts that exit into a sink falling
    into the bin as dynamic bodies and coming to rest inside it."""
    scene = twin.load_scene(_full_scene(tmp_path))
    with twin.Twin(scene, seed=2, physics=True, control_step_s=0.05) as tw:
        names = set(tw.world.names())
        assert {"guard", "bin", "tote", "belt", "out"} <= names
        assert tw.world.state("tote").xyz_m == pytest.approx((2.0, -2.0, 0.1))
        agv_path = []
        for _ in range(int(120 / 0.05)):
            tw.step()
            agv_path.append(tw.world.state("carts/agv0").xyz_m)
        delivered = tw.kpis()["throughput"]["total"]
        assert delivered >= 2
        # the AGV body went to the pickup (4, 0) and the drop-off (8, 0)
        xy = np.array(agv_path)[:, :2]
        assert np.min(np.linalg.norm(xy - [4.0, 0.0], axis=1)) < 0.05
        assert np.min(np.linalg.norm(xy - [8.0, 0.0], axis=1)) < 0.05
        tw.world.step(480)  # let the last drops settle
        dropped = [n for n in tw.world.names() if n.startswith("dropped/")]
        assert len(dropped) == delivered
        for n in dropped:
            x, y, z = tw.world.state(n).xyz_m
            assert abs(x - 8.0) < 0.4 and abs(y - 3.0) < 0.3  # inside the bin's walls
            assert 0.0 < z < 0.5  # resting in it, not through its floor
            assert np.linalg.norm(tw.world.state(n).linear_mps) < 0.05


def test_a_broken_mesh_falls_back_to_its_convex_hull_with_a_warning(tmp_path):
    from twin.physics.assets import MeshFallbackWarning

    with pytest.warns(MeshFallbackWarning, match=r"line\.yaml:\d+: fixtures\[2\]\.mesh: mesh .*: it is not watertight; using its convex hull"):
        twin.load_scene(_full_scene(tmp_path, mesh_ok=False))


def test_a_missing_mesh_is_a_scene_error(tmp_path):
    scene_file = _full_scene(tmp_path)
    scene_file.write_text(scene_file.read_text().replace("meshes/tote.obj", "meshes/missing.stl"))
    with pytest.raises(twin.SceneError, match=r"line\.yaml:\d+: fixtures\[2\]\.mesh: mesh file 'meshes/missing\.stl' "
                                              r"not found \(searched: .*meshes/missing\.stl\)"):
        twin.load_scene(scene_file)


def test_agv_bodies_from_a_urdf_face_their_way(tmp_path):
    scene_file = _full_scene(tmp_path)
    scene_file.write_text(scene_file.read_text().replace("    parking: [k]\n",
                                                         "    parking: [k]\n    urdf: husky/husky.urdf\n"))
    with twin.Twin(twin.load_scene(scene_file), seed=2, physics=True, control_step_s=0.05) as tw:
        headings = set()
        for _ in range(int(60 / 0.05)):
            tw.step()
            q = tw.world.state("carts/agv0").quat_xyzw
            headings.add(round(math.degrees(2 * math.atan2(q[2], q[3]))) % 360)
        assert {0, 90, 180, 270} & headings  # it drove along the grid's axes, facing its way
        assert len(headings) >= 2
    scene_file.write_text(scene_file.read_text().replace("husky/husky.urdf", "carts/missing.urdf"))
    with pytest.raises(twin.SceneError, match=r"agv_fleets\[0\]\.urdf: URDF 'carts/missing\.urdf' not found"):
        twin.load_scene(scene_file)


def test_a_bin_the_robot_picks_from_holds_the_waiting_parts():
    """The bin of a bin-picking cell shows as many parts as wait in the buffer feeding the cell (up
    to 20), lying inside its walls; the topmost goes as the arm takes one."""
    from tests.physics.test_robot_cell import BIN_CELL

    scene = twin.load_scene_text(BIN_CELL.replace("capacity: 6", "capacity: 4"))
    with twin.Twin(scene, seed=1, physics=True, control_step_s=0.05) as tw:
        buffer = tw.engine.names.node_id("infeed")
        seen = set()
        for _ in range(400):  # 20 s: parts taken and replaced
            tw.step()
            bodies = [n for n in tw.world.names() if n.startswith("binned/")]
            assert len(bodies) == int(tw.engine.state.node_count[buffer])
            seen.update(bodies)
        assert len(bodies) == 4 and len(seen) > 4  # refilled as the arm takes them
        for name in bodies:
            x, y, z = tw.world.state(name).xyz_m
            assert abs(x - 0.55) < 0.22 and abs(y + 0.3) < 0.18 and 0.0 < z < 0.16  # inside the walls
