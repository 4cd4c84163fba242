"""Serving the HTTP API: ``switchyard server``, and the API half of ``switchyard dev``.

The API (uvicorn) and a worker run as two asyncio tasks in one event loop. SIGTERM or
SIGINT stops both gracefully: the server stops accepting connections and finishes the
requests in flight, the worker finishes (or hands back) what it holds. If one of the
two ends on its own (an error), the other is stopped too.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
import signal
import socket
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import click
import uvicorn

from switchyard.config import DEFAULT_PUBLIC_URL, Config
from switchyard.core.api_keys import new_key
from switchyard.core.errors import SwitchyardError
from switchyard.runtime import Runtime
from switchyard.server.access import api_key_from_env
from switchyard.storage import redacted_url

from . import render

if TYPE_CHECKING:
    from .state import State

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3030
_WILDCARD_HOSTS = ("0.0.0.0", "::", "")


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: any free port).

    Bound before anything else starts, so a port in use is a one-line error.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        raise SwitchyardError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick another --port "
            "or stop what is using it"
        ) from None
    # asyncio sets TCP_NODELAY only on sockets whose proto is IPPROTO_TCP; this one's is
    # 0, so accepted connections would keep Nagle's algorithm and every response on a
    # keep-alive connection would wait ~40 ms for the client's delayed ACK. Accepted
    # sockets inherit the option from the listening one.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def local_url(sock: socket.socket) -> str:
    """The URL a local client reaches the socket at."""
    host, port = sock.getsockname()[:2]
    if host in _WILDCARD_HOSTS:
        host = "127.0.0.1" if sock.family == socket.AF_INET else "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def dev_api_key(environment: str) -> tuple[str, bool]:
    """The extra key ``switchyard dev`` accepts: ``SWITCHYARD_API_KEY``, or a new random
    one for this process; and whether it is new (then it may be printed)."""
    given = api_key_from_env()
    return (given, False) if given else (new_key(environment), True)


def dashboard_link(sock: socket.socket, key: str) -> str:
    """The dashboard URL that signs in with ``key`` (in the fragment: never sent to the
    server, never in a log); the page takes it and removes it from the address bar."""
    return f"{local_url(sock)}/#key={key}"


def with_public_url(config: Config, sock: socket.socket) -> Config:
    """``config`` with token callback URLs pointing at the socket actually bound.

    Only when ``public_url`` is left at its default: one set in the config or with
    ``SWITCHYARD_PUBLIC_URL`` (a proxy, a tunnel) is kept as it is.
    """
    if config.public_url != DEFAULT_PUBLIC_URL:
        return config
    return dataclasses.replace(config, public_url=local_url(sock))


class RedactCapabilities(logging.Filter):
    """Keep capabilities out of access logs: token callback signatures, and public tokens
    passed as ``?access_token=`` (``EventSource`` cannot send headers)."""

    _SIGNATURE = re.compile(r"(/callback/)[^/?\s\"]+")
    _ACCESS_TOKEN = re.compile(r"([?&]access(?:_|%5f)token=)[^&#\s\"]*", re.IGNORECASE)

    def redact(self, text: str) -> str:
        """``text`` (a path with its query) with every capability in it replaced."""
        text = self._SIGNATURE.sub(r"\1<redacted>", text)
        return self._ACCESS_TOKEN.sub(r"\1***", text)

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's arguments; never drops a record."""
        if isinstance(record.args, tuple):
            record.args = tuple(self.redact(a) if isinstance(a, str) else a for a in record.args)
        return True


class _Server(uvicorn.Server):
    """uvicorn, minus its signal handlers: :func:`serve` owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def run_services(
    runtime: Runtime,
    *,
    worker_options: dict[str, Any] | None = None,
    sock: socket.socket | None = None,
    access_log: bool = True,
    api_key: str | None = None,
) -> int:
    """Run a worker (``worker_options`` given) and/or the API (``sock`` given) until
    SIGTERM/SIGINT; returns the number of attempts the worker executed.

    ``api_key``: an extra secret key the API accepts (default: ``SWITCHYARD_API_KEY``).
    """
    return asyncio.run(
        _serve(
            runtime,
            worker_options=worker_options,
            sock=sock,
            access_log=access_log,
            api_key=api_key,
        )
    )


async def _serve(
    runtime: Runtime,
    *,
    worker_options: dict[str, Any] | None,
    sock: socket.socket | None,
    access_log: bool,
    api_key: str | None,
) -> int:
    from switchyard.worker import Worker

    worker = None if worker_options is None else Worker(runtime, **worker_options)
    server = None
    if sock is not None:
        from switchyard.server import create_app

        access = logging.getLogger("uvicorn.access")
        if not any(isinstance(f, RedactCapabilities) for f in access.filters):
            access.addFilter(RedactCapabilities())

        server = _Server(
            uvicorn.Config(
                create_app(runtime, api_key=api_key),
                log_config=None,
                access_log=access_log,
                timeout_graceful_shutdown=10,
                lifespan="off",
            )
        )

    def stop() -> None:
        if worker is not None:
            worker.stop()
        if server is not None:
            if server.should_exit:
                server.force_exit = True  # a second Ctrl-C: drop open connections
            server.should_exit = True

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    jobs: list[asyncio.Task[None]] = []
    if worker is not None:
        jobs.append(asyncio.create_task(worker.run(), name="switchyard-worker"))
    if server is not None and sock is not None:
        jobs.append(asyncio.create_task(server.serve(sockets=[sock]), name="switchyard-server"))
    try:
        await asyncio.wait(jobs, return_when=asyncio.FIRST_COMPLETED)
        stop()  # whichever ended first (stopped, or failed), the other follows
        results = await asyncio.gather(*jobs, return_exceptions=True)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        if sock is not None:
            sock.close()
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return 0 if worker is None else worker.executed


@click.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Interface to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="Port to listen on (0: any free port).",
)
@click.pass_obj
def server(state: State, host: str, port: int) -> None:
    """Serve the HTTP API (tasks, runs, realtime, tokens, queues; docs at /docs) until SIGTERM.

    Only the API: run `switchyard worker` processes to execute tasks. Token callback
    URLs use the config's public_url (SWITCHYARD_PUBLIC_URL); left at its default, they
    point at the address this server listens on.
    """
    sock = listen(host, port)
    runtime = state.runtime(config=with_public_url(state.config(), sock))
    render.console.print(
        f"[bold green]switchyard server[/]  listening on [bold]{local_url(sock)}[/]  "
        f"environment [bold]{runtime.config.environment}[/]  database [bold]"
        f"{redacted_url(runtime.storage.url)}[/]"
    )
    if runtime.config.public_url != local_url(sock):
        render.console.print(f"token callback URLs use [bold]{runtime.config.public_url}[/]")
    how = "an API key (switchyard keys create)"
    if runtime.config.dashboard_password:
        how += " or the dashboard password"
    render.console.print(f"dashboard: [bold]{local_url(sock)}/[/]  sign in with {how}")
    run_services(runtime, sock=sock)
