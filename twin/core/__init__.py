"""The line engine: compiled parameters and state, numba kernels, KPIs, trace.

numba's on-disk cache keys each function by its own source file only, so a kernel that calls
(and inlines) code from another edited module would silently keep the old machine code. On import
we hash every kernel source file and drop the cached machine code when the hash changed since
it was compiled; the next call recompiles (about 15 s) and the cache is valid again.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_STAMP = "kernel-sources.sha256"


def _drop_stale_kernel_cache() -> None:
    digest = hashlib.sha256()
    for path in sorted(_HERE.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    current = digest.hexdigest()
    cache = _HERE / "__pycache__"
    stamp = cache / _STAMP
    try:
        if stamp.is_file() and stamp.read_text().strip() == current:
            return
        for pattern in ("*.nbi", "*.nbc"):
            for stale in cache.glob(pattern):
                stale.unlink(missing_ok=True)
        cache.mkdir(exist_ok=True)
        stamp.write_text(current + "\n")
    except OSError:
        pass  # read-only install: numba then caches elsewhere or not at all, which is still correct


_drop_stale_kernel_cache()
