"""The line engine: compiled parameters and state, numba kernels, KPIs, trace.

numba's on-disk cache keys each function by its own source file only, so a kernel that calls
(and inlines) code from another edited module would silently keep the old machine code. On import
we hash every kernel source file and drop the cached machine code when the hash changed since
it was compiled; the next call recompiles (about 15 s) and the cache is valid again. This holds
for the cache beside the sources and for one under ``NUMBA_CACHE_DIR`` when that is set.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_STAMP = "kernel-sources.sha256"


def _drop_stale_kernel_cache() -> None:
    digest = hashlib.sha256()
    for path in sorted(_HERE.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    current = digest.hexdigest()
    for cache in _cache_dirs():
        stamp = cache / _STAMP
        try:
            if stamp.is_file() and stamp.read_text().strip() == current:
                continue
            for pattern in ("*.nbi", "*.nbc"):
                for stale in cache.glob(pattern):
                    stale.unlink(missing_ok=True)
            cache.mkdir(parents=True, exist_ok=True)
            stamp.write_text(current + "\n")
        except OSError:
            pass  # read-only install: numba then caches elsewhere or not at all, which is still correct


def _cache_dirs() -> list[Path]:
    """Where numba caches this package's kernels: beside the sources, and under NUMBA_CACHE_DIR if set."""
    dirs = [_HERE / "__pycache__"]
    from numba import config
    from numba.core.caching import _CacheLocator

    if config.CACHE_DIR:  # the path numba derives (from the unresolved file name, as numba sees it)
        sub = _CacheLocator.get_suitable_cache_subpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "events.py"))
        dirs.append(Path(os.path.abspath(config.CACHE_DIR)) / sub)
    return dirs


_drop_stale_kernel_cache()
