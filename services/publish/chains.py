"""Per-story order of deliveries (Redis): who was sent a story, and which delivery waits for which.

A story's versions fan out in order: the event of version *n* is fanned out only after version
*n − 1*'s (``fanned_out``), so it finds every subscription that was sent the story
(``recipients``: subscription → its delivery of the latest version so far). Each new delivery to
such a subscription names that earlier delivery in ``after`` and is linked from it (``next_of``):
it is not attempted before the earlier one has succeeded or given up, and is woken when it has.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis

from services.publish import store
from shared import keys, stories
from shared.ids import derived_id
from shared.models import Delivery, Story, Subscription
from shared.redis_conn import raw as raw_bytes
from shared.redis_conn import text


def event_id_of(story_id: str, version: int) -> str:
    """The id of a story version's event: derived as ingest derives it (``evt`` + story id +
    version, see ``docs/decisions/0002-derived-ids.md``), so publish can look for it."""
    return derived_id("evt", story_id, str(version))


def recipients(client: redis.Redis, story_id: str) -> dict[str, str]:
    """Subscription id → its delivery of the latest version of the story fanned out so far."""
    raw = client.hgetall(keys.story_recipients(story_id))
    return {text(sub): text(delivery) for sub, delivery in raw.items()}


def _fill_link(
    pipe: Any, story_id: str, delivery: Delivery, retention_seconds: float | None
) -> None:
    pipe.hset(keys.story_recipients(story_id), delivery.subscription_id, delivery.id)
    if delivery.after:
        ttl = int(retention_seconds) if retention_seconds is not None else None
        pipe.set(keys.delivery_next(delivery.after), delivery.id, ex=ttl)


def link_all_and_finish(
    client: redis.Redis,
    story_id: str,
    version: int,
    event_id: str,
    deliveries: list[Delivery],
    retention_seconds: float | None = None,
) -> None:
    """Make each of a version's deliveries the subscription's latest of the story, chained
    after the previous one, then mark the version's fan-out done (later versions may fan out;
    it waits no more): one transaction, so a later version that sees this one fanned out also
    sees all its links. Idempotent: a fan-out that runs twice links the same things. A chain
    link only wakes the later delivery early (it also looks by itself), so it lives as long as
    finished deliveries do."""
    pipe = client.pipeline(transaction=True)
    for delivery in deliveries:
        _fill_link(pipe, story_id, delivery, retention_seconds)
    _fill_finish(pipe, story_id, version, event_id)
    pipe.execute()


@dataclass(frozen=True)
class State:
    """Where a story version stands in its chain, with the version itself."""

    fanned_out: bool  # this version's fan-out is done
    previous_fanned_out: bool  # the previous version's is (or there is none)
    recipients: dict[str, str]  # as ``recipients``, read after the previous version's state
    story: Story | None  # the version
    subscriptions: list[Subscription]  # every subscription, read with the rest


def read_state(client: redis.Redis, story_id: str, version: int, previous: int | None) -> State:
    """What a fan-out of ``version`` reads first, in one round trip (the subscriptions too).
    The recipients are read after the previous version's state, and its fan-out links and
    finishes in one transaction, so when that version is seen fanned out its recipients are
    all there."""
    pipe = client.pipeline(transaction=False)
    pipe.sismember(keys.story_fanned_out(story_id), str(version))
    if previous:
        pipe.sismember(keys.story_fanned_out(story_id), str(previous))
    pipe.hgetall(keys.story_recipients(story_id))
    pipe.lindex(keys.story_versions(story_id), version - 1)
    store.fill_list_subscriptions(pipe)
    done, *previous_done, raw, story, subscriptions = pipe.execute()
    return State(
        fanned_out=bool(done),
        previous_fanned_out=bool(previous_done[0]) if previous_done else True,
        recipients={text(sub): text(delivery) for sub, delivery in raw.items()},
        story=stories.parse_cached(raw_bytes(story)) if story else None,
        subscriptions=store.listed_subscriptions(subscriptions),
    )


def next_of(client: redis.Redis, delivery_id: str) -> str | None:
    """The delivery of a later version that waits for this one, if any."""
    raw = client.get(keys.delivery_next(delivery_id))
    return text(raw) if raw else None


def fill_next_of(pipe: Any, delivery_id: str) -> None:
    """``next_of`` queued on a pipeline; its reply is the id (bytes) or ``None``."""
    pipe.get(keys.delivery_next(delivery_id))


def is_fanned_out(client: redis.Redis, story_id: str, version: int) -> bool:
    return bool(client.sismember(keys.story_fanned_out(story_id), str(version)))


def _fill_finish(pipe: Any, story_id: str, version: int, event_id: str) -> None:
    pipe.sadd(keys.story_fanned_out(story_id), str(version))
    pipe.zrem(keys.fanouts_due(), event_id)
    pipe.hdel(keys.fanouts_parked(), event_id)


def drop_parked(client: redis.Redis, event_id: str) -> None:
    """Forget a parked fan-out (its event is gone)."""
    pipe = client.pipeline(transaction=True)
    pipe.zrem(keys.fanouts_due(), event_id)
    pipe.hdel(keys.fanouts_parked(), event_id)
    pipe.execute()


def park_fanout(client: redis.Redis, event_id: str, now: datetime, retry_at: datetime) -> datetime:
    """Keep a story event whose fan-out must wait, durably; returns when it began waiting."""
    pipe = client.pipeline(transaction=True)
    pipe.hsetnx(keys.fanouts_parked(), event_id, str(now.timestamp()))
    pipe.zadd(keys.fanouts_due(), {event_id: retry_at.timestamp()})
    pipe.hget(keys.fanouts_parked(), event_id)
    _, _, since = pipe.execute()
    return datetime.fromtimestamp(float(text(since)), UTC)


def park_if_absent(client: redis.Redis, event_id: str, now: datetime, at: datetime) -> None:
    """Make sure a story event's fan-out is handed out by ``at`` at the latest, unless it is
    parked already: a later version waits for it, and its own message may have been lost."""
    pipe = client.pipeline(transaction=True)
    pipe.hsetnx(keys.fanouts_parked(), event_id, str(now.timestamp()))
    pipe.zadd(keys.fanouts_due(), {event_id: at.timestamp()}, nx=True)
    pipe.execute()
