"""A TCP relay in front of a real service that a test can cut or black-hole.

``Relay(port)`` listens on 127.0.0.1 (``relay.port``) and forwards every connection to
127.0.0.1:``port``. Three modes:

- ``forward()``: bytes flow both ways (the initial mode, and the way back from the others);
- ``cut()``: every open connection is closed and new ones are closed at once, as when the server
  restarts or a firewall resets connections (clients see errors quickly);
- ``black_hole()``: connections stay open but nothing is forwarded, and new connections are
  accepted and left waiting, as when a network path silently drops packets (clients see nothing
  until their own timeouts). Bytes held meanwhile are delivered by ``forward()``, as when the
  path heals.

Every thread it starts is a daemon and ends at ``close()``; sockets poll every 50 ms so a
mode change takes effect quickly.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest

__all__ = ["Relay", "relay_to"]

_POLL_S = 0.05


class Relay:
    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(_POLL_S)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._flowing = threading.Event()
        self._flowing.set()
        self._cut = False
        self._closed = False
        self._pairs: list[tuple[socket.socket, socket.socket | None]] = []
        self._threads: list[threading.Thread] = []
        self.connections = 0
        """Connections accepted so far (a client that reconnects adds one)."""
        self._spawn(self._accept_loop)

    # -- modes ---------------------------------------------------------------------------

    def forward(self) -> None:
        with self._lock:
            self._cut = False
        self._flowing.set()

    def black_hole(self) -> None:
        with self._lock:
            self._cut = False
        self._flowing.clear()

    def cut(self) -> None:
        with self._lock:
            self._cut = True
            pairs, self._pairs = self._pairs, []
        self._flowing.set()  # release held pumps so they see the closed sockets and end
        for pair in pairs:
            _close(*pair)

    def __enter__(self) -> Relay:  # noqa: PYI034 - a final class; Self needs Python 3.11
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pairs, self._pairs = self._pairs, []
        self._flowing.set()
        for pair in pairs:
            _close(*pair)
        self._listener.close()
        for thread in self._threads:
            thread.join(2)

    # -- plumbing ------------------------------------------------------------------------

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            with self._lock:
                if self._cut or self._closed:
                    _close(client, None)
                    continue
            self._spawn(self._connect, client)

    def _connect(self, client: socket.socket) -> None:
        # A black hole holds a new connection too: the upstream is reached once bytes flow.
        while not self._flowing.wait(_POLL_S):
            if self._closed:
                _close(client, None)
                return
        if self._closed or self._cut:
            # close() and cut() release held connections too: they must not reach the
            # upstream now (a server shut down right after would find a connection open)
            _close(client, None)
            return
        try:
            upstream = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            _close(client, None)
            return
        with self._lock:
            if self._cut or self._closed:
                _close(client, upstream)
                return
            self._pairs.append((client, upstream))
        for sock in (client, upstream):
            sock.settimeout(_POLL_S)
        self._spawn(self._pump, client, upstream)
        self._spawn(self._pump, upstream, client)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        while not self._closed:
            try:
                data = source.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not data:
                break
            while not self._flowing.wait(_POLL_S):
                if self._closed:
                    return
            try:
                sink.sendall(data)
            except OSError:
                break
        _close(source, sink)


def _close(a: socket.socket, b: socket.socket | None) -> None:
    for sock in (a, b):
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


@contextlib.contextmanager
def relay_to(port: int) -> Iterator[Relay]:
    """A :class:`Relay` to 127.0.0.1:``port`` for the duration of a ``with`` block."""
    relay = Relay(port)
    try:
        yield relay
    finally:
        relay.close()


@pytest.fixture
def pg_relay(pg_url: str) -> Iterator[Relay]:
    """A relay in front of the test PostgreSQL server."""
    from sqlalchemy.engine import make_url

    from skylaunch.log.repos.sql import normalize_url

    with relay_to(make_url(normalize_url(pg_url)).port or 5432) as relay:
        yield relay
