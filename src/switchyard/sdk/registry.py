"""The registry of tasks defined in this process."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from switchyard.core.errors import SwitchyardError, UnknownTaskError

if TYPE_CHECKING:
    from switchyard.sdk.task import Task


class Registry:
    """Tasks by id; defining two tasks with one id is an error."""

    def __init__(self) -> None:
        self._tasks: dict[str, Task[Any]] = {}

    def add(self, task: Task[Any]) -> None:
        """Register ``task``; re-defining the same function (a module reload) replaces it."""
        existing = self._tasks.get(task.id)
        if existing is not None and existing.fn.__qualname__ != task.fn.__qualname__:
            raise SwitchyardError(
                f"two tasks have the id {task.id!r} ({existing.fn.__module__}."
                f"{existing.fn.__qualname__} and {task.fn.__module__}.{task.fn.__qualname__}); "
                "give each task a unique id"
            )
        self._tasks[task.id] = task

    def get(self, task_id: str) -> Task[Any]:
        """The task with that id, or :class:`UnknownTaskError`."""
        try:
            return self._tasks[task_id]
        except KeyError:
            raise UnknownTaskError(task_id, list(self._tasks)) from None

    def find(self, task_id: str) -> Task[Any] | None:
        """The task with that id, or None."""
        return self._tasks.get(task_id)

    def ids(self) -> list[str]:
        """Ids of every registered task, sorted."""
        return sorted(self._tasks)

    def all(self) -> list[Task[Any]]:
        """Every registered task, by id."""
        return [self._tasks[i] for i in self.ids()]

    def clear(self) -> None:
        """Forget every task (tests)."""
        self._tasks.clear()


REGISTRY = Registry()
