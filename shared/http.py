"""The one outbound HTTP helper: timeouts, a User-Agent, no redirects, the SSRF guard, pinning.

Nothing else in the service calls ``requests`` directly. Each request's host is resolved and
checked by ``shared.netguard`` and the connection goes to that very address (TLS still verifies
the host name through SNI and ``assert_hostname``), one pool per (address, port, host name).
At most ``max_bytes`` of a response body are read (``truncated`` says when there was more).

``request`` never follows a redirect (webhooks, WebSub). ``get`` follows a bounded number of
them (source polling): every hop is resolved and checked by the guard again, a hop from https
to http is refused, and the whole fetch, body included, keeps to one time budget.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter

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


class _PinnedAdapter(HTTPAdapter):
    """Connects to the address the guard checked; keeps the host name for TLS."""

    def build_connection_pool_key_attributes(  # type: ignore[override]
        self, request: requests.PreparedRequest, verify: bool | str, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, typed_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        pool_kwargs: dict[str, Any] = dict(typed_kwargs)
        server_name = getattr(request, "syndicate_server_name", None)
        if server_name and host_params.get("scheme") == "https":
            pool_kwargs["server_hostname"] = server_name
            pool_kwargs["assert_hostname"] = server_name
        return dict(host_params), pool_kwargs


@dataclass
class Client:
    """A pooled, guarded HTTP client. One per process is enough."""

    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    max_bytes: int = MAX_RESPONSE_BYTES
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        adapter = _PinnedAdapter(pool_connections=64, pool_maxsize=16, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.trust_env = (
            False  # no proxies from the environment: they would dodge the guard
        )

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
        ``DeliveryError`` (timeouts, refused connections, TLS failures). ``timeout`` (connect,
        read) and ``max_bytes`` override the client's; ``deadline`` (``time.monotonic()``)
        bounds the reading of the body."""
        target = check_url(
            url,
            allowed=guard.allowed,
            allow_http=guard.allow_http,
            resolver=guard.resolver,
            allow_setting=guard.allow_setting,
            http_setting=guard.http_setting,
        )
        request = requests.Request(
            method,
            _pinned_url(target),
            data=data,
            headers={"User-Agent": USER_AGENT, **(headers or {}), "Host": _host_header(target)},
            params=params,
        )
        prepared = self.session.prepare_request(request)
        prepared.syndicate_server_name = target.host  # type: ignore[attr-defined]
        started = time.perf_counter()
        try:
            response = self.session.send(
                prepared,
                timeout=timeout or (self.connect_timeout, self.read_timeout),
                allow_redirects=False,
                stream=True,
            )
        except requests.Timeout as exc:
            raise DeliveryError(f"timed out: {exc}", resource=url) from None
        except requests.ConnectionError as exc:
            raise DeliveryError(f"connection failed: {_short(exc)}", resource=url) from None
        except requests.RequestException as exc:
            raise DeliveryError(f"request failed: {_short(exc)}", resource=url) from None
        truncated = False
        try:
            body, truncated = _read_body(
                response.raw, self.max_bytes if max_bytes is None else max_bytes, deadline
            )
        except DeliveryError as exc:
            exc.resource = url
            raise
        except Exception as exc:  # noqa: BLE001 - a broken body is a failed attempt, not a crash
            body = f"<body unreadable: {type(exc).__name__}>".encode()
        finally:
            response.close()
        elapsed = (time.perf_counter() - started) * 1000
        return HttpResult(
            status=response.status_code,
            headers=dict(response.headers),
            body=body,
            elapsed_ms=elapsed,
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


def _read_body(raw: Any, max_bytes: int, deadline: float | None) -> tuple[bytes, bool]:
    """Up to ``max_bytes`` of the (decoded) body, and whether there was more. One socket read
    at a time, so a server that trickles bytes is stopped at ``deadline``."""
    chunks: list[bytes] = []
    total = 0
    while total <= max_bytes:
        if deadline is not None and time.monotonic() > deadline:
            raise DeliveryError("timed out while reading the body")
        chunk = raw.read1(_CHUNK, decode_content=True)
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


def _host_header(target: Target) -> str:
    default = 443 if target.scheme == "https" else 80
    host = f"[{target.host}]" if ":" in target.host else target.host
    return host if target.port == default else f"{host}:{target.port}"


def _pinned_url(target: Target) -> str:
    from urllib.parse import urlunsplit

    parts = urlsplit(target.url)
    address = str(target.address)
    host = f"[{address}]" if ":" in address else address
    return urlunsplit((parts.scheme, f"{host}:{target.port}", parts.path or "/", parts.query, ""))


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 300 else text[:300] + "…"


__all__ = ["Client", "Guard", "HttpResult", "TargetRefused"]
