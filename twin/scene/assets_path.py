"""Where a scene's asset files (URDFs, meshes) are looked up, without loading any engine.

A relative path is looked up next to the scene file first, then (for URDFs) in the data folder that
ships with PyBullet (``pybullet_data``), found through the import system without importing it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

__all__ = ["scene_folder", "pybullet_data_folder", "candidates"]


def scene_folder(scene_path: str) -> Path:
    """Folder of the scene file (the working directory for scenes not read from a file)."""
    path = Path(scene_path)
    return path.resolve().parent if path.is_file() else Path.cwd()


def pybullet_data_folder() -> Path | None:
    spec = importlib.util.find_spec("pybullet_data")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def candidates(asset: str, scene_path: str, data: bool = True) -> list[Path]:
    """Where ``asset`` is looked for, in order."""
    path = Path(asset).expanduser()
    if path.is_absolute():
        return [path]
    out = [scene_folder(scene_path) / path]
    folder = pybullet_data_folder() if data else None
    if folder is not None:
        out.append(folder / path)
    return out
