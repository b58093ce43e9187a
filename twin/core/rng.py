"""Per-entity random streams and distribution sampling, as numba kernels.

Each stream is one SplitMix64 state (a uint64 in ``rng_state[stream]``). Streams are seeded from
(scene seed, entity name, purpose) by a cryptographic hash, so adding a station never shifts another
station's random numbers, and the whole generator state is an array that ``get_state`` can copy.
SplitMix64 passes BigCrush and costs a few instructions per draw.

Exponential draws (the commonest process, repair and inter-arrival times) use the ziggurat method
(Marsaglia & Tsang 2000, 256 layers): 99% of draws cost one 64-bit draw, a table look-up, a
multiplication and a comparison, against a logarithm for inversion. The tables (``zig_x``,
``zig_f``) are part of the compiled parameters, built once by :func:`ziggurat_tables`.
"""

from __future__ import annotations

import functools
import hashlib
import math

import numpy as np
from numba import njit

__all__ = ["stream_seed", "next_u01", "sample", "ziggurat_tables", "std_exponential", "DIST_CONST", "DIST_UNIFORM", "DIST_TRIANGULAR",
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
_LOW8 = np.uint64(0xFF)
_INV53 = 1.0 / 9007199254740992.0
_TWO_PI = 2.0 * math.pi
_MAX_NORMAL_TRIES = 1000


#: Ziggurat of the standard exponential density exp(-x): 256 layers of equal area ``_ZIG_V``, the
#: base layer's rectangle ending at ``_ZIG_R`` (Marsaglia & Tsang 2000, table 2).
ZIG_LAYERS = 256
_ZIG_R = 7.69711747013104972
_ZIG_V = 3.949659822581572e-3


@functools.cache
def ziggurat_tables() -> tuple[np.ndarray, np.ndarray]:
    """``(x, f)``, each float64[257]: layer ``i`` is the box ``[0, x[i]] x [f[i], f[i+1]]`` under
    the density ``f = exp(-x)``; ``x[0]`` is the base layer's width counting its tail (area/f(r)),
    ``x[1] = r`` and ``x[256] = 0``. Every layer has the same area, so a layer drawn uniformly and a
    point drawn uniformly in it are uniform under the curve."""
    n = ZIG_LAYERS
    x = np.zeros(n + 1)
    x[0] = _ZIG_V / math.exp(-_ZIG_R)
    x[1] = _ZIG_R
    for i in range(1, n - 1):
        x[i + 1] = -math.log(_ZIG_V / x[i] + math.exp(-x[i]))
    x[n] = 0.0
    f = np.exp(-x)
    x.setflags(write=False)
    f.setflags(write=False)
    return x, f


def stream_seed(seed: int, entity: str, purpose: str) -> np.uint64:
    """Initial state of the stream for (``seed``, ``entity``, ``purpose``); stable across runs and platforms."""
    digest = hashlib.blake2b(f"{seed}\x00{entity}\x00{purpose}".encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


@njit(cache=True, inline="always")
def _next_u64(rng_state, stream):
    """The next 64 random bits of stream ``stream`` of ``rng_state`` (uint64[n_streams])."""
    z = rng_state[stream] + _GOLDEN
    rng_state[stream] = z
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def next_u01(rng_state, stream):
    """Uniform float64 in [0, 1) from stream ``stream`` of ``rng_state`` (uint64[n_streams])."""
    return float(_next_u64(rng_state, stream) >> _S11) * _INV53


@njit(cache=True, inline="always")
def std_exponential(P, rng_state, stream):
    """Exponential of mean 1 by the ziggurat (tables ``P.zig_x``, ``P.zig_f``, see ``ziggurat_tables``).

    One 64-bit draw gives both the layer (its low 8 bits) and the point in it (its high 53 bits).
    """
    z = _next_u64(rng_state, stream)
    i = int(z & _LOW8)
    x = float(z >> _S11) * _INV53 * P.zig_x[i]
    if x < P.zig_x[i + 1]:  # inside the part of the layer that lies wholly under the curve
        return x
    return _exponential_edge(P, rng_state, stream, i, x)


@njit(cache=True)
def _exponential_edge(P, rng_state, stream, i, x):
    """The rare ziggurat cases: the tail beyond r (memoryless: r plus a fresh exponential) and the
    wedge between a layer's box and the curve (accept by comparing with the density)."""
    zig_x = P.zig_x
    zig_f = P.zig_f
    while True:
        if i == 0:
            return zig_x[1] - math.log(1.0 - next_u01(rng_state, stream))
        if zig_f[i] + next_u01(rng_state, stream) * (zig_f[i + 1] - zig_f[i]) < math.exp(-x):
            return x
        z = _next_u64(rng_state, stream)
        i = int(z & _LOW8)
        x = float(z >> _S11) * _INV53 * zig_x[i]
        if x < zig_x[i + 1]:
            return x


@njit(cache=True)
def _standard_normal(rng_state, stream):
    u1 = next_u01(rng_state, stream)
    u2 = next_u01(rng_state, stream)
    return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(_TWO_PI * u2)


@njit(cache=True, inline="always")
def sample(P, S, d, stream):
    """Draw one value from distribution ``d``: its base draw plus its fixed shift (``dist_shift``,
    e.g. a robot cell's measured motion time added to the station's own process time).

    The exponential case is written out here (as in ``_base_sample``): it is the commonest process
    time, and the call into the general sampler cost as much as the draw."""
    if P.dist_kind[d] == DIST_EXPONENTIAL:
        return P.dist_a[d] * std_exponential(P, S.rng_state, stream) + P.dist_shift[d]
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
        return a * std_exponential(P, rng_state, stream)
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
