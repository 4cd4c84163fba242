"""JSON encoding of payloads, outputs and metadata, with a size limit."""

from __future__ import annotations

import json
from typing import Any

from pydantic_core import to_jsonable_python

from switchyard.core.errors import NotSerializableError, PayloadTooLargeError

DEFAULT_MAX_BYTES = 3 * 1024 * 1024


def dumps(value: Any, *, what: str = "value", limit: int = DEFAULT_MAX_BYTES) -> str:
    """Encode ``value`` (pydantic models, dataclasses, datetimes included) as JSON text."""
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        try:
            text = json.dumps(to_jsonable_python(value), separators=(",", ":"), ensure_ascii=False)
        except Exception as exc:
            raise NotSerializableError(
                f"{what} cannot be encoded as JSON ({exc}); return or pass dicts, lists, "
                "strings, numbers, booleans, None, pydantic models or dataclasses"
            ) from exc
    size = len(text.encode("utf-8")) if len(text) * 4 > limit else len(text)
    if size > limit:
        raise PayloadTooLargeError(what, size, limit)
    return text


def loads(text: str | None) -> Any:
    """Decode JSON text stored by :func:`dumps`; ``None`` stays ``None``."""
    return None if text is None else json.loads(text)
