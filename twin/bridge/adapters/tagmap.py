"""The tag map: where each signal of a twin lives for a PLC or a SCADA system.

Every signal of a :class:`~twin.bridge.signals.SignalMap` gets one OPC UA NodeId and (unless excluded)
one Modbus location: unit id, table, 0-based address, data type, word order and scale. The default
assignment (``docs/plc.md``) is deterministic, in signal order, so that a PLC program written against
one run of a scene still fits the next. A PLC programmer pins addresses with a tag-map file (CSV or
YAML, same columns as ``twin tags`` writes); the rest are assigned around the pinned ones.

Modbus encoding: registers are big-endian (Modbus standard); 32-bit values take two registers, high
word first (``word_order: big``, "ABCD") unless ``little`` ("CDAB"). Integer data types carry
``raw = round(value * scale)``; a plant reads ``value = raw / scale``.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
from dataclasses import dataclass, replace
from pathlib import Path

from ...core import layout as L
from ...errors import UsageError

__all__ = ["Tag", "TagMap", "build_tag_map", "load_overrides", "load_robot_cells", "NAMESPACE_PREFIX", "STATE_CODES",
           "TABLES", "DTYPES"]

#: namespace URI of the twin's nodes is this plus the scene name
NAMESPACE_PREFIX = "urn:twin:"
#: Modbus tables: (name, writable by a master, holds bits)
TABLES = {"coil": (True, True), "discrete_input": (False, True), "holding_register": (True, False),
          "input_register": (False, False)}
#: data types: registers used and the integer range of the raw value (None: float)
DTYPES = {"bool": (1, (0, 1)), "int16": (1, (-(2**15), 2**15 - 1)), "uint16": (1, (0, 2**16 - 1)),
          "int32": (2, (-(2**31), 2**31 - 1)), "uint32": (2, (0, 2**32 - 1)), "float32": (2, None)}
#: a station's ``state`` over Modbus: this code (uint16); over OPC UA it is the string
STATE_CODES = {name: i for i, name in enumerate(L.SRV_STATE_NAMES)}
_COLUMNS = ("signal", "node_id", "type", "unit", "low", "high", "direction", "modbus_unit", "table", "address",
            "registers", "dtype", "word_order", "scale")


@dataclass(frozen=True)
class Tag:
    """One signal's place in OPC UA and Modbus (``table`` None: not on Modbus)."""

    signal: str
    type: str
    unit: str
    writable: bool
    low: float | None
    high: float | None
    node_id: str  # the identifier (string NodeId) in the twin's namespace
    modbus_unit: int = 1
    table: str | None = None
    address: int = 0
    dtype: str = "bool"
    word_order: str = "big"
    scale: float = 1.0

    @property
    def registers(self) -> int:
        """Addresses it occupies (bits for coils and discrete inputs)."""
        return 1 if self.table in ("coil", "discrete_input") else DTYPES[self.dtype][0]

    @property
    def element(self) -> str:
        """The line element (an OPC UA folder) it belongs to."""
        return "line" if "." not in self.signal else self.signal.split(".", 1)[0]

    def row(self) -> dict:
        return {"signal": self.signal, "node_id": self.node_id, "type": self.type, "unit": self.unit,
                "low": "" if self.low is None else f"{self.low:g}", "high": "" if self.high is None else f"{self.high:g}",
                "direction": "both" if self.writable else "twin_to_plant",
                "modbus_unit": self.modbus_unit if self.table else "", "table": self.table or "none",
                "address": self.address if self.table else "", "registers": self.registers if self.table else "",
                "dtype": self.dtype if self.table else "", "word_order": self.word_order if self.table else "",
                "scale": f"{self.scale:g}" if self.table else ""}


class TagMap:
    """All tags of one twin, with lookups by NodeId and by Modbus address."""

    def __init__(self, tags: list[Tag], namespace: str) -> None:
        self.tags = tags
        self.namespace = namespace
        self.by_signal = {t.signal: t for t in tags}
        self.by_node = {t.node_id: t for t in tags}
        #: (unit, table) -> {address: (tag, word index within the tag)}
        self.cells: dict[tuple[int, str], dict[int, tuple[Tag, int]]] = {}
        for t in tags:
            if t.table:
                cells = self.cells.setdefault((t.modbus_unit, t.table), {})
                for k in range(t.registers):
                    cells[t.address + k] = (t, k)

    @property
    def units(self) -> list[int]:
        return sorted({u for u, _ in self.cells})

    def csv(self) -> str:
        buf = io.StringIO()
        w = csv.DictWriter(buf, _COLUMNS, lineterminator="\n")
        w.writeheader()
        for t in self.tags:
            w.writerow(t.row())
        return buf.getvalue()


def _default_place(sig) -> tuple[str, str, float]:
    """(table, dtype, scale) a signal gets unless pinned."""
    if sig.type == "bool":
        return ("coil" if sig.writable else "discrete_input"), "bool", 1.0
    table = "holding_register" if sig.writable else "input_register"
    if sig.type == "float":
        return table, "float32", 1.0
    if sig.type == "str":  # a station state is a code; free text has no Modbus form (OPC UA only)
        return (table if sig.name.endswith(".state") else None), "uint16", 1.0
    return table, ("int32" if sig.writable else "uint32"), 1.0


def _did_you_mean(name: str, valid) -> str:
    close = difflib.get_close_matches(name, list(valid), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def build_tag_map(signals, scene_name: str, overrides: dict[str, dict] | None = None, source: str = "tag map",
                  default_unit: int = 1) -> TagMap:
    """The tag map of ``signals`` (a SignalMap), with ``overrides`` (from :func:`load_overrides`) pinned.

    Raises:
        UsageError: an override names an unknown signal, has a bad value, or two tags overlap on
            one Modbus address or share a NodeId.
    """
    overrides = overrides or {}
    for name in overrides:
        if name not in signals.signals:
            raise UsageError(f"{source}: unknown signal {name!r}.{_did_you_mean(name, signals.signals)} "
                             f"Valid: see `twin tags SCENE`")
    pinned, free = [], []
    for name, sig in signals.signals.items():
        table, dtype, scale = _default_place(sig)
        tag = Tag(name, sig.type, sig.unit, sig.writable, sig.low, sig.high, node_id=name, modbus_unit=default_unit,
                  table=table, dtype=dtype, scale=scale)
        o = overrides.get(name)
        if o is None:
            free.append(tag)
            continue
        tag = _apply_override(tag, o, source)
        (pinned if tag.table and "address" in o else free).append(tag)
    used: dict[tuple[int, str], dict[int, str]] = {}
    for t in pinned:
        cells = used.setdefault((t.modbus_unit, t.table), {})
        for k in range(t.registers):
            if t.address + k in cells:
                raise UsageError(f"{source}: Modbus address conflict: {t.signal!r} and {cells[t.address + k]!r} both "
                                 f"use unit {t.modbus_unit} {t.table} {t.address + k}")
            cells[t.address + k] = t.signal
    placed = {t.signal: t for t in pinned}
    for t in free:
        if not t.table:
            placed[t.signal] = t
            continue
        cells = used.setdefault((t.modbus_unit, t.table), {})
        a = 0
        while any(a + k in cells for k in range(t.registers)):
            a += 1
        if a + t.registers > 65536:
            raise UsageError(f"{source}: no room left in unit {t.modbus_unit} {t.table} for {t.signal!r}")
        for k in range(t.registers):
            cells[a + k] = t.signal
        placed[t.signal] = replace(t, address=a)
    tags = [placed[name] for name in signals.signals]
    nodes: dict[str, str] = {}
    for t in tags:
        if t.node_id in nodes:
            raise UsageError(f"{source}: NodeId clash: {t.signal!r} and {nodes[t.node_id]!r} both have "
                             f"ns=<{NAMESPACE_PREFIX}{scene_name}>;s={t.node_id}")
        nodes[t.node_id] = t.signal
    folders = {t.element for t in tags}
    for t in tags:
        if t.node_id in folders or t.node_id.startswith("line.") and t.node_id[5:] in _METHOD_IDS:
            raise UsageError(f"{source}: NodeId clash: {t.signal!r} has s={t.node_id}, which names a folder or method")
    return TagMap(tags, NAMESPACE_PREFIX + scene_name)


_METHOD_IDS = ("Start", "Stop", "Reset", "InjectFault")


def _apply_override(tag: Tag, o: dict, source: str) -> Tag:
    where = f"{source}: {tag.signal}"
    kw = {}
    if o.get("node_id"):
        node = str(o["node_id"])
        if not node or len(node) > 256 or any(c in node for c in "\n\r;"):
            raise UsageError(f"{where}: node_id must be 1..256 characters without ';' or newlines, got {node!r}")
        kw["node_id"] = node
    table = o.get("table")
    if table is not None:
        if table == "none":
            return replace(tag, table=None, **kw)
        if table not in TABLES:
            raise UsageError(f"{where}: table must be one of {sorted(TABLES)} or none, got {table!r}")
        if TABLES[table][0] and not tag.writable:
            ro = "discrete_input" if TABLES[table][1] else "input_register"
            raise UsageError(f"{where}: a read-only signal cannot be a {table} (PLC writes would be refused); "
                             f"use {ro}")
        kw["table"] = table
    if "modbus_unit" in o:
        kw["modbus_unit"] = _int(o["modbus_unit"], f"{where}: modbus_unit", 1, 247)
    if "address" in o:
        kw["address"] = _int(o["address"], f"{where}: address", 0, 65535)
    table = kw.get("table", tag.table)
    bits = TABLES[table][1]
    dtype = o.get("dtype") or ("bool" if bits else (tag.dtype if tag.dtype != "bool" else "uint16"))
    if dtype not in DTYPES:
        raise UsageError(f"{where}: dtype must be one of {sorted(DTYPES)}, got {dtype!r}")
    if bits != (dtype == "bool"):
        raise UsageError(f"{where}: a {table} holds {'bits: dtype bool' if bits else 'registers: dtype not bool'}, "
                         f"got {dtype!r}")
    if tag.type == "bool" and not bits and dtype not in ("uint16", "int16"):
        raise UsageError(f"{where}: a bool signal in registers is int16 or uint16 (0/1), got {dtype!r}")
    if tag.type == "str" and dtype not in ("uint16", "int16", "uint32", "int32"):
        raise UsageError(f"{where}: a state signal is an integer code in registers, got dtype {dtype!r}")
    kw["dtype"] = dtype
    if o.get("word_order"):
        if o["word_order"] not in ("big", "little"):
            raise UsageError(f"{where}: word_order must be big (high word first) or little, got {o['word_order']!r}")
        kw["word_order"] = o["word_order"]
    if o.get("scale") not in (None, ""):
        try:
            scale = float(o["scale"])
        except (TypeError, ValueError):
            scale = math.nan
        if not (math.isfinite(scale) and scale > 0):
            raise UsageError(f"{where}: scale must be a number > 0, got {o['scale']!r}")
        if dtype in ("float32", "bool") and scale != 1:
            raise UsageError(f"{where}: scale applies to integer data types only, got {scale:g} for {dtype}")
        kw["scale"] = scale
    return replace(tag, **kw)


def _int(value, what: str, low: int, high: int) -> int:
    try:
        v = int(str(value).strip())
    except ValueError:
        raise UsageError(f"{what} must be an integer in {low}..{high}, got {value!r}") from None
    if not low <= v <= high:
        raise UsageError(f"{what} must be in {low}..{high}, got {v}")
    return v


def load_overrides(path: str | Path) -> dict[str, dict]:
    """Pinned tags from a CSV (the columns of ``twin tags --out``; empty cells are not pinned) or a YAML
    file (``tags: {signal: {table: holding_register, address: 10, ...}}``).

    Raises:
        UsageError: the file cannot be read or parsed.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise UsageError(f"cannot read tag-map file {path}: {exc.strerror}") from None
    if path.suffix.lower() == ".csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        if rows and "signal" not in rows[0]:
            raise UsageError(f"{path}: a tag-map CSV needs a 'signal' column; columns: {', '.join(_COLUMNS)}")
        out = {}
        for i, row in enumerate(rows, start=2):
            name = (row.get("signal") or "").strip()
            if not name:
                raise UsageError(f"{path}:{i}: empty signal name")
            out[name] = {k: v.strip() for k, v in row.items()
                         if k in ("node_id", "modbus_unit", "table", "address", "dtype", "word_order", "scale")
                         and v is not None and v.strip() != ""}
        return out
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("tags", {}), dict) or set(data) - {"tags", "robot_cells"}:
        raise UsageError(f"{path}: expected a mapping with 'tags' (signal -> fields) and optionally 'robot_cells', "
                         "or use a .csv file")
    data.setdefault("tags", {})
    allowed = {"node_id", "modbus_unit", "table", "address", "dtype", "word_order", "scale"}
    for name, fields in data["tags"].items():
        if not isinstance(fields, dict) or set(fields) - allowed:
            bad = sorted(set(fields) - allowed) if isinstance(fields, dict) else fields
            raise UsageError(f"{path}: tags.{name}: unknown fields {bad}; valid: {sorted(allowed)}")
    return {str(k): dict(v) for k, v in data["tags"].items()}


def load_robot_cells(path: str | Path | None) -> list[dict]:
    """The ``robot_cells`` list of a YAML tag-map file: robot stations that wait for a PLC's start
    (``[{station, conveyor, cycle_s, jam_after_s}]``, see ``robotcell.RobotCell``); [] for none or a CSV.

    Raises:
        UsageError: unreadable, or an entry lacks a field or has an unknown one.
    """
    if path is None or Path(path).suffix.lower() == ".csv":
        return []
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"cannot read tag-map file {path}: {exc}") from None
    cells = (data or {}).get("robot_cells") or []
    if not isinstance(cells, list):
        raise UsageError(f"{path}: robot_cells must be a list of {{station, conveyor, cycle_s}}")
    for i, c in enumerate(cells):
        fields = {"station", "conveyor", "cycle_s", "jam_after_s"}
        if not isinstance(c, dict) or not {"station", "conveyor", "cycle_s"} <= set(c) or set(c) - fields:
            raise UsageError(f"{path}: robot_cells[{i}]: needs station, conveyor, cycle_s (and optionally "
                             f"jam_after_s), got {c!r}")
        for k in ("cycle_s", "jam_after_s"):
            if k in c and (isinstance(c[k], bool) or not isinstance(c[k], int | float) or not c[k] > 0):
                raise UsageError(f"{path}: robot_cells[{i}].{k} must be a number > 0, got {c[k]!r}")
    return cells
