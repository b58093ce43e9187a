"""Closed-form results used to validate the SimPy reference model.

All functions are pure and depend only on the standard library.  Each
docstring cites the theory it implements.  Rates are in parts per time unit.

References
----------
[G94]  S. B. Gershwin, *Manufacturing Systems Engineering*, Prentice Hall,
       1994, ch. 3 (two-machine lines, exponential case).
[BS93] J. A. Buzacott and J. G. Shanthikumar, *Stochastic Models of
       Manufacturing Systems*, Prentice Hall, 1993, ch. 5 (two-stage flow
       lines with finite buffers, blocking after service).
[GH]   D. Gross, J. F. Shortle, J. M. Thompson and C. M. Harris,
       *Fundamentals of Queueing Theory*, 4th ed., Wiley, 2008, sec. 2.5
       (the M/M/1/K queue).
[K75]  L. Kleinrock, *Queueing Systems, Vol. 1*, Wiley, 1975, sec. 3.6.
[BF]   R. E. Barlow and F. Proschan, *Statistical Theory of Reliability and
       Life Testing*, 1975 (steady-state availability of an alternating
       renewal process).
"""

from __future__ import annotations

import math

import numpy as np


def _truncated_geometric_p0_and_pK(rho: float, K: int) -> tuple[float, float]:
    """p_0 and p_K of the distribution p_n proportional to rho**n, n = 0..K.

    p_n = rho**n (1 - rho) / (1 - rho**(K+1)); for rho == 1 it is uniform,
    p_n = 1 / (K + 1).  For rho > 1 the symmetry n -> K - n (rho -> 1/rho)
    is used so nothing overflows; ``expm1`` keeps rho near 1 accurate.
    """
    if K < 0:
        raise ValueError("K must be >= 0")
    if rho <= 0:
        raise ValueError("rates must be positive")
    if rho == 1.0:
        return 1.0 / (K + 1), 1.0 / (K + 1)
    if rho > 1.0:
        p0, pK = _truncated_geometric_p0_and_pK(1.0 / rho, K)
        return pK, p0
    log_rho = math.log(rho)  # < 0
    p0 = math.expm1(log_rho) / math.expm1((K + 1) * log_rho)
    pK = math.exp(K * log_rho) * p0
    return p0, pK


def two_machine_exponential_throughput(
    mu1: float, mu2: float, buffer_capacity: int
) -> float:
    """Throughput of a two-machine line with exponential service and a buffer.

    Machine 1 is never starved, machine 2 is never blocked, machines are
    reliable, and a buffer of capacity B sits between them with *blocking
    after service* (M1 holds a finished part until the buffer has space).

    Let n be the number of parts between M1's output and M2's completion:
    parts in the buffer, plus the part in M2, plus the finished part M1 holds
    while blocked.  n in {0, ..., K} with K = B + 2 (n = K is "buffer full,
    M2 busy, M1 blocked").  n is a birth-death chain with birth rate mu1 for
    n < K (M1 completes) and death rate mu2 for n >= 1 (M2 completes), so
    p_n = p_0 rho**n, rho = mu1 / mu2 -- the M/M/1/K queue with lambda = mu1
    [G94 ch. 3; BS93 ch. 5; GH sec. 2.5].  Then

        throughput = mu2 (1 - p_0) = mu1 (1 - p_K),

    with p_0 = (1 - rho) / (1 - rho**(K+1)) and p_0 = 1 / (K + 1) when
    mu1 == mu2 (handled exactly).
    """
    if mu1 <= 0 or mu2 <= 0:
        raise ValueError("rates must be positive")
    if buffer_capacity < 0:
        raise ValueError("buffer_capacity must be >= 0")
    K = buffer_capacity + 2
    p0, _ = _truncated_geometric_p0_and_pK(mu1 / mu2, K)
    return mu2 * (1.0 - p0)


def availability(mtbf: float, mttr: float) -> float:
    """Steady-state availability A = MTBF / (MTBF + MTTR).

    Long-run fraction of time up of an alternating renewal process with mean
    up time MTBF and mean down time MTTR [BF].  For a station whose failures
    are operation-dependent and which is never starved or blocked, the
    fraction of time it is down is 1 - A.
    """
    if mtbf <= 0 or mttr < 0:
        raise ValueError("need mtbf > 0 and mttr >= 0")
    return mtbf / (mtbf + mttr)


def mm1k_throughput(lam: float, mu: float, K: int) -> float:
    """Throughput of an M/M/1/K queue (K = max number in system).

    Arrivals finding K in system are lost, so throughput = lam (1 - p_K)
    = mu (1 - p_0), with p_n = (1 - rho) rho**n / (1 - rho**(K+1)),
    rho = lam / mu, and p_n = 1 / (K + 1) when rho == 1 [GH sec. 2.5; K75 sec. 3.6].
    """
    if lam <= 0 or mu <= 0:
        raise ValueError("rates must be positive")
    _, pK = _truncated_geometric_p0_and_pK(lam / mu, K)
    return lam * (1.0 - pK)


def mm1k_mean_number(lam: float, mu: float, K: int) -> float:
    """Mean number in system L of an M/M/1/K queue (K = max number in system).

    L = rho / (1 - rho) - (K + 1) rho**(K+1) / (1 - rho**(K+1)) for
    rho = lam / mu != 1, and L = K / 2 for rho == 1 [GH sec. 2.5].
    """
    if lam <= 0 or mu <= 0:
        raise ValueError("rates must be positive")
    if K < 0:
        raise ValueError("K must be >= 0")
    rho = lam / mu
    if rho == 1.0:
        return K / 2.0
    if rho > 1.0:
        # Symmetry n -> K - n maps the rho chain onto the 1/rho chain; this
        # avoids overflow of rho**(K+1) for large K.
        return K - mm1k_mean_number(mu, lam, K)
    if rho > 0.99:
        # Near rho = 1 the closed form below cancels catastrophically; sum
        # L = sum n rho**n / sum rho**n directly instead (exact, O(K)).
        weights = [rho**n for n in range(K + 1)]
        return sum(n * w for n, w in enumerate(weights)) / sum(weights)
    rk1 = rho ** (K + 1)
    return rho / (1.0 - rho) - (K + 1) * rk1 / (1.0 - rk1)


def deterministic_serial_throughput(process_times) -> float:
    """Throughput of a serial line with deterministic process times: 1 / max(t_i).

    With constant process times, no failures, a never-starved first station
    and at least one buffer slot between stations, the line runs at the pace
    of its bottleneck in steady state [G94 ch. 2; BS93 ch. 4].
    """
    times = list(process_times)
    if not times or min(times) <= 0:
        raise ValueError("need at least one positive process time")
    return 1.0 / max(times)


def birth_death_throughput_numeric(mu1: float, mu2: float, K: int) -> float:
    """Solve the CTMC generator numerically; independent of the closed form."""
    Q = np.zeros((K + 1, K + 1))
    for n in range(K + 1):
        if n < K:
            Q[n, n + 1] = mu1
        if n > 0:
            Q[n, n - 1] = mu2
        Q[n, n] = -Q[n].sum()
    A = np.vstack([Q.T, np.ones(K + 1)])
    b = np.zeros(K + 2)
    b[-1] = 1.0
    p = np.linalg.lstsq(A, b, rcond=None)[0]
    return mu2 * (1.0 - p[0])
