"""An indexed binary min-heap of timers, as numba kernels.

Every entity that can schedule an event owns a fixed timer slot (see ``twin.core.layout``), so
the heap never grows: scheduling a slot that is already pending moves it, and cancelling removes
it. Ties in time are broken by a stamp taken from a global counter when the timer was set, which
makes the event order (and so every result) deterministic and independent of the control step.

Popping leaves a *hole* at the root instead of moving the last timer there at once. An event
handler almost always schedules a timer next (a server's next phase end), and that timer simply
fills the hole with one sift-down: a pop and a push cost one sift-down instead of a sift-down plus
a sift-up. The hole is filled from the last timer only when the earliest time is asked for before
anything filled it. The pop order is that of (time, stamp) whatever the layout of the array, so
this changes no result.

The kernels take the state ``S`` (a struct view, see ``twin.core.views``, or any object with
these fields, such as ``HeapArrays``) rather than loose arrays, like every other kernel. Fields
used (all preallocated, length ``n_slots``):
    heap      int32  slot ids in heap order: ``heap_size[0]`` pending timers in the first
                     ``heap_size[0] + heap_hole[0]`` entries
    pos       int32  position of each slot in ``heap``, -1 when not pending
    tm_time   float64 due time of each slot (inf when not pending)
    tm_stamp  int64  tie-break stamp of each slot
    heap_size int64[1] number of pending timers
    heap_hole int64[1] 1 while ``heap[0]`` is a hole (its two subtrees are heaps), else 0
    stamp     int64[1] last stamp given
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

__all__ = ["heap_set", "heap_add", "heap_cancel", "heap_pop", "heap_pop_peeked", "heap_peek_time", "new_heap", "HeapArrays"]

#: A stand-alone heap (the kernels accept any object with these fields, such as the state).
HeapArrays = namedtuple("HeapArrays", "heap pos tm_time tm_stamp heap_size heap_hole stamp")


def new_heap(n_slots: int) -> dict[str, np.ndarray]:
    """Empty heap arrays for ``n_slots`` timer slots."""
    return {
        "heap": np.full(n_slots, -1, np.int32),
        "pos": np.full(n_slots, -1, np.int32),
        "tm_time": np.full(n_slots, np.inf),
        "tm_stamp": np.zeros(n_slots, np.int64),
        "heap_size": np.zeros(1, np.int64),
        "heap_hole": np.zeros(1, np.int64),
        "stamp": np.zeros(1, np.int64),
    }


@njit(cache=True, inline="always")
def _less(a, b, tm_time, tm_stamp):
    ta = tm_time[a]
    tb = tm_time[b]
    return ta < tb or (ta == tb and tm_stamp[a] < tm_stamp[b])


@njit(cache=True)
def _sift_up(S, i, lo):
    """Move the timer at ``i`` up while it is earlier than its parent; stop below index ``lo``
    (1, or 3 while the root is a hole: entries 1 and 2 then head subtrees of their own)."""
    heap = S.heap
    pos = S.pos
    tm_time = S.tm_time
    tm_stamp = S.tm_stamp
    slot = heap[i]
    while i >= lo:
        parent = (i - 1) >> 1
        other = heap[parent]
        if _less(slot, other, tm_time, tm_stamp):
            heap[i] = other
            pos[other] = i
            i = parent
        else:
            break
    heap[i] = slot
    pos[slot] = i


def _sift_down_py(S, i, size):
    """Move the timer at ``i`` down while a child is earlier (``size``: entries in use)."""
    heap = S.heap
    pos = S.pos
    tm_time = S.tm_time
    tm_stamp = S.tm_stamp
    slot = heap[i]
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        right = child + 1
        if right < size and _less(heap[right], heap[child], tm_time, tm_stamp):
            child = right
        other = heap[child]
        if _less(other, slot, tm_time, tm_stamp):
            heap[i] = other
            pos[other] = i
            i = child
        else:
            break
    heap[i] = slot
    pos[slot] = i


_sift_down = njit(cache=True)(_sift_down_py)
#: the same, inlined into ``heap_add`` (run once per event): no call, and the heap's fields at hand
_sift_down_inline = njit(cache=True, inline="always")(_sift_down_py)


@njit(cache=True)
def _fill_hole(S):
    """Move the last timer into the hole at the root and sift it down."""
    S.heap_hole[0] = 0
    size = S.heap_size[0]
    if size > 0:
        moved = S.heap[size]  # entries are 0 (the hole) .. size
        S.heap[0] = moved
        S.pos[moved] = 0
        _sift_down(S, _I64(0), size)


# Integer arguments reach the compiled helpers below as int64 whatever their callers hold (int32
# array elements, int64 arithmetic, literals): numba compiles a function once per argument type,
# and each extra copy costs about a second of compile time.
_I64 = np.int64


@njit(cache=True, inline="always")
def heap_set(S, slot, t):
    """Schedule (or move) timer ``slot`` to time ``t``; ``t = inf`` cancels it."""
    _heap_set(S, _I64(slot), t)


@njit(cache=True, inline="always")
def heap_cancel(S, slot):
    """Remove timer ``slot`` if pending."""
    _heap_cancel(S, _I64(slot))


@njit(cache=True, inline="always")
def heap_add(S, slot, t):
    """``heap_set`` of a timer that is not pending, to a finite time: the commonest scheduling (a
    server's next phase end, which most often fills the hole the event's pop left). ``_heap_set``
    takes this path for such a timer, and it is inlined where a server starts. A new timer with a
    hole at the root takes the root's place and sinks to where it belongs."""
    S.stamp[0] += 1
    S.tm_stamp[slot] = S.stamp[0]
    S.tm_time[slot] = t
    size = S.heap_size[0]
    S.heap_size[0] = size + 1
    if S.heap_hole[0]:
        S.heap_hole[0] = 0
        S.heap[0] = slot
        S.pos[slot] = 0
        _sift_down_inline(S, 0, size + 1)
    else:
        S.heap[size] = slot
        S.pos[slot] = size
        _sift_up(S, size, _I64(1))


@njit(cache=True)
def _heap_set(S, slot, t):
    if t == np.inf:
        _heap_cancel(S, slot)
        return
    i = S.pos[slot]
    if i < 0:
        heap_add(S, slot, t)
        return
    S.stamp[0] += 1
    S.tm_stamp[slot] = S.stamp[0]
    old = S.tm_time[slot]
    S.tm_time[slot] = t
    hole = S.heap_hole[0]
    if t < old:
        _sift_up(S, _I64(i), _I64(3 if hole else 1))
    else:
        # same or later time: the new stamp makes the key larger even when the time is equal
        _sift_down(S, _I64(i), S.heap_size[0] + hole)


@njit(cache=True)
def _heap_cancel(S, slot):
    i = S.pos[slot]
    S.tm_time[slot] = np.inf
    if i < 0:
        return
    S.pos[slot] = -1
    hole = S.heap_hole[0]
    last = S.heap_size[0] - 1 + hole  # index of the last entry
    S.heap_size[0] -= 1
    if i == last:
        return
    moved = S.heap[last]
    S.heap[i] = moved
    S.pos[moved] = i
    _sift_down(S, _I64(i), last)
    _sift_up(S, _I64(S.pos[moved]), _I64(3 if hole else 1))


@njit(cache=True, inline="always")
def heap_peek_time(S):
    """Due time of the earliest timer, inf when none is pending."""
    if S.heap_hole[0]:
        _fill_hole(S)
    if S.heap_size[0] == 0:
        return np.inf
    return S.tm_time[S.heap[0]]


@njit(cache=True, inline="always")
def heap_pop(S):
    """Remove and return the earliest slot (caller checks ``heap_size`` first); its place stays
    a hole until the next timer set or the next peek fills it."""
    if S.heap_hole[0]:
        _fill_hole(S)
    return heap_pop_peeked(S)


@njit(cache=True, inline="always")
def heap_pop_peeked(S):
    """``heap_pop`` right after ``heap_peek_time`` found a timer (the root is no hole then)."""
    slot = S.heap[0]
    S.pos[slot] = -1
    S.tm_time[slot] = np.inf
    S.heap_size[0] -= 1
    S.heap_hole[0] = 1
    return slot
