"""The 3D world: PyBullet physics behind one owning ``World`` object.

Only ``twin/physics/_bullet.py`` imports pybullet; everything else receives a ``World``. The
analytic models here (``agv``, ``asrs``' ``StorageSystem``, ``trajectory``) work without it, and
importing them does not load PyBullet: ``World`` is imported on first use.
"""

__all__ = ["World", "BodyState"]


def __getattr__(name: str):
    if name in __all__:
        from . import world

        return getattr(world, name)
    raise AttributeError(f"module 'twin.physics' has no attribute {name!r}")
