"""Scan-to-twin: scan a mesh in the world, rebuild it from the cloud, and compare (Chamfer < 3 mm)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import trimesh

from twin.physics import World
from twin.physics.assets import MeshData
from twin.sensors.pointcloud import write_ply
from twin.sensors.scan import chamfer_m, reconstruct, scan_body


def _bunny() -> trimesh.Trimesh:
    """The Stanford bunny that ships with pybullet_data, scaled to 10 cm, centred."""
    import importlib.util

    folder = list(importlib.util.find_spec("pybullet_data").submodule_search_locations)[0]
    mesh = trimesh.load(os.path.join(folder, "bunny.obj"), force="mesh")
    mesh.apply_scale(0.1 / mesh.extents.max())
    mesh.apply_translation(-mesh.bounds.mean(axis=0))
    return mesh


@pytest.fixture(scope="module")
def scanned():
    mesh = _bunny()
    with World(renderer="auto") as w:
        w.add_mesh("bunny", MeshData(np.asarray(mesh.vertices), np.asarray(mesh.faces), False, "bunny"), (0, 0, 0.3))
        points = scan_body(w, "bunny", views=12)
    mesh.apply_translation([0, 0, 0.3])
    return mesh, points


def test_round_trip_chamfer_under_3mm(scanned):
    original, points = scanned
    assert len(points) > 10_000
    rebuilt = reconstruct(points)
    assert chamfer_m(original, rebuilt) < 0.003
    assert np.allclose(rebuilt.extents, original.extents, atol=0.004)


def test_cli_scan_import_writes_an_asset_the_world_can_load(scanned, tmp_path):
    original, points = scanned
    write_ply(tmp_path / "bunny.ply", points)
    out = subprocess.run([sys.executable, "-m", "twin", "scan-import", str(tmp_path / "bunny.ply"), "--name", "bunny",
                          "--out", str(tmp_path / "assets")], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    urdf = tmp_path / "assets" / "bunny.urdf"
    assert urdf.is_file() and (tmp_path / "assets" / "bunny_collision.obj").is_file()
    rebuilt = trimesh.load(tmp_path / "assets" / "bunny.obj", force="mesh")
    standing = original.copy()  # the asset's origin is the bottom centre of its bounding box
    lo, hi = standing.bounds
    standing.apply_translation([-0.5 * (lo[0] + hi[0]), -0.5 * (lo[1] + hi[1]), -lo[2]])
    assert chamfer_m(standing, rebuilt) < 0.003
    with World() as w:  # the asset drops onto the floor as a loose body and comes to rest on it
        w.add_floor()
        w.add_urdf("scanned", str(urdf), (0.0, 0.0, 0.2), fixed_base=False)
        w.step(720)
        s = w.state("scanned")
        touching = w.client.getClosestPoints(w.body("scanned"), w.body("floor"), 0.002)
        assert touching and s.xyz_m[2] < 0.1 and np.linalg.norm(s.linear_mps) < 0.05  # resting on the floor


def test_corrupt_or_empty_clouds_exit_2(tmp_path):
    (tmp_path / "bad.ply").write_bytes(b"ply\nformat ascii 1.0\nelement vertex 3\ngarbage")
    for name in ("bad.ply", "missing.ply"):
        out = subprocess.run([sys.executable, "-m", "twin", "scan-import", str(tmp_path / name), "--name", "x",
                              "--out", str(tmp_path)], capture_output=True, text=True, timeout=120)
        assert out.returncode == 2
        assert name in out.stderr + out.stdout


def test_cli_scan_of_a_scene_fixture(tmp_path):
    scene = tmp_path / "cell.yaml"
    scene.write_text("""
version: 1
part_types: [{name: p}]
sources: [{name: src, to: out, interarrival: 10}]
sinks: [{name: out}]
fixtures:
  - {name: tote, shape: bin, xyz_m: [0.0, 0.0, 0.1], size_m: [0.3, 0.2, 0.2], wall_m: 0.01}
""")
    out = subprocess.run([sys.executable, "-m", "twin", "scan", str(scene), "--object", "tote", "--out",
                          str(tmp_path / "tote.ply"), "--views", "8"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    from twin.sensors.pointcloud import read_ply

    pts = read_ply(tmp_path / "tote.ply")
    assert len(pts) > 1000
    assert pts.min(axis=0) == pytest.approx([-0.15, -0.1, 0.0], abs=0.003)
    assert pts.max(axis=0) == pytest.approx([0.15, 0.1, 0.2], abs=0.003)
    bad = subprocess.run([sys.executable, "-m", "twin", "scan", str(scene), "--object", "toet", "--out",
                          str(tmp_path / "x.ply")], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "no body named 'toet'" in bad.stderr + bad.stdout
