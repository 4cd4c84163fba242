"""The JSON rules, defined once, for every payload, output, metadata document and
token output, whichever door it comes through (HTTP, SDK, CLI, a task's return value).

A value is storable JSON when:

- its numbers are finite (JSON has no NaN or Infinity; ``1e999`` overflows to one);
- its strings and object keys are valid Unicode (no lone UTF-16 surrogates such as
  ``"\\ud800"``, which cannot be encoded as UTF-8) and contain no NUL (PostgreSQL text
  refuses it);
- it is nested at most :data:`MAX_DEPTH` levels;
- it is at most the size limit, as UTF-8 JSON text.

:func:`dumps` enforces all of it and raises :class:`InvalidJSONValueError` naming the
place (``$.items[3].name``), :class:`PayloadTooLargeError` or
:class:`NotSerializableError`. :func:`parse` decodes JSON from outside (request
bodies, ``--data``) by the same rules. :func:`loads` reads stored text back and turns
the non-finite numbers of rows written before these rules into ``null``.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from pydantic_core import to_jsonable_python

from switchyard.core.errors import (
    InvalidJSONValueError,
    NotSerializableError,
    PayloadTooLargeError,
)

DEFAULT_MAX_BYTES = 3 * 1024 * 1024
MAX_DEPTH = 256
"""Deepest nesting of arrays and objects a value may have (``[[1]]`` is 2 levels)."""

_ADVICE = {
    "number": "JSON has no NaN or Infinity: send a finite number, a string or null",
    "surrogate": "strings must be valid Unicode: fix the text's encoding, or send binary "
    "data base64-encoded",
    "nul": "NUL cannot be stored (PostgreSQL refuses it): remove it, or send binary data "
    "base64-encoded",
    "depth": f"values may nest at most {MAX_DEPTH} levels of arrays and objects: flatten "
    "the structure",
}

# In encoded text, NUL appears as this escape (json.dumps escapes control characters).
_NUL_ESCAPE = "\\u0000"
_CONTAINERS = (dict, list, tuple)

# Escapes that decode to NUL or a surrogate (pairs included): seen only after a fast
# substring search for a backslash-u, and a match only means "walk to be sure".
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
# The UTF-8 lead byte of U+D000-U+DFFF: json.loads lets encoded surrogates through.
_SURROGATE_LEAD = b"\xed"


class _Overflow(ValueError):
    pass


def _finite_float(text: str) -> float:
    number = float(text)
    if number - number != 0:  # inf - inf is NaN; this is the one cheap test for both
        raise _Overflow(text)
    return number


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _encode(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def dumps(value: Any, *, what: str = "value", limit: int = DEFAULT_MAX_BYTES) -> str:
    """Encode ``value`` (pydantic models, dataclasses, datetimes included) as JSON text
    that follows the rules of this module; ``what`` names the value in errors.

    One pass of ``json.dumps`` does the work; the text is then checked cheaply (a
    substring search for NUL, UTF-8 encoding for surrogates, a bracket count before
    any depth walk), and the value is walked to name the culprit only on a failure.
    """
    plain = value
    try:
        text = _encode(value)
    except (TypeError, ValueError, RecursionError):
        # Not plain JSON types, a non-finite number, a cycle, or very deep nesting:
        # name the culprit if it breaks a rule, else retry as pydantic would dump it.
        check(value, what=what)
        try:
            plain = to_jsonable_python(value)
            check(plain, what=what)  # a model's field may hold the NaN
            text = _encode(plain)
        except InvalidJSONValueError:
            raise
        except Exception as exc:
            raise _not_serializable(what, exc) from exc
    if text.isascii():
        size = len(text)
    else:
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError:  # a lone surrogate somewhere
            check(plain, what=what)
            raise  # pragma: no cover - check() always finds it
    if size > limit:
        raise PayloadTooLargeError(what, size, limit)
    if _NUL_ESCAPE in text:
        check(plain, what=what)  # or a false alarm: a backslash typed before "u0000"
    # Deeper than MAX_DEPTH takes more brackets than that; only then walk for depth.
    if text.count("[") + text.count("{") > MAX_DEPTH and _too_deep(plain, MAX_DEPTH):
        check(plain, what=what)
    return text


def _too_deep(value: Any, max_depth: int) -> bool:
    # Level by level, visiting containers only: the cheapest walk that answers it.
    level = [value] if isinstance(value, _CONTAINERS) else []
    depth = 0
    while level:
        depth += 1
        if depth > max_depth:
            return True
        deeper: list[Any] = []
        for item in level:
            for child in item.values() if isinstance(item, dict) else item:
                if isinstance(child, _CONTAINERS):
                    deeper.append(child)
        level = deeper
    return False


def _not_serializable(what: str, exc: BaseException) -> NotSerializableError:
    return NotSerializableError(
        f"{what} cannot be encoded as JSON ({exc}); return or pass dicts, lists, "
        "strings, numbers, booleans, None, pydantic models or dataclasses"
    )


def check(value: Any, *, what: str = "value", max_depth: int | None = MAX_DEPTH) -> None:
    """Raise :class:`InvalidJSONValueError` for the first value (in document order)
    that breaks the rules; ``max_depth=None`` leaves depth unchecked.

    ``value`` holds plain JSON types (dict, list/tuple, str, int, float, bool, None);
    anything else is left to the encoder to refuse.
    """
    found = _violation(value, max_depth)
    if found is not None:
        path, problem, kind = found
        raise InvalidJSONValueError(what, _format_path(path), problem, _ADVICE[kind])


def is_valid(value: Any, *, max_depth: int | None = MAX_DEPTH) -> bool:
    """Whether ``value`` follows the rules (without encoding it)."""
    return _violation(value, max_depth) is None


def parse(raw: bytes | str, *, what: str = "the request body") -> Any:
    """Decode JSON from outside (UTF-8/16/32 bytes, or text) by the rules above, but
    without a depth limit: the document wraps the values :func:`dumps` limits later.

    Raises ``ValueError`` (``json.JSONDecodeError`` among them) for text that is not
    JSON, ``NaN`` and ``Infinity`` included, and :class:`InvalidJSONValueError` naming
    the place for a value the rules refuse (``1e999``, a lone surrogate, NUL). Ordinary
    documents cost a float check per number and two substring searches; the decoded
    value is walked only when something suspicious is there.
    """
    try:
        value = json.loads(raw, parse_constant=_no_constant, parse_float=_finite_float)
    except _Overflow:
        value = json.loads(raw, parse_constant=_no_constant)
        check(value, what=what, max_depth=None)
        raise  # pragma: no cover - check() always finds it
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if (
        json.detect_encoding(data) != "utf-8"
        or _SURROGATE_LEAD in data
        or (b"\\u" in data and _SUSPECT_ESCAPE.search(data))
    ):
        check(value, what=what, max_depth=None)
    return value


def _string_problem(text: str, role: str) -> tuple[str, str] | None:
    if "\x00" in text:
        return f"{role} contains NUL (\\u0000)", "nul"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = text[exc.start]
        return (
            f"{role} contains a lone surrogate (\\u{ord(bad):04x}) at character {exc.start}",
            "surrogate",
        )
    return None


def _number_problem(number: float) -> tuple[str, str] | None:
    if math.isfinite(number):
        return None
    if math.isnan(number):
        return "the number NaN", "number"
    sign = "" if number > 0 else "-"
    return f"the number {sign}Infinity (or a number too large for a float, like 1e999)", ("number")


def _violation(value: Any, max_depth: int | None) -> tuple[list[Any], str, str] | None:
    # Iterative, so a value nested deeper than Python's stack is reported, not a crash.
    stack: list[tuple[Any, list[Any]]] = [(value, [])]
    while stack:
        item, path = stack.pop()
        found: tuple[str, str] | None = None
        if isinstance(item, str):
            found = _string_problem(item, "the string")
        elif isinstance(item, float):
            found = _number_problem(item)
        elif isinstance(item, dict | list | tuple):
            if max_depth is not None and len(path) >= max_depth:
                return path, f"nesting deeper than {max_depth} levels", "depth"
            children: list[tuple[Any, list[Any]]] = []
            if isinstance(item, dict):
                for key, child in item.items():
                    if isinstance(key, str):
                        found = _string_problem(key, "the key")
                    elif isinstance(key, float):
                        found = _number_problem(key)
                    if found is not None:
                        return [*path, key], found[0], found[1]
                    children.append((child, [*path, key]))
            else:
                children = [(child, [*path, i]) for i, child in enumerate(item)]
            stack.extend(reversed(children))  # document order: first child on top
        if found is not None:
            return path, found[0], found[1]
    return None


_PATH_STEPS = 4
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _format_path(path: list[Any]) -> str:
    """``$.items[3].name``; keys that are not identifiers as ``$["a b"]``; a very long
    path (deep nesting) keeps its first and last steps: ``$[0][0][0][0]…[0][0]``."""
    parts = ["$"]
    for n, step in enumerate(path):
        if len(path) > _PATH_STEPS * 2 and n == _PATH_STEPS:
            parts.append("…")
        if len(path) > _PATH_STEPS * 2 and _PATH_STEPS <= n < len(path) - _PATH_STEPS:
            continue
        if isinstance(step, int) and not isinstance(step, bool):
            parts.append(f"[{step}]")
        elif isinstance(step, str) and _NAME.match(step):
            parts.append(f".{step}")
        else:
            parts.append(f"[{json.dumps(str(step))}]")
    return "".join(parts)


def _non_finite_as_null(name: str) -> None:
    return None


def loads(text: str | None) -> Any:
    """Decode stored JSON text; ``None`` stays ``None``.

    Rows written before the rules above may hold ``NaN``/``Infinity``: they read as
    ``null``, so every read (API, dashboard, CLI) can answer with standard JSON.
    """
    if text is None:
        return None
    return json.loads(text, parse_constant=_non_finite_as_null)
