"""An indexed binary min-heap of timers, as numba kernels.

Every entity that can schedule an event owns a fixed timer slot (see ``twin.core.layout``), so
the heap never grows: scheduling a slot that is already pending moves it, and cancelling removes
it. Ties in time are broken by a stamp taken from a global counter when the timer was set, which
makes the event order (and so every result) deterministic and independent of the control step.

Arrays (all preallocated, length ``n_slots``):
    heap     int32  slot ids in heap order (first ``size[0]`` entries valid)
    pos      int32  position of each slot in ``heap``, -1 when not pending
    tm_time  float64 due time of each slot (inf when not pending)
    tm_stamp int64  tie-break stamp of each slot
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["heap_set", "heap_cancel", "heap_pop", "heap_peek_time", "new_heap"]


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
def _sift_up(i, heap, pos, tm_time, tm_stamp):
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
def _sift_down(i, heap, pos, tm_time, tm_stamp, size):
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
def heap_set(slot, t, heap, pos, tm_time, tm_stamp, heap_size, stamp):
    """Schedule (or move) timer ``slot`` to time ``t``; ``t = inf`` cancels it."""
    if t == np.inf:
        heap_cancel(slot, heap, pos, tm_time, tm_stamp, heap_size)
        return
    stamp[0] += 1
    tm_stamp[slot] = stamp[0]
    old = tm_time[slot]
    tm_time[slot] = t
    i = pos[slot]
    if i < 0:
        i = heap_size[0]
        heap_size[0] = i + 1
        heap[i] = slot
        pos[slot] = i
        _sift_up(i, heap, pos, tm_time, tm_stamp)
    elif t <= old:
        _sift_up(i, heap, pos, tm_time, tm_stamp)
    else:
        _sift_down(i, heap, pos, tm_time, tm_stamp, heap_size[0])


@njit(cache=True)
def heap_cancel(slot, heap, pos, tm_time, tm_stamp, heap_size):
    """Remove timer ``slot`` if pending."""
    i = pos[slot]
    tm_time[slot] = np.inf
    if i < 0:
        return
    pos[slot] = -1
    last = heap_size[0] - 1
    heap_size[0] = last
    if i == last:
        return
    moved = heap[last]
    heap[i] = moved
    pos[moved] = i
    _sift_down(i, heap, pos, tm_time, tm_stamp, last)
    _sift_up(pos[moved], heap, pos, tm_time, tm_stamp)


@njit(cache=True)
def heap_peek_time(heap, tm_time, heap_size):
    """Due time of the earliest timer, inf when none is pending."""
    if heap_size[0] == 0:
        return np.inf
    return tm_time[heap[0]]


@njit(cache=True)
def heap_pop(heap, pos, tm_time, tm_stamp, heap_size):
    """Remove and return the earliest slot (caller checks ``heap_size`` first)."""
    slot = heap[0]
    heap_cancel(slot, heap, pos, tm_time, tm_stamp, heap_size)
    return slot
