"""Experiments: sweeps of scene parameters with replications, on Dask or in this process.

``twin.sweep(scene, {"b1.capacity": "1..10"}, replications=30, until="8h")`` runs every
configuration and returns a :class:`SweepResult` (``.runs``: one row per run; ``.summary``: means
and 95% CIs per configuration). ``twin.sweep.optimize`` searches for the best configuration under
a constraint. The command line is ``twin sweep`` / ``twin optimize`` (docs/experiments.md).
"""

from __future__ import annotations

import sys
import types

from .api import SweepResult, prepare, sweep
from .optimize import optimize
from .spec import Parameter, SweepSpec, load_spec_file, parse_set

__all__ = ["sweep", "optimize", "SweepResult", "SweepSpec", "Parameter", "parse_set", "load_spec_file",
           "prepare"]


class _SweepModule(types.ModuleType):
    """This package, callable: ``twin.sweep(...)`` is :func:`sweep`, and ``twin.sweep.optimize``,
    ``twin.sweep.spec`` and the rest stay reachable. (A function named ``sweep`` on ``twin`` would
    shadow the package, and ``import twin.sweep.spec`` would then fail.)"""

    def __call__(self, *args, **kwargs) -> SweepResult:
        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _SweepModule
