"""The outbound HTTP client and SSRF policy for webhook and WebSub targets, from settings."""

from __future__ import annotations

from functools import lru_cache

from shared.http import Client, Guard
from shared.settings import get_settings


@lru_cache(maxsize=1)
def http_client() -> Client:
    """One pooled client per process (a pool per target host inside)."""
    settings = get_settings()
    return Client(
        connect_timeout=settings.webhook_connect_timeout,
        read_timeout=settings.webhook_read_timeout,
    )


def webhook_guard() -> Guard:
    settings = get_settings()
    return Guard(allowed=settings.webhook_allowed_networks, allow_http=settings.webhook_allow_http)
