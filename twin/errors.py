"""The one exception hierarchy of twin.

Every error a user can cause derives from :class:`TwinError`, so callers (and the CLI) can
catch one type, print its message and exit with a conventional code.
"""

from __future__ import annotations

__all__ = [
    "TwinError",
    "SceneError",
    "UsageError",
    "SimulationError",
    "DeadlockError",
    "SimulationDivergedError",
]


class TwinError(Exception):
    """Raised for any error twin reports to a user (base class)."""


class SceneError(TwinError):
    """Raised when a scene file cannot be read, parsed or validated.

    The message always names the file, and where known the line (and column) and the key path:
    ``file:line[:column]: key.path: message``.
    """

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 key: str | None = None, column: int | None = None) -> None:
        self.path = path
        self.line = line
        self.column = column
        self.key = key
        where = ""
        if path is not None:
            where = str(path)
            if line is not None:
                where += f":{line}"
                if column is not None:
                    where += f":{column}"
            where += ": "
        if key:
            where += f"{key}: "
        super().__init__(where + message)
        self.detail = message


class UsageError(TwinError):
    """Raised when a command-line argument or API argument has a bad value."""


class SimulationError(TwinError):
    """Raised when a simulation cannot continue (base class for run-time failures)."""


class DeadlockError(SimulationError):
    """Raised when parts wait in the line but no event can ever move them again."""

    def __init__(self, message: str, blocked: list[str]) -> None:
        super().__init__(message)
        self.blocked = blocked


class SimulationDivergedError(SimulationError):
    """Raised when the state breaks a physical invariant (a part off its conveyor, NaN time)."""
