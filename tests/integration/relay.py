"""A TCP relay for outage tests: forwards to a real server, and can cut or black-hole the link.

::

    relay = Relay(("127.0.0.1", 5432))
    port = relay.start()        # connect clients to 127.0.0.1:port
    relay.blackhole()           # connections stay open, nothing comes back (a dead network)
    relay.cut()                 # every connection is closed; new ones are closed at once
    relay.restore()             # forward again (black-holed connections are closed: their
                                # discarded bytes cannot be replayed)
    relay.close()

One thread serves every connection through a selector; mode changes are done by that thread
and :meth:`cut`/:meth:`blackhole`/:meth:`restore` return once they are in force. A black-holed
connection reads and discards what the client sends, so the client's writes succeed and only
its reads wait: the kernel acknowledges every packet, as a server that hangs would.
"""

from __future__ import annotations

import queue
import selectors
import socket
import threading
from typing import Literal

__all__ = ["Relay"]

Mode = Literal["forward", "blackhole", "cut"]


class Relay:
    """Forward TCP connections from a local port to ``target``; see the module docstring."""

    def __init__(self, target: tuple[str, int] = ("127.0.0.1", 5432)) -> None:
        self.target = target
        self.mode: Mode = "forward"
        self.accepted = 0
        """Connections accepted so far (in every mode)."""
        self._listener: socket.socket | None = None
        self._selector = selectors.DefaultSelector()
        self._peers: dict[socket.socket, socket.socket | None] = {}
        self._commands: queue.Queue[tuple[Mode | Literal["close"], threading.Event]] = queue.Queue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Relay:  # noqa: PYI034 (a final class; Self needs Python 3.11)
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def port(self) -> int:
        if self._listener is None:
            raise RuntimeError("the relay is not started")
        return int(self._listener.getsockname()[1])

    def start(self) -> int:
        """Listen on a free local port and return it."""
        if self._listener is not None:
            return self.port
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        listener.setblocking(False)
        self._listener = listener
        self._selector.register(listener, selectors.EVENT_READ)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._thread = threading.Thread(target=self._serve, name="test-relay", daemon=True)
        self._thread.start()
        return self.port

    def cut(self) -> None:
        """Close every connection now; connections made later are closed at once."""
        self._command("cut")

    def blackhole(self) -> None:
        """Keep connections open but let nothing through (new ones are accepted, then ignored)."""
        self._command("blackhole")

    def restore(self) -> None:
        """Forward again; connections that were black-holed are closed."""
        self._command("forward")

    def close(self) -> None:
        """Stop the relay and close every socket it holds."""
        if self._thread is not None:
            self._command("close")
            self._thread.join(5)
            self._thread = None
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    # -- the relay's thread -------------------------------------------------------------------

    def _command(self, what: Mode | Literal["close"]) -> None:
        if self._thread is None:
            raise RuntimeError("the relay is not started")
        done = threading.Event()
        self._commands.put((what, done))
        self._wake_w.send(b"x")
        if not done.wait(5):
            raise RuntimeError(f"the relay did not apply {what!r} within 5 s")

    def _serve(self) -> None:
        while True:
            for key, _ in self._selector.select(timeout=1.0):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if sock is self._listener:
                    self._accept()
                elif sock is self._wake_r:
                    sock.recv(4096)
                    if self._apply_commands():
                        return
                elif sock in self._peers:
                    self._pump(sock)

    def _apply_commands(self) -> bool:
        while not self._commands.empty():
            what, done = self._commands.get()
            if what == "close":
                self._drop_all()
                if self._listener is not None:
                    self._selector.unregister(self._listener)
                    self._listener.close()
                done.set()
                return True
            if what == "cut" or (what == "forward" and self.mode == "blackhole"):
                self._drop_all()
            self.mode = what
            done.set()
        return False

    def _accept(self) -> None:
        assert self._listener is not None
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        self.accepted += 1
        if self.mode == "cut":
            client.close()
            return
        upstream: socket.socket | None = None
        if self.mode == "forward":
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                return
            upstream.setblocking(True)
            upstream.settimeout(5)
            self._peers[upstream] = client
            self._selector.register(upstream, selectors.EVENT_READ)
        client.settimeout(5)
        self._peers[client] = upstream
        self._selector.register(client, selectors.EVENT_READ)

    def _pump(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._drop(sock)
            return
        peer = self._peers.get(sock)
        if self.mode != "forward" or peer is None:
            return  # black-holed: read and discarded
        try:
            peer.sendall(data)
        except OSError:
            self._drop(sock)

    def _drop(self, sock: socket.socket) -> None:
        peer = self._peers.pop(sock, None)
        for each in (sock, peer):
            if each is None:
                continue
            self._peers.pop(each, None)
            try:
                self._selector.unregister(each)
            except (KeyError, ValueError):
                pass
            each.close()

    def _drop_all(self) -> None:
        for sock in list(self._peers):
            self._drop(sock)
