"""The outbound HTTP client (``shared.http``) against real servers on loopback: TLS to a pinned
address under a rebinding name, the 64 KiB cap, the total deadline against receivers that drip,
lookups that hang, and URLs that do not even parse. No Redis, no workers.

The tests that hold for any request run twice: through ``Client.request`` (a thread per
request) and through ``shared.http_many.exchange`` (a fan-out's requests on one thread), which
keeps the same promises."""

from __future__ import annotations

import gzip
import ipaddress
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shared.errors import DeliveryError, TargetRefused
from shared.http import MAX_RESPONSE_BYTES, Client, Guard, HttpResult, check_target
from shared.http_many import Call, exchange
from tests.support.rawserver import RawServer, drip, endless, serve, silent
from tests.support.receiver import Receiver
from tests.support.tls import make_certificates

LOOPBACK_ONLY = [ipaddress.ip_network("127.0.0.1/32")]
NAME = "partner.test"


Request = Callable[..., HttpResult]


def one_loop(
    client: Client, method: str, url: str, *, guard: Guard, data: bytes | None = None
) -> HttpResult:
    """One request through ``exchange``, its failure raised as ``Client.request`` raises it."""
    ended = [pair for wave in exchange(client, [Call(method, url, data)], guard) for pair in wave]
    ((index, answer),) = ended
    assert index == 0
    if isinstance(answer, Exception):
        raise answer
    return answer


@pytest.fixture(params=["threads", "one loop"])
def request_(request: pytest.FixtureRequest) -> Request:
    """How a test sends one request: ``Client.request``, or ``exchange`` with one call."""
    if request.param == "threads":
        return lambda client, *args, **kwargs: client.request(*args, **kwargs)
    return one_loop


def rebinding_dns(monkeypatch: pytest.MonkeyPatch, *answers: str) -> list[str]:
    """The machine's resolver answers ``NAME`` with each of ``answers`` in turn (then the last):
    a name that rebinds between lookups. Other names resolve as usual. Returns the log of
    lookups of ``NAME``."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != NAME:
            return real(host, port, *args, **kwargs)
        answer = answers[min(len(asked), len(answers) - 1)]
        asked.append(answer)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer, int(port)))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_https_goes_to_the_checked_address_and_verifies_the_name(
    request_: Request, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    certs = make_certificates(tmp_path, NAME)
    partner = Receiver(ssl_context=certs.server_context()).start()
    # what a second lookup would reach: the same port on another address, refused by the guard
    elsewhere = Receiver(host="127.0.0.2", port=partner.bound_port).start()
    try:
        lookups = rebinding_dns(monkeypatch, "127.0.0.1", "127.0.0.2")
        client = Client(connect_timeout=5, read_timeout=5)
        client.verify = str(certs.ca)
        guard = Guard(allowed=LOOPBACK_ONLY)
        url = f"https://{NAME}:{partner.bound_port}/hook"

        answer = request_(client, "POST", url, guard=guard, data=b"{}")

        assert answer.status == 200 and answer.address == "127.0.0.1"
        assert lookups == ["127.0.0.1"], "one lookup, the guard's: nothing looked the name up again"
        (got,) = partner.snapshot()
        assert got.headers["Host"] == f"{NAME}:{partner.bound_port}"
        assert partner.server_names == [NAME], "SNI carries the name, not the address"
        assert elsewhere.snapshot() == []
        # the name now answers 127.0.0.2: the next request checks that, and refuses it
        with pytest.raises(TargetRefused, match=r"127\.0\.0\.2"):
            request_(client, "POST", url, guard=guard, data=b"{}")
        assert elsewhere.snapshot() == [] and len(partner.snapshot()) == 1

        # the certificate is checked against the name asked for, not against the address
        other = "other.test"
        monkeypatch.setattr(
            socket,
            "getaddrinfo",
            lambda host, port, *a, **k: [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", int(port)))
            ],
        )
        with pytest.raises(DeliveryError, match=r"(?i)certificate|hostname"):
            request_(client, "POST", f"https://{other}:{partner.bound_port}/", guard=guard)
        assert len(partner.snapshot()) == 1
    finally:
        partner.stop()
        elsewhere.stop()


@pytest.mark.parametrize("compressed", [False, True])
def test_at_most_64_kib_of_an_answer_is_read(
    request_: Request, servers: list[RawServer], compressed: bool
) -> None:
    if compressed:  # 50 MiB once inflated: the cap counts inflated bytes
        bomb = gzip.compress(b"z" * (50 * 1024 * 1024))
        answer = (
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
            + f"Content-Length: {len(bomb)}\r\n\r\n".encode()
            + bomb
        )
        server = serve(servers, lambda conn, srv: srv.send(conn, answer))
    else:
        server = serve(servers, endless())
    client = Client(connect_timeout=5, read_timeout=10)

    started = time.monotonic()
    result = request_(client, "POST", server.url(), guard=Guard(allowed=LOOPBACK_ONLY), data=b"{}")

    assert result.status == 200
    assert len(result.body) == MAX_RESPONSE_BYTES == 64 * 1024
    if not compressed:
        # the client hung up: the server could not write its gigabyte (far from it)
        assert server.write_failed.wait(20), "the server was never cut off"
        assert server.written < 64 * 1024 * 1024
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("part", ["headers", "body"])
def test_a_receiver_that_drips_its_answer_is_cut_off_at_the_total_deadline(
    request_: Request, servers: list[RawServer], part: str
) -> None:
    if part == "headers":
        slow = b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * 200 + b"\r\nContent-Length: 2\r\n\r\nok"
        server = serve(servers, drip(slow, 0.2))
    else:

        def handler(conn: socket.socket, srv: RawServer) -> None:
            srv.send(conn, b"HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n")
            drip(b"b" * 200, 0.2)(conn, srv)

        server = serve(servers, handler)
    client = Client(connect_timeout=1, read_timeout=1)  # every byte comes well within 1 s
    assert client.deadline_seconds == 2

    started = time.monotonic()
    with pytest.raises(DeliveryError, match="took longer than 2 s in all"):
        request_(client, "POST", server.url(), guard=Guard(allowed=LOOPBACK_ONLY), data=b"{}")
    took = time.monotonic() - started
    assert 1.9 <= took < 5, took
    assert server.write_failed.wait(10), "the connection was closed under the receiver"


def test_a_silent_receiver_times_out_on_the_read_timeout(
    request_: Request, servers: list[RawServer]
) -> None:
    server = serve(servers, silent)
    client = Client(connect_timeout=1, read_timeout=0.5)
    with pytest.raises(DeliveryError, match="timed out"):
        request_(client, "POST", server.url(), guard=Guard(allowed=LOOPBACK_ONLY), data=b"{}")


def test_a_lookup_that_hangs_is_given_up_after_the_connect_timeout() -> None:
    release = threading.Event()

    def hanging(host: str, port: int) -> list[ipaddress.IPv4Address]:
        release.wait(30)
        return [ipaddress.IPv4Address("127.0.0.1")]

    guard = Guard(allowed=LOOPBACK_ONLY, resolver=hanging)
    try:
        started = time.monotonic()
        with pytest.raises(DeliveryError, match="looking up the host"):
            Client(connect_timeout=0.5, read_timeout=5).request(
                "POST", "http://slow.test/hook", guard=guard
            )
        with pytest.raises(TargetRefused, match=r"looking up its host took over 0\.5 s"):
            check_target("http://slow.test/hook", guard, 0.5)
        assert time.monotonic() - started < 5
    finally:
        release.set()


@pytest.mark.parametrize(
    "url", ["http://[::1", "http://[x]/", "http://a]b/", "http://\u2100.com/", "http://[v1.x]/"]
)
def test_a_url_that_does_not_parse_is_refused_not_raised(url: str) -> None:
    with pytest.raises(TargetRefused):
        Client().request("POST", url, guard=Guard(allowed=LOOPBACK_ONLY))


def _answers_on_one_connection(body: bytes) -> Any:
    """A handler that answers every request on its connection with ``body`` (keep-alive; the
    requests are bodiless GETs, each read whole by one ``recv``)."""

    def handler(conn: socket.socket, server: RawServer) -> None:
        while True:
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            server.send(conn, head + body)
            if not conn.recv(65536):  # the next request, or the client hung up
                return

    return handler


def test_requests_to_one_target_share_a_kept_alive_connection(
    request_: Request, servers: list[RawServer]
) -> None:
    server = serve(servers, _answers_on_one_connection(b"ok"))
    client = Client(connect_timeout=5, read_timeout=5)
    guard = Guard(allowed=LOOPBACK_ONLY)
    for _ in range(3):
        result = request_(client, "GET", server.url(), guard=guard)
        assert (result.status, result.body) == (200, b"ok")
    assert server.connections == 1


def test_an_answer_cut_short_is_not_left_for_the_next_request(
    request_: Request, servers: list[RawServer]
) -> None:
    long = b"x" * (MAX_RESPONSE_BYTES * 2)
    server = serve(servers, _answers_on_one_connection(long))
    client = Client(connect_timeout=5, read_timeout=5)
    guard = Guard(allowed=LOOPBACK_ONLY)
    for _ in range(2):
        result = request_(client, "GET", server.url(), guard=guard)
        assert result.status == 200 and result.truncated
        assert result.body == long[:MAX_RESPONSE_BYTES]
    # the unread rest of the first answer is never read as the second one's head
    assert server.connections == 2


def test_query_parameters_join_the_url_s_own() -> None:
    receiver = Receiver().start()
    try:
        client = Client(connect_timeout=5, read_timeout=5)
        url = receiver.url + "?topic=a%2Fb"
        params = {"hub.mode": "subscribe", "hub.challenge": "x y&z=1"}
        result = client.request("GET", url, guard=Guard(allowed=LOOPBACK_ONLY), params=params)
        assert result.status == 200
        (got,) = receiver.snapshot()
        assert got.path == "/hook?topic=a%2Fb&hub.mode=subscribe&hub.challenge=x+y%26z%3D1"
        assert got.headers["Host"] == f"127.0.0.1:{receiver.bound_port}"
        assert got.headers["User-Agent"].startswith("Syndicate/")
    finally:
        receiver.stop()
