"""Subscriptions and deliveries in Redis (publish's own I/O).

Deliveries waiting for a later attempt sit in a due-time sorted set, not in worker memory: a
worker or Redis restart loses none, and the scheduler's ``drain_due`` hands them out when due.
"""

from __future__ import annotations

from datetime import datetime

import redis

from shared import keys
from shared.models import Delivery, Subscription
from shared.redis_conn import text

_TAKE_DUE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, id in ipairs(ids) do redis.call('ZREM', KEYS[1], id) end
return ids
"""


def save_subscription(client: redis.Redis, sub: Subscription) -> None:
    pipe = client.pipeline(transaction=True)
    pipe.set(keys.subscription(sub.id), sub.model_dump_json())
    pipe.zadd(keys.subscriptions(), {sub.id: sub.created_at.timestamp()})
    pipe.execute()


def get_subscription(client: redis.Redis, sub_id: str) -> Subscription | None:
    raw = client.get(keys.subscription(sub_id))
    return Subscription.model_validate_json(raw) if raw else None


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
    deleted, _ = pipe.execute()
    return bool(deleted)


def create_delivery(client: redis.Redis, delivery: Delivery) -> bool:
    """Store a new delivery; ``False`` if it already exists (the creating task ran twice)."""
    created = client.set(keys.delivery(delivery.id), delivery.model_dump_json(), nx=True)
    if created:
        client.zadd(
            keys.subscription_deliveries(delivery.subscription_id),
            {delivery.id: delivery.created_at.timestamp()},
        )
    return bool(created)


def save_delivery(client: redis.Redis, delivery: Delivery) -> None:
    client.set(keys.delivery(delivery.id), delivery.model_dump_json())


def get_delivery(client: redis.Redis, delivery_id: str) -> Delivery | None:
    raw = client.get(keys.delivery(delivery_id))
    return Delivery.model_validate_json(raw) if raw else None


def list_deliveries(
    client: redis.Redis, sub_id: str, limit: int, offset: int = 0
) -> list[Delivery]:
    ids = client.zrevrange(keys.subscription_deliveries(sub_id), offset, offset + limit - 1)
    if not ids:
        return []
    raws = client.mget([keys.delivery(text(item)) for item in ids])
    return [Delivery.model_validate_json(raw) for raw in raws if raw]


def schedule(client: redis.Redis, delivery_id: str, when: datetime) -> None:
    client.zadd(keys.deliveries_due(), {delivery_id: when.timestamp()})


def unschedule(client: redis.Redis, delivery_id: str) -> None:
    client.zrem(keys.deliveries_due(), delivery_id)


def take_due(client: redis.Redis, now: datetime, limit: int = 500) -> list[str]:
    """Atomically remove and return the deliveries whose time has come."""
    ids = client.eval(_TAKE_DUE, 1, keys.deliveries_due(), now.timestamp(), limit)
    return [text(item) for item in ids]


def mark_dead(client: redis.Redis, delivery_id: str, when: datetime) -> None:
    client.zadd(keys.deliveries_dead(), {delivery_id: when.timestamp()})


def lock(client: redis.Redis, delivery_id: str, seconds: float) -> redis.lock.Lock:
    """The lock one attempt holds, so a redelivered task cannot send the same attempt twice."""
    lock: redis.lock.Lock = client.lock(
        keys.delivery_lock(delivery_id), timeout=seconds, blocking=False
    )
    return lock
