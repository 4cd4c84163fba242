"""switchyard: durable background tasks for Python.

Define tasks with :func:`task` or :func:`schema_task`, trigger them from any code,
and run ``switchyard dev`` (or ``switchyard worker``) to execute them.
"""

from switchyard.client import AsyncClient, Client, ClientError
from switchyard.config import Config, WorkerSettings, define_config, load_config
from switchyard.core.errors import (
    AbortTaskRunError,
    ChildRunFailedError,
    ConfigError,
    InvalidJSONValueError,
    InvalidOptionError,
    MaxDurationExceededError,
    NonDeterminismError,
    NotInRunError,
    NotSerializableError,
    PayloadTooLargeError,
    PayloadValidationError,
    RunNotFoundError,
    SwitchyardError,
    UnknownTaskError,
    WaitpointTimeoutError,
)
from switchyard.core.handles import (
    BatchHandle,
    BatchItem,
    RunHandle,
    TaskRunResult,
    Token,
    WaitResult,
)
from switchyard.core.models import Attempt, Run, RunPage
from switchyard.core.retry import RetryPolicy
from switchyard.core.states import AttemptStatus, RunStatus
from switchyard.core.version import VERSION as _VERSION
from switchyard.core.waitpoints import Waitpoint, WaitpointKind, WaitpointStatus
from switchyard.runtime import configure
from switchyard.sdk import environments, idempotency_keys, queues, runs, wait
from switchyard.sdk.context import RunContext, context
from switchyard.sdk.queue import Queue, queue
from switchyard.sdk.step import step, step_sync
from switchyard.sdk.task import Task, schema_task, task

__all__ = [
    "AbortTaskRunError",
    "AsyncClient",
    "Attempt",
    "AttemptStatus",
    "BatchHandle",
    "BatchItem",
    "ChildRunFailedError",
    "Client",
    "ClientError",
    "Config",
    "ConfigError",
    "InvalidJSONValueError",
    "InvalidOptionError",
    "MaxDurationExceededError",
    "NonDeterminismError",
    "NotInRunError",
    "NotSerializableError",
    "PayloadTooLargeError",
    "PayloadValidationError",
    "Queue",
    "RetryPolicy",
    "Run",
    "RunContext",
    "RunHandle",
    "RunNotFoundError",
    "RunPage",
    "RunStatus",
    "SwitchyardError",
    "Task",
    "TaskRunResult",
    "Token",
    "UnknownTaskError",
    "WaitResult",
    "Waitpoint",
    "WaitpointKind",
    "WaitpointStatus",
    "WaitpointTimeoutError",
    "WorkerSettings",
    "configure",
    "context",
    "define_config",
    "environments",
    "idempotency_keys",
    "load_config",
    "queue",
    "queues",
    "runs",
    "schema_task",
    "step",
    "step_sync",
    "task",
    "wait",
]

__version__ = _VERSION
