"""Read a YAML file into plain Python data plus a map from key path to line number.

Why not ``yaml.safe_load``: error messages must name the line of a bad field, duplicate keys
must be an error rather than silently overwritten, and a hostile file must not exhaust memory.
So the file is size-capped, anchors/aliases (the "billion laughs" vector) are refused, only the
YAML core scalar tags are accepted, and nothing is ever executed. The data is built straight from
the parser's event stream, so these limits stop a hostile file where it crosses them.

Two YAML 1.1 surprises are turned off, the YAML 1.2 way: ``14:30`` is the string ``"14:30"`` (not
the base-60 integer 870), and ``1e3`` is the float 1000.0 (not a string).
"""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any

import yaml

from ..errors import SceneError

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_SHOWN_CHARS = 80  # a received value longer than this is cut in messages (a hostile file may hold MiBs)


def shorten(value: Any) -> str:
    """``repr(value)``, cut to MAX_SHOWN_CHARS; None is shown as YAML's ``null``."""
    text = "null" if value is None else repr(value)
    if len(text) > MAX_SHOWN_CHARS:
        text = text[:MAX_SHOWN_CHARS - 15] + f"... ({len(text)} chars)"
    return text
MAX_NODES = 600_000
#: Scenes nest about six levels deep; far deeper input is hostile or broken.
MAX_DEPTH = 64

KeyPath = tuple[str | int, ...]
_SCALAR_CONSTRUCTORS = {
    "tag:yaml.org,2002:null", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float", "tag:yaml.org,2002:str",
}
_SEXAGESIMAL_TAGS = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
# YAML 1.2 floats that YAML 1.1 reads as strings: 1e3, 2.5e-4, 1.0e7 (1.1 wants a dot and a signed exponent).
_FLOAT_12 = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+")
# libyaml's parser is several times faster than the pure-Python one; both yield the same events.
_EventLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def format_key_path(path: KeyPath) -> str:
    """``('stations', 2, 'to')`` -> ``'stations[2].to'``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


class YamlSource:
    """Parsed YAML data with the line (1-based) of every key path."""

    def __init__(self, data: Any, lines: dict[KeyPath, int], path: str) -> None:
        self.data = data
        self.lines = lines
        self.path = path

    def line_of(self, key_path: KeyPath) -> int | None:
        """Line of ``key_path``, or of its nearest ancestor that has one."""
        key_path = tuple(key_path)
        while key_path:
            if key_path in self.lines:
                return self.lines[key_path]
            key_path = key_path[:-1]
        return self.lines.get(())

    def error(self, key_path: KeyPath, message: str) -> SceneError:
        """A SceneError that names this file, the line and the key path."""
        return SceneError(message, path=self.path, line=self.line_of(key_path),
                          key=format_key_path(key_path) or None)


def read_yaml(path: str | Path) -> YamlSource:
    """Read and parse ``path``; raise SceneError naming file, line and column on any problem."""
    path = Path(path)
    shown = str(path)
    try:
        if path.is_dir():
            raise SceneError("is a directory, not a scene file", path=shown)
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            # a device (/dev/zero never ends), a pipe (blocks until written) or a socket
            raise SceneError("is not a regular file (a device, pipe or socket); give a scene file", path=shown)
        if info.st_size > MAX_FILE_BYTES:
            raise SceneError(f"file is {info.st_size} bytes; scene files are limited to {MAX_FILE_BYTES}", path=shown)
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)  # bounded even if the file grows meanwhile
        if len(raw) > MAX_FILE_BYTES:
            raise SceneError(f"file is larger than {MAX_FILE_BYTES} bytes, the limit for scene files", path=shown)
    except FileNotFoundError:
        raise SceneError("no such file", path=shown) from None
    except OSError as exc:
        raise SceneError(f"cannot read file: {exc.strerror}", path=shown) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SceneError(f"not UTF-8 text (bad byte at offset {exc.start})", path=shown) from None
    return parse_yaml_text(text, shown)


def parse_yaml_text(text: str, shown: str = "<string>") -> YamlSource:
    """Parse YAML text (see :func:`read_yaml`)."""
    builder = _Builder(shown)
    try:
        data = builder.build(yaml.parse(text, Loader=_EventLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        start = exc.context_mark
        if exc.problem and exc.context and start is not None and mark is not None and start.line != mark.line:
            # where the construct that was never closed began (an open quote or bracket, usually)
            problem += f" ({exc.context} from line {start.line + 1}, column {start.column + 1})"
        raise SceneError(f"malformed YAML: {problem}", path=shown, line=line,
                         column=mark.column + 1 if mark else None) from None
    except yaml.reader.ReaderError as exc:
        # Not a MarkedYAMLError: it carries a character offset instead of a line.
        line = text.count("\n", 0, exc.position) + 1
        char = exc.character if isinstance(exc.character, int) else ord(exc.character[:1] or "\0")
        raise SceneError(f"malformed YAML: character U+{char:04X} is not allowed in YAML text",
                         path=shown, line=line) from None
    except UnicodeEncodeError as exc:
        # Only text handed in as str can hold these (libyaml re-encodes it to UTF-8).
        line = text.count("\n", 0, exc.start) + 1
        raise SceneError(f"not valid Unicode text (lone surrogate U+{ord(text[exc.start]):04X})",
                         path=shown, line=line) from None
    except yaml.YAMLError as exc:
        raise SceneError(f"malformed YAML: {exc}", path=shown) from None
    if data is _NOTHING:
        raise SceneError("file is empty; a scene starts with 'version: 1'", path=shown)
    return YamlSource(data, builder.lines, shown)


_NOTHING = object()
_NO_KEY = object()


class _Frame:
    """An open mapping or sequence while its events stream in."""

    __slots__ = ("value", "path", "key")

    def __init__(self, value: dict | list, path: KeyPath) -> None:
        self.value = value
        self.path = path
        self.key: Any = _NO_KEY  # mappings: the key whose value comes next


class _Builder:
    """Build plain data straight from parser events.

    Working on the event stream rather than a composed node graph is what makes hostile files
    fail fast: an alias is refused the moment it appears (before a "billion laughs" document is
    read further), the node and depth limits stop the parse where they are crossed rather than
    after an 8 MiB tree is in memory, and nesting costs no Python recursion.
    """

    def __init__(self, shown: str) -> None:
        self.shown = shown
        self.lines: dict[KeyPath, int] = {}
        self.nodes = 0
        self.loader = yaml.SafeLoader("")

    def _fail(self, event: yaml.Event, message: str, where: KeyPath | None = None) -> SceneError:
        mark = event.start_mark
        return SceneError(message, path=self.shown, line=mark.line + 1, column=mark.column + 1,
                          key=format_key_path(where) if where else None)

    def build(self, events) -> Any:
        root: Any = _NOTHING
        stack: list[_Frame] = []
        documents = 0
        for event in events:
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise self._fail(event, "a scene file holds one YAML document; found a second one")
                continue
            if isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                stack.pop()
                continue
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
                raise self._fail(event, "YAML anchors and aliases are not supported in scene files")
            if not isinstance(event, yaml.NodeEvent):
                continue  # stream start/end, document end
            self.nodes += 1
            if self.nodes > MAX_NODES:
                raise self._fail(event, f"too many YAML nodes (limit {MAX_NODES})")
            parent = stack[-1] if stack else None
            if parent is not None and isinstance(parent.value, dict) and parent.key is _NO_KEY:
                parent.key = self._key(event, parent)
                continue
            if parent is None:
                path: KeyPath = ()
            elif isinstance(parent.value, dict):
                path = parent.path + (parent.key,)
            else:
                path = parent.path + (len(parent.value),)
            self.lines.setdefault(path, event.start_mark.line + 1)
            try:
                value = self._node(event)
            except SceneError as exc:  # a bad tag or scalar: name the key it is the value of
                if exc.key is None and path:
                    raise SceneError(exc.detail, path=exc.path, line=exc.line, column=exc.column,
                                     key=format_key_path(path)) from None
                raise
            if parent is None:
                root = value
            elif isinstance(parent.value, dict):
                parent.value[parent.key] = value
                parent.key = _NO_KEY
            else:
                parent.value.append(value)
            if isinstance(value, dict | list) and isinstance(event, yaml.CollectionStartEvent):
                if len(stack) >= MAX_DEPTH:
                    raise self._fail(event, f"YAML is nested too deeply (limit {MAX_DEPTH} levels)")
                stack.append(_Frame(value, path))
        return root

    def _node(self, event: yaml.NodeEvent) -> Any:
        """A scalar's value, or the empty container a collection start event opens."""
        if isinstance(event, yaml.ScalarEvent):
            return self._scalar(event)
        kind, tag = ((yaml.SequenceNode, "tag:yaml.org,2002:seq") if isinstance(event, yaml.SequenceStartEvent)
                     else (yaml.MappingNode, "tag:yaml.org,2002:map"))
        got = event.tag
        if got is None or got == "!":
            got = self.loader.resolve(kind, None, event.implicit)
        if got != tag:
            raise self._fail(event, f"unsupported YAML tag {got!r}")
        return [] if kind is yaml.SequenceNode else {}

    def _scalar(self, event: yaml.ScalarEvent) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
            # YAML 1.1 reads plain 14:30 as the base-60 integer 870; scene files mean clock times.
            if tag in _SEXAGESIMAL_TAGS and ":" in event.value:
                tag = "tag:yaml.org,2002:str"
            elif tag == "tag:yaml.org,2002:str" and event.implicit[0] and _FLOAT_12.fullmatch(event.value):
                tag = "tag:yaml.org,2002:float"
            elif tag == "tag:yaml.org,2002:timestamp":
                tag = "tag:yaml.org,2002:str"  # a plain 2024-01-01 is text (YAML 1.2 has no dates)
        if tag not in _SCALAR_CONSTRUCTORS:
            raise self._fail(event, f"unsupported YAML tag {tag!r}")
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            return self.loader.yaml_constructors[tag](self.loader, node)
        except (yaml.YAMLError, ValueError) as exc:
            reason = str(exc).split(";")[0]  # Python's int-size message goes on about sys settings
            raise self._fail(event, f"bad scalar {shorten(event.value)}: {reason}") from None

    def _key(self, event: yaml.NodeEvent, frame: _Frame) -> Any:
        if not isinstance(event, yaml.ScalarEvent):
            raise self._fail(event, "mapping keys must be plain scalars")
        if event.tag is None and event.implicit[0] and event.value == "<<":
            raise self._fail(event, "YAML merge keys ('<<') are not supported in scene files")
        key = self._scalar(event)
        if not isinstance(key, str):
            # Every key of the format is a field or an element name: 1, 1.5, yes, ~ are typos.
            raise self._fail(event, f"mapping keys must be strings, got {key!r}; "
                             f"quote it if you mean the name '{event.value}'")
        if key in frame.value:
            raise self._fail(event, f"duplicate key {key!r}", frame.path + (key,))
        self.lines[frame.path + (key,)] = event.start_mark.line + 1
        return key
