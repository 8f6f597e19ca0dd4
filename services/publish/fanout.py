"""From an event to the deliveries it makes (one per subscription that gets it), in Redis.

Story events fan out in version order per story (see ``services.publish.chains``): version *n*
waits (parked durably, looked at every second by ``drain_due``) until version *n − 1* has fanned
out. Its deliveries go to every subscription whose filter matches and to every subscription that
was sent an earlier version, chained after that earlier delivery. Feed updates make webhook
deliveries (``feed.updated``) and WebSub distributions (one per active subscriber of each of the
feed's topics). Every id is derived, so running a fan-out twice creates nothing new.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import redis

from services.publish import chains, store, websub_store
from services.publish.deliveries import (
    delivery_id_for,
    fanout_may_proceed,
    follows_up,
    matches,
    matches_feed_update,
)
from services.publish.websub import distribution_id_for
from shared.models import Delivery, Event, FeedUpdate

log = logging.getLogger(__name__)

#: a freshly made delivery is handed out at once; the schedule holds it this long as a safety net
SAFETY_NET = timedelta(seconds=60)
#: how often a parked story event looks again for its previous version's fan-out
FANOUT_POLL = timedelta(seconds=1)
#: how long it waits for that fan-out before going ahead (the previous event predates us)
FANOUT_WAIT_LIMIT_SECONDS = 300.0


@dataclass(frozen=True)
class FanOut:
    deliveries: list[str] = field(default_factory=list)
    waiting: bool = False


def story_event(client: redis.Redis, event: Event, now: datetime) -> FanOut:
    """The deliveries of a story event, or ``waiting`` when an earlier version must go first."""
    story_id, version = event.story_id, event.version
    if story_id is None or version is None:
        return FanOut(_plain(client, event, now))
    if chains.is_fanned_out(client, story_id, version):
        # a redelivered message: its deliveries exist and are scheduled; relinking them now
        # could move the chain back behind a later version
        return FanOut()
    previous = event.previous_version
    fanned = previous is None or chains.is_fanned_out(client, story_id, previous)
    if not fanned:
        since = chains.park_fanout(client, event.id, now, now + FANOUT_POLL)
        if not fanout_may_proceed(previous, False, since, now, FANOUT_WAIT_LIMIT_SECONDS):
            return FanOut(waiting=True)
        log.warning(
            "event %s: version %s of %s never fanned out; going ahead", event.id, previous, story_id
        )
    sent_before = chains.recipients(client, story_id)
    made: list[str] = []
    for sub in store.list_subscriptions(client):
        earlier = sent_before.get(sub.id)
        if not (matches(sub, event) or (earlier is not None and follows_up(sub, event))):
            continue
        delivery = _new(event, sub.id, now, after=earlier)
        if not store.create_delivery(client, delivery, now + SAFETY_NET):
            existing = store.get_delivery(client, delivery.id)
            delivery = existing or delivery
        chains.link(client, story_id, delivery)
        made.append(delivery.id)
    chains.finish_fanout(client, story_id, version, event.id)
    return FanOut(made)


def _plain(client: redis.Redis, event: Event, now: datetime) -> list[str]:
    made = []
    for sub in store.list_subscriptions(client):
        if matches(sub, event):
            delivery = _new(event, sub.id, now, after=None)
            store.create_delivery(client, delivery, now + SAFETY_NET)
            made.append(delivery.id)
    return made


def _new(event: Event, sub_id: str, now: datetime, after: str | None) -> Delivery:
    delivery_id = delivery_id_for(event.id, sub_id)
    return Delivery(
        id=delivery_id,
        subscription_id=sub_id,
        event_id=event.id,
        event_type=event.type,
        created_at=now,
        next_attempt_at=now,
        story_id=event.story_id,
        version=event.version,
        after=after if after != delivery_id else None,
    )


def feed_update(client: redis.Redis, update: FeedUpdate, now: datetime) -> list[str]:
    """``feed.updated`` webhooks and WebSub distributions for a feed whose bytes changed."""
    store.save_feed_update(client, update)
    made: list[str] = []
    for sub in store.list_subscriptions(client):
        if matches_feed_update(sub, update):
            delivery = Delivery(
                id=delivery_id_for(update.id, sub.id),
                subscription_id=sub.id,
                event_id=update.id,
                event_type="feed.updated",
                created_at=now,
                next_attempt_at=now,
            )
            store.create_delivery(client, delivery, now + SAFETY_NET)
            made.append(delivery.id)
    for fmt, etag in sorted(update.etags.items()):
        for wsub in websub_store.active(client, update.feed, fmt, now):
            delivery = Delivery(
                id=distribution_id_for(wsub.id, etag),
                subscription_id=wsub.id,
                event_id=update.id,
                event_type="feed.updated",
                created_at=now,
                next_attempt_at=now,
                channel="websub",
                etag=etag,
            )
            store.create_delivery(client, delivery, now + SAFETY_NET)
            made.append(delivery.id)
    return made
