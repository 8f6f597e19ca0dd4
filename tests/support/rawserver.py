"""A raw TCP server on loopback whose answers a test writes byte by byte: receivers that drip,
never answer, or stream without end, which a well-behaved HTTP server cannot imitate."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Handler = Callable[[socket.socket, "RawServer"], None]


@dataclass
class RawServer:
    """Runs ``handler`` for each connection (in its own thread) after reading the request."""

    handler: Handler
    connections: int = 0
    written: int = 0  # bytes the handlers managed to write, all connections together
    write_failed: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)  # ends held connections
    _sock: socket.socket | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def port(self) -> int:
        assert self._sock is not None
        return int(self._sock.getsockname()[1])

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> RawServer:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self._sock is not None:
            self._sock.close()

    def _accept(self) -> None:
        assert self._sock is not None
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(30)
            try:
                conn.recv(65536)  # the request (small in these tests)
                self.handler(conn, self)
            except OSError:
                self.write_failed.set()

    def send(self, conn: socket.socket, data: bytes) -> None:
        conn.sendall(data)
        with self._lock:
            self.written += len(data)


def serve(servers: list[RawServer], handler: Handler) -> RawServer:
    """Start a raw server running ``handler`` and add it to ``servers`` (the ``servers``
    fixture stops them all at the test's end)."""
    server = RawServer(handler).start()
    servers.append(server)
    return server


def drip(answer: bytes, every: float) -> Handler:
    """Send ``answer`` one byte at a time, ``every`` seconds apart (each read stays short of any
    read timeout, the whole answer does not)."""

    def handler(conn: socket.socket, server: RawServer) -> None:
        for i in range(len(answer)):
            server.send(conn, answer[i : i + 1])
            if server.release.wait(every):
                return

    return handler


def silent(conn: socket.socket, server: RawServer) -> None:
    """Take the request and never answer, until released."""
    server.release.wait(60)


def endless(chunk: int = 64 * 1024) -> Handler:
    """A 200 announcing a gigabyte, then bytes for as long as the client reads them."""

    def handler(conn: socket.socket, server: RawServer) -> None:
        server.send(conn, b"HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n")
        block = b"y" * chunk
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not server.release.is_set():
            server.send(conn, block)

    return handler
