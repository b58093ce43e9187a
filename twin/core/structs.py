"""numba StructRef types for ``LineParams`` and ``LineState``.

Kernels take the model and state as two StructRefs: each call passes two pointers, and field
access compiles to a load. (Passing the namedtuples of ~100 arrays themselves copies every array
descriptor on every call, which made events ~50x slower and compilation minutes long.) The
StructRef fields are the very same NumPy arrays as the namedtuple's, so Python reads what the
kernels write without copying.
"""

from __future__ import annotations

import numpy as np
from numba import config, from_dtype, types
from numba.experimental import structref

from .layout import PARAM_SPEC, STATE_SPEC, LineParams, LineState

__all__ = ["PARAMS_TYPE", "STATE_TYPE", "to_struct_params", "to_struct_state", "check_arrays"]

_DTYPES = {"f8": np.float64, "i8": np.int64, "i4": np.int32, "i1": np.int8, "u8": np.uint64, "b1": np.bool_}


@structref.register
class _ParamsStruct(types.StructRef):
    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(t)) for name, t in fields)


@structref.register
class _StateStruct(types.StructRef):
    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(t)) for name, t in fields)


class ParamsRef(structref.StructRefProxy):
    """Python handle of a params StructRef (opaque; read the namedtuple instead)."""


class StateRef(structref.StructRefProxy):
    """Python handle of a state StructRef (opaque; read the namedtuple instead)."""


structref.define_boxing(_ParamsStruct, ParamsRef)
structref.define_boxing(_StateStruct, StateRef)


def _decode(code: str):
    if code == "int":
        return types.int64, None, 0
    ndim = 2 if code.endswith("[:,:]") else 1
    dtype = _DTYPES[code.removesuffix("[:,:]")]
    return types.Array(from_dtype(np.dtype(dtype)), ndim, "C"), dtype, ndim


PARAMS_TYPE = _ParamsStruct([(name, _decode(code)[0]) for name, code in PARAM_SPEC.items()])
STATE_TYPE = _StateStruct([(name, _decode(code)[0]) for name, code in STATE_SPEC.items()])


def check_arrays(values, spec: dict[str, str], what: str) -> None:
    """Raise TypeError if a field's dtype, rank or layout differs from the spec (a bug, not user input)."""
    for (name, code), value in zip(spec.items(), values, strict=True):
        _, dtype, ndim = _decode(code)
        if dtype is None:
            if not isinstance(value, int | np.integer):
                raise TypeError(f"{what}.{name} must be an int, got {type(value).__name__}")
            continue
        if not (isinstance(value, np.ndarray) and value.dtype == dtype and value.ndim == ndim
                and value.flags.c_contiguous):
            got = f"{value.dtype}[{value.ndim}d]" if isinstance(value, np.ndarray) else type(value).__name__
            raise TypeError(f"{what}.{name} must be a C-contiguous {np.dtype(dtype)} {ndim}-d array, got {got}")


def to_struct_params(p: LineParams):
    """A StructRef sharing ``p``'s arrays."""
    from ._structs_gen import make_params

    check_arrays(p, PARAM_SPEC, "LineParams")
    if config.DISABLE_JIT:  # pure-Python kernels read the namedtuple directly
        return p
    return make_params(*[int(v) if isinstance(v, int | np.integer) else v for v in p])


def to_struct_state(s: LineState):
    """A StructRef sharing ``s``'s arrays (kernel writes are visible in ``s``)."""
    from ._structs_gen import make_state

    check_arrays(s, STATE_SPEC, "LineState")
    if config.DISABLE_JIT:
        return s
    return make_state(*s)
