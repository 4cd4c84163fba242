"""The current environment from code: pause everything, cap it, see what runs where."""

from __future__ import annotations

from switchyard.core.models import EnvironmentInfo
from switchyard.sdk import transport
from switchyard.sdk.bridge import to_thread


def pause_sync() -> None:
    """Emergency stop: no run of the environment starts until :func:`resume_sync`."""
    transport.current_transport().pause_environment()


def resume_sync() -> None:
    """Let the environment's runs start again."""
    transport.current_transport().resume_environment()


def set_limit_sync(limit: int | None) -> None:
    """Cap how many runs execute at once across the environment (``None``: no cap)."""
    transport.current_transport().set_environment_limit(limit)


def retrieve_sync() -> EnvironmentInfo:
    """Paused or not, the limit, and what runs on which worker."""
    return transport.current_transport().environment_info()


async def pause() -> None:
    """Async form of :func:`pause_sync`."""
    await to_thread(pause_sync)


async def resume() -> None:
    """Async form of :func:`resume_sync`."""
    await to_thread(resume_sync)


async def set_limit(limit: int | None) -> None:
    """Async form of :func:`set_limit_sync`."""
    await to_thread(set_limit_sync, limit)


async def retrieve() -> EnvironmentInfo:
    """Async form of :func:`retrieve_sync`."""
    return await to_thread(retrieve_sync)
