"""Parse human durations ("8h", "30min", "90s", "1d", "1h30min", 3600) into seconds."""

from __future__ import annotations

import math
import re

_UNITS_S = {"ms": 1e-3, "s": 1.0, "sec": 1.0, "min": 60.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|sec|min|s|m|h|d)")


def parse_duration_s(value: str | float | int) -> float:
    """Return a non-negative, finite duration in seconds.

    Numbers are seconds. Strings are one or more ``<number><unit>`` parts with units
    ms, s, min (or m), h, d, e.g. ``"8h"``, ``"1h30min"``, ``"2.5d"``; a bare number string is seconds.

    Raises:
        ValueError: with the received value and the accepted forms.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a duration, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = str(value).strip().lower().replace(" ", "")
        try:
            seconds = float(text)
        except ValueError:
            pos = 0
            seconds = 0.0
            for match in _PART.finditer(text):
                if match.start() != pos:
                    break
                seconds += float(match.group(1)) * _UNITS_S[match.group(2)]
                pos = match.end()
            if pos != len(text) or not text:
                raise ValueError(
                    f"cannot read duration {value!r}; use seconds or a number with a unit "
                    "(ms, s, min, h, d), e.g. '8h', '30min', '1h30min', '28800'") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"duration must be finite and >= 0, got {value!r}")
    return seconds


def parse_clock_s(value: str | float | int) -> float:
    """Parse a time of day ``"HH:MM"`` or ``"HH:MM:SS"`` (``"24:00"`` allowed) into seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return parse_duration_s(value)
    match = re.fullmatch(r"(\d{1,3}):(\d{2})(?::(\d{2}))?", str(value).strip())
    if not match:
        raise ValueError(f"cannot read time of day {value!r}; use 'HH:MM', e.g. '06:00'")
    hours, minutes, secs = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
    if minutes >= 60 or secs >= 60:
        raise ValueError(f"bad time of day {value!r}: minutes and seconds must be < 60")
    return hours * 3600.0 + minutes * 60.0 + secs
