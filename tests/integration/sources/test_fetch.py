"""``shared.http.Client.get`` on the wire (loopback, no Redis): real redirects, the body limit
(also after gzip), a server that trickles its body past the time budget, chunked bodies."""

from __future__ import annotations

import gzip
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from shared.errors import DeliveryError
from shared.http import Client, Guard
from tests.support.upstream import Answer, Upstream

GUARD = Guard(allowed=[ipaddress.ip_network("127.0.0.0/8")])


def test_redirects_on_the_wire(upstream: Upstream) -> None:
    final = upstream.serve("/final", Answer(200, {"Content-Type": "text/xml"}, b"<rss/>"))
    upstream.serve("/start", Answer(301, {"Location": "/middle"}))
    upstream.serve("/middle", Answer(307, {"Location": final}))
    got = Client().get(upstream.url("/start"), guard=GUARD, headers={"If-None-Match": '"e"'})
    assert got.status == 200 and got.body == b"<rss/>" and got.url == final
    assert got.redirects == ((301, upstream.url("/middle")), (307, final))
    assert [hit.path for hit in upstream.hits] == ["/start", "/middle", "/final"]
    assert all((hit.header("User-Agent") or "").startswith("Syndicate/") for hit in upstream.hits)
    assert upstream.hits[-1].header("If-None-Match") == '"e"'


def test_the_body_limit_holds_after_decompression(upstream: Upstream) -> None:
    plain = b"<rss>" + b"x" * 50_000 + b"</rss>"
    upstream.serve("/plain", Answer(200, {}, plain))
    upstream.serve("/zipped", Answer(200, {"Content-Encoding": "gzip"}, gzip.compress(plain)))
    whole = Client().get(upstream.url("/zipped"), guard=GUARD, max_bytes=100_000)
    assert whole.body == plain and not whole.truncated
    for path in ("/plain", "/zipped"):  # a small gzip body cannot smuggle in a big one
        cut = Client().get(upstream.url(path), guard=GUARD, max_bytes=10_000)
        assert cut.truncated and len(cut.body) == 10_000


@pytest.fixture
def trickle() -> Iterator[str]:
    """A server that sends its headers, then one byte every 0.2 s for ten seconds."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.recv(65536)
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n")
                for _ in range(50):
                    if stop.is_set():
                        break
                    conn.sendall(b"x")
                    time.sleep(0.2)
            except OSError:
                pass
            finally:
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/feed"
    stop.set()
    server.close()


def test_a_trickling_body_is_cut_off_at_the_budget(trickle: str) -> None:
    started = time.monotonic()
    with pytest.raises(DeliveryError, match="timed out"):
        Client().get(trickle, guard=GUARD, budget=1.0)
    assert time.monotonic() - started < 3.0  # not the ten seconds the body would take


def test_chunked_bodies_are_read_whole() -> None:
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = server.accept()
        conn.recv(65536)
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\n<rss>\r\n6\r\n</rss>\r\n0\r\n\r\n"
        )
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    got = Client().get(f"http://127.0.0.1:{server.getsockname()[1]}/", guard=GUARD, budget=5)
    server.close()
    assert got.body == b"<rss></rss>" and not got.truncated
