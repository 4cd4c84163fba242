"""Tasks: ``@task`` and ``@schema_task`` turn functions into triggerable, retried units."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import Any, Generic, TypeVar, Unpack, overload

from switchyard.core import jsonutil
from switchyard.core.durations import DurationLike, parse_optional_duration
from switchyard.core.errors import InvalidOptionError, NotInRunError
from switchyard.core.handles import BatchHandle, BatchItem, RunHandle, TaskRunResult
from switchyard.core.idempotency import scoped_key
from switchyard.core.models import NewRun, TaskInfo, task_queue_name
from switchyard.core.options import TriggerKwargs, TriggerOptions
from switchyard.core.retry import RetryPolicy
from switchyard.core.states import RunStatus
from switchyard.core.waitpoints import Waitpoint
from switchyard.engine.enqueue import Parent
from switchyard.runtime import Runtime, current_runtime
from switchyard.sdk import transport
from switchyard.sdk.bridge import run_sync, to_thread
from switchyard.sdk.context import RunContext, current_context
from switchyard.sdk.execution import Execution, current_execution
from switchyard.sdk.queue import Queue
from switchyard.sdk.registry import REGISTRY
from switchyard.sdk.schema import Schema, SchemaLike

R = TypeVar("R")


class Task(Generic[R]):
    """A registered function with options. Trigger it; a worker runs it."""

    def __init__(
        self,
        fn: Callable[..., R] | Callable[..., Awaitable[R]],
        *,
        id: str,
        queue: Queue | str | None = None,
        retry: Mapping[str, Any] | RetryPolicy | None = None,
        max_duration: DurationLike | None = None,
        ttl: DurationLike | None = None,
        schema: SchemaLike | None = None,
        description: str | None = None,
    ) -> None:
        if not id or not isinstance(id, str) or len(id) > 128 or "/" in id:
            raise InvalidOptionError("id", id, "a string of 1 to 128 characters without '/'")
        self.id = id
        self.fn = fn
        self.description = description or inspect.getdoc(fn)
        if queue is None:
            self.queue = Queue(task_queue_name(id))
        elif isinstance(queue, str):
            self.queue = Queue(queue)
        else:
            self.queue = queue
        if isinstance(retry, RetryPolicy):
            self.retry: dict[str, Any] | None = retry.to_json()
        elif retry is not None:
            RetryPolicy().merged(retry)  # validate now, at definition time
            self.retry = dict(retry)
        else:
            self.retry = None
        self.max_duration = parse_optional_duration(max_duration, option="max_duration")
        self.ttl = parse_optional_duration(ttl, option="ttl")
        self.schema = Schema(id, schema) if schema is not None else None
        self.is_async = inspect.iscoroutinefunction(fn)
        params = [
            p
            for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        self.takes_ctx = len(params) >= 2
        REGISTRY.add(self)

    def __repr__(self) -> str:
        return f"<Task {self.id!r} queue={self.queue.name!r}>"

    # -- definition ------------------------------------------------------------------
    def info(self) -> TaskInfo:
        """What storage records about this task."""
        return TaskInfo(
            id=self.id,
            queue=self.queue.name,
            payload_schema=self.schema.json_schema() if self.schema else None,
            retry=self.retry,
            max_duration=self.max_duration,
            ttl=self.ttl,
            queue_concurrency_limit=self.queue.concurrency_limit,
            queue_rate_limit=self.queue.rate_limit,
            queue_rate_period=self.queue.rate_period,
        )

    def payload_json(self, payload: Any, limit: int) -> str:
        """Validate (schema tasks) and encode a payload; raises before any run exists."""
        if self.schema is not None:
            payload = self.schema.dump(self.schema.validate(payload))
        return jsonutil.dumps(payload, what=f"payload for task {self.id!r}", limit=limit)

    def parse_payload(self, payload: Any) -> Any:
        """The argument the function receives (validated model for schema tasks)."""
        return self.schema.validate(payload) if self.schema is not None else payload

    def call(self, payload: Any, ctx: RunContext) -> Any:
        """Invoke the function (a coroutine for async tasks)."""
        return self.fn(payload, ctx) if self.takes_ctx else self.fn(payload)

    # -- triggering ----------------------------------------------------------------------
    def _options(self, opts: Mapping[str, Any]) -> TriggerOptions:
        # The same parser the HTTP server uses: one set of names, checks and messages.
        return TriggerOptions.parse(opts, where=None)

    def trigger_sync(
        self,
        payload: Any = None,
        **opts: Unpack[TriggerKwargs],
    ) -> RunHandle:
        """Trigger a run from sync code; returns at once with a :class:`RunHandle`.

        The options are those of :class:`~switchyard.core.options.TriggerOptions`
        (see :meth:`trigger`).
        """
        if current_execution() is not None:
            return run_sync(lambda: self.trigger(payload, **opts))
        return transport.current_transport().trigger(self, payload, opts)

    async def trigger(
        self,
        payload: Any = None,
        **opts: Unpack[TriggerKwargs],
    ) -> RunHandle:
        """Trigger a run; returns at once with a :class:`RunHandle`.

        ``debounce={"key": k, "delay": "5s"}`` collapses a burst of triggers with one key
        into one run: trailing (default) runs once after the burst with the last
        payload; ``"mode": "leading"`` runs the first and returns it to the rest.

        Inside a run the trigger is journaled: a replay returns the same child. The
        options are the fields of :class:`~switchyard.core.options.TriggerOptions`,
        checked by its :meth:`~switchyard.core.options.TriggerOptions.parse`.
        """
        execution = current_execution()
        if execution is None:
            return await to_thread(self.trigger_sync, payload, **opts)
        runtime = current_runtime()
        new = self._new_run(runtime, payload, self._options(opts))
        [handle], _ = await self._durable(execution, "trigger", [new], None)
        return handle

    async def _durable(
        self,
        execution: Execution,
        kind: str,
        new_runs: Sequence[NewRun],
        wait: str | None,
    ) -> tuple[list[RunHandle], Waitpoint | None]:
        """Trigger from inside a run, journaled, optionally creating a waitpoint."""
        ref, entry = execution.next_ref(kind, self.id)
        if entry is not None:
            return [RunHandle(i, self.id, c) for i, c in entry.result], entry.waitpoint
        call = partial(
            execution.engine.trigger_children,
            new_runs,
            wait=wait,
            journal=ref,
            now=execution.host.now(),
        )
        results, waitpoint = await execution.record(call)
        return [RunHandle(r.run_id, self.id, r.is_cached) for r in results], waitpoint

    async def trigger_and_wait(self, payload: Any = None, **options: Any) -> TaskRunResult:
        """Trigger a child run and wait for its result (inside a run only).

        The parent gives its slot back while it waits. With an idempotency key whose
        run already finished, the result comes back at once.
        """
        execution = _require_execution("trigger_and_wait")
        runtime = current_runtime()
        new = self._new_run(runtime, payload, self._options(options))
        [handle], waitpoint = await self._durable(execution, "trigger_and_wait", [new], "run")
        assert waitpoint is not None
        done = await execution.wait_for(waitpoint)
        return TaskRunResult(done.error is None, handle.id, self.id, done.output, done.error)

    def trigger_and_wait_sync(self, payload: Any = None, **options: Any) -> TaskRunResult:
        """Sync form of :meth:`trigger_and_wait` for plain ``def`` tasks."""
        _require_execution("trigger_and_wait_sync")
        return run_sync(lambda: self.trigger_and_wait(payload, **options))

    async def batch_trigger_and_wait(
        self,
        items: Sequence[Any],
        *,
        idempotency_key: str | None = None,
        idempotency_key_ttl: DurationLike | None = None,
        **options: Any,
    ) -> list[TaskRunResult]:
        """Trigger a batch of children and wait until every one has finished."""
        execution = _require_execution("batch_trigger_and_wait")
        runtime = current_runtime()
        batch_id = runtime.engine.new_batch_id(execution.host.now())
        new_runs = self._batch_runs(
            runtime, items, batch_id, idempotency_key, idempotency_key_ttl, options
        )
        handles, waitpoint = await self._durable(
            execution, "batch_trigger_and_wait", new_runs, "batch"
        )
        assert waitpoint is not None
        await execution.wait_for(waitpoint)
        runs = await execution.host.db(lambda: [runtime.engine.get_run(h.id) for h in handles])
        return [
            TaskRunResult(
                r.status == RunStatus.COMPLETED,
                r.id,
                self.id,
                r.output,
                None
                if r.status == RunStatus.COMPLETED
                else {**(r.error or {}), "status": r.status},
            )
            for r in runs
        ]

    def batch_trigger_and_wait_sync(
        self, items: Sequence[Any], **options: Any
    ) -> list[TaskRunResult]:
        """Sync form of :meth:`batch_trigger_and_wait`."""
        _require_execution("batch_trigger_and_wait_sync")
        return run_sync(lambda: self.batch_trigger_and_wait(items, **options))

    def batch_trigger_sync(
        self,
        items: Sequence[Any],
        *,
        idempotency_key: str | None = None,
        idempotency_key_ttl: DurationLike | None = None,
        **options: Any,
    ) -> BatchHandle:
        """Trigger many runs in one transaction: all are created or none.

        ``items`` are payloads or :class:`BatchItem` (payload with its own options);
        ``options`` apply to every item that does not set them. A batch
        ``idempotency_key`` gives item ``i`` the key ``[key, i]``.
        """
        if current_execution() is not None:
            return run_sync(
                lambda: self.batch_trigger(
                    items,
                    idempotency_key=idempotency_key,
                    idempotency_key_ttl=idempotency_key_ttl,
                    **options,
                )
            )
        return transport.current_transport().batch_trigger(
            self, items, idempotency_key, idempotency_key_ttl, options
        )

    def _batch_runs(
        self,
        runtime: Runtime,
        items: Sequence[Any],
        batch_id: str,
        idempotency_key: str | None,
        idempotency_key_ttl: DurationLike | None,
        options: Mapping[str, Any],
    ) -> list[NewRun]:
        parent = _parent()
        new_runs = []
        for index, item in enumerate(items):
            payload, item_opts = (
                (item.payload, dict(item.options)) if isinstance(item, BatchItem) else (item, {})
            )
            merged = {**options, **item_opts}
            if idempotency_key is not None and "idempotency_key" not in item_opts:
                merged["idempotency_key"] = _batch_item_key(idempotency_key, index, parent)
                if idempotency_key_ttl is not None:
                    merged.setdefault("idempotency_key_ttl", idempotency_key_ttl)
            new_runs.append(
                self._new_run(runtime, payload, self._options(merged), batch_id=batch_id)
            )
        return new_runs

    async def batch_trigger(
        self,
        items: Sequence[Any],
        *,
        idempotency_key: str | None = None,
        idempotency_key_ttl: DurationLike | None = None,
        **options: Any,
    ) -> BatchHandle:
        """Async form of :meth:`batch_trigger_sync`; journaled inside a run."""
        execution = current_execution()
        if execution is not None:
            runtime = current_runtime()
            batch_id = runtime.engine.new_batch_id(execution.host.now())
            new_runs = self._batch_runs(
                runtime, items, batch_id, idempotency_key, idempotency_key_ttl, options
            )
            handles, _ = await self._durable(execution, "batch_trigger", new_runs, None)
            return BatchHandle(batch_id, tuple(handles))
        return await to_thread(
            self.batch_trigger_sync,
            items,
            idempotency_key=idempotency_key,
            idempotency_key_ttl=idempotency_key_ttl,
            **options,
        )

    def _new_run(
        self, runtime: Runtime, payload: Any, options: TriggerOptions, batch_id: str | None = None
    ) -> NewRun:
        payload_json = self.payload_json(payload, runtime.config.max_payload_bytes)
        return runtime.engine.new_run(
            self.info(), payload_json, options, parent=_parent(), batch_id=batch_id
        )


def _require_execution(what: str) -> Execution:
    execution = current_execution()
    if execution is None:
        raise NotInRunError(
            f"{what} only works inside a running task; from other code use trigger() and "
            "switchyard.runs.poll()"
        )
    return execution


def _parent() -> Parent | None:
    ctx = current_context()
    if ctx is None:
        return None
    return Parent(ctx.run.id, ctx.run.root_run_id, ctx.attempt.number)


def _batch_item_key(key: str, index: int, parent: Parent | None) -> str:
    if parent is not None:
        return scoped_key([key, str(index)], "run", run_id=parent.run_id)
    return scoped_key([key, str(index)], "global")


F = TypeVar("F", bound=Callable[..., Any])


@overload
def task(fn: Callable[..., Awaitable[R]], /) -> Task[R]: ...
@overload
def task(fn: Callable[..., R], /) -> Task[R]: ...
@overload
def task(
    *,
    id: str | None = None,
    queue: Queue | str | None = None,
    retry: Mapping[str, Any] | RetryPolicy | None = None,
    max_duration: DurationLike | None = None,
    ttl: DurationLike | None = None,
    description: str | None = None,
) -> Callable[[Callable[..., Any]], Task[Any]]: ...


def task(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    id: str | None = None,
    queue: Queue | str | None = None,
    retry: Mapping[str, Any] | RetryPolicy | None = None,
    max_duration: DurationLike | None = None,
    ttl: DurationLike | None = None,
    description: str | None = None,
) -> Task[Any] | Callable[[Callable[..., Any]], Task[Any]]:
    """Define a task from an ``async def`` or plain ``def`` taking ``(payload[, ctx])``.

    ``id`` defaults to the function name with ``_`` turned into ``-``.
    """

    def wrap(f: Callable[..., Any]) -> Task[Any]:
        return Task(
            f,
            id=id or f.__name__.replace("_", "-"),
            queue=queue,
            retry=retry,
            max_duration=max_duration,
            ttl=ttl,
            description=description,
        )

    return wrap(fn) if fn is not None else wrap


def schema_task(
    *,
    schema: SchemaLike,
    id: str | None = None,
    queue: Queue | str | None = None,
    retry: Mapping[str, Any] | RetryPolicy | None = None,
    max_duration: DurationLike | None = None,
    ttl: DurationLike | None = None,
    description: str | None = None,
) -> Callable[[Callable[..., Any]], Task[Any]]:
    """Define a task whose payload is validated by ``schema`` when triggered and run.

    A payload that fails validation at trigger time raises
    :class:`~switchyard.PayloadValidationError` and creates no run; one that fails
    before an attempt fails the run without retrying.
    """

    def wrap(f: Callable[..., Any]) -> Task[Any]:
        return Task(
            f,
            id=id or f.__name__.replace("_", "-"),
            queue=queue,
            retry=retry,
            max_duration=max_duration,
            ttl=ttl,
            schema=schema,
            description=description,
        )

    return wrap
