"""Signal groups: which signals the bridge publishes together, when, and how.

Every published signal (all but ``t_s``, which every message carries as ``t``) belongs to exactly
one group. A group has an update mode:

- ``on_change`` (the default): sampled every control step; its numbers are published when at
  least one of them moved by more than its dead band since they were last published (dead band 0:
  any change), its strings when they changed;
- ``periodic`` at ``rate_hz`` (simulated time): the whole group is published every 1/rate_hz
  seconds, changed or not (a cyclic I/O image, as commissioning tools exchange).

A group's numeric signals (float, int, bool) travel together as one ``BULK`` message: a small
header and one raw little-endian float64 array in the group's *layout* order (published in the
snapshot). Its strings travel in a ``DELTA`` (a msgpack map). Signals no group names fall into
the group ``default`` (on change, each signal's own ``Signal.deadband``).

Groups are configured from Python (``BridgeServer(groups=..., deadbands=...)``) or from a YAML
signal-map file (``twin serve --signals FILE``, :func:`load_signal_file`)::

    groups:
      fast: {mode: periodic, rate_hz: 50, signals: ["infeed.*", "infeed/eye_end.blocked"]}
      slow: {rate_hz: 1, signals: ["press.*"]}       # rate_hz alone means periodic
      default: {deadband: 0.001}                      # the group of everything else
    deadbands: {infeed.speed_mps: 0.01}               # per signal, over the group's

Names are exact signal names or glob patterns (``*``, ``?``, ``[...]``); a name or pattern that
matches no signal, a signal in two groups, or an unknown key is a :class:`UsageError` that says
which, with a suggestion.
"""

from __future__ import annotations

import difflib
import fnmatch
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import UsageError
from .wire import layout_id

__all__ = ["GroupSpec", "Group", "Publisher", "load_signal_file", "parse_groups", "typed"]

DEFAULT = "default"
_GROUP_KEYS = ("signals", "mode", "rate_hz", "deadband")
_FILE_KEYS = ("groups", "deadbands")


@dataclass(frozen=True)
class GroupSpec:
    """A group as configured: names or glob patterns, mode, rate (Hz, periodic) and dead band."""

    name: str
    signals: tuple[str, ...] = ()
    mode: str = "on_change"
    rate_hz: float | None = None
    deadband: float | None = None


def _suggest(word: str, valid) -> str:
    close = difflib.get_close_matches(word, list(valid), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def _number(where: str, value, low_exclusive: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or value <= low_exclusive and not (low_exclusive < 0 and value == 0):
        raise UsageError(f"{where}: expected a number {'>= 0' if low_exclusive < 0 else '> 0'}, got {value!r}")
    return float(value)


def parse_groups(groups, source: str = "groups") -> list[GroupSpec]:
    """GroupSpecs from a mapping ``{name: {signals, mode, rate_hz, deadband}}`` (or GroupSpecs).

    Raises:
        UsageError: an unknown key, a bad mode, rate or dead band.
    """
    if groups is None:
        return []
    if isinstance(groups, list | tuple) and all(isinstance(g, GroupSpec) for g in groups):
        return list(groups)
    if not isinstance(groups, dict):
        raise UsageError(f"{source}: expected a mapping of group name -> settings, got {type(groups).__name__}")
    specs = []
    for name, spec in groups.items():
        where = f"{source}.{name}"
        if not isinstance(name, str) or not name or len(name) > 100:
            raise UsageError(f"{source}: group names are non-empty strings, got {name!r}")
        spec = {} if spec is None else spec
        if not isinstance(spec, dict):
            raise UsageError(f"{where}: expected a mapping with keys {list(_GROUP_KEYS)}, got {spec!r}")
        for key in spec:
            if key not in _GROUP_KEYS:
                raise UsageError(f"{where}: unknown key {key!r}.{_suggest(str(key), _GROUP_KEYS)} "
                                 f"Valid: {list(_GROUP_KEYS)}")
        rate = spec.get("rate_hz")
        mode = spec.get("mode", "periodic" if rate is not None else "on_change")
        if mode not in ("on_change", "periodic"):
            raise UsageError(f"{where}.mode: expected 'on_change' or 'periodic', got {mode!r}."
                             f"{_suggest(str(mode), ('on_change', 'periodic'))}")
        if mode == "periodic":
            if rate is None:
                raise UsageError(f"{where}: a periodic group needs rate_hz")
            rate = _number(f"{where}.rate_hz", rate, 0.0)
        elif rate is not None:
            raise UsageError(f"{where}: rate_hz is for periodic groups (mode: on_change has none)")
        deadband = spec.get("deadband")
        if deadband is not None:
            deadband = _number(f"{where}.deadband", deadband, -1.0)
        signals = spec.get("signals", [])
        if isinstance(signals, str):
            signals = [signals]
        if not isinstance(signals, list) or not all(isinstance(s, str) for s in signals):
            raise UsageError(f"{where}.signals: expected a list of signal names or patterns, got {signals!r}")
        if not signals and name != DEFAULT:
            raise UsageError(f"{where}: no signals (only the group {DEFAULT!r} takes the signals no group names)")
        specs.append(GroupSpec(name, tuple(signals), mode, rate, deadband))
    return specs


def load_signal_file(path: str | Path) -> tuple[list[GroupSpec], dict[str, float]]:
    """(groups, per-signal dead bands) of a signal-map YAML file (format in the module docstring).

    Raises:
        UsageError: unreadable, not YAML, or an unknown or bad key (signal names are checked
            against the twin later, by :class:`Publisher`).
    """
    import yaml

    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise UsageError(f"--signals: cannot read {str(path)!r}: {exc.strerror}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: not valid YAML: {exc}") from None
    doc = {} if doc is None else doc
    if not isinstance(doc, dict):
        raise UsageError(f"{path}: expected a mapping with keys {list(_FILE_KEYS)}")
    for key in doc:
        if key not in _FILE_KEYS:
            raise UsageError(f"{path}: unknown key {key!r}.{_suggest(str(key), _FILE_KEYS)} Valid: {list(_FILE_KEYS)}")
    deadbands = doc.get("deadbands") or {}
    if not isinstance(deadbands, dict):
        raise UsageError(f"{path}: deadbands: expected a mapping of signal name -> dead band")
    deadbands = {str(k): _number(f"{path}: deadbands.{k}", v, -1.0) for k, v in deadbands.items()}
    return parse_groups(doc.get("groups"), f"{path}: groups"), deadbands


def typed(types: list[str], values: np.ndarray) -> list:
    """Plain Python values of a float64 array by signal type (bool, int, float)."""
    out = values.tolist()
    for i, kind in enumerate(types):
        if kind == "bool":
            out[i] = bool(out[i])
        elif kind == "int":
            out[i] = int(out[i])
    return out


@dataclass
class Group:
    """A resolved group: its numeric layout and strings, and what was last published of them."""

    name: str
    mode: str
    rate_hz: float | None
    layout: list[str]
    types: list[str]
    strings: list[str]
    deadband: np.ndarray
    layout_id: int = 0
    sent: np.ndarray = field(default=None)  # the numbers as last published (the clients' copy)
    sent_strings: dict = field(default_factory=dict)
    next_due: float = -math.inf

    def describe(self) -> dict:
        """The group as the snapshot describes it."""
        return {"mode": self.mode, "rate_hz": self.rate_hz, "layout": self.layout, "layout_id": self.layout_id,
                "strings": self.strings}


class Publisher:
    """Decides, per control step, what the bridge publishes, and keeps the clients' copy.

    Args:
        signals: the twin's ``SignalMap``.
        groups: GroupSpecs, or a mapping (see :func:`parse_groups`).
        deadbands: signal name -> dead band, over its group's (and over ``Signal.deadband``).

    Raises:
        UsageError: a name or pattern matching no signal, a signal in two groups.
    """

    def __init__(self, signals, groups=None, deadbands: dict | None = None) -> None:
        self.signals = signals
        self.specs = parse_groups(groups)
        self.deadbands = dict(deadbands or {})
        self.groups: dict[str, Group] = {}
        self._revision = None
        self.resolve(check=True)

    def resolve(self, check: bool = False) -> None:
        """Assign every signal to its group and build the layouts (again, when signals were added
        or removed: layout ids change, and clients re-snapshot). Published values are kept."""
        sigs = self.signals.signals
        names = [n for n in sigs if n != "t_s"]
        owner: dict[str, str] = {}
        for spec in self.specs:
            for pattern in spec.signals:
                glob = any(c in pattern for c in "*?[")
                hits = fnmatch.filter(names, pattern) if glob else [pattern] if pattern in names else []
                if not hits and check:
                    raise UsageError(f"group {spec.name!r}: no signal {'matches' if glob else 'named'} "
                                     f"{pattern!r}.{_suggest(pattern, names)} Valid: see `twin tags SCENE`")
                for n in hits:
                    if owner.get(n, spec.name) != spec.name:
                        raise UsageError(f"signal {n!r} is in two groups: {owner[n]!r} and {spec.name!r}")
                    owner[n] = spec.name
        if check:
            for n in self.deadbands:
                if n not in sigs:
                    raise UsageError(f"deadbands: unknown signal {n!r}.{_suggest(n, names)}")
        specs = {s.name: s for s in self.specs}
        specs.setdefault(DEFAULT, GroupSpec(DEFAULT))
        old = self.groups
        self.groups = {}
        for name, spec in specs.items():
            members = [n for n in names if owner.get(n, DEFAULT) == name]
            layout = [n for n in members if sigs[n].type != "str"]
            group_db = spec.deadband
            db = np.array([self.deadbands.get(n, group_db if group_db is not None else sigs[n].deadband)
                           for n in layout], np.float64)
            g = Group(name, spec.mode, spec.rate_hz, layout, [sigs[n].type for n in layout],
                      [n for n in members if sigs[n].type == "str"], db, layout_id(layout))
            prev = old.get(name)
            if prev is not None:
                g.next_due = prev.next_due
            self.groups[name] = g
        self._revision = getattr(self.signals, "revision", 0)

    def start(self, values: dict) -> None:
        """Take ``values`` as already known to every client (the state before the first step)."""
        for g in self.groups.values():
            g.sent = np.array([values[n] for n in g.layout], np.float64)
            g.sent_strings = {n: values[n] for n in g.strings}

    def step(self, values: dict, t: float) -> list[tuple[Group, np.ndarray | None, dict | None]]:
        """What to publish after a control step: (group, numbers or None, strings or None) per
        group with something due, in group order. Updates the clients' copy."""
        if getattr(self.signals, "revision", 0) != self._revision:
            self.resolve()
            self.start(values)
            force = True  # new layouts: publish every group now, so that clients learn of them
        else:
            force = False
        out = []
        for g in self.groups.values():
            periodic = g.mode == "periodic"
            if periodic and not force:
                if t + 1e-9 < g.next_due:
                    continue
                g.next_due = max(g.next_due + 1.0 / g.rate_hz, t + 0.5 / g.rate_hz) if math.isfinite(g.next_due) \
                    else t + 1.0 / g.rate_hz
            numbers = strings = None
            if g.layout:
                now = np.fromiter(map(values.__getitem__, g.layout), np.float64, len(g.layout))
                if periodic or force or _moved(now, g.sent, g.deadband):
                    g.sent, numbers = now, now
            if g.strings:
                changed = {n: values[n] for n in g.strings if periodic or force or g.sent_strings.get(n) != values[n]}
                if changed:
                    g.sent_strings.update(changed)
                    strings = changed
            if numbers is not None or strings is not None:
                out.append((g, numbers, strings))
        return out

    def published(self) -> dict:
        """The clients' copy: every signal's value as last published (t_s not included)."""
        out: dict = {}
        for g in self.groups.values():
            out.update(zip(g.layout, typed(g.types, g.sent), strict=True))
            out.update(g.sent_strings)
        return out

    def describe(self) -> dict:
        return {name: g.describe() for name, g in self.groups.items()}

    def config(self) -> dict:
        """The configuration, as :func:`parse_groups` reads it back (recorded for replay)."""
        groups = {s.name: {k: v for k, v in (("signals", list(s.signals)), ("mode", s.mode), ("rate_hz", s.rate_hz),
                                             ("deadband", s.deadband)) if v is not None}
                  for s in self.specs}
        return {"groups": groups, "deadbands": self.deadbands}


def _moved(now: np.ndarray, sent: np.ndarray, deadband: np.ndarray) -> bool:
    """Whether any value moved by more than its dead band (NaN against a number counts as moved)."""
    diff = np.abs(now - sent)
    return bool(np.any(diff > deadband) or np.any(np.isnan(diff) & ~(np.isnan(now) & np.isnan(sent))))
