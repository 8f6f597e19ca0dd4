"""The WebSub hub's rules (W3C Recommendation, 2018), pure: requests, topics, leases, signatures.

The flow: a subscriber ``POST``s ``hub.mode``/``hub.topic``/``hub.callback`` (and optionally
``hub.lease_seconds``, ``hub.secret``) to ``/websub``; we answer ``202`` and verify its intent
asynchronously (a ``GET`` to the callback with ``hub.challenge``, which it must echo with a 2xx).
Topics are our own feed URLs only, ``{PUBLIC_URL}/feeds/{name}.{rss|atom|json}``; anything else is
denied (``hub.mode=denied`` with ``hub.reason`` sent to the callback). A subscription is keyed by
(topic, callback), so a re-subscription renews the same one. On every change of a topic's bytes,
each subscriber gets them (content distribution) with ``Link`` headers and, when it gave a
secret, ``X-Hub-Signature: sha256=<hex HMAC of the body>``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AwareDatetime, BaseModel, ConfigDict

from shared import follows
from shared.errors import BadRequest
from shared.ids import derived_id

HubMode = Literal["subscribe", "unsubscribe"]
IntentState = Literal["pending", "verified", "failed", "denied", "superseded"]

FEED_FORMATS = follows.FORMATS  # a topic is a feed in one of these (one list for the project)
MAX_SECRET_BYTES = 200  # hub.secret "MUST be less than 200 bytes"
MAX_URL_LENGTH = 2048
_FEED_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$")


@dataclass(frozen=True)
class HubRequest:
    """A well-formed subscription request, as the subscriber sent it."""

    mode: HubMode
    topic: str
    callback: str
    lease_seconds: int | None
    secret: str | None


def parse_hub_request(form: Iterable[tuple[str, str]]) -> HubRequest:
    """Read the form of ``POST /websub``; parameters we do not know are ignored.

    Raises ``BadRequest`` saying which parameter is wrong.
    """
    fields: dict[str, str] = {}
    for name, value in form:
        fields.setdefault(name, value)  # the first of repeated parameters counts
    mode = fields.get("hub.mode", "")
    if mode == "publish":
        raise BadRequest(
            "This hub distributes its own feeds only and learns of their changes itself: "
            "hub.mode=publish is not taken here.",
            extra={"parameter": "hub.mode"},
        )
    if mode not in ("subscribe", "unsubscribe"):
        raise BadRequest(
            "hub.mode must be `subscribe` or `unsubscribe`.", extra={"parameter": "hub.mode"}
        )
    topic = _required_url(fields, "hub.topic")
    callback = _required_url(fields, "hub.callback")
    lease = _lease(fields.get("hub.lease_seconds"))
    secret = fields.get("hub.secret") or None
    if secret is not None and len(secret.encode("utf-8")) >= MAX_SECRET_BYTES:
        raise BadRequest(
            f"hub.secret must be under {MAX_SECRET_BYTES} bytes.", extra={"parameter": "hub.secret"}
        )
    return HubRequest(
        mode="subscribe" if mode == "subscribe" else "unsubscribe",
        topic=topic,
        callback=callback,
        lease_seconds=lease,
        secret=secret,
    )


def _required_url(fields: dict[str, str], name: str) -> str:
    value = fields.get(name, "").strip()
    if not value:
        raise BadRequest(f"{name} is required.", extra={"parameter": name})
    if len(value) > MAX_URL_LENGTH:
        raise BadRequest(f"{name} is longer than {MAX_URL_LENGTH}.", extra={"parameter": name})
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError:  # e.g. "Invalid IPv6 URL" for http://[::1
        raise BadRequest(f"{name} is not a valid URL.", extra={"parameter": name}) from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise BadRequest(f"{name} must be an absolute http(s) URL.", extra={"parameter": name})
    return value


def _lease(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    text = value.strip()
    if not text.isdigit() or int(text) <= 0:
        raise BadRequest(
            "hub.lease_seconds must be a positive whole number of seconds.",
            extra={"parameter": "hub.lease_seconds"},
        )
    return int(text)


def topic_feed(topic: str, base_url: str) -> tuple[str, str] | None:
    """``(feed name, format)`` when ``topic`` is one of our feed URLs, else ``None``.

    Whether that feed exists (has been rendered) is for the caller to check in the feed store.
    """
    prefix = base_url.rstrip("/") + "/feeds/"
    if not topic.startswith(prefix):
        return None
    rest = topic[len(prefix) :]
    if any(mark in rest for mark in "?#") or ".." in rest:
        return None
    name, dot, fmt = rest.rpartition(".")
    if not dot or fmt not in FEED_FORMATS or not _FEED_NAME.match(name):
        return None
    return name, fmt


def topic_url(base_url: str, feed: str, fmt: str) -> str:
    """The canonical URL of a topic (what ``rel="self"`` names)."""
    return f"{base_url.rstrip('/')}/feeds/{feed}.{fmt}"


def hub_url(base_url: str) -> str:
    return f"{base_url.rstrip('/')}/websub"


def grant_lease(asked: int | None, default: int, low: int, high: int) -> int:
    """The lease we grant: the one asked for, within [low, high]; ``default`` when none."""
    return min(max(asked if asked is not None else default, low), high)


def subscription_id_for(feed: str, fmt: str, callback: str) -> str:
    """One subscription per (topic, callback): subscribing again renews it, never duplicates."""
    return derived_id("wsub", feed, fmt, callback)


def distribution_id_for(subscription_id: str, etag: str) -> str:
    """One distribution per (subscription, feed bytes): the same bytes never go out twice."""
    return derived_id("dlv", "websub", subscription_id, etag)


def verification_params(
    mode: HubMode, topic: str, challenge: str, lease_seconds: int | None
) -> dict[str, str]:
    """The query of the verification ``GET`` (appended to the callback's own query)."""
    params = {"hub.mode": mode, "hub.topic": topic, "hub.challenge": challenge}
    if mode == "subscribe" and lease_seconds is not None:
        params["hub.lease_seconds"] = str(lease_seconds)
    return params


def denial_params(topic: str, reason: str) -> dict[str, str]:
    return {"hub.mode": "denied", "hub.topic": topic, "hub.reason": reason}


def challenge_echoed(status: int, body: bytes, challenge: str) -> bool:
    """Did the callback confirm: a 2xx whose body is the challenge (surrounding whitespace
    ignored)?"""
    return 200 <= status < 300 and body.strip() == challenge.encode("ascii")


def hub_signature(secret: str, body: bytes) -> str:
    """``X-Hub-Signature`` value: ``sha256=`` and the hex HMAC-SHA256 of the body."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def link_header(hub: str, topic: str) -> str:
    return f'<{hub}>; rel="hub", <{topic}>; rel="self"'


def distribution_headers(
    content_type: str, hub: str, topic: str, secret: str | None, body: bytes
) -> dict[str, str]:
    """Headers of a content distribution ``POST``."""
    headers = {"Content-Type": content_type, "Link": link_header(hub, topic)}
    if secret:
        headers["X-Hub-Signature"] = hub_signature(secret, body)
    return headers


class WebSubSubscription(BaseModel):
    """An active (verified) subscription of a callback to a topic."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    topic: str  # as the subscriber wrote it (echoed back in verification)
    feed: str
    fmt: str
    callback: str
    secret: str | None = None
    lease_seconds: int
    expires_at: AwareDatetime
    created_at: AwareDatetime
    verified_at: AwareDatetime

    def active(self, now: datetime) -> bool:
        return self.expires_at > now


class Intent(BaseModel):
    """A subscribe or unsubscribe request, from ``202`` until its verification is done."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    subscription_id: str
    mode: HubMode
    topic: str
    feed: str | None
    fmt: str | None
    callback: str
    secret: str | None = None
    lease_seconds: int | None = None
    requested_at: AwareDatetime
    denied_reason: str | None = None
    state: IntentState = "pending"
    detail: str | None = None


def subscription_from(
    intent: Intent, now: datetime, created_at: datetime | None
) -> WebSubSubscription:
    """The subscription a verified subscribe intent makes (or renews)."""
    if intent.feed is None or intent.fmt is None or intent.lease_seconds is None:
        raise ValueError("only a subscribe intent for one of our topics makes a subscription")
    return WebSubSubscription(
        id=intent.subscription_id,
        topic=intent.topic,
        feed=intent.feed,
        fmt=intent.fmt,
        callback=intent.callback,
        secret=intent.secret,
        lease_seconds=intent.lease_seconds,
        expires_at=now + timedelta(seconds=intent.lease_seconds),
        created_at=created_at or now,
        verified_at=now,
    )
