"""A TCP proxy the tests control, between switchyard processes and PostgreSQL.

It forwards bytes both ways until told otherwise:

- :meth:`FaultProxy.blackhole`: connections stay open and nothing answers (bytes are
  held, not forwarded, in both directions; new connections are accepted and hang), the
  way a silent network partition looks to the processes on either side;
- :meth:`FaultProxy.reset`: every connection is reset (RST) and new ones are reset
  as soon as they arrive, like a host whose database port refuses;
- :meth:`FaultProxy.delay`: every chunk waits ``seconds`` before it is forwarded;
- :meth:`FaultProxy.heal`: forward normally again (held bytes go through).

Plain threads and blocking sockets: it must keep working whatever the test's event
loop does.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from types import TracebackType


def _reset(sock: socket.socket) -> None:
    """Close with RST instead of FIN."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class FaultProxy:
    """Listens on 127.0.0.1:<port> and forwards to ``target`` (host, port)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._flowing = threading.Event()
        self._flowing.set()
        self._mode = "pass"
        self._delay = 0.0
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._closed = False
        self.connections = 0
        threading.Thread(target=self._accept_loop, name="fault-proxy", daemon=True).start()

    # -- control ---------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        """``pass``, ``blackhole``, ``reset`` or ``delay``."""
        return self._mode

    def blackhole(self) -> None:
        """Hold every byte from now on; connections stay open."""
        self._mode = "blackhole"
        self._flowing.clear()

    def reset(self) -> None:
        """Reset every connection now, and each new one as it arrives."""
        self._mode = "reset"
        self._flowing.set()
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for client, upstream in pairs:
            _reset(client)
            _reset(upstream)

    def delay(self, seconds: float) -> None:
        """Forward each chunk only after ``seconds``."""
        self._delay = seconds
        self._mode = "delay"
        self._flowing.set()

    def heal(self) -> None:
        """Forward normally again."""
        self._mode = "pass"
        self._delay = 0.0
        self._flowing.set()

    def url_for(self, url: str) -> str:
        """``url`` (a postgresql:// URL to the target) pointed at the proxy instead."""
        host, port = self.target
        return url.replace(f"@{host}:{port}/", f"@127.0.0.1:{self.port}/", 1)

    def close(self) -> None:
        """Stop listening and reset every connection."""
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.close()
        self.reset()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- forwarding --------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._mode == "reset":
                _reset(client)
                continue
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        self._flowing.wait()  # a blackholed network does not connect anyone either
        try:
            upstream = socket.create_connection(self.target, timeout=10)
            upstream.settimeout(None)
        except OSError:
            _reset(client)
            return
        with self._lock:
            self._pairs.append((client, upstream))
            self.connections += 1
        for src, dst in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                self._flowing.wait()
                if self._delay:
                    time.sleep(self._delay)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()
