"""Shared plumbing of the benchmark scripts: machine report, numba-cache state, timers, JSON line.

Kept in a package (not ``benchmarks/*.py``) so that ``make bench``, which runs every
``benchmarks/*.py --quick``, does not run it as a benchmark. Scripts import it as ``_harness``
(their own directory is on ``sys.path`` when run as ``python benchmarks/<name>.py``).
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["REPO_ROOT", "machine_info", "numba_cache_files", "print_header", "emit_json", "Timer",
           "welch_t"]

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    # so that ``import twin`` and ``tests.reference`` resolve to this checkout even without an install
    sys.path.insert(0, str(REPO_ROOT))


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(module: str) -> str:
    try:
        return __import__(module).__version__
    except Exception:  # noqa: BLE001 - a missing optional library is reported, not fatal
        return "not installed"


def _git_rev() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                             text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "twin"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{rev}{'+dirty' if dirty else ''}" if rev else "unknown"


def numba_cache_files() -> int:
    """Number of numba cache index files (``*.nbi``) in ``NUMBA_CACHE_DIR`` when it is set, else in
    this checkout's ``twin/`` (beside the sources); 0 means a cold compile."""
    cache_dir = os.environ.get("NUMBA_CACHE_DIR")
    return sum(1 for _ in (Path(cache_dir) if cache_dir else REPO_ROOT / "twin").rglob("*.nbi"))


def machine_info() -> dict:
    """CPU model, core counts, OS, library versions and the twin git revision."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 1
    return {
        "cpu": _cpu_model(), "cores": os.cpu_count() or 1, "usable_cores": usable,
        "load_avg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "os": f"{platform.system()} {platform.release()}", "python": platform.python_version(),
        "numpy": _version("numpy"), "numba": _version("numba"), "simpy": _version("simpy"),
        "twin_git": _git_rev(),
    }


def print_header(title: str, machine: dict, cache_files: int) -> None:
    """Print the benchmark title, the machine and library versions, and the numba-cache state."""
    print(f"== {title}")
    print(f"machine : {machine['cpu']}, {machine['cores']} cores ({machine['usable_cores']} usable), "
          f"{machine['os']}, load avg 1m {machine['load_avg_1m']}")
    print(f"versions: python {machine['python']}, numpy {machine['numpy']}, numba {machine['numba']}, "
          f"simpy {machine['simpy']}, twin {machine['twin_git']}")
    state = "cold (compiles everything)" if cache_files == 0 else f"warm ({cache_files} index files)"
    print(f"numba cache: {state}")


def emit_json(figures: dict) -> None:
    """Print the figures as the single, final JSON line (non-finite floats become null)."""
    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        return v
    sys.stdout.flush()
    print(json.dumps(clean(figures), sort_keys=False), flush=True)


class Timer:
    """``with Timer() as t: ...`` then ``t.s`` is the wall time in seconds (perf_counter)."""

    def __enter__(self) -> Timer:
        self._t0 = time.perf_counter()
        self.s = float("nan")
        return self

    def __exit__(self, *exc) -> None:
        self.s = time.perf_counter() - self._t0


def welch_t(a: list[float], b: list[float]) -> tuple[float, float]:
    """Welch's t statistic for mean(a) - mean(b) and its Welch-Satterthwaite degrees of freedom."""
    import numpy as np

    a, b = np.asarray(a, float), np.asarray(b, float)
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se2 = va + vb
    if se2 == 0:
        return 0.0 if a.mean() == b.mean() else math.copysign(math.inf, a.mean() - b.mean()), math.inf
    t = (a.mean() - b.mean()) / math.sqrt(se2)
    df = se2 ** 2 / (va ** 2 / (a.size - 1) + vb ** 2 / (b.size - 1))
    return float(t), float(df)


def free_port(count: int = 1) -> int:
    """A base port P with P .. P+count-1 free on 127.0.0.1, below Linux's ephemeral range."""
    import random
    import socket

    rng = random.Random()
    while True:
        port = rng.randrange(20_000, 32_000)
        try:
            for p in range(port, port + count):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
            return port
        except OSError:
            continue
