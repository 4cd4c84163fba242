"""Errors that cross layers. Control-flow signals derive from BaseException."""

from __future__ import annotations

from typing import Any


class SwitchyardError(Exception):
    """Base class of every error switchyard raises on purpose."""


class InvalidOptionError(SwitchyardError, ValueError):
    """An option had a value switchyard cannot use; says what was expected."""

    def __init__(self, option: str, value: Any, expected: str) -> None:
        super().__init__(f"invalid {option}={value!r}: expected {expected}")
        self.option = option
        self.value = value
        self.expected = expected


class PayloadTooLargeError(SwitchyardError, ValueError):
    """A payload, output or metadata document is over the size limit."""

    def __init__(self, what: str, size: int, limit: int) -> None:
        super().__init__(
            f"{what} is {size} bytes as JSON, over the {limit}-byte limit: store large data "
            "elsewhere (object storage, a database) and pass a reference instead"
        )
        self.size = size
        self.limit = limit


class NotSerializableError(SwitchyardError, TypeError):
    """A payload or output cannot be turned into JSON."""


class InvalidJSONValueError(NotSerializableError, ValueError):
    """A value breaks switchyard's JSON rules (see :mod:`switchyard.core.jsonutil`).

    Non-finite numbers, lone surrogates, NUL or nesting past the depth limit: JSON or
    the database cannot carry them. ``path`` locates the value (``$.items[3].name``),
    ``problem`` says what it is. A subclass of :class:`NotSerializableError`, so a
    task's bad output fails its run without retries and HTTP answers 422.
    """

    def __init__(self, what: str, path: str, problem: str, advice: str) -> None:
        super().__init__(f"{what} cannot be stored as JSON: {problem} at {path}; {advice}")
        self.what = what
        self.path = path
        self.problem = problem


class PayloadValidationError(SwitchyardError, ValueError):
    """A schema task's payload failed validation; ``errors`` lists each field error."""

    def __init__(self, task_id: str, errors: list[dict[str, Any]]) -> None:
        lines = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())) or '<payload>'}: {e.get('msg')}"
            for e in errors
        )
        super().__init__(f"payload for task {task_id!r} is invalid: {lines}")
        self.task_id = task_id
        self.errors = errors


class UnknownTaskError(SwitchyardError, LookupError):
    """No task is registered under that id."""

    def __init__(self, task_id: str, known: list[str]) -> None:
        hint = f"known tasks: {', '.join(sorted(known))}" if known else "no tasks are registered"
        super().__init__(
            f"unknown task {task_id!r} ({hint}); check the id, or load the module that "
            "defines it (--app / config 'app')"
        )
        self.task_id = task_id


class RunNotFoundError(SwitchyardError, LookupError):
    """No run has that id in this environment."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"no run {run_id!r} in this environment")
        self.run_id = run_id


class InvalidTransitionError(SwitchyardError):
    """A run was asked to move between two states that are not connected."""


class NotWaitingError(SwitchyardError):
    """A run was asked to skip a time wait it is not in."""


class AbortTaskRunError(SwitchyardError):
    """Raise inside a task to fail the run at once, without retrying."""


class MaxDurationExceededError(SwitchyardError):
    """An attempt ran longer than its ``max_duration``."""


class ConfigError(SwitchyardError):
    """The project config could not be loaded or is inconsistent."""


class NonDeterminismError(SwitchyardError):
    """Replaying a run met a different durable operation than its journal recorded."""


class WaitpointTimeoutError(SwitchyardError):
    """``unwrap()`` of a wait whose token timed out."""


class ChildRunFailedError(SwitchyardError):
    """``unwrap()`` of a ``trigger_and_wait`` whose child run did not complete."""


class NotInRunError(SwitchyardError):
    """A call that only makes sense inside a running task was made outside one."""


class QueueNotFoundError(SwitchyardError, LookupError):
    """No queue has that name in this environment."""


class RunNotExecutingError(Exception):
    """The run is no longer executing this attempt (canceled, or its lease was lost)."""
