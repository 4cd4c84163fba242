"""Trigger options: the one definition every door derives from.

:class:`TriggerOptions` names each option once, with its Python type; each field's
metadata (:class:`OptionField`) holds its parser and its JSON Schema. From these come:
the keywords ``Task.trigger`` takes and how it checks them, the fields the HTTP server
accepts and its 422s, the JSON the Python client sends, the ``TriggerOptions`` schema
of the OpenAPI document and the ``switchyard trigger`` flags. Adding an option here
adds it everywhere (tests/test_trigger_options.py checks that nothing lags behind).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Protocol, TypedDict

from switchyard.core.durations import DurationLike
from switchyard.core.errors import InvalidOptionError
from switchyard.core.option_values import (
    DURATION,
    MAX_NAME,
    MAX_SECONDS,
    MOMENT,
    J,
    duration,
    fields_of,
    json_object,
    moment,
    number,
    positive_duration,
    queue_name,
    strings,
    strings_schema,
    text,
    whole,
)
from switchyard.core.retry import RetryPolicy

MAX_TAGS = 10
MAX_TAG_LENGTH = 128
MAX_ATTEMPTS = 10_000
MAX_KEY = 512
"""Longest idempotency key (or part of one) and debounce key."""
MAX_KEY_PARTS = 20
RETRY_FIELDS = tuple(f.name for f in fields(RetryPolicy))
DEBOUNCE_FIELDS = ("key", "delay", "mode")
DEBOUNCE_MODES = ("trailing", "leading")
_OPTION = "switchyard.option"


@dataclass(frozen=True, slots=True)
class OptionField:
    """How one trigger option is read and described.

    ``parse(value, name)`` takes the value as Python code or JSON gives it and returns
    it checked, or raises :class:`InvalidOptionError` naming ``name``; ``schema`` is the
    JSON Schema of its JSON form; ``flag`` is the ``switchyard trigger`` flag's kind:
    ``"text"`` (given as is), ``"json"`` (parsed as JSON), ``"int"``, ``"many"``
    (repeatable) or ``None`` for no flag.
    """

    parse: Callable[[Any, str], Any]
    schema: J
    flag: str | None = "text"
    help: str = ""


def _retry(value: Any, name: str) -> dict[str, Any]:
    if isinstance(value, RetryPolicy):
        value = value.to_json()
    fields_of(value, name, RETRY_FIELDS)
    out: dict[str, Any] = {}
    for key, item in value.items():
        where = f"{name}.{key}"
        if key == "max_attempts":
            out[key] = whole(1, MAX_ATTEMPTS)(item, where)
        elif key == "factor":
            if isinstance(item, bool) or not isinstance(item, int | float) or not 1 <= item <= 1000:
                raise InvalidOptionError(where, item, "a number from 1 to 1000")
            out[key] = float(item)
        elif key == "randomize":
            if not isinstance(item, bool):
                raise InvalidOptionError(where, item, "true or false")
            out[key] = item
        else:
            out[key] = duration(item, where)
    low = out.get("min_timeout", 1.0)
    if out.get("max_timeout", max(60.0, low)) < low:
        high = out["max_timeout"]
        raise InvalidOptionError(f"{name}.max_timeout", high, f">= min_timeout ({low})")
    return out


def _debounce(value: Any, name: str) -> dict[str, Any]:
    fields_of(value, name, DEBOUNCE_FIELDS)
    mode = value.get("mode", "trailing")
    if mode not in DEBOUNCE_MODES:
        raise InvalidOptionError(f"{name}.mode", mode, "'trailing' or 'leading'")
    return {
        "key": text(value.get("key"), f"{name}.key", MAX_KEY),
        "delay": positive_duration(value.get("delay"), f"{name}.delay"),
        "mode": mode,
    }


def parse_debounce(value: Any) -> tuple[str, str, float]:
    """``{"key": str, "delay": duration, "mode": "trailing" | "leading"}`` → its parts."""
    checked = _debounce(value, "debounce")
    return checked["mode"], checked["key"], checked["delay"]


def _option(
    parse: Callable[[Any, str], Any], schema: J, help: str, flag: str | None = "text"
) -> dict[str, OptionField]:
    """The metadata of a :class:`TriggerOptions` field: its :class:`OptionField`."""
    return {_OPTION: OptionField(parse, {**schema, "description": help}, flag, help)}


_NAME_SCHEMA: J = {"type": "string", "minLength": 1, "maxLength": MAX_NAME}
_RETRY_SCHEMA: J = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "max_attempts": {"type": "integer", "minimum": 1, "maximum": MAX_ATTEMPTS},
        "factor": {"type": "number", "minimum": 1, "maximum": 1000},
        "min_timeout": DURATION,
        "max_timeout": DURATION,
        "randomize": {"type": "boolean"},
    },
}
_DEBOUNCE_SCHEMA: J = {
    "type": "object",
    "additionalProperties": False,
    "required": ["key", "delay"],
    "properties": {
        "key": {"type": "string", "minLength": 1, "maxLength": MAX_KEY},
        "delay": {**DURATION, "description": "The window; above zero."},
        "mode": {"type": "string", "enum": list(DEBOUNCE_MODES), "default": "trailing"},
    },
}


@dataclass(frozen=True, slots=True)
class TriggerOptions:
    """Per-trigger options; ``None`` means "use the task's or the config's default".

    Build it from what a caller gave with :meth:`parse` (every value checked); the
    constructor takes values as they are.
    """

    delay: DurationLike | dt.datetime | None = field(
        default=None,
        metadata=_option(
            moment, MOMENT, "Start no earlier than this: a duration from now, or a datetime."
        ),
    )
    ttl: DurationLike | None = field(
        default=None,
        metadata=_option(duration, DURATION, "Expire if not started within this (a duration)."),
    )
    priority: float = field(
        default=0.0,
        metadata=_option(
            number,
            {"type": "number", "minimum": 0, "maximum": MAX_SECONDS},
            "Seconds ahead of runs queued earlier.",
        ),
    )
    tags: str | Sequence[str] | None = field(
        default=None,
        metadata=_option(
            strings(MAX_TAGS, MAX_TAG_LENGTH),
            strings_schema(MAX_TAGS, MAX_TAG_LENGTH),
            f"Up to {MAX_TAGS} tags of 1-{MAX_TAG_LENGTH} characters.",
            flag="many",
        ),
    )
    metadata: Mapping[str, Any] | None = field(
        default=None,
        metadata=_option(
            json_object, {"type": "object"}, "A JSON object the run carries.", flag="json"
        ),
    )
    max_attempts: int | None = field(
        default=None,
        metadata=_option(
            whole(1, MAX_ATTEMPTS),
            {"type": "integer", "minimum": 1, "maximum": MAX_ATTEMPTS},
            "Attempts including the first.",
            flag="int",
        ),
    )
    retry: Mapping[str, Any] | None = field(
        default=None,
        metadata=_option(
            _retry, _RETRY_SCHEMA, f"Retry policy: {', '.join(RETRY_FIELDS)}.", flag="json"
        ),
    )
    max_duration: DurationLike | None = field(
        default=None,
        metadata=_option(duration, DURATION, "Fail an attempt that runs longer than this."),
    )
    queue: str | None = field(
        default=None,
        metadata=_option(queue_name, _NAME_SCHEMA, "Queue name (default: the task's own)."),
    )
    concurrency_key: str | None = field(
        default=None,
        metadata=_option(
            text, _NAME_SCHEMA, "Limit concurrency per value of this key, within the queue."
        ),
    )
    idempotency_key: str | Sequence[str] | None = field(
        default=None,
        metadata=_option(
            strings(MAX_KEY_PARTS, MAX_KEY, min_items=1),
            strings_schema(MAX_KEY_PARTS, MAX_KEY, min_items=1),
            "Triggering again with the key returns the same run.",
        ),
    )
    idempotency_key_ttl: DurationLike | None = field(
        default=None,
        metadata=_option(duration, DURATION, "How long the idempotency key holds (default 30d)."),
    )
    debounce: Mapping[str, Any] | None = field(
        default=None,
        metadata=_option(
            _debounce,
            _DEBOUNCE_SCHEMA,
            "Collapse triggers with one key within `delay` into one run: 'trailing' runs "
            "once after the burst with the last payload, 'leading' runs the first.",
            flag="json",
        ),
    )

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | None, where: str | None = "options") -> TriggerOptions:
        """Options from a mapping of name to value (JSON or Python), each one checked.

        Errors name the field as ``{where}.{name}`` (just ``name`` when ``where`` is
        None); an unknown name is an :class:`UnknownOptionError` listing the known.
        """
        if raw is None:
            return cls()
        fields_of(raw, where or "trigger options", OPTION_NAMES)
        values = {
            key: option_field(key).parse(value, f"{where}.{key}" if where else key)
            for key, value in raw.items()
            if value is not None
        }
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        """The options as the HTTP API takes them; defaults left out."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None and value != f.default:
                out[f.name] = json_value(value)
        return out


OPTION_NAMES: tuple[str, ...] = tuple(f.name for f in fields(TriggerOptions))
"""Every trigger option, in the order of :class:`TriggerOptions`."""
_FIELDS = {f.name: f.metadata[_OPTION] for f in fields(TriggerOptions)}


def option_field(name: str) -> OptionField:
    """The parser and schema of the option ``name``."""
    return _FIELDS[name]  # type: ignore[no-any-return]


def options_schema() -> J:
    """The JSON Schema of the options object (the OpenAPI ``TriggerOptions``)."""
    return {
        "type": "object",
        "additionalProperties": False,
        "description": "Every option of `Task.trigger`; left out, the task's or config's.",
        "properties": {name: dict(option_field(name).schema) for name in OPTION_NAMES},
    }


def options_json(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The options in ``raw`` checked (:meth:`TriggerOptions.parse`) and as JSON: the
    body the HTTP API takes. Only those given (and not None) are sent, so a batch item
    that sets ``priority=0`` still overrides the batch's priority."""
    parsed = TriggerOptions.parse(raw)
    return {k: json_value(getattr(parsed, k)) for k, v in raw.items() if v is not None}


def json_value(value: Any) -> Any:
    """An option's value as JSON: datetimes as ISO 8601, durations as seconds."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise InvalidOptionError("delay", value, "a timezone-aware datetime")
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return value


class NamedQueue(Protocol):
    """A ``switchyard.Queue`` as a trigger option: only its name counts."""

    @property
    def name(self) -> str:
        """The queue's name."""
        ...


class TriggerKwargs(TypedDict, total=False):
    """The keywords of ``Task.trigger``: :class:`TriggerOptions` as a type checker sees
    it (a TypedDict cannot be made from a dataclass statically; the names are checked
    against :data:`OPTION_NAMES` at import, below)."""

    delay: DurationLike | dt.datetime | None
    ttl: DurationLike | None
    priority: float
    tags: str | Sequence[str] | None
    metadata: Mapping[str, Any] | None
    max_attempts: int | None
    retry: Mapping[str, Any] | RetryPolicy | None
    max_duration: DurationLike | None
    queue: str | NamedQueue | None
    concurrency_key: str | None
    idempotency_key: str | Sequence[str] | None
    idempotency_key_ttl: DurationLike | None
    debounce: Mapping[str, Any] | None


if tuple(TriggerKwargs.__annotations__) != OPTION_NAMES:  # pragma: no cover - a dev's slip
    raise TypeError("TriggerKwargs must list the fields of TriggerOptions, in order")


def check_limit(limit: object, option: str = "concurrency_limit") -> int | None:
    """A concurrency limit: an integer >= 0, or None for no limit."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise InvalidOptionError(option, limit, "an integer >= 0, or None")
    return limit
