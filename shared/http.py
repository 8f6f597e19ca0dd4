"""The one outbound HTTP helper: timeouts, a User-Agent, no redirects, the SSRF guard, pinning.

Nothing else in the service calls ``requests`` directly. Each request's host is resolved and
checked by ``shared.netguard`` and the connection goes to that very address (TLS still verifies
the host name through SNI and ``assert_hostname``), one pool per (address, port, host name).
At most ``max_bytes`` of a response body are read.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from shared.errors import DeliveryError, TargetRefused
from shared.netguard import IPNetwork, Target, check_url

USER_AGENT = "Syndicate/0.1 (+https://syndicate.example/bot)"
MAX_RESPONSE_BYTES = 64 * 1024


@dataclass(frozen=True)
class HttpResult:
    status: int
    headers: Mapping[str, str]
    body: bytes
    elapsed_ms: float
    address: str


@dataclass
class Guard:
    """The SSRF policy for one kind of target."""

    allowed: Sequence[IPNetwork] = ()
    allow_http: bool = False
    resolver: Any = None


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
    ) -> HttpResult:
        """Send one request to a guarded, pinned target. Raises ``TargetRefused`` or
        ``DeliveryError`` (timeouts, refused connections, TLS failures)."""
        target = check_url(
            url, allowed=guard.allowed, allow_http=guard.allow_http, resolver=guard.resolver
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
                timeout=(self.connect_timeout, self.read_timeout),
                allow_redirects=False,
                stream=True,
            )
        except requests.Timeout as exc:
            raise DeliveryError(f"timed out: {exc}", resource=url) from None
        except requests.ConnectionError as exc:
            raise DeliveryError(f"connection failed: {_short(exc)}", resource=url) from None
        except requests.RequestException as exc:
            raise DeliveryError(f"request failed: {_short(exc)}", resource=url) from None
        try:
            body = response.raw.read(self.max_bytes, decode_content=True) or b""
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
        )


def _host_header(target: Target) -> str:
    default = 443 if target.scheme == "https" else 80
    host = f"[{target.host}]" if ":" in target.host else target.host
    return host if target.port == default else f"{host}:{target.port}"


def _pinned_url(target: Target) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(target.url)
    address = str(target.address)
    host = f"[{address}]" if ":" in address else address
    return urlunsplit((parts.scheme, f"{host}:{target.port}", parts.path or "/", parts.query, ""))


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 300 else text[:300] + "…"


__all__ = ["Client", "Guard", "HttpResult", "TargetRefused"]
