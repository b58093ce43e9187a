"""Read a YAML file into plain Python data plus a map from key path to line number.

Why not ``yaml.safe_load``: error messages must name the line of a bad field, duplicate keys
must be an error rather than silently overwritten, and a hostile file must not exhaust memory.
So the file is size-capped, anchors/aliases (the "billion laughs" vector) are refused, only the
YAML core scalar tags are accepted, and nothing is ever executed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..errors import SceneError

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_NODES = 2_000_000

KeyPath = tuple[str | int, ...]
_SCALAR_CONSTRUCTORS = {
    "tag:yaml.org,2002:null", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float", "tag:yaml.org,2002:str",
}


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
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SceneError(f"file is {size} bytes; scene files are limited to {MAX_FILE_BYTES}", path=shown)
        raw = path.read_bytes()
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
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        col = f", column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise SceneError(f"malformed YAML{col}: {problem}", path=shown, line=line) from None
    except yaml.YAMLError as exc:
        raise SceneError(f"malformed YAML: {exc}", path=shown) from None
    except RecursionError:
        raise SceneError("YAML is nested too deeply", path=shown) from None
    if root is None:
        raise SceneError("file is empty; a scene starts with 'version: 1'", path=shown)
    builder = _Builder(shown)
    try:
        data = builder.build(root, ())
    except RecursionError:
        raise SceneError("YAML is nested too deeply", path=shown) from None
    return YamlSource(data, builder.lines, shown)


class _Builder:
    def __init__(self, shown: str) -> None:
        self.shown = shown
        self.lines: dict[KeyPath, int] = {}
        self.seen: set[int] = set()
        self.loader = yaml.SafeLoader("")

    def _fail(self, node: yaml.Node, message: str) -> SceneError:
        col = node.start_mark.column + 1
        return SceneError(f"{message} (column {col})", path=self.shown, line=node.start_mark.line + 1)

    def build(self, node: yaml.Node, key_path: KeyPath) -> Any:
        if id(node) in self.seen:
            raise self._fail(node, "YAML anchors and aliases are not supported in scene files")
        self.seen.add(id(node))
        if len(self.seen) > MAX_NODES:
            raise self._fail(node, f"too many YAML nodes (limit {MAX_NODES})")
        self.lines.setdefault(key_path, node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            if node.tag not in _SCALAR_CONSTRUCTORS:
                raise self._fail(node, f"unsupported YAML tag {node.tag!r}")
            try:
                return self.loader.yaml_constructors[node.tag](self.loader, node)
            except (yaml.YAMLError, ValueError) as exc:
                raise self._fail(node, f"bad scalar {node.value!r}: {exc}") from None
        if isinstance(node, yaml.SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                raise self._fail(node, f"unsupported YAML tag {node.tag!r}")
            return [self.build(item, key_path + (i,)) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            if node.tag != "tag:yaml.org,2002:map":
                raise self._fail(node, f"unsupported YAML tag {node.tag!r}")
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise self._fail(key_node, "mapping keys must be plain scalars")
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise self._fail(key_node, "YAML merge keys ('<<') are not supported in scene files")
                key = self.build(key_node, key_path + ("<key>",))
                if not isinstance(key, str | int | float | bool) and key is not None:
                    raise self._fail(key_node, "mapping keys must be plain scalars")
                if key in out:
                    raise self._fail(key_node, f"duplicate key {key!r}")
                child = key_path + (key,)
                self.lines[child] = key_node.start_mark.line + 1
                out[key] = self.build(value_node, child)
            self.lines.pop(key_path + ("<key>",), None)
            return out
        raise self._fail(node, "unsupported YAML node")
