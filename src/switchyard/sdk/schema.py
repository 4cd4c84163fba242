"""Payload schemas: a pydantic model, a ``TypeAdapter``, or a plain validating callable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pydantic

from switchyard.core.errors import PayloadValidationError

SchemaLike = type[pydantic.BaseModel] | pydantic.TypeAdapter[Any] | Callable[[Any], Any]


class Schema:
    """Validates payloads for one task and describes them as JSON Schema."""

    def __init__(self, task_id: str, schema: SchemaLike) -> None:
        self.task_id = task_id
        self._adapter: pydantic.TypeAdapter[Any] | None
        self._fn: Callable[[Any], Any] | None
        if isinstance(schema, pydantic.TypeAdapter):
            self._adapter, self._fn = schema, None
        elif isinstance(schema, type) and issubclass(schema, pydantic.BaseModel):
            self._adapter, self._fn = pydantic.TypeAdapter(schema), None
        elif callable(schema):
            self._adapter, self._fn = None, schema
        else:
            raise TypeError(
                f"schema for task {task_id!r} must be a pydantic model, a TypeAdapter or a "
                f"callable, not {type(schema).__name__}"
            )

    def validate(self, payload: Any) -> Any:
        """The parsed payload; raises :class:`PayloadValidationError` with field errors."""
        try:
            if self._adapter is not None:
                if isinstance(payload, pydantic.BaseModel):
                    payload = payload.model_dump(mode="json")
                return self._adapter.validate_python(payload)
            assert self._fn is not None
            return self._fn(payload)
        except pydantic.ValidationError as exc:
            errors = [
                {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
                for e in exc.errors(include_url=False)
            ]
            raise PayloadValidationError(self.task_id, errors) from None
        except (ValueError, TypeError) as exc:
            raise PayloadValidationError(
                self.task_id, [{"loc": [], "msg": str(exc), "type": "value_error"}]
            ) from None

    def dump(self, parsed: Any) -> Any:
        """The JSON-able form of a parsed payload, as stored on the run."""
        if self._adapter is not None:
            return self._adapter.dump_python(parsed, mode="json")
        return parsed

    def json_schema(self) -> dict[str, Any] | None:
        """JSON Schema of the payload (None for a plain callable)."""
        return None if self._adapter is None else self._adapter.json_schema()
