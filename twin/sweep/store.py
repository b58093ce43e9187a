"""A sweep's output folder: its manifest, an append-only journal of runs, and the final tables.

``sweep.json`` records what the sweep is (scene, parameters, configurations, seeds, run length).
``runs.jsonl`` gets one line per finished run as soon as its task returns, flushed, so a sweep
that is interrupted (or whose machine dies) loses only the runs in flight. Resuming reads both:
the manifest must describe the same sweep, and only runs without an ``ok`` line are run again.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

from ..errors import UsageError

__all__ = ["SweepFolder", "fingerprint", "MANIFEST", "JOURNAL"]

MANIFEST = "sweep.json"
JOURNAL = "runs.jsonl"
#: Manifest keys that define the sweep; two manifests that agree on these describe the same runs.
IDENTITY = ("scene_sha256", "parameters", "configurations", "replications", "seed", "until_s", "warmup_s")


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def fingerprint(manifest: dict) -> str:
    """A hash of the keys that define the sweep."""
    ident = {k: manifest.get(k) for k in IDENTITY}
    return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()


class SweepFolder:
    """The output folder of one sweep.

    Args:
        folder: where to write (created if needed).
        manifest: what the sweep is (see ``IDENTITY``).
        resume: continue a sweep already in ``folder``; without it, a folder that holds runs
            is an error (nothing is overwritten by accident).

    Raises:
        UsageError: the folder holds runs and ``resume`` is off, or it holds another sweep.
    """

    def __init__(self, folder: str | Path, manifest: dict, resume: bool) -> None:
        self.folder = Path(folder)
        self.journal = self.folder / JOURNAL
        manifest = {**manifest, "fingerprint": fingerprint(manifest)}
        old = self._read_manifest()
        has_runs = self.journal.is_file() and self.journal.stat().st_size > 0
        if resume and old is None:
            raise UsageError(f"--resume: {self.folder} holds no sweep ({MANIFEST} missing); run without --resume")
        if has_runs and not resume:
            raise UsageError(f"--out {self.folder} already holds runs of a sweep; add --resume to finish it, "
                             "or choose another --out folder")
        if old is not None and resume and old.get("fingerprint") != manifest["fingerprint"]:
            changed = [k for k in IDENTITY if old.get(k) != json.loads(json.dumps(manifest.get(k), default=str))]
            raise UsageError(f"--resume: {self.folder} holds a different sweep (changed: {', '.join(changed) or '?'}); "
                             "use the same scene and options, or another --out folder")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str) + "\n")
        except OSError as exc:
            raise UsageError(f"--out: cannot write to {self.folder}: {exc.strerror}") from None
        self.manifest = manifest

    def _read_manifest(self) -> dict | None:
        path = self.folder / MANIFEST
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return None

    def finished(self) -> dict[tuple[int, int], dict]:
        """Rows already journalled with status ``ok``, by (config_id, replication)."""
        out: dict[tuple[int, int], dict] = {}
        if not self.journal.is_file():
            return out
        with self.journal.open() as fh:
            for line in fh:
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short when the sweep was killed mid-write
                if row.get("status") == "ok":
                    out[(int(row["config_id"]), int(row["replication"]))] = row
        return out

    def append(self, rows: list[dict]) -> None:
        """Journal ``rows`` (flushed to disk before returning)."""
        with self.journal.open("a+b") as fh:
            if fh.tell() > 0:
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":  # a line cut short by a crash: end it, so this row stays whole
                    fh.write(b"\n")
            for row in rows:
                fh.write((json.dumps({k: _jsonable(v) for k, v in row.items()}) + "\n").encode())
            fh.flush()
            os.fsync(fh.fileno())
