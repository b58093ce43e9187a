"""Scene files: typed models, a YAML loader with line-accurate errors, and reference checks."""

from .durations import parse_duration_s
from .loader import load_scene, load_scene_text, scene_from_data
from .models import Scene

__all__ = ["Scene", "load_scene", "load_scene_text", "scene_from_data", "parse_duration_s"]
