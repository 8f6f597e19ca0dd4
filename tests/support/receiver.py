"""A real HTTP receiver on loopback that records what it is sent (a webhook subscriber).

Optionally on a given address and port, and over TLS (``ssl_context``; the SNI names clients
asked for are recorded, as are the addresses connections came to).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers each request with the next status of ``statuses`` (then 200), and records it."""

    statuses: list[int] = field(default_factory=list)
    extra_headers: dict[str, str] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    respond: Callable[[Received], tuple[int, bytes]] | None = None
    host: str = "127.0.0.1"
    port: int = 0
    ssl_context: ssl.SSLContext | None = None
    server_names: list[str | None] = field(default_factory=list)  # SNI, per TLS handshake
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _connections: set[socket.socket] = field(default_factory=set)

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{self.host}:{self.bound_port}/hook"

    @property
    def bound_port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out in two writes: without this, Nagle holds the body until
            # the client's delayed ACK (~40 ms per request), which real servers do not do
            disable_nagle_algorithm = True

            def setup(self) -> None:
                super().setup()
                with receiver._lock:
                    receiver._connections.add(self.connection)

            def finish(self) -> None:
                with receiver._lock:
                    receiver._connections.discard(self.connection)
                super().finish()

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if len(body) < length:
                    # the client went away mid-body (a sender killed while sending): a real
                    # server drops such a request, and so does this one, unrecorded
                    self.close_connection = True
                    return
                got = Received(self.command, self.path, dict(self.headers.items()), body)
                with receiver._lock:
                    receiver.requests.append(got)
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                reply = b"ok"
                if receiver.respond is not None:
                    status, reply = receiver.respond(got)
                if status in (204, 304) or status < 200:
                    reply = b""  # a body after these would be read as the next response
                self.send_response(status)
                for name, value in receiver.extra_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_POST = do_GET = do_PUT = _handle

            def log_message(self, *_args: object) -> None:
                return

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        if self.ssl_context is not None:

            def note_name(_sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
                with receiver._lock:
                    receiver.server_names.append(name)

            self.ssl_context.sni_callback = note_name
            self._server.socket = self.ssl_context.wrap_socket(
                self._server.socket, server_side=True
            )
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening and drop the connections clients keep alive: a stopped receiver
        answers nothing more (a client's pooled connection would otherwise still be served)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        with self._lock:
            open_now = list(self._connections)
        for connection in open_now:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def bodies(self) -> list[bytes]:
        with self._lock:
            return [r.body for r in self.requests]

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.requests)
