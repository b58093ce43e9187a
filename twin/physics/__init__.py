"""The 3D world: PyBullet physics behind one owning ``World`` object.

Only ``twin/physics/_bullet.py`` imports pybullet; everything else receives a ``World``.
"""

from .world import BodyState, World

__all__ = ["World", "BodyState"]
