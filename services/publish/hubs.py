"""Telling external WebSub hubs that a topic changed (``hub.mode=publish``, ``hub.url=<topic>``).

Many public hubs (e.g. the PubSubHubbub reference hub, Superfeedr) take this "publish ping" and
then fetch the topic themselves. The request goes through the guarded client like every other
outbound request; a non-2xx answer or a failed connection is a ``DeliveryError``, which the
``hub_ping`` task retries (``docs/websub.md``: how). A refusal by the SSRF guard is final.
"""

from __future__ import annotations

from urllib.parse import urlencode

from services.publish.targets import http_client, webhook_guard
from shared.errors import DeliveryError
from shared.settings import Settings

FORM_TYPE = "application/x-www-form-urlencoded"


def ping_form(topic: str) -> bytes:
    """The body of a publish ping for ``topic``."""
    return urlencode({"hub.mode": "publish", "hub.url": topic}).encode()


def ping_accepted(status: int) -> bool:
    """A hub accepts a publish ping with any 2xx (the W3C text leaves the code to the hub;
    the reference hubs answer 204)."""
    return 200 <= status < 300


def ping(hub: str, topic: str, settings: Settings) -> int:
    """Send one publish ping; returns the hub's status. Raises ``DeliveryError`` (retryable)
    when the hub could not be reached or refused it, ``TargetRefused`` when the guard refuses
    the hub's address."""
    answer = http_client(settings).request(
        "POST",
        hub,
        guard=webhook_guard(settings),
        data=ping_form(topic),
        headers={"Content-Type": FORM_TYPE},
    )
    if not ping_accepted(answer.status):
        raise DeliveryError(f"hub {hub} answered {answer.status} to a publish ping", resource=hub)
    return answer.status
