"""From an event to the deliveries it makes (one per subscription that gets it), in Redis.

Story events fan out in version order per story (see ``services.publish.chains``): version *n*
waits (parked durably, looked at every second by ``drain_due``) until the nearest earlier
version that has an event has fanned out, however long that takes; that version is parked too,
so a lost message of its own cannot hold the story back. Only a previous version with no event
at all (it can never fan out) lets an update go ahead at once. Its deliveries go to every
subscription whose filter matches and to every subscription that was sent an earlier version,
chained after that earlier delivery. Feed updates make webhook deliveries (``feed.updated``) and
WebSub distributions (one per active subscriber of each of the feed's topics). Every id is
derived, so running a fan-out twice creates nothing new.

Each new delivery's first attempt comes after the retry schedule's first delay (Svix's: 0, at
once); until then it waits in the due-time schedule like any retry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import redis

from services.publish import chains, store, websub_store
from services.publish.deliveries import (
    delivery_id_for,
    first_delay,
    follows_up,
    matches,
    matches_feed_update,
    version_to_await,
)
from services.publish.websub import distribution_id_for
from shared import named_feeds, stories
from shared.models import Delivery, Event, FeedUpdate
from shared.settings import Settings, get_settings

log = logging.getLogger(__name__)

#: a freshly made delivery is handed out at once; the schedule holds it this long as a safety net
#: (the default of ``SYNDICATE_WEBHOOK_SAFETY_NET_SECONDS``)
SAFETY_NET = timedelta(seconds=60)
#: how often a parked story event looks again for its previous version's fan-out
FANOUT_POLL = timedelta(seconds=1)
#: a version a later one waits for is handed out by then, should its own message be lost
FANOUT_NUDGE = timedelta(seconds=30)


@dataclass(frozen=True)
class FanOut:
    deliveries: list[str] = field(default_factory=list)
    waiting: bool = False


def first_attempt(now: datetime, settings: Settings) -> tuple[datetime, datetime]:
    """When a new (or replayed) delivery's first attempt is due, and the schedule score that
    holds it until then: the safety net when it is handed out at once."""
    at = now + timedelta(seconds=first_delay(settings.webhook_retry_schedule))
    safety_net = timedelta(seconds=settings.webhook_safety_net_seconds)
    return at, (now + safety_net if at <= now else at)


def story_event(
    client: redis.Redis, event: Event, now: datetime, settings: Settings | None = None
) -> FanOut:
    """The deliveries of a story event, or ``waiting`` when an earlier version must go first."""
    settings = settings or get_settings()
    story_id, version = event.story_id, event.version
    if story_id is None or version is None:
        return FanOut(_plain(client, event, now, settings))
    if chains.is_fanned_out(client, story_id, version):
        # a redelivered message (or a nudge): its deliveries exist and are scheduled; relinking
        # them now could move the chain back behind a later version
        chains.drop_parked(client, event.id)
        return FanOut()
    awaited = version_to_await(
        event.previous_version,
        lambda v: chains.is_fanned_out(client, story_id, v),
        lambda v: stories.get_event(client, chains.event_id_of(story_id, v)) is not None,
    )
    if awaited is not None:
        chains.park_fanout(client, event.id, now, now + FANOUT_POLL)
        chains.park_if_absent(
            client, chains.event_id_of(story_id, awaited), now, now + FANOUT_NUDGE
        )
        return FanOut(waiting=True)
    story = stories.get_version(client, story_id, version)
    named = named_feeds.named_feeds(settings)
    sent_before = chains.recipients(client, story_id)
    made: list[str] = []
    for sub in store.list_subscriptions(client):
        earlier = sent_before.get(sub.id)
        if not (
            matches(sub, event, story, named) or (earlier is not None and follows_up(sub, event))
        ):
            continue
        delivery = _new(client, event, sub.id, now, settings, after=earlier)
        chains.link(client, story_id, delivery, settings.delivery_retention_seconds)
        made.append(delivery.id)
    chains.finish_fanout(client, story_id, version, event.id)
    return FanOut(made)


def _plain(client: redis.Redis, event: Event, now: datetime, settings: Settings) -> list[str]:
    """An event about no story version (none is emitted today): no chain, no named feeds."""
    made = []
    for sub in store.list_subscriptions(client):
        if matches(sub, event):
            made.append(_new(client, event, sub.id, now, settings, after=None).id)
    return made


def _new(
    client: redis.Redis,
    event: Event,
    sub_id: str,
    now: datetime,
    settings: Settings,
    after: str | None,
) -> Delivery:
    """Create (or, made before, find) the event's delivery to one subscription."""
    delivery_id = delivery_id_for(event.id, sub_id)
    at, due = first_attempt(now, settings)
    delivery = Delivery(
        id=delivery_id,
        subscription_id=sub_id,
        event_id=event.id,
        event_type=event.type,
        created_at=now,
        next_attempt_at=at,
        story_id=event.story_id,
        version=event.version,
        after=after if after != delivery_id else None,
    )
    if store.create_delivery(client, delivery, due, settings.delivery_retention_seconds):
        return delivery
    return store.get_delivery(client, delivery.id) or delivery


def feed_update(
    client: redis.Redis, update: FeedUpdate, now: datetime, settings: Settings | None = None
) -> list[str]:
    """``feed.updated`` webhooks and WebSub distributions for a feed whose bytes changed."""
    settings = settings or get_settings()
    keep = settings.delivery_retention_seconds
    at, due = first_attempt(now, settings)
    made: list[str] = []
    hooks = [sub for sub in store.list_subscriptions(client) if matches_feed_update(sub, update)]
    if hooks:  # the record is the body of feed.updated webhooks; nobody else reads it
        store.save_feed_update(client, update, keep)
    for sub in hooks:
        delivery = Delivery(
            id=delivery_id_for(update.id, sub.id),
            subscription_id=sub.id,
            event_id=update.id,
            event_type="feed.updated",
            created_at=now,
            next_attempt_at=at,
        )
        store.create_delivery(client, delivery, due, keep)
        made.append(delivery.id)
    followers = websub_store.active_many(client, update.feed, sorted(update.etags), now)
    for fmt, etag in sorted(update.etags.items()):
        for wsub in followers.get(fmt, []):
            delivery = Delivery(
                id=distribution_id_for(wsub.id, etag),
                subscription_id=wsub.id,
                event_id=update.id,
                event_type="feed.updated",
                created_at=now,
                next_attempt_at=at,
                channel="websub",
                etag=etag,
            )
            store.create_delivery(client, delivery, due, keep)
            made.append(delivery.id)
    return made
