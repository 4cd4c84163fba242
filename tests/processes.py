"""Real ``switchyard`` processes for end-to-end tests: start, wait for, stop.

Output goes to files (a full pipe can never block the child) and is attached to
every failure, so a flaky start on a loaded machine says why.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import httpx

T = TypeVar("T")

START_TIMEOUT = 60.0


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def poll(check: Callable[[], T], *, timeout: float = 30.0, what: str = "condition") -> T:
    """Call ``check`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s (last: {last!r})")
        time.sleep(0.05)


class Proc:
    """A running ``python -m switchyard …`` with its output in files."""

    def __init__(self, args: list[str], cwd: Path, env: Mapping[str, str], name: str) -> None:
        self.args = args
        self.out_path = cwd / f"{name}.stdout"
        self.err_path = cwd / f"{name}.stderr"
        with self.out_path.open("wb") as out, self.err_path.open("wb") as err:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "switchyard", *args],
                cwd=cwd,
                env=dict(env),
                stdout=out,
                stderr=err,
            )

    def output(self) -> str:
        """Everything the process printed so far."""
        out = self.out_path.read_text(errors="replace")
        err = self.err_path.read_text(errors="replace")
        return f"$ switchyard {' '.join(self.args)}\n--- stdout\n{out}\n--- stderr\n{err}"

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, wait for a graceful exit, SIGKILL if it does not come."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
        return self.popen.returncode

    def wait_healthy(self, base_url: str, timeout: float = START_TIMEOUT) -> None:
        """Wait until ``GET /healthz`` answers 200; fail early if the process died."""
        deadline = time.monotonic() + timeout
        while True:
            if self.popen.poll() is not None:
                raise AssertionError(
                    f"process exited with {self.popen.returncode}\n{self.output()}"
                )
            try:
                if httpx.get(f"{base_url}/healthz", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"not healthy within {timeout}s\n{self.output()}")
            time.sleep(0.1)


def base_env(database_url: str, **extra: str) -> dict[str, str]:
    """The test process's environment, minus SWITCHYARD_* settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHYARD_")}
    env.update(SWITCHYARD_DATABASE_URL=database_url, COLUMNS="200", **extra)
    return env


@contextmanager
def serving(
    cwd: Path,
    database_url: str,
    command: list[str],
    *,
    env: Mapping[str, str] | None = None,
    public_url: bool = True,
) -> Iterator[tuple[Proc, str]]:
    """Start ``switchyard <command> --port <free port>``; yield it and its base URL.

    With ``public_url``, SWITCHYARD_PUBLIC_URL points at the port. A port taken in
    the moment between picking and binding is retried with another one.
    """
    for attempt in range(3):
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        extra = dict(env or {})
        if public_url:
            extra["SWITCHYARD_PUBLIC_URL"] = base
        proc = Proc(
            [*command, "--port", str(port)],
            cwd,
            base_env(database_url, **extra),
            f"{command[-1]}-{port}",
        )
        try:
            proc.wait_healthy(base)
        except AssertionError:
            proc.stop()
            if attempt < 2 and "cannot listen" in proc.output():
                continue
            raise
        break
    ok = False
    try:
        yield proc, base
        ok = True
    finally:
        code = proc.stop()
        if ok and code != 0:
            raise AssertionError(f"exit code {code} after SIGTERM\n{proc.output()}")
        if not ok:
            print(proc.output())  # shown by pytest next to the failure


def switchyard(
    cwd: Path, database_url: str, *args: str, check: bool = True, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run one ``switchyard`` command to completion."""
    result = subprocess.run(
        [sys.executable, "-m", "switchyard", *args],
        cwd=cwd,
        env=base_env(database_url),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        command = " ".join(args)
        raise AssertionError(
            f"switchyard {command}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result
