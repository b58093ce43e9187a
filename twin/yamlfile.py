"""Reading small YAML side files (users, mirror maps, sweep specs) with one clear error when they are bad."""

from __future__ import annotations

from pathlib import Path

from .errors import UsageError

__all__ = ["read_yaml_file"]


def read_yaml_file(path: str | Path, option: str):
    """The parsed content of ``path``; a :class:`UsageError` naming ``option`` and the file when it
    cannot be read or is not YAML (safe loader: no Python objects)."""
    import yaml

    path = Path(path)
    try:
        return yaml.safe_load(path.read_text())
    except OSError as exc:
        raise UsageError(f"{option}: cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{option}: {path} is not a UTF-8 text file") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{option}: {path} is not valid YAML: {str(exc).splitlines()[0]}") from None
