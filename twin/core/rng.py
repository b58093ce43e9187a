"""Per-entity random streams and distribution sampling, as numba kernels.

Each stream is one SplitMix64 state (a uint64 in ``rng_state[stream]``). Streams are seeded from
(scene seed, entity name, purpose) by a cryptographic hash, so adding a station never shifts another
station's random numbers, and the whole generator state is an array that ``get_state`` can copy.
SplitMix64 passes BigCrush and costs a few instructions per draw.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
from numba import njit

__all__ = ["stream_seed", "next_u01", "sample", "DIST_CONST", "DIST_UNIFORM", "DIST_TRIANGULAR",
           "DIST_NORMAL", "DIST_LOGNORMAL", "DIST_EXPONENTIAL", "DIST_EMPIRICAL", "DIST_KIND"]

DIST_CONST, DIST_UNIFORM, DIST_TRIANGULAR, DIST_NORMAL, DIST_LOGNORMAL, DIST_EXPONENTIAL, DIST_EMPIRICAL = range(7)
DIST_KIND = {"constant": DIST_CONST, "uniform": DIST_UNIFORM, "triangular": DIST_TRIANGULAR,
             "normal": DIST_NORMAL, "lognormal": DIST_LOGNORMAL, "exponential": DIST_EXPONENTIAL,
             "empirical": DIST_EMPIRICAL}

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0
_TWO_PI = 2.0 * math.pi
_MAX_NORMAL_TRIES = 1000


def stream_seed(seed: int, entity: str, purpose: str) -> np.uint64:
    """Initial state of the stream for (``seed``, ``entity``, ``purpose``); stable across runs and platforms."""
    digest = hashlib.blake2b(f"{seed}\x00{entity}\x00{purpose}".encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


@njit(cache=True, inline="always")
def next_u01(rng_state, stream):
    """Uniform float64 in [0, 1) from stream ``stream`` of ``rng_state`` (uint64[n_streams])."""
    z = rng_state[stream] + _GOLDEN
    rng_state[stream] = z
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    z = z ^ (z >> _S31)
    return float(z >> _S11) * _INV53


@njit(cache=True)
def _standard_normal(rng_state, stream):
    u1 = next_u01(rng_state, stream)
    u2 = next_u01(rng_state, stream)
    return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(_TWO_PI * u2)


@njit(cache=True, inline="always")
def sample(P, S, d, stream):
    """Draw one value from distribution ``d``: its base draw plus its fixed shift (``dist_shift``,
    e.g. a robot cell's measured motion time added to the station's own process time).

    The exponential case is written out here (the same arithmetic as in ``_base_sample``): it is
    the commonest process time, and the call into the general sampler cost as much as the draw."""
    if P.dist_kind[d] == DIST_EXPONENTIAL:
        return -P.dist_a[d] * math.log(1.0 - next_u01(S.rng_state, stream)) + P.dist_shift[d]
    return _base_sample(P, S, d, stream) + P.dist_shift[d]


@njit(cache=True)
def _base_sample(P, S, d, stream):
    """Draw one value >= 0 from distribution ``d`` of params ``P`` using stream ``stream`` of ``S``.

    Parameter meaning per kind (a, b, c): constant (value), uniform (low, high), triangular
    (low, mode, high), normal (mean, std; resampled until >= 0), lognormal (mu, sigma of the log),
    exponential (mean), empirical (samples at ``emp_values[off:off+len]``).
    """
    rng_state = S.rng_state
    kind = P.dist_kind[d]
    a = P.dist_a[d]
    if kind == DIST_CONST:
        return a
    if kind == DIST_EXPONENTIAL:
        return -a * math.log(1.0 - next_u01(rng_state, stream))
    if kind == DIST_UNIFORM:
        return a + (P.dist_b[d] - a) * next_u01(rng_state, stream)
    if kind == DIST_TRIANGULAR:
        b = P.dist_b[d]
        c = P.dist_c[d]
        u = next_u01(rng_state, stream)
        if c <= a:
            return a
        f = (b - a) / (c - a)
        if u < f:
            return a + math.sqrt(u * (c - a) * (b - a))
        return c - math.sqrt((1.0 - u) * (c - a) * (c - b))
    if kind == DIST_NORMAL:
        for _ in range(_MAX_NORMAL_TRIES):
            x = a + P.dist_b[d] * _standard_normal(rng_state, stream)
            if x >= 0.0:
                return x
        return 0.0
    if kind == DIST_LOGNORMAL:
        return math.exp(a + P.dist_b[d] * _standard_normal(rng_state, stream))
    # empirical
    n = P.dist_len[d]
    i = int(next_u01(rng_state, stream) * n)
    if i >= n:
        i = n - 1
    return P.emp_values[P.dist_off[d] + i]
