"""What one attempt sends, and what its outcome does, for each kind of delivery.

``webhook``: a signed Standard Webhooks ``POST`` of the event to a subscription's URL; ``410``
disables the subscription, a run of failures long enough disables it too. ``websub``: the
entries new since the feed's previous change (the diff render kept), or the topic's current feed
bytes when no diff is kept, to a WebSub callback, with ``Link`` headers and ``X-Hub-Signature``;
an expired lease, or newer feed bytes when there is no diff, end it without a request; ``410``
ends the subscription.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import redis

from services.publish import store, websub_store
from services.publish.deliveries import (
    Outcome,
    disable_reason,
    feed_update_payload,
    payload,
    signing_secrets,
)
from services.publish.signing import webhook_headers
from services.publish.websub import distribution_headers, hub_url, topic_url
from shared import feedstore
from shared.models import Delivery, DeliveryState, Event, Subscription
from shared.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outbound:
    """The request one attempt makes."""

    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    signed_at: int | None = None  # the webhook-timestamp, for the attempt log
    slots: int = 1  # how many attempts of the subscription may be in flight at once
    quick_slots: int = 0  # how many while it answers quickly (``schedule.acquire_slot``)


@dataclass(frozen=True)
class Stop:
    """No request: the delivery ends here, and why."""

    state: DeliveryState
    reason: str
    dead_letter: bool = False


class Channel(Protocol):
    def prepare(
        self, client: redis.Redis, delivery: Delivery, now: datetime, settings: Settings
    ) -> Outbound | Stop: ...

    def prepare_many(
        self, client: redis.Redis, deliveries: list[Delivery], now: datetime, settings: Settings
    ) -> list[Outbound | Stop]:
        """``prepare`` of each delivery (one round trip for all where the channel can)."""

    def settle(
        self,
        client: redis.Redis,
        pipe: Any,
        delivery: Delivery,
        outcome: Outcome,
        now: datetime,
        settings: Settings,
    ) -> None:
        """What the outcome does to the subscription; writes that need no answer may go on
        ``pipe``, which the attempt runs next."""


#: story events whose webhook body this process keeps
BODIES_KEPT = 256


class _Bodies:
    """The webhook bodies of recent story events, per process, each with the stored bytes it
    was made from. A fan-out to N subscriptions sends the same body N times: the attempts
    after the first still read the event and its version, but only compare the bytes (no
    parsing, no JSON built again); different bytes (an event stored anew) make a new body."""

    def __init__(self, kept: int = BODIES_KEPT) -> None:
        self.kept = kept
        self._bodies: OrderedDict[str, tuple[tuple[bytes, bytes | None], bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, event_id: str, source: tuple[bytes, bytes | None]) -> bytes | None:
        with self._lock:
            kept = self._bodies.get(event_id)
            if kept is None or kept[0] != source:
                return None
            self._bodies.move_to_end(event_id)
            return kept[1]

    def put(self, event_id: str, source: tuple[bytes, bytes | None], body: bytes) -> None:
        with self._lock:
            self._bodies[event_id] = (source, body)
            self._bodies.move_to_end(event_id)
            while len(self._bodies) > self.kept:
                self._bodies.popitem(last=False)


class WebhookChannel:
    def __init__(self) -> None:
        self.bodies = _Bodies()

    def prepare(
        self, client: redis.Redis, delivery: Delivery, now: datetime, settings: Settings
    ) -> Outbound | Stop:
        return self.prepare_many(client, [delivery], now, settings)[0]

    def prepare_many(
        self, client: redis.Redis, deliveries: list[Delivery], now: datetime, settings: Settings
    ) -> list[Outbound | Stop]:
        """What each delivery sends, everything read in one round trip."""
        loaded = store.load_for_attempts(client, deliveries)
        return [
            self._outbound(client, delivery, found, now, settings)
            for delivery, found in zip(deliveries, loaded, strict=True)
        ]

    def _outbound(
        self,
        client: redis.Redis,
        delivery: Delivery,
        loaded: store.ForAttempt,
        now: datetime,
        settings: Settings,
    ) -> Outbound | Stop:
        sub, body, failing = self._body(client, delivery, loaded)
        if sub is None:
            return Stop("failed", "not sent: the subscription was deleted")
        if sub.disabled:
            return Stop(
                "failed",
                f"not sent: the subscription is disabled ({sub.disabled_reason or 'no reason'})",
                dead_letter=True,
            )
        if body is None:
            return Stop("failed", f"not sent: event {delivery.event_id} is no longer stored", True)
        timestamp = int(now.timestamp())
        headers = webhook_headers(signing_secrets(sub, now), delivery.event_id, timestamp, body)
        # a failing subscription gets one attempt in flight (a probe), a healthy one N, and
        # up to the quick limit while it answers quickly
        slots = 1 if failing else settings.webhook_max_in_flight
        quick = 1 if failing else settings.webhook_max_in_flight_quick
        return Outbound(sub.url, body, headers, signed_at=timestamp, slots=slots, quick_slots=quick)

    def _body(
        self, client: redis.Redis, delivery: Delivery, loaded: store.ForAttempt
    ) -> tuple[Subscription | None, bytes | None, bool]:
        """The subscription, the body to send (``None`` if its event is gone) and whether the
        subscription is failing, from what ``store.load_for_attempts`` read."""
        sub, failing = loaded.subscription, loaded.failing
        if loaded.update is not None:
            return sub, feed_update_payload(loaded.update), failing
        if loaded.raw_event is None:
            return sub, None, failing
        source = (loaded.raw_event, loaded.raw_story)
        body = self.bodies.get(delivery.event_id, source)
        if body is None:
            event = Event.model_validate_json(loaded.raw_event)
            story = store.version_of(client, delivery, event, loaded.raw_story)
            data: dict[str, Any] = story.to_json_dict() if story is not None else {}
            body = payload(event, data)
            self.bodies.put(delivery.event_id, source, body)
        return sub, body, failing

    def settle(
        self,
        client: redis.Redis,
        pipe: Any,
        delivery: Delivery,
        outcome: Outcome,
        now: datetime,
        settings: Settings,
    ) -> None:
        sub_id = delivery.subscription_id
        if outcome.verdict == "succeeded":
            store.note_success(pipe, sub_id)
            return
        if outcome.verdict == "gone":
            gone = (
                f"the endpoint answered 410 Gone at {now.isoformat(timespec='seconds')}; "
                'PATCH {"disabled": false} once it takes deliveries again'
            )
            _disable(client, sub_id, gone)
            return
        since = store.note_failure(client, sub_id, now)
        reason = disable_reason(since, now, settings.webhook_disable_after_seconds)
        if reason is not None:
            _disable(client, sub_id, reason)


def _disable(client: redis.Redis, sub_id: str, reason: str) -> None:
    def change(sub: Subscription) -> Subscription:
        if sub.disabled:
            return sub
        return sub.model_copy(update={"disabled": True, "disabled_reason": reason})

    if store.update_subscription(client, sub_id, change) is not None:
        log.warning("subscription %s disabled: %s", sub_id, reason)


class WebSubChannel:
    def prepare_many(
        self, client: redis.Redis, deliveries: list[Delivery], now: datetime, settings: Settings
    ) -> list[Outbound | Stop]:
        return [self.prepare(client, delivery, now, settings) for delivery in deliveries]

    def prepare(
        self, client: redis.Redis, delivery: Delivery, now: datetime, settings: Settings
    ) -> Outbound | Stop:
        sub = websub_store.get(client, delivery.subscription_id)
        if sub is None:
            return Stop("failed", "not sent: the WebSub subscription ended")
        if not sub.active(now):
            return Stop("failed", f"not sent: the lease ended at {sub.expires_at.isoformat()}")
        base = settings.base_url
        # the entries new since the change before (render kept them for a while): every diff
        # goes out, none supersedes another, so no entry is missed however fast the feed moves
        diff = None
        if delivery.etag is not None:
            diff = feedstore.load_diff(client, sub.feed, sub.fmt, delivery.etag)
        if diff is not None:
            body, content_type = diff.body, diff.content_type
        else:  # no diff (none kept, or no longer): the whole feed as it is now
            feed = feedstore.load_feed(client, sub.feed, sub.fmt)
            if feed is None:
                return Stop("failed", f"not sent: feed {sub.feed}.{sub.fmt} is not stored", True)
            if delivery.etag is not None and feed.etag != delivery.etag:
                return Stop(
                    "superseded",
                    "the feed changed again; its newer bytes go out in their own delivery",
                )
            body, content_type = feed.body, feed.content_type
        headers = distribution_headers(
            content_type, hub_url(base), topic_url(base, sub.feed, sub.fmt), sub.secret, body
        )
        # one at a time per subscription (it is per topic)
        return Outbound(sub.callback, body, headers, slots=1)

    def settle(
        self,
        client: redis.Redis,
        pipe: Any,
        delivery: Delivery,
        outcome: Outcome,
        now: datetime,
        settings: Settings,
    ) -> None:
        if outcome.verdict == "gone":
            sub = websub_store.get(client, delivery.subscription_id)
            if sub is not None:
                websub_store.remove(client, sub)
                log.warning("WebSub subscription %s ended: its callback answered 410", sub.id)


CHANNELS: dict[str, Channel] = {"webhook": WebhookChannel(), "websub": WebSubChannel()}
