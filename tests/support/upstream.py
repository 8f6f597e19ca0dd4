"""An upstream wire on loopback: serves what a test tells it, path by path, and records every
request it gets (with when), so tests can see what a poll sent and how often."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Hit:
    """One request the upstream got."""

    method: str
    path: str
    headers: dict[str, str]
    at: float  # time.monotonic()

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0  # seconds before answering (a slow upstream)


Route = Callable[[Hit], Answer]


@dataclass
class Upstream:
    routes: dict[str, Route | Answer] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def serve(self, path: str, answer: Route | Answer) -> str:
        with self._lock:
            self.routes[path] = answer
        return self.url(path)

    def start(self) -> Upstream:
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                hit = Hit(self.command, self.path, dict(self.headers.items()), time.monotonic())
                with upstream._lock:
                    upstream.hits.append(hit)
                    route = upstream.routes.get(self.path.split("?", 1)[0])
                answer = (
                    Answer(404, body=b"no such feed")
                    if route is None
                    else route
                    if isinstance(route, Answer)
                    else route(hit)
                )
                if answer.delay:
                    time.sleep(answer.delay)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    if self.command != "HEAD" and answer.status not in (204, 304):
                        self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up waiting (a timeout test)

            do_GET = do_POST = do_HEAD = _handle

            def log_message(self, *_args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def hits_of(self, path: str) -> list[Hit]:
        with self._lock:
            return [hit for hit in self.hits if hit.path.split("?", 1)[0] == path]


def rss(
    items: list[tuple[str, str]],
    *,
    title: str = "Harbour Wire",
    hub: str | None = None,
    self_url: str | None = None,
) -> bytes:
    """A small RSS 2.0 feed of (guid, headline) items, newest first, each with a short body."""
    links = ""
    if hub:
        links += f'<atom:link rel="hub" href="{escape(hub)}"/>'
    if self_url:
        links += f'<atom:link rel="self" href="{escape(self_url)}"/>'
    entries = "".join(
        f'<item><title>{escape(headline)}</title><guid isPermaLink="false">{escape(guid)}</guid>'
        f"<pubDate>Tue, 01 Sep 2026 08:00:00 +0000</pubDate><dc:creator>Ana Lima</dc:creator>"
        f"<description>{escape(headline)}.</description>"
        f"<content:encoded><![CDATA[<p>OSLO, Sept 1 (Reuters) - {escape(headline)} today.</p>"
        f"<p>(Reporting by Ana Lima; Editing by Cy Dore)</p>]]></content:encoded></item>"
        for guid, headline in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">'
        f"<channel><title>{escape(title)}</title><link>https://wire.example/</link>{links}"
        f"{entries}</channel></rss>"
    ).encode()


def http_date(when: datetime | None = None) -> str:
    return format_datetime(when or datetime.now(UTC), usegmt=True)
