"""The one meeting point of the simulation thread and the adapters' asyncio thread.

The simulation owns the twin. After each control step it calls :meth:`Exchange.publish`, which reads
every signal once and swaps in a new immutable snapshot (values, quality, time); adapters read the
latest snapshot whenever they like and never touch the twin. Writes and commands from clients are
checked at once in the adapter thread (so a client gets its status code immediately), queued, and
applied by the simulation thread in its bridge_in phase (:meth:`Exchange.apply_pending`). Neither
side waits for the other: the queue is unbounded in type but drained every step, and a command's
answer is a future the adapter awaits with a timeout.
"""

from __future__ import annotations

import concurrent.futures
import queue
import threading
import time
from dataclasses import dataclass, field

__all__ = ["Exchange", "Snapshot", "QUALITY"]

_MISSING = object()

#: quality of a value -> the OPC UA status code name it is served with
QUALITY = {"good": "Good", "uncertain": "UncertainLastUsableValue", "no_comm": "BadNoCommunication",
           "waiting": "BadWaitingForInitialData"}


@dataclass(frozen=True)
class Snapshot:
    """Every signal at one control step. ``quality`` lists only the signals that are not good."""

    version: int
    t_s: float
    wall_s: float  # time.time() when it was taken: the source timestamp of its values
    values: dict
    quality: dict = field(default_factory=dict)
    #: names whose value or quality differ from the previous snapshot (None: compare everything)
    changed: frozenset | None = None


class Exchange:
    """Latest snapshot out, checked writes and commands in.

    Args:
        signals: the twin's :class:`~twin.bridge.signals.SignalMap` (shared with the ZeroMQ bridge).
        commands: executes ``(name, args)`` in the simulation thread and returns a result string
            (``twin.bridge.adapters.commands.LineCommands``); None: no commands.
    """

    def __init__(self, signals, commands=None) -> None:
        self.signals = signals
        self.commands = commands
        self._in: queue.SimpleQueue = queue.SimpleQueue()
        self._listeners: list = []
        self._lock = threading.Lock()
        #: quality of signals a mirror owns (shadow mode): name -> "good" | "uncertain" | "no_comm" | "waiting";
        #: keys are fixed when a mirror is added (so the simulation thread can iterate it safely)
        self.mirror_quality: dict[str, str] = {}
        self.mirrors: list = []
        self.snapshot = Snapshot(0, 0.0, time.time(), {}, {})
        self.stats = {"writes": 0, "commands": 0, "write_errors": 0}

    # -- adapter side (any thread) ---------------------------------------------------------------

    def check(self, name: str, value) -> str | None:
        """Why a client's write is refused (None: acceptable). Only reads constant metadata."""
        if name in self.mirror_quality:
            return "signal is mirrored from the plant (read-only here)"
        return self.signals.check(name, value)

    def add_mirror(self, mirror, names) -> None:
        """Register a mirror (it has ``in_sync``) that owns ``names``: they wait for initial data."""
        self.mirrors.append(mirror)
        for name in names:
            self.mirror_quality[name] = "waiting"

    def in_sync(self) -> bool:
        """Every mirror has resynchronised since its last loss (commands are accepted only then)."""
        return all(m.in_sync for m in self.mirrors)

    def submit_mirrored(self, name: str, value) -> bool:
        """Queue a value a mirror read from the plant; False (and counted) when the twin refuses it."""
        if self.signals.check(name, value) is not None:
            self.stats["write_errors"] += 1
            return False
        self._in.put(("write", name, value, None))
        return True

    def submit_fallback(self, name: str, mode: str) -> None:
        """Queue ``SignalMap.fall_back(name, mode)``: the mirror's source is lost."""
        self._in.put(("fallback", name, mode, None))

    def submit_write(self, name: str, value) -> None:
        """Queue a write already accepted by :meth:`check`; applied at the next control step."""
        self._in.put(("write", name, value, None))

    def submit_command(self, name: str, *args) -> concurrent.futures.Future:
        """Queue a command; the future gets its result (or exception) at the next control step."""
        fut: concurrent.futures.Future = concurrent.futures.Future()
        self._in.put(("command", name, args, fut))
        return fut

    def on_publish(self, callback) -> None:
        """Call ``callback(snapshot)`` in the simulation thread after each publish. It must not block
        (use ``loop.call_soon_threadsafe``)."""
        with self._lock:
            self._listeners.append(callback)

    # -- simulation side -------------------------------------------------------------------------

    def apply_pending(self, max_items: int = 10_000) -> int:
        """Phase bridge_in: apply queued writes and commands in arrival order; never blocks."""
        n = 0
        if self.commands is not None:
            self.commands.tick()
        while n < max_items:
            try:
                kind, name, arg, fut = self._in.get_nowait()
            except queue.Empty:
                break
            n += 1
            if kind == "fallback":
                self.signals.fall_back(name, arg)
                continue
            if kind == "write":
                # re-checked: a provider's state may have changed since the client's check
                if self.signals.check(name, arg) is None:
                    self.signals.write(name, arg)
                    self.stats["writes"] += 1
                else:
                    self.stats["write_errors"] += 1
                continue
            self.stats["commands"] += 1
            try:
                if self.commands is None:
                    raise ValueError("this twin takes no commands")
                if not self.in_sync():
                    raise ValueError("a mirrored plant source is lost or resyncing; commands are refused until "
                                     "it is in sync again")
                fut.set_result(self.commands.run(name, *arg))
            except Exception as exc:  # answered to the caller, never raised into the loop
                fut.set_exception(exc)
        return n

    def publish(self, values: dict | None = None) -> Snapshot:
        """Phase bridge_out: take a snapshot (``values`` if already read this step) and notify."""
        values = self.signals.read() if values is None else values
        quality = dict.fromkeys(self.signals.stale, "uncertain")
        quality.update({k: q for k, q in list(self.mirror_quality.items()) if q != "good"})
        prev = self.snapshot
        pv, pq = prev.values, prev.quality
        changed = frozenset(k for k, v in values.items() if pv.get(k, _MISSING) != v or pq.get(k) != quality.get(k)) \
            | frozenset(pq.keys() - quality.keys())
        snap = Snapshot(prev.version + 1, float(values["t_s"]), time.time(), values, quality, changed)
        self.snapshot = snap  # one reference swap: readers see the old or the new snapshot whole
        with self._lock:
            listeners = list(self._listeners)
        for callback in listeners:
            callback(snap)
        return snap
