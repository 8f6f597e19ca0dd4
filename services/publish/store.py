"""Subscriptions, deliveries and received feed updates in Redis (publish's own I/O).

A delivery's record and its place in the due-time schedule change together, in one transaction
(or one Lua script), so the append-only file never holds one without the other: after any crash
every pending delivery is still in the schedule (``services.publish.schedule``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import redis

from shared import keys
from shared.models import Delivery, FeedUpdate, Subscription
from shared.redis_conn import text

# KEYS: delivery, subscription's deliveries, due set; ARGV: json, created score, due score
_CREATE_DELIVERY = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
  return 1
end
return 0
"""


def save_subscription(client: redis.Redis, sub: Subscription) -> None:
    pipe = client.pipeline(transaction=True)
    pipe.set(keys.subscription(sub.id), sub.model_dump_json())
    pipe.zadd(keys.subscriptions(), {sub.id: sub.created_at.timestamp()})
    pipe.execute()


def get_subscription(client: redis.Redis, sub_id: str) -> Subscription | None:
    raw = client.get(keys.subscription(sub_id))
    return Subscription.model_validate_json(raw) if raw else None


def update_subscription(
    client: redis.Redis, sub_id: str, change: Callable[[Subscription], Subscription]
) -> Subscription | None:
    """Read, change and write one subscription atomically (optimistic: retried on a race with
    another writer). ``None`` when it does not exist."""
    key = keys.subscription(sub_id)
    with client.pipeline(transaction=True) as pipe:
        while True:
            try:
                pipe.watch(key)  # type: ignore[no-untyped-call]
                raw = pipe.get(key)
                if not raw:
                    pipe.unwatch()
                    return None
                updated = change(Subscription.model_validate_json(raw))
                pipe.multi()
                pipe.set(key, updated.model_dump_json())
                pipe.execute()
                return updated
            except redis.WatchError:
                continue


def list_subscriptions(client: redis.Redis) -> list[Subscription]:
    ids = [text(item) for item in client.zrange(keys.subscriptions(), 0, -1)]
    if not ids:
        return []
    raws = client.mget([keys.subscription(i) for i in ids])
    return [Subscription.model_validate_json(raw) for raw in raws if raw]


def delete_subscription(client: redis.Redis, sub_id: str) -> bool:
    pipe = client.pipeline(transaction=True)
    pipe.delete(keys.subscription(sub_id))
    pipe.zrem(keys.subscriptions(), sub_id)
    pipe.delete(keys.subscription_failing_since(sub_id))
    deleted, _, _ = pipe.execute()
    return bool(deleted)


def failing_since(client: redis.Redis, sub_id: str) -> datetime | None:
    """When the subscription's current run of failures began (``None``: its last attempt
    succeeded, or it has not failed yet)."""
    raw = client.get(keys.subscription_failing_since(sub_id))
    return datetime.fromtimestamp(float(text(raw)), UTC) if raw else None


def note_failure(client: redis.Redis, sub_id: str, when: datetime) -> datetime:
    """Start the run of failures at ``when`` unless one is running; returns when it began."""
    client.set(keys.subscription_failing_since(sub_id), str(when.timestamp()), nx=True)
    return failing_since(client, sub_id) or when


def note_success(client: redis.Redis, sub_id: str) -> None:
    client.delete(keys.subscription_failing_since(sub_id))


def create_delivery(client: redis.Redis, delivery: Delivery, due: datetime) -> bool:
    """Store a new delivery and put it in the schedule at ``due``, atomically; ``False`` if it
    already exists (the task that creates it ran twice)."""
    created = client.eval(
        _CREATE_DELIVERY,
        3,
        keys.delivery(delivery.id),
        keys.subscription_deliveries(delivery.subscription_id),
        keys.deliveries_due(),
        delivery.model_dump_json(),
        delivery.created_at.timestamp(),
        due.timestamp(),
        delivery.id,
    )
    return bool(created)


def record(
    client: redis.Redis,
    delivery: Delivery,
    *,
    due: datetime | None,
    dead_at: datetime | None = None,
) -> None:
    """Write a delivery's new state and its schedule in one transaction.

    ``due``: when to look at it next (``None``: never, it is finished). ``dead_at``: put it on
    the dead-letter list (a delivery that will not be tried again); otherwise take it off.
    """
    pipe = client.pipeline(transaction=True)
    pipe.set(keys.delivery(delivery.id), delivery.model_dump_json())
    if due is None:
        pipe.zrem(keys.deliveries_due(), delivery.id)
    else:
        pipe.zadd(keys.deliveries_due(), {delivery.id: due.timestamp()})
    if dead_at is None:
        pipe.zrem(keys.deliveries_dead(), delivery.id)
    else:
        pipe.zadd(keys.deliveries_dead(), {delivery.id: dead_at.timestamp()})
    pipe.execute()


def save_delivery(client: redis.Redis, delivery: Delivery) -> None:
    client.set(keys.delivery(delivery.id), delivery.model_dump_json())


def get_delivery(client: redis.Redis, delivery_id: str) -> Delivery | None:
    raw = client.get(keys.delivery(delivery_id))
    return Delivery.model_validate_json(raw) if raw else None


def get_deliveries(client: redis.Redis, delivery_ids: list[str]) -> list[Delivery]:
    if not delivery_ids:
        return []
    raws = client.mget([keys.delivery(i) for i in delivery_ids])
    return [Delivery.model_validate_json(raw) for raw in raws if raw]


def list_deliveries(
    client: redis.Redis, sub_id: str, limit: int, offset: int = 0
) -> list[Delivery]:
    """A subscription's deliveries, newest first."""
    ids = client.zrevrange(keys.subscription_deliveries(sub_id), offset, offset + limit - 1)
    return get_deliveries(client, [text(item) for item in ids])


def list_dead(client: redis.Redis, limit: int, offset: int = 0) -> tuple[int, list[Delivery]]:
    """Dead letters (deliveries that will not be tried again), newest first, and their count."""
    total = int(client.zcard(keys.deliveries_dead()))
    ids = client.zrevrange(keys.deliveries_dead(), offset, offset + limit - 1)
    return total, get_deliveries(client, [text(item) for item in ids])


def save_feed_update(client: redis.Redis, update: FeedUpdate) -> None:
    """Keep a ``feed.updated`` event so its deliveries (and replays) can build their body."""
    client.set(keys.feed_update(update.id), update.model_dump_json())


def get_feed_update(client: redis.Redis, update_id: str) -> FeedUpdate | None:
    raw = client.get(keys.feed_update(update_id))
    return FeedUpdate.model_validate_json(raw) if raw else None
