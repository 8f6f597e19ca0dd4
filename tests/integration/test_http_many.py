"""A fan-out's requests on one thread (``shared.http_many``) against raw servers on loopback:
side by side, answers in waves, kept-alive connections (and the one a partner closed), the
ways HTTP/1.1 frames a body, and requests that must not be sent. The promises it shares with
``Client.request`` (TLS, pinning, caps, deadlines) are tested for both in
``test_publish_http.py``."""

from __future__ import annotations

import gzip
import ipaddress
import socket
import threading
import zlib
from typing import Any

import pytest

from shared.errors import DeliveryError, TargetRefused
from shared.http import Client, Guard, HttpResult
from shared.http_many import Call, Ended, exchange
from tests.support.rawserver import RawServer, serve

LOOPBACK_ONLY = [ipaddress.ip_network("127.0.0.1/32")]
GUARD = Guard(allowed=LOOPBACK_ONLY)


def client() -> Client:
    return Client(connect_timeout=5, read_timeout=5)


def answers(calls: list[Call], http: Client | None = None) -> list[HttpResult | Exception]:
    """Every call's answer (or error) by index, whatever the waves."""
    ended: dict[int, HttpResult | Exception] = {}
    for wave in exchange(http or client(), calls, GUARD):
        for index, answer in wave:
            assert index not in ended, "each call ends once"
            ended[index] = answer
    assert sorted(ended) == list(range(len(calls)))
    return [ended[i] for i in range(len(calls))]


def ok(answer: HttpResult | Exception) -> HttpResult:
    assert isinstance(answer, HttpResult), answer
    return answer


def post(server: RawServer, body: bytes = b"{}") -> Call:
    return Call("POST", server.url(), body, {"Content-Type": "application/json"})


def test_ten_requests_go_out_together(servers: list[RawServer]) -> None:
    """Each receiver answers only once all ten requests have reached their receivers: made one
    after another, the first would wait for the others for ever (until the barrier breaks)."""
    everyone = threading.Barrier(10, timeout=10)

    def handler(conn: socket.socket, server: RawServer) -> None:
        everyone.wait()
        server.send(conn, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    receivers = [serve(servers, handler) for _ in range(10)]

    got = answers([post(r) for r in receivers])

    assert [(ok(a).status, ok(a).body) for a in got] == [(200, b"ok")] * 10
    assert not everyone.broken


def test_answers_come_in_waves_as_they_end(servers: list[RawServer]) -> None:
    """A quick receiver's answer is handed over while a slow one is still thinking."""
    go_on = threading.Event()

    def slow(conn: socket.socket, server: RawServer) -> None:
        go_on.wait(10)
        server.send(conn, b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")

    def quick(conn: socket.socket, server: RawServer) -> None:
        server.send(conn, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    calls = [post(serve(servers, slow)), post(serve(servers, quick))]
    waves: list[list[Ended]] = []
    for wave in exchange(client(), calls, GUARD):
        waves.append(wave)
        go_on.set()  # only once the first wave is out
    assert [[i for i, _ in wave] for wave in waves] == [[1], [0]]
    assert ok(waves[0][0][1]).status == 200 and ok(waves[1][0][1]).status == 202


def _keep_alive(body: bytes, close_after: int | None = None) -> Any:
    """Answers each request of a connection with ``body``; with ``close_after``, the first
    connection reads one more request past that many answers and closes without a word (a
    partner that dropped a kept-alive connection as the request went out)."""
    first = threading.Event()

    def handler(conn: socket.socket, server: RawServer) -> None:
        is_first = not first.is_set()
        first.set()
        answered = 0
        while True:
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            server.send(conn, head + body)
            answered += 1
            if not conn.recv(65536):  # the next request, or the client hung up
                return
            if is_first and answered == close_after:
                return  # the request came: close without an answer

    return handler


def test_connections_are_kept_alive_between_fan_outs(servers: list[RawServer]) -> None:
    server = serve(servers, _keep_alive(b"ok"))
    http = client()
    for _ in range(3):
        assert ok(answers([post(server)], http)[0]).body == b"ok"
    assert server.connections == 1


def test_a_kept_alive_connection_the_partner_dropped_is_made_again_once(
    servers: list[RawServer],
) -> None:
    server = serve(servers, _keep_alive(b"ok", close_after=1))
    http = client()
    assert ok(answers([post(server)], http)[0]).status == 200
    # the kept connection looks alive, but the partner drops it when the request arrives: the
    # request goes again on a new connection (no answer came back: it was never taken)
    assert ok(answers([post(server)], http)[0]).status == 200
    assert server.connections == 2


def test_a_new_connection_closed_without_an_answer_fails(servers: list[RawServer]) -> None:
    server = serve(servers, lambda conn, srv: None)  # reads the request, closes
    (answer,) = answers([post(server)])
    assert isinstance(answer, DeliveryError)
    assert answer.detail.startswith("connection failed"), answer.detail
    assert server.connections == 1, "tried once: only a kept-alive connection is tried again"


def _chunked(data: bytes, size: int = 7) -> bytes:
    pieces = [data[i : i + size] for i in range(0, len(data), size)]
    out = b"".join(f"{len(p):x};ext=1\r\n".encode() + p + b"\r\n" for p in pieces)
    return out + b"0\r\nX-Trailer: yes\r\n\r\n"


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("", lambda b: b),
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),  # zlib-wrapped, as the RFC says
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw, as some servers send it
    ],
)
@pytest.mark.parametrize("framing", ["length", "chunked", "close"])
def test_bodies_framed_and_encoded_every_way_are_read_whole(
    servers: list[RawServer], framing: str, encoding: str, encode: Any
) -> None:
    text = b'{"ok": true, "note": "' + b"thanks " * 300 + b'"}'
    payload = encode(text)
    head = "HTTP/1.1 200 OK\r\n" + (f"Content-Encoding: {encoding}\r\n" if encoding else "")
    if framing == "length":
        raw = f"{head}Content-Length: {len(payload)}\r\n\r\n".encode() + payload
    elif framing == "chunked":
        raw = f"{head}Transfer-Encoding: chunked\r\n\r\n".encode() + _chunked(payload)
    else:
        raw = f"{head}\r\n".encode() + payload

    def handler(conn: socket.socket, server: RawServer) -> None:
        for i in range(0, len(raw), 100):  # in pieces, as a network hands them over
            server.send(conn, raw[i : i + 100])

    server = serve(servers, handler)
    (answer,) = answers([post(server)])
    assert ok(answer).body == text and not ok(answer).truncated


def test_an_interim_answer_is_passed_over(servers: list[RawServer]) -> None:
    def handler(conn: socket.socket, server: RawServer) -> None:
        server.send(conn, b"HTTP/1.1 100 Continue\r\n\r\n")
        server.send(conn, b"HTTP/1.1 201 Created\r\nX-Id: 7\r\nContent-Length: 4\r\n\r\ndone")

    (answer,) = answers([post(serve(servers, handler))])
    assert (ok(answer).status, ok(answer).headers["X-Id"], ok(answer).body) == (201, "7", b"done")


def test_repeated_headers_are_joined(servers: list[RawServer]) -> None:
    def handler(conn: socket.socket, server: RawServer) -> None:
        server.send(conn, b"HTTP/1.1 410 Gone\r\nVia: a\r\nvia: b\r\nContent-Length: 0\r\n\r\n")

    (answer,) = answers([post(serve(servers, handler))])
    assert ok(answer).status == 410 and ok(answer).headers == {"Via": "a, b", "Content-Length": "0"}


@pytest.mark.parametrize(
    "headers",
    [{"X-Title": "a\r\nX-Injected: yes"}, {"X-Title": "a\nb"}, {"Bad Name": "x"}, {"X": "ü€"}],
)
def test_a_request_that_cannot_be_sent_safely_is_not_sent(
    servers: list[RawServer], headers: dict[str, str]
) -> None:
    server = serve(servers, lambda conn, srv: srv.send(conn, b"HTTP/1.1 200 OK\r\n\r\n"))
    fine = serve(servers, lambda conn, srv: srv.send(conn, b"HTTP/1.1 200 OK\r\n\r\n"))
    bad, good = answers([Call("POST", server.url(), b"{}", headers), post(fine)])
    assert isinstance(bad, DeliveryError) and bad.detail.startswith("request failed"), bad
    assert ok(good).status == 200, "the others still go"
    assert server.connections == 0


def test_refusals_and_failures_end_alone(servers: list[RawServer]) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    fine = serve(servers, lambda conn, srv: srv.send(conn, b"HTTP/1.1 204 No Content\r\n\r\n"))
    calls = [
        Call("POST", "http://10.0.0.1/hook", b"{}"),
        Call("POST", f"http://127.0.0.1:{port}/hook", b"{}"),
        post(fine),
    ]
    refused, failed, good = answers(calls)
    assert isinstance(refused, TargetRefused)
    assert isinstance(failed, DeliveryError) and "connection failed" in failed.detail
    assert "refused" in failed.detail.lower(), failed.detail
    assert ok(good).status == 204 and ok(good).body == b""
