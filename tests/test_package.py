"""Package-level rules: public API, PyBullet isolation, generated code in sync."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import twin

ROOT = Path(__file__).resolve().parents[1]


def test_public_api():
    """The root package exports exactly its documented API."""
    for name in ("Twin", "load_scene", "load_scene_text", "SceneError", "DeadlockError", "TwinError"):
        assert name in twin.__all__ and hasattr(twin, name)


def test_only_one_module_imports_pybullet():
    """Only twin/physics/_bullet.py may import pybullet (DESIGN.md: PyBullet isolation)."""
    pattern = re.compile(r"^\s*(import\s+pybullet|from\s+pybullet)", re.M)
    offenders = [p.relative_to(ROOT).as_posix() for p in (ROOT / "twin").rglob("*.py")
                 if pattern.search(p.read_text()) and p.relative_to(ROOT).as_posix() != "twin/physics/_bullet.py"]
    assert offenders == []


def test_core_never_imports_pybullet_or_zmq():
    """The core and scene packages depend on neither physics nor the bridge."""
    pattern = re.compile(r"^\s*(import|from)\s+(pybullet|zmq|twin\.physics|twin\.bridge)", re.M)
    offenders = [p.name for d in ("core", "scene") for p in (ROOT / "twin" / d).rglob("*.py")
                 if pattern.search(p.read_text())]
    assert offenders == []


def test_generated_structs_in_sync():
    """twin/core/_structs_gen.py matches its generator (run scripts/gen_structs.py after editing layout)."""
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_structs.py"), "--check"])
    assert r.returncode == 0
