"""Line commands a PLC or SCADA system may give: start, stop, reset, inject a fault.

Served as OPC UA methods on the line folder (``docs/plc.md``). They run in the simulation thread
(through :class:`~twin.bridge.adapters.exchange.Exchange`), so they change the twin only between
control steps. Injected faults are ARIAC-style test faults for commissioning: a belt that stops,
a photo-eye stuck blocked or stuck clear, each for a simulated duration or until ``reset``.
"""

from __future__ import annotations

import math

from ..signals import Signal

__all__ = ["LineCommands", "FAULT_KINDS"]

#: fault kind -> what its target names
FAULT_KINDS = {"conveyor_stop": "a conveyor", "eye_blocked": "a photo-eye", "eye_clear": "a photo-eye"}


class LineCommands:
    """Executes commands and provides ``line.running`` and ``line.faults_active``.

    Args:
        signals: the twin's SignalMap; this adds itself to it as a provider.
    """

    def __init__(self, signals) -> None:
        self.signals = signals
        self.running = True
        #: target -> (kind, simulated end time; inf: until reset)
        self.faults: dict[str, tuple[str, float]] = {}
        self._reset_hooks: list = []
        self._eyes = {name.removesuffix(".blocked") for name, s in signals.signals.items()
                      if name.endswith(".blocked")}
        signals.add_provider(self)

    def on_reset(self, hook) -> None:
        """Also call ``hook()`` on ``reset`` (a robot cell clears its latched faults)."""
        self._reset_hooks.append(hook)

    # -- provider ---------------------------------------------------------------------------------

    def provided(self) -> list[Signal]:
        return [Signal("line.running", "bool", "", False), Signal("line.faults_active", "int", "faults", False)]

    def read(self, values: dict) -> None:
        values["line.running"] = self.running
        values["line.faults_active"] = len(self.faults)
        for target, (kind, _) in self.faults.items():
            if kind in ("eye_blocked", "eye_clear"):
                values[f"{target}.blocked"] = kind == "eye_blocked"

    def write(self, name: str, value) -> None:  # no writable signals
        raise KeyError(name)

    def fall_back(self, name: str, mode: str) -> None:
        pass

    # -- commands (simulation thread) -----------------------------------------------------------

    def run(self, name: str, *args) -> str:
        """Execute command ``name``; return a one-line result.

        Raises:
            ValueError: unknown command or bad arguments (the message says what is valid).
        """
        if name == "start":
            return self._motors(True)
        if name == "stop":
            return self._motors(False)
        if name == "reset":
            n = len(self.faults)
            for target, (kind, _) in list(self.faults.items()):
                self._clear(target, kind)
            for hook in self._reset_hooks:
                hook()
            return f"reset: cleared {n} injected faults"
        if name == "inject_fault":
            return self.inject(*args)
        raise ValueError(f"unknown command {name!r}; valid: start, stop, reset, inject_fault")

    def _motors(self, on: bool) -> str:
        self.running = on
        for conveyor in self.signals.conveyors():
            self.signals.write(f"{conveyor}.motor_on", on)
        return f"{'started' if on else 'stopped'} {len(self.signals.conveyors())} conveyors"

    def inject(self, target: str, kind: str, duration_s: float = 0.0) -> str:
        """Inject fault ``kind`` on ``target`` for ``duration_s`` simulated seconds (0: until reset)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; valid: {', '.join(FAULT_KINDS)}")
        if not (isinstance(duration_s, int | float) and math.isfinite(duration_s) and duration_s >= 0):
            raise ValueError(f"duration_s must be >= 0 (0: until reset), got {duration_s!r}")
        valid = self.signals.conveyors() if kind == "conveyor_stop" else sorted(self._eyes)
        if target not in valid:
            raise ValueError(f"{kind}: target must be {FAULT_KINDS[kind]}: one of {valid}, got {target!r}")
        if target in self.faults:
            self._clear(target, self.faults[target][0])
        end = math.inf if duration_s == 0 else self.signals.twin.engine.t + duration_s
        self.faults[target] = (kind, end)
        if kind == "conveyor_stop":
            self.signals.set_forced_stop(target, True)
        return f"injected {kind} on {target}" + ("" if duration_s == 0 else f" for {duration_s:g} s")

    def _clear(self, target: str, kind: str) -> None:
        del self.faults[target]
        if kind == "conveyor_stop":
            self.signals.set_forced_stop(target, False)

    def tick(self) -> None:
        """End faults whose duration is over (called each control step)."""
        t = self.signals.twin.engine.t
        for target, (kind, end) in list(self.faults.items()):
            if t >= end:
                self._clear(target, kind)
