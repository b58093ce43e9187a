"""Borrowed, non-reference-counted views of the params/state StructRefs, for the hot kernels.

numba increments and decrements a StructRef's reference count (atomically) every time one is
passed to a function; the event kernels make dozens of such calls per event, and those calls took
about a quarter of the run time. ``view(S)`` turns the StructRef into a plain pointer to its
payload once, at the top of an entry kernel; inner kernels take views, read fields through them
exactly like through the StructRef, and cost no reference counting. A view is only valid while
the StructRef it came from is alive, which the entry kernel guarantees by holding it.

In pure-Python mode (``NUMBA_DISABLE_JIT=1``) ``view`` is the identity.
"""

from __future__ import annotations

from numba.core import imputils, types
from numba.core.datamodel import models
from numba.core.extending import (
    intrinsic,
    lower_getattr_generic,
    overload,
    register_model,
)
from numba.core.typing.templates import AttributeTemplate, infer_getattr
from numba.experimental import structref

__all__ = ["view", "StructView"]


class StructView(types.Type):
    """Numba type of a borrowed pointer to a StructRef's payload."""

    def __init__(self, struct_type: types.StructRef) -> None:
        self.struct_type = struct_type
        super().__init__(name=f"StructView({struct_type.name})")


@register_model(StructView)
class _StructViewModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        payload = dmm.lookup(fe_type.struct_type.get_data_type()).get_value_type()
        super().__init__(dmm, fe_type, payload.as_pointer())


@infer_getattr
class _StructViewAttrs(AttributeTemplate):
    key = StructView

    def generic_resolve(self, typ, attr):
        return typ.struct_type.field_dict.get(attr)


@lower_getattr_generic(StructView)
def _struct_view_getattr(context, builder, typ, val, attr):
    data = context.make_data_helper(builder, typ.struct_type.get_data_type(), ref=val)
    index = data._datamodel.get_field_position(attr)
    raw = builder.load(data._get_ptr_by_index(index))
    # The payload (array pointers and capacities) is written once, when the StructRef is made,
    # and never while a kernel runs: telling LLVM so lets it load each field once per function
    # instead of after every store (a store through a float64* might otherwise alias it).
    raw.set_metadata("invariant.load", builder.module.add_metadata([]))
    value = data._cast_member_to_value(index, raw)
    return imputils.impl_ret_borrowed(context, builder, typ.struct_type.field_dict[attr], value)


@intrinsic
def _borrow(typingctx, s):
    if not isinstance(s, types.StructRef):
        return None
    sig = StructView(s)(s)

    def codegen(context, builder, signature, args):
        return structref._Utils(context, builder, signature.args[0]).get_data_pointer(args[0])

    return sig, codegen


def view(s):
    """A borrowed view of StructRef ``s`` (the identity outside compiled code)."""
    return s


@overload(view, jit_options={"cache": True})
def _view_overload(s):
    if isinstance(s, types.StructRef):
        return lambda s: _borrow(s)
    if isinstance(s, StructView):
        return lambda s: s
    return None


