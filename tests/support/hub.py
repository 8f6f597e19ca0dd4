"""A small WebSub hub on loopback, as an upstream agency might run one: takes subscription
requests, verifies the subscriber's intent (``GET`` with a random challenge, which must be
echoed), and pushes content signed with the subscriber's secret."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode

import requests


@dataclass(frozen=True)
class Asked:
    """A subscription request the hub got, and how its verification went."""

    form: dict[str, str]
    challenge: str
    status: int | None  # the callback's answer to the check
    echoed: bool
    at: float  # time.monotonic() of the check
    params: dict[str, str]  # what the check sent


@dataclass
class Subscriber:
    topic: str
    callback: str
    secret: str | None
    lease_seconds: int


@dataclass
class Hub:
    lease_seconds: int = 600
    asked: list[Asked] = field(default_factory=list)
    subscribers: dict[tuple[str, str], Subscriber] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/hub"

    def start(self) -> Hub:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()
                # verification of intent happens after the answer, as hubs usually do it
                threading.Thread(target=hub._verify, args=(form,), daemon=True).start()

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

    def _verify(self, form: dict[str, str]) -> None:
        challenge = secrets.token_urlsafe(16)
        params = {
            "hub.mode": form.get("hub.mode", ""),
            "hub.topic": form.get("hub.topic", ""),
            "hub.challenge": challenge,
        }
        if form.get("hub.mode") == "subscribe":
            params["hub.lease_seconds"] = str(self.lease_seconds)
        status, echoed = self.check(form["hub.callback"], params)
        with self._lock:
            self.asked.append(Asked(form, challenge, status, echoed, time.monotonic(), params))
            key = (form.get("hub.topic", ""), form["hub.callback"])
            if echoed and form.get("hub.mode") == "subscribe":
                self.subscribers[key] = Subscriber(
                    key[0], key[1], form.get("hub.secret"), self.lease_seconds
                )
            elif echoed and form.get("hub.mode") == "unsubscribe":
                self.subscribers.pop(key, None)

    @staticmethod
    def check(callback: str, params: dict[str, str]) -> tuple[int | None, bool]:
        """``GET`` the callback with ``params``; (status, whether it echoed the challenge)."""
        joiner = "&" if "?" in callback else "?"
        try:
            answer = requests.get(callback + joiner + urlencode(params), timeout=10)
        except requests.RequestException:
            return None, False
        echoed = answer.status_code // 100 == 2 and answer.text.strip() == params.get(
            "hub.challenge"
        )
        return answer.status_code, echoed

    def requests_of(self, mode: str) -> list[Asked]:
        with self._lock:
            return [a for a in self.asked if a.form.get("hub.mode") == mode]

    def active(self) -> list[Subscriber]:
        with self._lock:
            return list(self.subscribers.values())

    def publish(
        self,
        subscriber: Subscriber,
        body: bytes,
        content_type: str = "application/rss+xml",
        *,
        sign_with: str | None = "",
    ) -> requests.Response:
        """Push ``body`` to one subscriber, signed with its secret (``sign_with``: another
        secret; ``None``: no signature at all)."""
        headers = {
            "Content-Type": content_type,
            "Link": f'<{self.url}>; rel="hub", <{subscriber.topic}>; rel="self"',
        }
        secret = subscriber.secret if sign_with == "" else sign_with
        if secret is not None:
            digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            headers["X-Hub-Signature"] = f"sha256={digest}"
        return requests.post(subscriber.callback, data=body, headers=headers, timeout=10)
