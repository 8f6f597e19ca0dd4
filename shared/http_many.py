"""Many outbound requests side by side on one thread: a fan-out's webhook and WebSub attempts.

``exchange`` makes each request over non-blocking sockets and one ``selectors`` loop in the
calling thread, yielding the answers in waves as they end. It keeps every promise of
``shared.http.Client.request``: the SSRF guard checks each URL (host names looked up side by
side on the lookup threads, bounded by the connect timeout) and the connection goes to the
address it checked; TLS verifies the host name (SNI and the certificate) against the trusted
authorities; the connect, read and total timeouts hold; at most ``max_bytes`` of the decoded
body are read; redirects are never followed. It speaks just HTTP/1.1 with kept-alive
connections (a pool per address, port, host name and trust, like the client's), bodies by
``Content-Length``, chunks or the connection's end, and gzip or deflate.

Why not the client's threads: a thread per request (urllib3's pool, the deadline's watchdog,
the hand-off to the thread and back) cost about 600 µs of CPU per request in a fan-out of ten
on loopback, against about 35 µs for the bytes themselves (docs/performance.md). A fan-out
to ten subscribers made ten of them per story.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import select
import selectors
import socket
import ssl
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from shared.errors import DeliveryError, TargetRefused
from shared.http import (
    DEFAULT_HEADERS,
    POOL_CONNECTIONS,
    POOLS,
    Client,
    Guard,
    HttpResult,
    begin_check,
    host_header,
    request_path,
    short_error,
    trusted,
)
from shared.netguard import Target

#: the longest head (status line and headers) of an answer we read
MAX_HEAD_BYTES = 64 * 1024
_RECV = 64 * 1024
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(r"[\r\n\x00]")
_NO_BODY = frozenset({204, 304})


@dataclass(frozen=True)
class Call:
    """One request to make."""

    method: str
    url: str
    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


#: one ended request: its index in the calls, and its answer or why it has none
Ended = tuple[int, HttpResult | DeliveryError | TargetRefused]


def exchange(
    client: Client, calls: Sequence[Call], guard: Guard, grace: float = 0.005
) -> Iterator[list[Ended]]:
    """Make every call side by side on this thread, yielding them (by index) in waves as they
    end: those that end within ``grace`` seconds of the first of a wave come together. Every
    failure is an ``Ended`` error (``TargetRefused`` from the guard, ``DeliveryError`` for the
    rest), never an exception. The client gives the timeouts, the body cap and the trust."""
    loop = _Loop(client, grace)
    try:
        yield from loop.run(calls, guard)
    finally:
        loop.close()


# --- kept-alive connections ---------------------------------------------------------------


PoolKey = tuple[str, str, int, str, bool | str]


class _Idle:
    """Kept-alive connections per (scheme, address, port, host name, trust), newest reused
    first; at most ``POOL_CONNECTIONS`` each and ``POOLS`` keys, the least used dropped."""

    def __init__(self) -> None:
        self._pools: OrderedDict[PoolKey, list[socket.socket]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: PoolKey) -> socket.socket | None:
        while True:
            with self._lock:
                kept = self._pools.get(key)
                if not kept:
                    return None
                sock = kept.pop()
            if _alive(sock):
                return sock
            sock.close()

    def put(self, key: PoolKey, sock: socket.socket) -> None:
        dropped: list[socket.socket] = []
        with self._lock:
            kept = self._pools.setdefault(key, [])
            self._pools.move_to_end(key)
            kept.append(sock)
            if len(kept) > POOL_CONNECTIONS:
                dropped.append(kept.pop(0))
            while len(self._pools) > POOLS:
                _, old = self._pools.popitem(last=False)
                dropped += old
        for old_sock in dropped:
            old_sock.close()

    def forget(self) -> None:
        """A forked child starts with no connections (the parent's stay the parent's)."""
        self._pools = OrderedDict()
        self._lock = threading.Lock()


def _alive(sock: socket.socket) -> bool:
    """A kept-alive connection is fit to reuse when nothing is waiting to be read on it: the
    partner closed it (an end of file) or sent something nobody asked for."""
    try:
        poll = select.poll()
        poll.register(sock, select.POLLIN)
        return not poll.poll(0)
    except (OSError, ValueError):
        return False


_IDLE = _Idle()
os.register_at_fork(after_in_child=_IDLE.forget)

_contexts: dict[bool | str, ssl.SSLContext] = {}
_contexts_lock = threading.Lock()


def _tls(verify: bool | str) -> ssl.SSLContext:
    """The TLS context of one trust setting, made once per process (loading the authorities
    takes milliseconds)."""
    with _contexts_lock:
        context = _contexts.get(verify)
        if context is None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # names checked, nothing trusted
            if verify:
                where = trusted(verify)  # only these, as the client's pools trust
                if os.path.isdir(where):
                    context.load_verify_locations(capath=where)
                else:
                    context.load_verify_locations(cafile=where)
            else:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            _contexts[verify] = context
        return context


# --- the loop ------------------------------------------------------------------------------


class _Failed(Exception):
    """An exchange ends without an answer (``detail`` says why)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class _Exchange:
    """One request's connection and what has come back so far."""

    def __init__(self, index: int, call: Call, target: Target, loop: _Loop) -> None:
        self.index, self.call, self.target, self.loop = index, call, target, loop
        self.started = loop.started
        self.deadline = loop.total_deadline
        self.key: PoolKey = (
            target.scheme, str(target.address), target.port, target.host, loop.client.verify,
        )  # fmt: skip
        self.request = _request_bytes(call, target)
        self.sock: socket.socket | None = None
        self.reused = False
        self.retried = False
        self.wake_at = 0.0
        self.want = 0  # the selector events waited for (0: not registered)
        self.step = "connect"
        self._reset()

    def _reset(self) -> None:
        self.sent = 0
        self.buf = bytearray()
        self.got_any = False
        self.status = 0
        self.headers: dict[str, str] = {}
        self.keep_alive = False
        self.framing = ""  # "length", "chunked" or "close"
        self.left = 0  # body bytes still to come ("length"), or of the current chunk
        self.chunk_step = "size"  # "size", "data", "crlf", "trailer"
        self.decoder: Any = None
        self.body: list[bytes] = []
        self.kept = 0
        self.truncated = False
        self.broken = ""

    # --- the steps --------------------------------------------------------------------------

    def open(self) -> None:
        """A kept-alive connection if there is one, else a new one (connecting)."""
        sock = None if self.retried else _IDLE.take(self.key)
        if sock is not None:
            self.sock, self.reused = sock, True
            self._sending()
            return
        self.reused = False
        family = socket.AF_INET6 if self.target.address.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        code = sock.connect_ex((str(self.target.address), self.target.port))
        if code not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN):
            raise _Failed(f"connection failed: {_os_error(code)}")
        self.step = "connect"
        self._wait(selectors.EVENT_WRITE, self.loop.client.connect_timeout)

    def advance(self) -> bool:
        """Go as far as the socket allows; True when the answer is complete."""
        if self.step == "connect":
            assert self.sock is not None
            code = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                raise _Failed(f"connection failed: {_os_error(code)}")
            if self.target.scheme == "https":
                self.loop.forget(self)  # the plain socket gives its descriptor to the TLS one
                self.sock = _tls(self.loop.client.verify).wrap_socket(
                    self.sock, server_hostname=self.target.host, do_handshake_on_connect=False
                )
                self.step = "handshake"
            else:
                self._sending()
                return False
        if self.step == "handshake":
            return self._handshake()
        if self.step == "send":
            self._send()
            return False
        return self._read()

    def _handshake(self) -> bool:
        assert isinstance(self.sock, ssl.SSLSocket)
        try:
            self.sock.do_handshake()
        except ssl.SSLWantReadError:
            self._wait(selectors.EVENT_READ, self.loop.client.connect_timeout, keep_time=True)
            return False
        except ssl.SSLWantWriteError:
            self._wait(selectors.EVENT_WRITE, self.loop.client.connect_timeout, keep_time=True)
            return False
        except (ssl.SSLError, ssl.CertificateError, OSError) as exc:
            raise _Failed(f"connection failed: {short_error(exc)}") from None
        self._sending()
        return False

    def _sending(self) -> None:
        self.step = "send"
        self.wake_at = 0.0
        self._send()

    def _send(self) -> None:
        assert self.sock is not None
        view = memoryview(self.request)
        while self.sent < len(view):
            try:
                self.sent += self.sock.send(view[self.sent :])
            except (BlockingIOError, ssl.SSLWantWriteError):
                self._wait(selectors.EVENT_WRITE, self.loop.client.read_timeout)
                return
            except ssl.SSLWantReadError:
                self._wait(selectors.EVENT_READ, self.loop.client.read_timeout)
                return
            except OSError as exc:
                self._lost(exc)
                return
        self.step = "read"
        self._wait(selectors.EVENT_READ, self.loop.client.read_timeout)

    def _lost(self, exc: OSError | None) -> None:
        """The connection ended under us before any answer: a kept-alive one the partner had
        closed gets one more go on a new connection (nothing of the answer came back, so the
        request was not taken); anything else failed."""
        if self.reused and not self.retried and not self.got_any:
            self.retried = True
            self._drop()
            self._reset()
            self.open()
            return
        raise _Failed(
            "connection failed: "
            + (short_error(exc) if exc else "the connection closed before an answer came")
        )

    def _read(self) -> bool:
        assert self.sock is not None
        while True:
            try:
                data = self.sock.recv(_RECV)
            except (BlockingIOError, ssl.SSLWantReadError):
                self._wait(selectors.EVENT_READ, self.loop.client.read_timeout)
                return False
            except ssl.SSLWantWriteError:
                self._wait(selectors.EVENT_WRITE, self.loop.client.read_timeout)
                return False
            except OSError as exc:
                if self.status:
                    return self._cut(f"<body unreadable: {type(exc).__name__}>")
                self._lost(exc)
                return False
            if not data:
                return self._ended()
            self.got_any = True
            self.buf += data
            if self._parse():
                return True

    def _ended(self) -> bool:
        """The partner closed the connection."""
        if not self.status:
            self._lost(None)
            return False
        if self.framing == "close":
            self._finish_decoding()
            self.keep_alive = False
            return True
        return self._cut("<body unreadable: IncompleteRead>")

    def _cut(self, why: str) -> bool:
        """The body broke off: the status stands, the body says it could not be read (as the
        client does)."""
        self.broken = why
        self.keep_alive = False
        return True

    # --- parsing ----------------------------------------------------------------------------

    def _parse(self) -> bool:
        """Consume what is buffered; True when the answer is complete."""
        while not self.status:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > MAX_HEAD_BYTES:
                    raise _Failed("connection failed: the answer's headers are too long")
                return False
            head, self.buf = bytes(self.buf[:end]), self.buf[end + 4 :]
            self._head(head)
        return self._body()

    def _head(self, head: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise _Failed(f"connection failed: not an HTTP answer: {lines[0][:80]!r}")
        status = int(parts[1])
        if 100 <= status < 200 and status != 101:
            return  # an interim answer (100 Continue, 103 Early Hints): the real one follows
        headers: dict[str, str] = {}
        names: dict[str, str] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon or not name or name != name.strip():
                continue
            value = value.strip()
            lower = name.lower()
            if lower in names:
                headers[names[lower]] += ", " + value
            else:
                names[lower] = name
                headers[name] = value
        self.status, self.headers = status, headers

        def header(name: str) -> str:
            return headers.get(names.get(name, ""), "").strip().lower()

        connection = header("connection")
        self.keep_alive = parts[0] == "HTTP/1.1" and "close" not in connection
        encoding = header("content-encoding")
        if encoding == "gzip":
            self.decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self.decoder = _Deflate()
        if status in _NO_BODY or status == 101 or self.call.method.upper() == "HEAD":
            self.framing, self.left = "length", 0
        elif header("transfer-encoding").endswith("chunked"):
            self.framing = "chunked"
        elif header("content-length"):
            length = header("content-length").split(",")[0].strip()
            if not length.isdigit():
                raise _Failed(f"connection failed: a bad Content-Length: {length[:40]!r}")
            self.framing, self.left = "length", int(length)
        else:
            self.framing, self.keep_alive = "close", False

    def _body(self) -> bool:
        if self.framing == "length":
            take = min(self.left, len(self.buf))
            if take:
                self._keep(bytes(self.buf[:take]))
                del self.buf[:take]
                self.left -= take
            if self.truncated:
                return True
            if self.left == 0:
                self._finish_decoding()
                self.keep_alive = self.keep_alive and not self.buf
                return True
            return False
        if self.framing == "close":
            if self.buf:
                self._keep(bytes(self.buf))
                self.buf.clear()
            return self.truncated
        return self._chunks()

    def _chunks(self) -> bool:
        while True:
            if self.truncated:
                return True
            if self.chunk_step == "size":
                end = self.buf.find(b"\r\n")
                if end < 0:
                    if len(self.buf) > 1024:
                        raise _Failed("connection failed: a chunk's size line is too long")
                    return False
                size = bytes(self.buf[:end]).split(b";")[0].strip()
                del self.buf[: end + 2]
                try:
                    self.left = int(size, 16)
                except ValueError:
                    return self._cut("<body unreadable: InvalidChunkLength>")
                self.chunk_step = "data" if self.left else "trailer"
            elif self.chunk_step == "data":
                take = min(self.left, len(self.buf))
                if not take:
                    return False
                self._keep(bytes(self.buf[:take]))
                del self.buf[:take]
                self.left -= take
                if self.left == 0:
                    self.chunk_step = "crlf"
            elif self.chunk_step == "crlf":
                if len(self.buf) < 2:
                    return False
                del self.buf[:2]
                self.chunk_step = "size"
            else:  # the trailer: header lines up to an empty one
                end = self.buf.find(b"\r\n")
                if end < 0:
                    return False
                line = bytes(self.buf[:end])
                del self.buf[: end + 2]
                if not line:
                    self._finish_decoding()
                    self.keep_alive = self.keep_alive and not self.buf
                    return True

    def _keep(self, data: bytes) -> None:
        """Keep up to ``max_bytes`` of the decoded body; past that the answer is truncated."""
        room = self.loop.max_bytes + 1 - self.kept
        if self.decoder is not None:
            try:
                data = self.decoder.decompress(data, room)
            except zlib.error:
                self._cut("<body unreadable: DecodeError>")
                return
            if self.decoder.unconsumed_tail:
                data += b"\0"  # more than fits: enough to say so
        self.body.append(data[:room])
        self.kept += min(len(data), room)
        if self.kept > self.loop.max_bytes:
            self.truncated = True
            self.keep_alive = False

    def _finish_decoding(self) -> None:
        if self.decoder is not None and not self.truncated:
            try:
                rest = self.decoder.flush()
            except zlib.error:
                self.broken = "<body unreadable: DecodeError>"
                return
            if rest:
                self._keep(rest)

    # --- bookkeeping -------------------------------------------------------------------------

    def _wait(self, events: int, seconds: float, *, keep_time: bool = False) -> None:
        """Wait for ``events`` on the socket, at most ``seconds`` (from now; or, with
        ``keep_time``, from when this step began waiting) and never past the total deadline."""
        now = time.monotonic()
        if not (keep_time and self.wake_at):
            self.wake_at = min(self.deadline, now + seconds)
        self.loop.watch(self, events)

    def result(self) -> HttpResult:
        body = self.broken.encode() if self.broken else b"".join(self.body)[: self.loop.max_bytes]
        return HttpResult(
            status=self.status,
            headers=self.headers,
            body=body,
            elapsed_ms=(time.perf_counter() - self.started) * 1000,
            address=str(self.target.address),
            url=self.call.url,
            truncated=self.truncated and not self.broken,
        )

    def release(self, completed: bool) -> None:
        """Keep the connection for the next request to the same place when the answer was read
        to its end and the partner keeps it open; close it otherwise."""
        sock = self.sock
        self.loop.forget(self)
        self.sock = None
        if sock is None:
            return
        if completed and self.keep_alive and not self.buf and not self.broken:
            _IDLE.put(self.key, sock)
        else:
            sock.close()

    def _drop(self) -> None:
        self.loop.forget(self)
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def timed_out(self, now: float) -> DeliveryError:
        if now >= self.deadline:
            seconds = self.loop.client.deadline_seconds
            detail = f"timed out: the request took longer than {seconds:g} s in all"
        elif self.step in ("connect", "handshake"):
            detail = f"timed out: no connection within {self.loop.client.connect_timeout:g} s"
        else:
            detail = f"timed out: no answer within {self.loop.client.read_timeout:g} s"
        return DeliveryError(detail, resource=self.call.url)


class _Deflate:
    """``deflate`` as servers send it: zlib-wrapped, or raw (the first bytes tell)."""

    def __init__(self) -> None:
        self._inner: Any = None
        self._first = b""

    @property
    def unconsumed_tail(self) -> bytes:
        return bytes(self._inner.unconsumed_tail) if self._inner is not None else b""

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if self._inner is None:
            self._first += data
            if len(self._first) < 2:
                return b""
            wrapped = (self._first[0] & 0x0F) == 8 and int.from_bytes(
                self._first[:2], "big"
            ) % 31 == 0
            self._inner = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
            data, self._first = self._first, b""
        return bytes(self._inner.decompress(data, max_length))

    def flush(self) -> bytes:
        return bytes(self._inner.flush()) if self._inner is not None else b""


class _Loop:
    """The selector loop of one ``exchange``."""

    def __init__(self, client: Client, grace: float) -> None:
        self.client, self.grace = client, grace
        self.max_bytes = client.max_bytes
        self.started = time.perf_counter()
        self.total_deadline = time.monotonic() + client.deadline_seconds
        self.selector = selectors.DefaultSelector()
        self.active: dict[int, _Exchange] = {}

    def watch(self, ex: _Exchange, events: int) -> None:
        assert ex.sock is not None
        if ex.want == 0:
            self.selector.register(ex.sock, events, ex)
        elif ex.want != events:
            self.selector.modify(ex.sock, events, ex)
        ex.want = events

    def forget(self, ex: _Exchange) -> None:
        if ex.want and ex.sock is not None:
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(ex.sock)
        ex.want = 0

    def run(self, calls: Sequence[Call], guard: Guard) -> Iterator[list[Ended]]:
        ended: list[Ended] = []
        for index, call, target in self._checked(calls, guard, ended):
            try:
                ex = _Exchange(index, call, target, self)
            except _Failed as exc:
                ended.append((index, DeliveryError(exc.detail, resource=call.url)))
                continue
            self.active[index] = ex
            self._step(ex, ended, ex.open)
        wave_ends = time.monotonic() + self.grace if ended else None
        while self.active:
            now = time.monotonic()
            soonest = min(ex.wake_at for ex in self.active.values())
            if wave_ends is not None:
                soonest = min(soonest, wave_ends)
            for key, _ in self.selector.select(max(0.0, soonest - now)):
                ex = key.data
                if ex.index in self.active:
                    self._step(ex, ended, ex.advance)
            now = time.monotonic()
            for ex in [ex for ex in self.active.values() if now >= ex.wake_at]:
                self._end(ex, ended, ex.timed_out(now), completed=False)
            if ended and wave_ends is None:
                wave_ends = now + self.grace
            if ended and (not self.active or now >= (wave_ends or now)):
                yield sorted(ended, key=lambda pair: pair[0])
                ended, wave_ends = [], None
        if ended:
            yield sorted(ended, key=lambda pair: pair[0])

    def _checked(
        self, calls: Sequence[Call], guard: Guard, ended: list[Ended]
    ) -> list[tuple[int, Call, Target]]:
        """Each call's target, the guard's lookups side by side; the refused end here."""
        waits = [begin_check(call.url, guard) for call in calls]
        checked = []
        for index, (call, wait) in enumerate(zip(calls, waits, strict=True)):
            limit = max(
                0.0, min(self.client.connect_timeout, self.total_deadline - time.monotonic())
            )
            try:
                checked.append((index, call, wait(limit)))
            except TargetRefused as exc:
                ended.append((index, exc))
            except FutureTimeout:
                detail = f"timed out: looking up the host of {call.url!r} took over {limit:g} s"
                ended.append((index, DeliveryError(detail, resource=call.url)))
        return checked

    def _step(self, ex: _Exchange, ended: list[Ended], step: Any) -> None:
        try:
            done = step()
        except _Failed as exc:
            self._end(ex, ended, DeliveryError(exc.detail, resource=ex.call.url), completed=False)
            return
        except OSError as exc:  # no socket to be had (too many open files), TLS set-up
            detail = f"connection failed: {short_error(exc)}"
            self._end(ex, ended, DeliveryError(detail, resource=ex.call.url), completed=False)
            return
        if done:
            self._end(ex, ended, ex.result(), completed=True)

    def _end(
        self,
        ex: _Exchange,
        ended: list[Ended],
        outcome: HttpResult | DeliveryError,
        *,
        completed: bool,
    ) -> None:
        ex.release(completed)
        self.active.pop(ex.index, None)
        ended.append((ex.index, outcome))

    def close(self) -> None:
        """Whatever is still in flight (the caller stopped early) is closed, never kept."""
        for ex in list(self.active.values()):
            ex.release(completed=False)
        self.active.clear()
        self.selector.close()


def _request_bytes(call: Call, target: Target) -> bytes:
    """The request's head and body as sent; a method, header or path that cannot be sent as
    it is (a line break in a header value: header injection) is refused, not sent."""
    method = call.method.upper()
    path = request_path(target, None)
    if not _TOKEN.fullmatch(method):
        raise _Failed(f"request failed: {method!r} is not a method")
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in path):
        raise _Failed("request failed: the URL's path holds spaces or control characters")
    given = {**DEFAULT_HEADERS, **call.headers}
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host_header(target)}"]
    for name, value in given.items():
        if name.lower() in ("host", "content-length", "transfer-encoding"):
            continue
        if not _TOKEN.fullmatch(name):
            raise _Failed(f"request failed: {name[:40]!r} is not a header name")
        if _BAD_VALUE.search(str(value)):
            raise _Failed(f"request failed: the header {name} holds a line break")
        lines.append(f"{name}: {value}")
    if call.body is not None or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(call.body or b'')}")
    try:
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    except UnicodeEncodeError:
        raise _Failed("request failed: a header holds characters that HTTP cannot carry") from None
    return head + (call.body or b"")


def _os_error(code: int) -> str:
    return f"[Errno {code}] {os.strerror(code)}"


__all__ = ["Call", "Ended", "exchange"]
