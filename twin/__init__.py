"""twin: an industrial digital-twin simulation engine for lights-out factory lines.

Typical use::

    scene = twin.load_scene("scenes/smt_line.yaml")
    tw = twin.Twin(scene, seed=7)
    tw.run(until="8h")
    print(tw.kpis()["throughput"])
"""

from .errors import DeadlockError, SceneError, SimulationError, TwinError, UsageError
from .orchestrator import Twin
from .scene import load_scene, load_scene_text

__all__ = [
    "DeadlockError",
    "SceneError",
    "SimulationError",
    "Twin",
    "TwinError",
    "UsageError",
    "load_scene",
    "load_scene_text",
    "sweep",
]


def __getattr__(name: str):
    # twin.sweep (callable: twin.sweep(scene, {...})) loads pandas and Dask glue; import it on first use
    if name == "sweep":
        import importlib

        return importlib.import_module(".sweep", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__version__ = "0.1.0"
