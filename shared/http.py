"""The one outbound HTTP helper: timeouts, a User-Agent, no redirects, the SSRF guard, pinning.

Outbound requests (WebSub verifications, hub pings, sources, the API's checks) go through here,
on urllib3's connection pools; webhook and WebSub attempts go through ``shared.http_many``, which
makes a fan-out's requests side by side on one thread with the same guard, pinning, timeouts and
cap, and uses this module's guard check and request head. Each request's host is resolved and
checked by ``shared.netguard`` and the connection goes to that very address (TLS still verifies
the host name through SNI and ``assert_hostname``), one pool per (address, port, host name).
At most ``max_bytes`` of a response body are read (``truncated`` says when there was more).

``request`` never follows a redirect (webhooks, WebSub). ``get`` follows a bounded number of
them (source polling): every hop is resolved and checked by the guard again, a hop from https
to http is refused, and the whole fetch, body included, keeps to one time budget.

Every request also has a **total deadline** (``total_timeout``, by default connect + read
timeout): the lookup, the connection, the answer's headers and the body together. The read
timeout alone is per socket read, so a receiver that drips its answer a byte at a time could
otherwise keep a request alive for ever. A watchdog thread shuts the request's sockets down
when its deadline passes, which ends any read in progress at once; the request then fails as
timed out. The lookup runs in a small thread pool, bounded by the connect timeout.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import os
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

import certifi
import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from shared.errors import DeliveryError, TargetRefused
from shared.netguard import ALLOW_SETTING, HTTP_SETTING, IPNetwork, Target, check_url

USER_AGENT = "Syndicate/0.1 (+https://syndicate.example/bot)"
MAX_RESPONSE_BYTES = 64 * 1024
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class HttpResult:
    status: int
    headers: Mapping[str, str]
    body: bytes
    elapsed_ms: float
    address: str
    #: the URL that answered (after any redirects ``get`` followed)
    url: str = ""
    #: each redirect followed: (status, the URL it sent us to)
    redirects: tuple[tuple[int, str], ...] = ()
    #: the body was longer than ``max_bytes``; only that much was kept
    truncated: bool = False


@dataclass
class Guard:
    """The SSRF policy for one kind of target (and the settings its refusals name)."""

    allowed: Sequence[IPNetwork] = ()
    allow_http: bool = False
    resolver: Any = None
    allow_setting: str = ALLOW_SETTING
    http_setting: str = HTTP_SETTING


# --- the total deadline ------------------------------------------------------------------------


class _Deadline:
    """One request's deadline and the sockets it uses; ``expire`` shuts them all down.

    Each socket is watched through a duplicate of its file descriptor: ``shutdown`` acts on the
    connection itself (not the descriptor), so it ends a read blocked on the original, plain or
    TLS, even during the TLS handshake, and the duplicate can be closed without touching the
    pooled connection.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False
        self._handles: list[socket.socket] = []
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        try:
            handle = socket.socket(fileno=os.dup(sock.fileno()))
        except OSError:
            return
        with self._lock:
            self._handles.append(handle)
            if self.expired:
                _shut(handle)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            for handle in self._handles:
                _shut(handle)

    def close(self) -> None:
        with self._lock:
            for handle in self._handles:
                handle.close()
            self._handles.clear()


def _shut(handle: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the other end or by urllib3
        handle.shutdown(socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread per process that expires the deadlines that have passed.

    It sleeps until the soonest deadline armed when it last looked, and is woken only by a
    deadline sooner than that: requests arm deadlines seconds ahead and disarm them a few
    milliseconds later, and waking the thread for each one cost a thread switch per request."""

    def __init__(self) -> None:
        self._armed: dict[int, _Deadline] = {}
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._wakes_at = float("inf")  # when the thread will look again by itself

    def arm(self, deadline: _Deadline) -> None:
        with self._cond:
            self._armed[id(deadline)] = deadline
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="http-deadline", daemon=True)
                self._thread.start()
            if deadline.at < self._wakes_at:
                self._wakes_at = deadline.at
                self._cond.notify()

    def disarm(self, deadline: _Deadline) -> None:
        with self._cond:
            self._armed.pop(id(deadline), None)

    def _run(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                due = [d for d in self._armed.values() if d.at <= now]
                for deadline in due:
                    del self._armed[id(deadline)]
                if not due:
                    soonest = min((d.at for d in self._armed.values()), default=None)
                    self._wakes_at = float("inf") if soonest is None else soonest
                    self._cond.wait(None if soonest is None else soonest - now)
                    continue
            for deadline in due:
                deadline.expire()


_WATCHDOG = _Watchdog()
_current = threading.local()  # the deadline of the request this thread is making


def _watch_current(sock: socket.socket | None) -> None:
    deadline: _Deadline | None = getattr(_current, "deadline", None)
    if deadline is not None:
        deadline.watch(sock)


class _WatchedHTTPConnection(HTTPConnection):
    """Hands every socket it opens or reuses to the current request's deadline."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _watch_current(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch_current(self.sock)  # a kept-alive connection (a new one is watched on connect)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _watch_current(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch_current(self.sock)
        super().request(*args, **kwargs)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


#: host lookups run here so that a resolver that hangs cannot outlast the deadline
_LOOKUPS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="http-lookup")


def _after_fork() -> None:
    """A forked child (a prefork pool) has none of its parent's threads: start afresh."""
    global _WATCHDOG, _LOOKUPS, _current
    _WATCHDOG = _Watchdog()
    _LOOKUPS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="http-lookup")
    _current = threading.local()


os.register_at_fork(after_in_child=_after_fork)


# --- the client --------------------------------------------------------------------------------


#: what every request asks for besides its own headers (what ``requests`` sent by default)
DEFAULT_HEADERS = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate", "Accept": "*/*"}
#: connection pools kept per process (one per address, port, host name and trust), and the
#: kept-alive connections each keeps
POOLS = 64
POOL_CONNECTIONS = 16


@dataclass
class Client:
    """A pooled, guarded HTTP client. One per process is enough.

    ``total_timeout`` bounds a whole request (lookup, connection, headers and the body read);
    ``None`` means ``connect_timeout + read_timeout``. ``verify``: the certificate authorities
    trusted for https (``True``: certifi's bundle; a path: a bundle file or a folder of them).

    Requests go straight through urllib3's connection pools (the transport ``requests`` is
    built on): ``requests``' own per-request machinery (preparing the request against session
    settings, its adapter, hooks and cookies) was about a sixth of the CPU of a webhook attempt.
    """

    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    max_bytes: int = MAX_RESPONSE_BYTES
    total_timeout: float | None = None
    verify: bool | str = True
    _pools: OrderedDict[tuple[Any, ...], HTTPConnectionPool] = field(
        default_factory=OrderedDict, repr=False
    )
    _pools_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _pool(self, target: Target) -> HTTPConnectionPool:
        """The pool of connections to the address the guard checked (the host name kept for
        TLS: SNI and the certificate's name), made on first use; the least used go first."""
        address = str(target.address)
        key = (target.scheme, address, target.port, target.host, self.verify)
        with self._pools_lock:
            pool = self._pools.get(key)
            if pool is not None:
                self._pools.move_to_end(key)
                return pool
            if target.scheme == "https":
                trust: dict[str, Any] = {"cert_reqs": "CERT_NONE"}
                if self.verify:
                    where = trusted(self.verify)
                    trust = {"cert_reqs": "CERT_REQUIRED"}
                    trust["ca_cert_dir" if os.path.isdir(where) else "ca_certs"] = where
                pool = _WatchedHTTPSPool(
                    address,
                    target.port,
                    maxsize=POOL_CONNECTIONS,
                    retries=False,
                    server_hostname=target.host,
                    assert_hostname=target.host,
                    **trust,
                )
            else:
                pool = _WatchedHTTPPool(
                    address, target.port, maxsize=POOL_CONNECTIONS, retries=False
                )
            self._pools[key] = pool
            while len(self._pools) > POOLS:
                _, old = self._pools.popitem(last=False)
                old.close()
            return pool

    @property
    def deadline_seconds(self) -> float:
        """The most one request may take, start to finish."""
        if self.total_timeout is not None:
            return self.total_timeout
        return self.connect_timeout + self.read_timeout

    def request(
        self,
        method: str,
        url: str,
        *,
        guard: Guard,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        timeout: tuple[float, float] | None = None,
        max_bytes: int | None = None,
        deadline: float | None = None,
    ) -> HttpResult:
        """Send one request to a guarded, pinned target. Raises ``TargetRefused`` or
        ``DeliveryError`` (timeouts, the total deadline, refused connections, TLS failures).

        ``timeout`` (connect, read) and ``max_bytes`` override the client's; ``deadline`` (a
        ``time.monotonic()`` instant) replaces the client's total deadline for this request."""
        started = time.perf_counter()
        seconds = self.deadline_seconds if deadline is None else deadline - time.monotonic()
        total = _Deadline(max(0.0, seconds))
        target = self._check(url, guard, total)
        _WATCHDOG.arm(total)
        _current.deadline = total
        try:
            status, response_headers, body, truncated = self._exchange(
                method,
                url,
                target,
                data,
                headers,
                params,
                total,
                timeout or (self.connect_timeout, self.read_timeout),
                self.max_bytes if max_bytes is None else max_bytes,
            )
        finally:
            _current.deadline = None
            _WATCHDOG.disarm(total)
            total.close()
        return HttpResult(
            status=status,
            headers=response_headers,
            body=body,
            elapsed_ms=(time.perf_counter() - started) * 1000,
            address=str(target.address),
            url=url,
            truncated=truncated,
        )

    def get(
        self,
        url: str,
        *,
        guard: Guard,
        headers: Mapping[str, str] | None = None,
        max_redirects: int = 5,
        budget: float | None = None,
        max_bytes: int | None = None,
    ) -> HttpResult:
        """``GET`` following at most ``max_redirects`` redirects, each hop checked by the guard
        (an https → http hop is refused), within ``budget`` seconds in all, body included.

        Raises ``TargetRefused`` (a hop the guard refuses) or ``DeliveryError`` (too many
        redirects, timeouts, connection failures)."""
        started = time.monotonic()
        deadline = started + budget if budget is not None else None
        redirects: list[tuple[int, str]] = []
        current = url
        while True:
            timeout = None
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DeliveryError(f"timed out after {budget:g} s", resource=url)
                timeout = (min(self.connect_timeout, left), left)
            answer = self.request(
                "GET",
                current,
                guard=guard,
                headers=headers,
                timeout=timeout,
                max_bytes=max_bytes,
                deadline=deadline,
            )
            location = _header(answer.headers, "location")
            if answer.status not in REDIRECT_STATUSES or not location:
                return replace(
                    answer,
                    url=current,
                    redirects=tuple(redirects),
                    elapsed_ms=(time.monotonic() - started) * 1000,
                )
            following = urljoin(current, location.strip())
            if len(redirects) >= max_redirects:
                raise DeliveryError(
                    f"more than {max_redirects} redirects (the last to {following})", resource=url
                )
            if urlsplit(current).scheme == "https" and urlsplit(following).scheme != "https":
                raise TargetRefused(
                    f"redirect from {current} to {following} refused: https must not become "
                    "plain http",
                    resource=url,
                )
            redirects.append((answer.status, following))
            current = following

    def _check(self, url: str, guard: Guard, deadline: _Deadline) -> Target:
        """The guard's check, its lookup bounded by the connect timeout (and the deadline)."""
        limit = max(0.0, min(self.connect_timeout, deadline.remaining()))
        try:
            return _checked(url, guard, limit)
        except FutureTimeout:
            raise DeliveryError(
                f"timed out: looking up the host of {url!r} took over {limit:g} s", resource=url
            ) from None

    def _exchange(
        self,
        method: str,
        url: str,
        target: Target,
        data: bytes | None,
        headers: Mapping[str, str] | None,
        params: Mapping[str, str] | None,
        deadline: _Deadline,
        timeout: tuple[float, float],
        max_bytes: int,
    ) -> tuple[int, dict[str, str], bytes, bool]:
        try:
            response = self._pool(target).urlopen(
                method,
                request_path(target, params),
                body=data,
                headers={**DEFAULT_HEADERS, **(headers or {}), "Host": host_header(target)},
                retries=False,
                redirect=False,
                timeout=urllib3.Timeout(connect=timeout[0], read=timeout[1]),
                preload_content=False,
            )
        except urllib3.exceptions.NewConnectionError as exc:  # (a subclass of the timeouts)
            detail = _late(deadline) or f"connection failed: {short_error(exc)}"
            raise DeliveryError(detail, resource=url) from None
        except urllib3.exceptions.TimeoutError as exc:
            raise DeliveryError(_late(deadline) or f"timed out: {exc}", resource=url) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            detail = _late(deadline) or f"connection failed: {short_error(exc)}"
            raise DeliveryError(detail, resource=url) from None
        except ValueError as exc:  # a header or a URL that cannot be sent
            detail = _late(deadline) or f"request failed: {short_error(exc)}"
            raise DeliveryError(detail, resource=url) from None
        truncated, whole = False, False
        try:
            body, truncated = _read_body(response, max_bytes)
            whole = not truncated
        except Exception as exc:  # noqa: BLE001 - a broken body is a failed attempt, not a crash
            if deadline.expired:
                raise DeliveryError(_late(deadline) or "timed out", resource=url) from None
            body = f"<body unreadable: {type(exc).__name__}>".encode()
        finally:
            if not whole or deadline.expired:
                response.close()  # what is left unread must not reach the next request
            response.release_conn()
        if deadline.expired:  # the watchdog cut the body short: the answer is not complete
            raise DeliveryError(_late(deadline) or "timed out", resource=url)
        return response.status, dict(response.headers), body, truncated


def _read_body(raw: Any, max_bytes: int) -> tuple[bytes, bool]:
    """Up to ``max_bytes`` of the (decoded) body, and whether there was more; one socket read at
    a time (the watchdog ends a read that outlives the request's deadline)."""
    chunks: list[bytes] = []
    total = 0
    while total <= max_bytes:
        chunk = raw.read1(min(_CHUNK, max_bytes + 1 - total), decode_content=True)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    body = b"".join(chunks)
    return body[:max_bytes], total > max_bytes


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name."""
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def check_target(url: str, guard: Guard, timeout: float) -> Target:
    """The SSRF guard's verdict on ``url`` (``shared.netguard.check_url``), its host lookup given
    at most ``timeout`` seconds: what the API checks a client's URL with, so a name that
    resolves slowly ties up nothing for long. Raises ``TargetRefused``, also on a slow lookup."""
    try:
        return _checked(url, guard, timeout)
    except FutureTimeout:
        raise TargetRefused(
            f"{url!r}: looking up its host took over {timeout:g} s", resource=url
        ) from None


def _checked(url: str, guard: Guard, timeout: float) -> Target:
    """The guard's verdict on ``url`` within ``timeout`` seconds (``begin_check``)."""
    return begin_check(url, guard)(timeout)


def begin_check(url: str, guard: Guard) -> Callable[[float], Target]:
    """Start the guard's check of ``url``; the function returned waits at most its argument in
    seconds for the verdict (a ``Target``; ``TargetRefused``; ``concurrent.futures``'
    ``TimeoutError`` when the lookup took longer). A host name is looked up on a lookup thread,
    so a resolver that hangs holds up nothing for longer than that, and several lookups run side
    by side; an address has nothing to look up and is checked at once, in this thread."""
    check = functools.partial(
        check_url,
        url,
        allowed=guard.allowed,
        allow_http=guard.allow_http,
        resolver=guard.resolver,
        allow_setting=guard.allow_setting,
        http_setting=guard.http_setting,
    )
    if guard.resolver is None and _is_address(url):
        try:
            target = check()
        except TargetRefused as exc:
            refused = exc

            def refuse(_: float) -> Target:
                raise refused

            return refuse
        return lambda _: target
    future = _LOOKUPS.submit(check)
    return lambda timeout: future.result(timeout=timeout)


def _is_address(url: str) -> bool:
    """Is the host of ``url`` an IP address (nothing to look up)?"""
    try:
        ipaddress.ip_address(urlsplit(url).hostname or "")
    except ValueError:
        return False
    return True


def _late(deadline: _Deadline) -> str | None:
    if not deadline.expired:
        return None
    return f"timed out: the request took longer than {deadline.seconds:g} s in all"


def host_header(target: Target) -> str:
    default = 443 if target.scheme == "https" else 80
    host = f"[{target.host}]" if ":" in target.host else target.host
    return host if target.port == default else f"{host}:{target.port}"


def request_path(target: Target, params: Mapping[str, str] | None) -> str:
    """The request target (path and query) of ``target``'s URL, with ``params`` added to its
    query (the host is the pinned address, the name goes in ``Host``)."""
    parts = urlsplit(target.url)
    query = parts.query
    if params:
        query = f"{query}&{urlencode(params)}" if query else urlencode(params)
    return urlunsplit(("", "", parts.path or "/", query, ""))


def short_error(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) < 300 else text[:300] + "…"


def trusted(verify: bool | str) -> str:
    """The certificate authorities a ``verify`` setting trusts: certifi's bundle for ``True``,
    else the bundle file or folder it names (and nothing else)."""
    return certifi.where() if verify is True else str(verify)


__all__ = ["Client", "Guard", "HttpResult", "TargetRefused", "check_target"]
