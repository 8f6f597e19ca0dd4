"""The outbound HTTP client and SSRF policy for webhook and WebSub targets, from settings."""

from __future__ import annotations

from functools import lru_cache

from shared.http import Client, Guard
from shared.settings import Settings, get_settings


@lru_cache(maxsize=4)
def _client(connect_timeout: float, read_timeout: float) -> Client:
    return Client(connect_timeout=connect_timeout, read_timeout=read_timeout)


def http_client(settings: Settings | None = None) -> Client:
    """One pooled client per process and timeouts (a pool per target host inside)."""
    settings = settings or get_settings()
    return _client(settings.webhook_connect_timeout, settings.webhook_read_timeout)


def webhook_guard(settings: Settings | None = None) -> Guard:
    """The SSRF policy of webhook targets, WebSub callbacks and external hubs."""
    settings = settings or get_settings()
    return Guard(allowed=settings.webhook_allowed_networks, allow_http=settings.webhook_allow_http)
