"""An indexed binary min-heap of timers, as numba kernels.

Every entity that can schedule an event owns a fixed timer slot (see ``twin.core.layout``), so
the heap never grows: scheduling a slot that is already pending moves it, and cancelling removes
it. Ties in time are broken by a stamp taken from a global counter when the timer was set, which
makes the event order (and so every result) deterministic and independent of the control step.

The kernels take the state ``S`` (a struct view, see ``twin.core.views``, or any object with
these fields, such as ``HeapArrays``) rather than loose arrays, like every other kernel. Fields
used (all preallocated, length ``n_slots``):
    heap     int32  slot ids in heap order (first ``size[0]`` entries valid)
    pos      int32  position of each slot in ``heap``, -1 when not pending
    tm_time  float64 due time of each slot (inf when not pending)
    tm_stamp int64  tie-break stamp of each slot
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

__all__ = ["heap_set", "heap_cancel", "heap_pop", "heap_peek_time", "new_heap", "HeapArrays"]

#: A stand-alone heap (the kernels accept any object with these fields, such as the state).
HeapArrays = namedtuple("HeapArrays", "heap pos tm_time tm_stamp heap_size stamp")


def new_heap(n_slots: int) -> dict[str, np.ndarray]:
    """Empty heap arrays for ``n_slots`` timer slots."""
    return {
        "heap": np.full(n_slots, -1, np.int32),
        "pos": np.full(n_slots, -1, np.int32),
        "tm_time": np.full(n_slots, np.inf),
        "tm_stamp": np.zeros(n_slots, np.int64),
        "heap_size": np.zeros(1, np.int64),
        "stamp": np.zeros(1, np.int64),
    }


@njit(cache=True, inline="always")
def _less(a, b, tm_time, tm_stamp):
    ta = tm_time[a]
    tb = tm_time[b]
    return ta < tb or (ta == tb and tm_stamp[a] < tm_stamp[b])


@njit(cache=True)
def _sift_up(S, i):
    heap = S.heap
    pos = S.pos
    tm_time = S.tm_time
    tm_stamp = S.tm_stamp
    slot = heap[i]
    while i > 0:
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


@njit(cache=True)
def _sift_down(S, i, size):
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


@njit(cache=True)
def heap_set(S, slot, t):
    """Schedule (or move) timer ``slot`` to time ``t``; ``t = inf`` cancels it."""
    if t == np.inf:
        heap_cancel(S, slot)
        return
    S.stamp[0] += 1
    S.tm_stamp[slot] = S.stamp[0]
    old = S.tm_time[slot]
    S.tm_time[slot] = t
    i = S.pos[slot]
    if i < 0:
        i = S.heap_size[0]
        S.heap_size[0] = i + 1
        S.heap[i] = slot
        S.pos[slot] = i
        _sift_up(S, i)
    elif t < old:
        _sift_up(S, i)
    else:
        # same or later time: the new stamp makes the key larger even when the time is equal
        _sift_down(S, i, S.heap_size[0])


@njit(cache=True)
def heap_cancel(S, slot):
    """Remove timer ``slot`` if pending."""
    i = S.pos[slot]
    S.tm_time[slot] = np.inf
    if i < 0:
        return
    S.pos[slot] = -1
    last = S.heap_size[0] - 1
    S.heap_size[0] = last
    if i == last:
        return
    moved = S.heap[last]
    S.heap[i] = moved
    S.pos[moved] = i
    _sift_down(S, i, last)
    _sift_up(S, S.pos[moved])


@njit(cache=True)
def heap_peek_time(S):
    """Due time of the earliest timer, inf when none is pending."""
    if S.heap_size[0] == 0:
        return np.inf
    return S.tm_time[S.heap[0]]


@njit(cache=True)
def heap_pop(S):
    """Remove and return the earliest slot (caller checks ``heap_size`` first)."""
    slot = S.heap[0]
    heap_cancel(S, slot)
    return slot
