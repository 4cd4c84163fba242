"""Parsing of human durations: ``30``, ``"30s"``, ``"5m"``, ``"1h30m"``, ``"2d"``, ``"1w"``.

An unparseable duration is always an error, never silently "forever".
"""

from __future__ import annotations

import datetime as dt
import re

from switchyard.core.errors import InvalidOptionError

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")

DurationLike = float | int | str | dt.timedelta


def parse_duration(value: DurationLike, *, option: str = "duration") -> float:
    """Seconds in ``value``; raise :class:`InvalidOptionError` saying how to write it."""
    if isinstance(value, bool):
        raise InvalidOptionError(option, value, "a number of seconds or a string like '5m'")
    if isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        if not text:
            raise InvalidOptionError(option, value, "a duration like '30s', '5m', '1h30m' or '2d'")
        try:
            seconds = float(text)
        except ValueError:
            pos = 0
            seconds = 0.0
            for match in _PART.finditer(text):
                if match.start() != pos:
                    break
                seconds += float(match.group(1)) * _UNITS[match.group(2)]
                pos = match.end()
            if pos != len(text):
                raise InvalidOptionError(
                    option, value, "a duration like '30s', '5m', '1h30m', '2d' or '1w'"
                ) from None
    else:
        raise InvalidOptionError(option, value, "a number of seconds or a string like '5m'")
    if seconds != seconds or seconds < 0 or seconds == float("inf"):
        raise InvalidOptionError(option, value, "a finite, non-negative duration")
    return seconds


def parse_optional_duration(value: DurationLike | None, *, option: str) -> float | None:
    """Like :func:`parse_duration` but ``None`` stays ``None``."""
    return None if value is None else parse_duration(value, option=option)
