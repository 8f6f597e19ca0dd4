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
    """The deliveries of a story event, or ``waiting`` when an earlier version must go first.

    A handful of round trips whatever the number of subscriptions: the chain's state and the
    story version in one, the subscriptions, every delivery's creation in one, and every chain
    link with the end of the fan-out in one transaction."""
    settings = settings or get_settings()
    story_id, version = event.story_id, event.version
    if story_id is None or version is None:
        return FanOut(_plain(client, event, now, settings))
    state = chains.read_state(client, story_id, version, event.previous_version)
    if state.fanned_out:
        # a redelivered message (or a nudge): its deliveries exist and are scheduled; relinking
        # them now could move the chain back behind a later version
        chains.drop_parked(client, event.id)
        return FanOut()
    sent_before = state.recipients
    if not state.previous_fanned_out:
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
        sent_before = chains.recipients(client, story_id)  # read again: it may have grown since
    story = state.story
    named = named_feeds.named_feeds(settings)
    at, due = first_attempt(now, settings)
    wanted: list[Delivery] = []
    for sub in state.subscriptions:
        earlier = sent_before.get(sub.id)
        if matches(sub, event, story, named) or (earlier is not None and follows_up(sub, event)):
            wanted.append(_delivery(event, sub.id, now, at, after=earlier))
    made = _create(client, wanted, due, settings)
    chains.link_all_and_finish(
        client, story_id, version, event.id, made, settings.delivery_retention_seconds
    )
    return FanOut([delivery.id for delivery in made])


def _plain(client: redis.Redis, event: Event, now: datetime, settings: Settings) -> list[str]:
    """An event about no story version (none is emitted today): no chain, no named feeds."""
    at, due = first_attempt(now, settings)
    wanted = [
        _delivery(event, sub.id, now, at, after=None)
        for sub in store.list_subscriptions(client)
        if matches(sub, event)
    ]
    return [delivery.id for delivery in _create(client, wanted, due, settings)]


def _delivery(
    event: Event, sub_id: str, now: datetime, at: datetime, after: str | None
) -> Delivery:
    """The event's delivery to one subscription, first attempted ``at`` (pure)."""
    delivery_id = delivery_id_for(event.id, sub_id)
    return Delivery(
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


def _create(
    client: redis.Redis, wanted: list[Delivery], due: datetime, settings: Settings
) -> list[Delivery]:
    """Create every delivery in one round trip, each in the schedule at ``due``; one made
    before (the fan-out ran twice) is taken as stored."""
    created = store.create_deliveries(client, wanted, due, settings.delivery_retention_seconds)
    existing = [d.id for d, new in zip(wanted, created, strict=True) if not new]
    stored = {d.id: d for d in store.get_deliveries(client, existing)}
    return [d if new else stored.get(d.id, d) for d, new in zip(wanted, created, strict=True)]


def feed_update(
    client: redis.Redis, update: FeedUpdate, now: datetime, settings: Settings | None = None
) -> list[str]:
    """``feed.updated`` webhooks and WebSub distributions for a feed whose bytes changed."""
    settings = settings or get_settings()
    keep = settings.delivery_retention_seconds
    at, due = first_attempt(now, settings)
    wanted: list[Delivery] = []
    hooks = [sub for sub in store.list_subscriptions(client) if matches_feed_update(sub, update)]
    if hooks:  # the record is the body of feed.updated webhooks; nobody else reads it
        store.save_feed_update(client, update, keep)
    for sub in hooks:
        wanted.append(
            Delivery(
                id=delivery_id_for(update.id, sub.id),
                subscription_id=sub.id,
                event_id=update.id,
                event_type="feed.updated",
                created_at=now,
                next_attempt_at=at,
            )
        )
    followers = websub_store.active_many(client, update.feed, sorted(update.etags), now)
    for fmt, etag in sorted(update.etags.items()):
        for wsub in followers.get(fmt, []):
            wanted.append(
                Delivery(
                    id=distribution_id_for(wsub.id, etag),
                    subscription_id=wsub.id,
                    event_id=update.id,
                    event_type="feed.updated",
                    created_at=now,
                    next_attempt_at=at,
                    channel="websub",
                    etag=etag,
                )
            )
    store.create_deliveries(client, wanted, due, keep)
    return [delivery.id for delivery in wanted]
