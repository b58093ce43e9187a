"""glTF export of a scene's layout: other tools can open it and find every element where it stands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import trimesh

import twin
from twin.viz.gltf import export_gltf
from twin.viz.layout import layout_shapes

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("suffix", [".glb", ".gltf"])
def test_export_round_trips_every_shape_robot_and_agv(tmp_path, suffix):
    scene = twin.load_scene(ROOT / "scenes" / "machining_cell.yaml")
    path = export_gltf(scene, tmp_path / f"layout{suffix}")
    loaded = trimesh.load(path)
    nodes = set(loaded.graph.nodes_geometry)
    shapes = layout_shapes(scene)
    assert {s.name for s in shapes} <= nodes
    assert any(n.startswith("cell/robot/robot/") for n in nodes), "the robot arm's links"
    assert sum(n.startswith("logistics/agvs/agv") for n in nodes) == 4
    # glTF is y up: the scene's (x, y, z) is (x, z, -y) there. A station sits where the scene says.
    cnc = next(s for s in scene.stations if s.name == "cell/cnc").geometry
    transform, _ = loaded.graph.get("cell/cnc")
    x, y, z = transform[:3, 3]
    assert (x, y, z) == pytest.approx((cnc.xyz_m[0], cnc.xyz_m[2], -cnc.xyz_m[1]), abs=1e-6)
    lo, hi = loaded.bounds
    assert lo[1] == pytest.approx(0.0, abs=1e-3), "nothing below the floor"
    if suffix == ".gltf":
        doc = json.loads(path.read_text())
        assert all(b["uri"].startswith("data:") for b in doc["buffers"]), "one self-contained file"


def test_cli_export_and_bad_suffix(tmp_path):
    twin_cli = [sys.executable, "-m", "twin"]
    ok = subprocess.run(twin_cli + ["export", str(ROOT / "scenes" / "smt_line.yaml"), "--out", str(tmp_path / "a.glb")],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    mesh = trimesh.load(tmp_path / "a.glb")
    assert len(mesh.geometry) >= 20
    assert np.ptp(mesh.bounds[:, 0]) > 15  # the SMT line runs 20 m along x
    bad = subprocess.run(twin_cli + ["export", str(ROOT / "scenes" / "smt_line.yaml"), "--out", str(tmp_path / "a.obj")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "must end in .glb or .gltf" in bad.stderr
