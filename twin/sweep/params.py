"""Apply parameter values to a scene by name, and validate the result as the scene loader does.

A parameter name is an element's name plus a field path: ``smt/oven_in.capacity``,
``smt/printer.process_time.mean``, ``smt/place2.failures.feeder_jam.mttr_s`` (list items by their
``name`` or by index), or ``sim.warmup_s`` for run settings. Values are written into the scene's
parsed YAML and the whole scene is validated again, so a bad value gets the scene's own message
(and cross-references, such as a photo-eye beyond its conveyor's end, are checked too).
"""

from __future__ import annotations

import copy
import difflib
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..errors import SceneError, UsageError
from ..scene.loader import _find_model, scene_from_source
from ..scene.models import Scene, SimSettings
from ..scene.yaml_source import YamlSource, read_yaml

__all__ = ["SceneTemplate"]

#: Run settings that a sweep must not vary: the replication seeds come from the sweep itself.
FIXED = {"sim.seed": "the seeds are the sweep's (replication i uses seed + i); use --seed",
         "sim.until": "every configuration runs for the sweep's run length; use --until"}


def _did_you_mean(word: str, options: list[str], n: int = 1) -> str:
    close = difflib.get_close_matches(word, options, n=n, cutoff=0.5)
    return f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def _element_sections() -> dict[str, type[BaseModel]]:
    """Scene sections that are lists of named items, and their item model."""
    out = {}
    for section, info in Scene.model_fields.items():
        if typing.get_origin(info.annotation) is list:
            model = _find_model(info.annotation)
            if model is not None and "name" in model.model_fields:
                out[section] = model
    return out


class SceneTemplate:
    """A scene's parsed YAML, from which configured scenes are built.

    Args:
        source: the scene file's parsed YAML (line numbers are kept for messages).
    """

    def __init__(self, source: YamlSource) -> None:
        self.source = source
        self.base = scene_from_source(source)
        self._sections = _element_sections()

    @classmethod
    def from_path(cls, path: str | Path) -> SceneTemplate:
        return cls(read_yaml(path))

    @classmethod
    def from_scene(cls, scene: Scene, name: str = "<scene>") -> SceneTemplate:
        data = scene.model_dump(mode="json", by_alias=True, exclude_unset=True)
        return cls(YamlSource(data, {}, name))

    def element_names(self) -> list[str]:
        """Every named item a parameter can address, plus ``sim``."""
        names = ["sim"]
        for section in self._sections:
            names += [item.get("name") for item in self.source.data.get(section) or []
                      if isinstance(item, dict) and item.get("name")]
        return names

    def _fields_of(self, element: str) -> list[str]:
        if element == "sim":
            return list(SimSettings.model_fields)
        for section, model in self._sections.items():
            if any(isinstance(it, dict) and it.get("name") == element for it in self.source.data.get(section) or []):
                return list(model.model_fields)
        return []

    def resolve(self, name: str) -> tuple[tuple, type[BaseModel] | None]:
        """The key path of parameter ``name`` in the scene data, and the model of its last container.

        Raises:
            UsageError: naming the unknown element or field, with a suggestion and what is valid.
        """
        if name in FIXED:
            raise UsageError(f"{name} cannot be swept: {FIXED[name]}")
        head, dot, rest = name.partition(".")
        if not dot or not rest:
            raise UsageError(f"parameter {name!r}: expected ELEMENT.FIELD, e.g. 'smt/oven_in.capacity' or "
                             "'sim.warmup_s'")
        if head == "sim":
            path, model = ("sim",), SimSettings
        else:
            found = None
            for section, item_model in self._sections.items():
                for i, item in enumerate(self.source.data.get(section) or []):
                    if isinstance(item, dict) and item.get("name") == head:
                        found = ((section, i), item_model)
                        break
                if found:
                    break
            if found is None:
                valid = self.element_names()
                field = rest.split(".")[0]
                fits = [n for n in valid if field in self._fields_of(n)]  # suggest elements with that field
                raise UsageError(f"parameter {name!r}: no element named {head!r} in the scene."
                                 f"{_did_you_mean(head, fits or valid, n=3)} Valid: {valid}")
            path, model = found
        fields = rest.split(".")
        node: Any = _get(self.source.data, path)
        for k, part in enumerate(fields):
            last = k == len(fields) - 1
            if isinstance(node, list):  # a list of named items (failures, photo_eyes) or any list
                names = [it.get("name") for it in node if isinstance(it, dict)]
                if part in names:
                    key: Any = names.index(part)
                elif part.isdigit() and int(part) < len(node):
                    key = int(part)
                else:
                    raise UsageError(f"parameter {name!r}: no item {part!r} in {'.'.join(fields[:k])}."
                                     f"{_did_you_mean(part, [n for n in names if n])} "
                                     f"Valid: {[n for n in names if n] or list(range(len(node)))}")
                path += (key,)
                node = node[key]
                continue
            if model is not None:
                valid = [f for f in model.model_fields if f != "name"]
                if part not in model.model_fields or part == "name":
                    what = ".".join([head, *fields[:k]])
                    raise UsageError(f"parameter {name!r}: {what} has no field {part!r}."
                                     f"{_did_you_mean(part, valid)} Valid: {valid}")
                model = _find_model(model.model_fields[part].annotation)
            if not last and isinstance(node, dict) and part in node and not isinstance(node[part], dict | list):
                raise UsageError(f"parameter {name!r}: {'.'.join([head, *fields[:k + 1]])} is {node[part]!r} in "
                                 f"the scene, not a mapping; set {'.'.join([head, *fields[:k + 1]])} itself")
            path += (part,)
            node = node.get(part) if isinstance(node, dict) else None
        return path, model

    def build(self, overrides: dict[str, Any]) -> Scene:
        """The scene with ``overrides`` ({parameter name: value}) applied and validated.

        Raises:
            UsageError: a value the scene rejects, naming the parameter(s) and the scene's message.
        """
        if not overrides:
            return self.base
        data = copy.deepcopy(self.source.data)
        for name, value in overrides.items():
            path, _ = self.resolve(name)
            _set(data, path, value)
        try:
            return scene_from_source(YamlSource(data, self.source.lines, self.source.path))
        except SceneError as exc:
            shown = ", ".join(f"{k}={v!r}" for k, v in overrides.items())
            raise UsageError(f"{shown}: the scene rejects this value: {exc.detail}") from None


def _get(data: Any, path: tuple) -> Any:
    for key in path:
        data = data[key]
    return data


def _set(data: Any, path: tuple, value: Any) -> None:
    for key in path[:-1]:
        if isinstance(data, dict) and key not in data:
            data[key] = {}
        data = data[key]
    data[path[-1]] = value
