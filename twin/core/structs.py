"""numba StructRef types through which the kernels see ``LineParams`` and ``LineState``.

Kernels take the model and state as two StructRefs whose array fields are *raw data pointers*
(``CPointer``) into the namedtuples' NumPy arrays, plus a few capacities. Why pointers: numba
reference-counts every array it reads out of a struct (two atomic calls per read that it often
cannot prune), and passing ~100 arrays as a tuple copies every descriptor on every call; both
made an event several times slower. Pointers cost a load. The arrays stay owned by the
namedtuples (``Engine.state``), which must outlive the StructRef: the engine rebuilds the
StructRef whenever it replaces an array (growing a log, ``set_state``).

Conventions the kernels follow: 2-D arrays are indexed flat (``st_ptime[n * n_types + t]``,
``srv_acc[s * 6 + state]``); boolean arrays are seen as int8; array lengths the kernels need are
the ``*_cap`` fields. No bounds are checked, exactly as with numba arrays by default.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace

import numpy as np
from numba import config, from_dtype, types
from numba.core.extending import intrinsic, overload
from numba.experimental import structref

from . import layout as L
from .layout import PARAM_SPEC, STATE_SPEC, LineParams, LineState
from .views import StructView

__all__ = ["PARAMS_TYPE", "STATE_TYPE", "UNTRACED_STATE_TYPE", "STATE_CAPS", "to_struct_params",
           "to_struct_state", "state_struct", "tracing", "check_arrays", "data_ptr"]

_DTYPES = {"f8": np.float64, "i8": np.int64, "i4": np.int32, "i1": np.int8, "u8": np.uint64, "b1": np.bool_}
#: Extra int fields of the state struct: capacity of the array they are named after.
STATE_CAPS = {"wl_cap": "wl", "tr_cap": "tr_t", "lt_cap": "lt_t"}


@structref.register
class _ParamsStruct(types.StructRef):
    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(t)) for name, t in fields)


@structref.register
class _StateStruct(types.StructRef):
    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(t)) for name, t in fields)


@structref.register
class _UntracedStateStruct(types.StructRef):
    """The state of a run with the trace off: the same fields, but a type of its own, so that
    numba compiles the kernels a second time with ``tracing(S)`` a constant False. Every trace
    branch then disappears, and with it the possible stores into the trace arrays that made LLVM
    reload other fields after each one (about a fifth of an event's instructions)."""

    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(t)) for name, t in fields)


class ParamsRef(structref.StructRefProxy):
    """Python handle of a params StructRef (opaque; read the namedtuple instead)."""


class StateRef(structref.StructRefProxy):
    """Python handle of a state StructRef (opaque; read the namedtuple instead)."""


structref.define_boxing(_ParamsStruct, ParamsRef)
class UntracedStateRef(structref.StructRefProxy):
    """Python handle of a state StructRef of a run without trace (opaque)."""


structref.define_boxing(_StateStruct, StateRef)
structref.define_boxing(_UntracedStateStruct, UntracedStateRef)


@functools.cache
def _decode(code: str):
    """(numba field type, NumPy dtype or None for an int, ndim) of a spec code (cached: building the
    numba type cost 0.8 ms per struct, as much as compiling a small scene)."""
    if code == "int":
        return types.int64, None, 0
    ndim = 2 if code.endswith("[:,:]") else 1
    dtype = _DTYPES[code.removesuffix("[:,:]")]
    seen_as = np.int8 if dtype is np.bool_ else dtype
    return types.CPointer(from_dtype(np.dtype(seen_as))), dtype, ndim


@intrinsic
def data_ptr(typingctx, arr):
    """The data pointer of a C-contiguous array, typed as a pointer to its elements."""
    sig = types.CPointer(arr.dtype)(arr)

    def codegen(context, builder, signature, args):
        return context.make_array(signature.args[0])(context, builder, args[0]).data

    return sig, codegen


PARAMS_TYPE = _ParamsStruct([(name, _decode(code)[0]) for name, code in PARAM_SPEC.items()])
_STATE_FIELDS = [(name, _decode(code)[0]) for name, code in STATE_SPEC.items()] + [
    (name, types.int64) for name in STATE_CAPS]
STATE_TYPE = _StateStruct(_STATE_FIELDS)
UNTRACED_STATE_TYPE = _UntracedStateStruct(_STATE_FIELDS)


def tracing(S) -> bool:
    """Whether the run of state ``S`` writes a trace.

    Compiled, it is a constant of the state's type: ``to_struct_state`` gives a state whose trace
    is off the type ``UNTRACED_STATE_TYPE``, and the struct is rebuilt whenever the state is
    replaced, so the type always agrees with ``trace_on``. The constant lets LLVM drop the trace
    code from the untraced kernels.
    """
    return bool(S.trace_on[0])


@intrinsic
def _tracing_constant(typingctx, S):
    struct = S.struct_type if isinstance(S, StructView) else S
    if not isinstance(struct, _StateStruct | _UntracedStateStruct):
        return None
    value = isinstance(struct, _StateStruct)

    def codegen(context, builder, signature, args):
        return context.get_constant(types.boolean, value)

    return types.boolean(S), codegen


@overload(tracing, jit_options={"cache": True})
def _tracing_overload(S):
    return lambda S: _tracing_constant(S)


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
            raise TypeError(f"{what}.{name} must be a C-contiguous {np.dtype(dtype)} {ndim}-d array, "
                            f"got {got}")


def _kernel_view(value):
    """What a kernel indexes for one field: flat, and booleans as int8 (same memory)."""
    if isinstance(value, np.ndarray):
        flat = value.reshape(-1)
        return flat.view(np.int8) if flat.dtype == np.bool_ else flat
    return int(value)


def to_struct_params(p: LineParams):
    """A StructRef pointing into ``p``'s arrays (``p`` must stay alive while it is used)."""
    check_arrays(p, PARAM_SPEC, "LineParams")
    views = [_kernel_view(v) for v in p]
    if config.DISABLE_JIT:  # pure-Python kernels index the same flat views
        return SimpleNamespace(**dict(zip(PARAM_SPEC, views, strict=True)))
    from ._structs_gen import make_params

    return make_params(*views)


def to_struct_state(s: LineState):
    """A StructRef pointing into ``s``'s arrays: kernel writes are visible in ``s``."""
    check_arrays(s, STATE_SPEC, "LineState")
    views = [_kernel_view(v) for v in s]
    if config.DISABLE_JIT:
        fields = dict(zip(STATE_SPEC, views, strict=True))
        fields.update({cap: len(getattr(s, arr)) for cap, arr in STATE_CAPS.items()})
        return SimpleNamespace(**fields)
    return state_struct(s, views)


def state_struct(s: L.LineState, views):
    """The StructRef of ``s`` from its kernel views: untraced type when ``s``'s trace is off."""
    from ._structs_gen import make_state, make_untraced_state

    return (make_state if s.trace_on[0] else make_untraced_state)(*views)
