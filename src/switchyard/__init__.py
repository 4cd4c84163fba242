"""switchyard: durable background tasks for Python.

Define tasks with :func:`task` or :func:`schema_task`, trigger them from any code,
and run ``switchyard dev`` (or ``switchyard worker``) to execute them.
"""

from switchyard.core.errors import (
    AbortTaskRunError,
    ConfigError,
    InvalidOptionError,
    MaxDurationExceededError,
    NotSerializableError,
    PayloadTooLargeError,
    PayloadValidationError,
    RunNotFoundError,
    SwitchyardError,
    UnknownTaskError,
)
from switchyard.core.models import Attempt, Run, RunPage
from switchyard.core.retry import RetryPolicy
from switchyard.core.states import AttemptStatus, RunStatus
from switchyard.sdk import idempotency_keys, runs
from switchyard.sdk.config import Config, WorkerSettings, define_config, load_config
from switchyard.sdk.context import RunContext, context
from switchyard.sdk.handles import BatchHandle, RunHandle
from switchyard.sdk.queue import Queue, queue
from switchyard.sdk.runtime import configure
from switchyard.sdk.task import BatchItem, Task, schema_task, task

__all__ = [
    "AbortTaskRunError",
    "Attempt",
    "AttemptStatus",
    "BatchHandle",
    "BatchItem",
    "Config",
    "ConfigError",
    "InvalidOptionError",
    "MaxDurationExceededError",
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
    "UnknownTaskError",
    "WorkerSettings",
    "configure",
    "context",
    "define_config",
    "idempotency_keys",
    "load_config",
    "queue",
    "runs",
    "schema_task",
    "task",
]

__version__ = "0.1.0"
