"""Load a scene file: YAML -> typed :class:`Scene` -> cross-reference checks.

Everything is validated before anything runs; the first problems are reported together, each
as ``file:line: key.path: what is wrong (got X). Did you mean 'Y'? Valid: [...]``.
"""

from __future__ import annotations

import difflib
import types
import typing
import warnings
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import SceneError
from .assets_path import candidates, scene_folder
from .models import Scene
from .resolve import check_references
from .yaml_source import KeyPath, YamlSource, format_key_path, parse_yaml_text, read_yaml
from .yaml_source import shorten as _short

__all__ = ["load_scene", "load_scene_text", "scene_from_data"]

MAX_REPORTED = 5


def load_scene(path: str | Path) -> Scene:
    """Read, validate and resolve the scene file at ``path``.

    Raises:
        SceneError: naming the file, line and key path of the first problems found.
    """
    return scene_from_source(read_yaml(path))


def load_scene_text(text: str, name: str = "<string>") -> Scene:
    """Like :func:`load_scene` for YAML text held in memory (``name`` appears in messages)."""
    return scene_from_source(parse_yaml_text(text, name))


def scene_from_data(data: dict, name: str = "<data>") -> Scene:
    """Validate already-parsed data (no line numbers available)."""
    return scene_from_source(YamlSource(data, {}, name))


def scene_from_source(src: YamlSource) -> Scene:
    if not isinstance(src.data, dict):
        raise src.error((), f"a scene must be a mapping with 'version: 1' at the top, got {_kind_of(src.data)}")
    if "version" not in src.data:
        raise src.error((), "missing 'version'; a scene starts with 'version: 1'")
    version = src.data["version"]
    # bool and float compare equal to 1 in Python; the format version is the integer 1 only.
    if type(version) is not int or version != 1:
        raise src.error(("version",), f"unsupported scene format version {_short(version)}; "
                        "this twin reads version 1")
    try:
        scene = Scene.model_validate(src.data)
    except ValidationError as exc:
        raise _scene_error(src, exc) from None
    check_references(scene, src)
    _resolve_meshes(scene, src)
    if any(st.robot_cell is not None for st in scene.stations):
        # imported here: only scenes with robot cells need the physics engine to load
        from ..physics.robot_cell import resolve_robot_cells

        scene = resolve_robot_cells(scene, src)
    if any(st.inspection is not None and st.inspection.vision is not None for st in scene.stations):
        from ..sensors.inspection import resolve_vision_inspections  # physics: only when asked for

        resolve_vision_inspections(scene)
    return scene


def _resolve_meshes(scene: Scene, src: YamlSource) -> None:
    """Find every fixture's mesh file (relative paths: from the scene file's folder) and read it;
    find every AGV fleet's URDF (next to the scene file, else in pybullet_data)."""
    base = scene_folder(src.path)
    for i, fx in enumerate(scene.fixtures):
        if fx.mesh is None:
            continue
        path = Path(fx.mesh).expanduser()
        path = path if path.is_absolute() else base / path
        if not path.is_file():
            kind = "is a directory, not a file" if path.is_dir() else "not found"
            raise src.error(("fixtures", i, "mesh"), f"mesh file {fx.mesh!r} {kind} (searched: {path})")
        from ..physics.assets import MeshFallbackWarning, load_mesh  # trimesh: only for scenes with meshes

        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", MeshFallbackWarning)
                load_mesh(str(path), fx.scale)
        except SceneError as exc:
            raise src.error(("fixtures", i, "mesh"), exc.detail) from None
        for w in caught:  # say where: the file, line and fixture the fallback is for
            where = src.error(("fixtures", i, "mesh"), str(w.message))
            warnings.warn(MeshFallbackWarning(str(where)), stacklevel=2)
        fx.__pydantic_private__["_mesh_path"] = str(path)
    for i, fleet in enumerate(scene.agv_fleets):
        if fleet.urdf is None:
            continue
        searched = candidates(fleet.urdf, src.path)
        found = next((c for c in searched if c.is_file()), None)
        if found is None:
            if any(c.is_dir() for c in searched):
                raise src.error(("agv_fleets", i, "urdf"), f"URDF {fleet.urdf!r} is a directory, not a file")
            raise src.error(("agv_fleets", i, "urdf"), f"URDF {fleet.urdf!r} not found "
                            f"(searched: {', '.join(str(c) for c in searched)})")
        from ..physics.world import World  # pybullet: only for fleets with a URDF body

        with World() as probe:  # load it once now, so that a bad file fails here and not mid-run
            try:
                probe.add_urdf("probe", str(found))
            except SceneError as exc:
                raise src.error(("agv_fleets", i, "urdf"), exc.detail) from None
        fleet.__pydantic_private__["_urdf_path"] = str(found)


def _scene_error(src: YamlSource, exc: ValidationError) -> SceneError:
    # A misspelt key shows up twice: as an unknown key and as a missing required one. Report the
    # unknown key first, because its "Did you mean" names the fix.
    # A wrong 'dist' (or other choice) explains the unknown keys that follow from it: it goes first.
    errors = sorted(exc.errors(include_url=False),
                    key=lambda e: (e["type"] != "literal_error", e["type"] != "extra_forbidden"))
    errors = _one_per_union(errors)
    lines = []
    first: tuple[KeyPath, str] | None = None
    for err in errors[:MAX_REPORTED]:
        loc = _clean_loc(err["loc"])
        message = _describe(err, loc)
        if first is None:
            first = (loc, message)
        line = src.line_of(loc)
        where = f"{src.path}:{line}" if line else src.path
        lines.append(f"{where}: {format_key_path(loc) or '<top>'}: {message}")
    more = len(errors) - MAX_REPORTED
    if more > 0:
        lines.append(f"... and {more} more problem(s)")
    loc, message = first
    err = src.error(loc, message)
    if len(lines) > 1:
        err.args = ("\n".join(lines),)
    return err


#: names pydantic gives the members of a union (``str | float``) in an error's location
_UNION_TAGS = {"str", "int", "float", "bool", "none", "constrained-str", "constrained-int", "constrained-float"}


def _clean_loc(loc: tuple) -> KeyPath:
    # pydantic inserts validator/union tags such as 'constant', 'str' or 'function-after[...]' into
    # loc; keep only the parts that are real keys of the YAML document.
    return tuple(p for p in loc if isinstance(p, int) or not (str(p).startswith("function-") or "[" in str(p)
                                                              or str(p) in _UNION_TAGS))


def _one_per_union(errors: list[dict]) -> list[dict]:
    """Of the errors a union field gives (one per member type: 'not a string', 'must be >= 0'),
    keep the ones that say more than 'wrong type' when there are any."""
    by_loc: dict[KeyPath, list[dict]] = {}
    for e in errors:
        by_loc.setdefault(_clean_loc(e["loc"]), []).append(e)
    keep = []
    for e in errors:
        group = by_loc[_clean_loc(e["loc"])]
        specific = [g for g in group if not g["type"].endswith("_type")]
        if len(group) > 1 and specific and e["type"].endswith("_type"):
            continue
        keep.append(e)
    return keep


def _describe(err: dict[str, Any], loc: KeyPath) -> str:
    kind = err["type"]
    msg = err["msg"]
    got = err.get("input")
    if kind == "extra_forbidden":
        key = loc[-1] if loc else "?"
        valid = sorted(_fields_at(loc[:-1]))
        hint = _did_you_mean(str(key), valid)
        return f"unknown key {_short(key)}.{hint} Valid keys: {valid}"
    if kind == "missing":
        return "required key is missing"
    if kind == "model_type":
        what = err.get("ctx", {}).get("class_name", "")
        if what == "Distribution":
            return ("expected a number (a constant) or a distribution mapping such as "
                    f"{{dist: exponential, mean: 30}} (got {_short(got)})")
        return f"expected a mapping of {what} keys (got {_short(got)})"
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    if kind in ("literal_error", "enum"):
        expected = err.get("ctx", {}).get("expected", "")
        options = [s.strip().strip("'") for s in expected.replace(" or ", ", ").split(",") if s.strip()]
        hint = _did_you_mean(str(got), options)
        return f"{msg} (got {_short(got)}).{hint}".rstrip(".")
    if not isinstance(got, dict | list):
        return f"{msg} (got {_short(got)})"
    return msg


def _kind_of(value: Any) -> str:
    """The YAML word for a parsed value's type (for 'expected a mapping, got ...')."""
    names = {type(None): "null (an empty document)", list: "a list", str: "a string", bool: "a boolean",
             int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)


def _did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


def _fields_at(loc: KeyPath) -> list[str]:
    """Names of the keys the model at ``loc`` accepts (for unknown-key suggestions)."""
    model: Any = Scene
    for part in loc:
        if isinstance(part, int):
            continue
        model = _model_of(model, part)
        if model is None:
            return []
    return list(model.model_fields) if isinstance(model, type) and issubclass(model, BaseModel) else []


def _model_of(model: Any, field: str) -> type[BaseModel] | None:
    if not (isinstance(model, type) and issubclass(model, BaseModel)) or field not in model.model_fields:
        return None
    return _find_model(model.model_fields[field].annotation)


def _find_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, typing.Annotated, dict) or origin is not None:
        for arg in typing.get_args(annotation):
            found = _find_model(arg)
            if found is not None:
                return found
    return None


