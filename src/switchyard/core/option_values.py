"""The kinds of value trigger options take: each a parser and its JSON Schema.

A parser takes a value as Python code passes it (``timedelta``, ``datetime``, a
``Queue``) or as JSON brings it (``"30s"``, an ISO 8601 string) and returns it checked,
or raises :class:`~switchyard.core.errors.InvalidOptionError` naming the option, what
was wrong and what to write instead. The schemas say the same in JSON Schema, for the
OpenAPI document; tests check that what a schema allows, the parser takes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from switchyard.core.durations import parse_duration
from switchyard.core.errors import InvalidOptionError

J = dict[str, Any]

MAX_SECONDS = 100 * 365 * 86400.0
"""Durations (and priorities) are at most 100 years."""
MAX_NAME = 256
"""Longest queue name or concurrency key a trigger may give."""

# What the parsers take, as patterns (tests/test_security.py and tests/test_openapi.py
# check them against the parser: whatever matches is accepted). Durations: seconds, or
# units in the order w d h m s ms (lower case), with few enough digits to stay under
# 100 years.
_DECIMAL = r"(\.[0-9]{1,3})?"
DURATION_PATTERN = (
    r"^([0-9]{1,9}(\.[0-9]{1,6})?|"
    + "".join(
        f"([0-9]{{1,{digits}}}{_DECIMAL}{unit})?"
        for digits, unit in ((3, "w"), (4, "d"), (5, "h"), (6, "m"), (7, "s"), (9, "ms"))
    )
    + ")$"
)
DURATION_TEXT: J = {"type": "string", "minLength": 1, "pattern": DURATION_PATTERN}
DURATION: J = {
    "description": "A duration: seconds, or text like `30s`, `5m`, `1h30m`, `2d`, `1w` "
    "(at most 100 years).",
    "anyOf": [{"type": "number", "minimum": 0, "maximum": MAX_SECONDS}, DURATION_TEXT],
}
MOMENT: J = {
    "description": "Start no earlier than this: a duration from now, or an ISO 8601 "
    "datetime with an offset.",
    "anyOf": [*DURATION["anyOf"], {"type": "string", "format": "date-time"}],
}


def strings_schema(max_items: int, max_length: int, min_items: int = 0) -> J:
    """A string, or a list of ``min_items`` to ``max_items`` distinct strings (each
    1-``max_length`` long)."""
    one: J = {"type": "string", "minLength": 1, "maxLength": max_length}
    many: J = {"type": "array", "minItems": min_items, "maxItems": max_items}
    return {"anyOf": [one, {**many, "uniqueItems": True, "items": one}]}


# -- parsers ---------------------------------------------------------------------------------
def duration(value: Any, name: str) -> float:
    """A duration (``"30s"``, ``"1h30m"``, seconds, a ``timedelta``) of at most 100 years."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | dt.timedelta):
        raise InvalidOptionError(name, value, "a duration like '30s', '1h' or seconds")
    try:
        seconds = parse_duration(value, option=name)
    except OverflowError:  # an integer too large for a float
        seconds = MAX_SECONDS + 1
    if seconds > MAX_SECONDS:
        raise InvalidOptionError(name, value, "a duration of at most 100 years")
    return seconds


def positive_duration(value: Any, name: str) -> float:
    """A :func:`duration` above zero."""
    seconds = duration(value, name)
    if seconds <= 0:
        raise InvalidOptionError(name, value, "a duration above zero, like '5s'")
    return seconds


def moment(value: Any, name: str) -> dt.datetime | float:
    """A duration from now (seconds), or a datetime with a timezone (or ISO 8601 text)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise InvalidOptionError(
                name, value, "a timezone-aware datetime (datetime.now(timezone.utc), ...)"
            )
        return value
    if isinstance(value, str):
        text = value.strip()
        if len(text) >= 10 and text[4:5] == "-":
            try:
                when = dt.datetime.fromisoformat(text)
            except ValueError:
                raise InvalidOptionError(
                    name,
                    value,
                    "a duration like '30m' or an ISO 8601 datetime like 2030-01-31T12:00:00Z",
                ) from None
            if when.tzinfo is None:
                raise InvalidOptionError(name, value, "a datetime with an offset (Z, +02:00)")
            return when
    return duration(value, name)


def number(value: Any, name: str) -> float:
    """Seconds as a number (or duration text), 0 to 100 years: a priority."""
    return duration(value, name)


def whole(low: int, high: int) -> Any:
    """A parser of whole numbers from ``low`` to ``high``."""

    def parse(value: Any, name: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidOptionError(name, value, f"a whole number from {low} to {high}")
        return value

    return parse


def text(value: Any, name: str, max_length: int = MAX_NAME) -> str:
    """A string of 1 to ``max_length`` characters without NUL (returned as given)."""
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise InvalidOptionError(name, value, f"a string of 1 to {max_length} characters")
    if "\x00" in value:
        raise InvalidOptionError(name, value, "a string without NUL characters")
    return value


def strings(max_items: int, max_length: int, min_items: int = 0) -> Any:
    """A parser of a string or a list of ``min_items`` to ``max_items`` distinct strings."""

    def parse(value: Any, name: str) -> str | list[str]:
        if isinstance(value, str):
            return text(value, name, max_length)
        if isinstance(value, Sequence) and not isinstance(value, bytes):
            items = [text(v, f"{name}[{i}]", max_length) for i, v in enumerate(value)]
            if min_items <= len(set(items)) <= max_items:
                return items
        raise InvalidOptionError(
            name, value, f"a string or a list of {min_items} to {max_items} strings"
        )

    return parse


def json_object(value: Any, name: str) -> dict[str, Any]:
    """A JSON object (a dict with string keys); its values are checked when stored."""
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise InvalidOptionError(name, value, "a JSON object like {'source': 'api'}")
    return dict(value)


def queue_name(value: Any, name: str) -> str:
    """A queue: its name, or a ``switchyard.Queue`` (anything with a ``name``)."""
    named = getattr(value, "name", None)
    if not isinstance(value, str) and isinstance(named, str):
        value = named
    return text(value, name)


def fields_of(value: Any, name: str, known: Sequence[str]) -> Mapping[str, Any]:
    """``value`` as a mapping with only the ``known`` keys (a typo is never ignored)."""
    if not isinstance(value, Mapping):
        raise InvalidOptionError(name, value, f"an object with {', '.join(known)}")
    unknown = sorted(str(k) for k in set(value) - set(known))
    if unknown:
        raise UnknownOptionError(name, unknown, known)
    return value


class UnknownOptionError(InvalidOptionError):
    """Options nobody knows: a typo, or an option of a newer version."""

    def __init__(self, where: str, unknown: Sequence[str], known: Sequence[str]) -> None:
        import difflib

        hints = [
            f"{u} (did you mean {close[0]}?)" if close else u
            for u in unknown
            for close in [difflib.get_close_matches(u, known, n=1)]
        ]
        super().__init__(where, list(unknown), f"only {', '.join(known)}")
        # The message leads with what is wrong; the known names say what to write.
        self.args = (f"unknown field(s) in {where}: {', '.join(hints)}; known: {', '.join(known)}",)
        self.unknown = list(unknown)
        self.known = list(known)

    def __str__(self) -> str:
        return str(self.args[0])
