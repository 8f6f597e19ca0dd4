"""The outbound HTTP client and SSRF policy for webhook and WebSub targets, from settings."""

from __future__ import annotations

from functools import lru_cache

from shared.errors import TargetRefused
from shared.http import Client, Guard, check_target
from shared.netguard import Target
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


def check_client_url(url: str, where: dict[str, str], settings: Settings | None = None) -> Target:
    """Check a URL a client gives us (a webhook target, a WebSub callback) at the API: the
    same guard as at delivery, its lookup bounded by the connect timeout. ``TargetRefused``
    (422) says why; ``where`` (e.g. ``{"field": "url"}``) goes into the problem."""
    settings = settings or get_settings()
    try:
        return check_target(url, webhook_guard(settings), settings.webhook_connect_timeout)
    except TargetRefused as exc:
        raise TargetRefused(
            exc.detail, resource=exc.resource, extra={**exc.extra, **where}
        ) from None
