"""JSON Schema of scene format v1, for editors and other tools.

The schema is generated from the pydantic models (:mod:`twin.scene.models`), so it cannot drift
from what the loader accepts, then adjusted where pydantic cannot see a rule:

- a bare number is accepted wherever a distribution is (the models' ``_constant_shorthand``), so
  ``Distribution`` becomes ``anyOf: [number >= 0, {dist: ...}]``; otherwise editors would flag
  ``process_time: 12.5``;
- calendar times are ``"HH:MM"`` strings (checked by a validator, invisible to pydantic's schema).

The schema is a first line of defence only: cross references, reachability and the other rules of
:mod:`twin.scene.resolve` need the loader (``twin.load_scene``).

Regenerate the shipped copy after changing a model::

    python -m twin.scene.schema      # rewrites twin/scene/scene.schema.json
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .models import Scene

__all__ = ["SCHEMA_ID", "SCHEMA_PATH", "scene_json_schema", "schema_text"]

SCHEMA_ID = "https://twin.dev/schema/scene-v1.json"
#: The copy shipped with the package (editors point at it; a test keeps it in sync).
SCHEMA_PATH = Path(__file__).with_name("scene.schema.json")
# parse_clock_s in durations.py accepts H:MM, HH:MM, HHH:MM, optionally with :SS.
_CLOCK_PATTERN = r"^\s*\d{1,3}:\d{2}(:\d{2})?\s*$"


def scene_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a scene file.

    Returns:
        A fresh dict, safe to modify; ``json.dumps`` of it is the content of ``scene.schema.json``.
    """
    schema = Scene.model_json_schema()
    defs = schema["$defs"]
    dist = defs["Distribution"]
    title, description = dist.pop("title"), dist.pop("description")
    defs["Distribution"] = {
        "title": title,
        "description": description,
        "anyOf": [
            {"type": "number", "minimum": 0,
             "description": "a constant: shorthand for {dist: constant, value: <number>}"},
            dist,
        ],
    }
    for key in ("start", "end"):
        defs["TimeWindow"]["properties"][key]["pattern"] = _CLOCK_PATTERN
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "title": "twin scene, format version 1",
        "description": ("A production line for the twin simulator: part types, sources, buffers, "
                        "conveyors, stations, diverters, merges, sinks and calendars. All quantities "
                        "are SI (m, s) unless the key says otherwise (period_h). Reference: "
                        "docs/scene-format.md."),
    }


def schema_text() -> str:
    """The schema as the shipped file holds it: indented, keys sorted, trailing newline."""
    return json.dumps(scene_json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    SCHEMA_PATH.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")
