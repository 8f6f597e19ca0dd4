"""Fetching a feed politely, through the one outbound HTTP helper (``shared.http``).

A conditional ``GET`` (the validators of the last ``200``, for the URL they came from), an
``Accept`` that names the feed types, our ``User-Agent``, the source's time budget and largest
body, and at most ``SYNDICATE_SOURCE_MAX_REDIRECTS`` redirects, each hop checked again by the
SSRF guard with the source settings (``SYNDICATE_SOURCE_ALLOWED_NETWORKS``, ``…_ALLOW_HTTP``).
"""

from __future__ import annotations

from functools import lru_cache

from services.ingest.sources.model import PollState, Source
from services.ingest.sources.policy import conditional_headers
from shared.http import Client, Guard, HttpResult
from shared.settings import Settings

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/json;q=0.9, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
CONNECT_TIMEOUT = 10.0


@lru_cache(maxsize=1)
def http_client() -> Client:
    """One pooled client per process; every call brings its own budget and body limit."""
    return Client(connect_timeout=CONNECT_TIMEOUT, read_timeout=30.0)


def source_guard(settings: Settings) -> Guard:
    """The SSRF policy of source URLs and their WebSub hubs (refusals name its settings)."""
    return Guard(
        allowed=settings.source_allowed_networks,
        allow_http=settings.source_allow_http,
        allow_setting="SYNDICATE_SOURCE_ALLOWED_NETWORKS",
        http_setting="SYNDICATE_SOURCE_ALLOW_HTTP",
    )


def budget(source: Source, settings: Settings) -> float:
    return source.timeout_seconds or settings.source_timeout_seconds


def max_bytes(source: Source, settings: Settings) -> int:
    return source.max_bytes or settings.source_max_bytes


def request_headers(source: Source, state: PollState) -> dict[str, str]:
    """What a poll sends: the validators only when they belong to the source's current URL."""
    headers = {"Accept": ACCEPT}
    if state.validators_for == source.url:
        headers.update(conditional_headers(state.etag, state.last_modified))
    return headers


def fetch(client: Client, source: Source, state: PollState, settings: Settings) -> HttpResult:
    """One polite, bounded, guarded ``GET`` of the source's feed."""
    if source.url is None:
        raise ValueError(f"source {source.id} is not a feed")
    return client.get(
        source.url,
        guard=source_guard(settings),
        headers=request_headers(source, state),
        max_redirects=settings.source_max_redirects,
        budget=budget(source, settings),
        max_bytes=max_bytes(source, settings),
    )
