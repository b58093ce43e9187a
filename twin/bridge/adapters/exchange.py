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
        #: quality of signals set by a mirror (shadow mode): name -> "uncertain" | "no_comm" | "waiting"
        self.mirror_quality: dict[str, str] = {}
        self.snapshot = Snapshot(0, 0.0, time.time(), {}, {})
        self.stats = {"writes": 0, "commands": 0, "write_errors": 0}

    # -- adapter side (any thread) ---------------------------------------------------------------

    def check(self, name: str, value) -> str | None:
        """Why a client's write is refused (None: acceptable). Only reads constant metadata."""
        return self.signals.check(name, value)

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
                fut.set_result(self.commands.run(name, *arg))
            except Exception as exc:  # answered to the caller, never raised into the loop
                fut.set_exception(exc)
        return n

    def publish(self, values: dict | None = None) -> Snapshot:
        """Phase bridge_out: take a snapshot (``values`` if already read this step) and notify."""
        values = self.signals.read() if values is None else values
        quality = dict.fromkeys(self.signals.stale, "uncertain")
        quality.update(self.mirror_quality)
        snap = Snapshot(self.snapshot.version + 1, float(values["t_s"]), time.time(), values, quality)
        self.snapshot = snap  # one reference swap: readers see the old or the new snapshot whole
        with self._lock:
            listeners = list(self._listeners)
        for callback in listeners:
            callback(snap)
        return snap
