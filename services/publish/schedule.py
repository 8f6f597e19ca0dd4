"""The durable due-time schedule, dead letters, in-flight slots and attempt locks (Redis).

Every pending delivery sits in one sorted set scored by when it should next be looked at.
``take_due`` does not remove what it hands out: it *claims* it, moving its score a lease ahead,
so a hand-out lost anywhere (a message dropped, a worker killed, Redis restarted) comes due again
by itself. The attempt then sets the real next time, or removes the delivery when it is done.
"""

from __future__ import annotations

from datetime import datetime

import redis

from shared import keys
from shared.redis_conn import text

# KEYS: a due set; ARGV: now, lease-until, limit
_CLAIM_DUE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], ARGV[2], id) end
return ids
"""

# KEYS: in-flight set; ARGV: member, now, lease-until, limit
_ACQUIRE_SLOT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  return 1
end
return 0
"""


def schedule(
    client: redis.Redis, delivery_id: str, when: datetime, *, only_if_absent: bool = False
) -> None:
    """Look at the delivery again at ``when`` (``only_if_absent``: unless it is already due at
    some time, which then stands)."""
    client.zadd(keys.deliveries_due(), {delivery_id: when.timestamp()}, nx=only_if_absent)


def unschedule(client: redis.Redis, delivery_id: str) -> None:
    client.zrem(keys.deliveries_due(), delivery_id)


def due_at(client: redis.Redis, delivery_id: str) -> float | None:
    score = client.zscore(keys.deliveries_due(), delivery_id)
    return float(score) if score is not None else None


def take_due(
    client: redis.Redis, now: datetime, lease_seconds: float, limit: int = 500
) -> list[str]:
    """Claim the deliveries whose time has come: each stays scheduled ``lease_seconds`` ahead
    until its attempt records the real next time."""
    return _claim(client, keys.deliveries_due(), now, lease_seconds, limit)


def take_due_fanouts(
    client: redis.Redis, now: datetime, lease_seconds: float, limit: int = 500
) -> list[str]:
    """Claim the story events whose fan-out waits for the previous version's, when due."""
    return _claim(client, keys.fanouts_due(), now, lease_seconds, limit)


def _claim(
    client: redis.Redis, key: str, now: datetime, lease_seconds: float, limit: int
) -> list[str]:
    ids = client.eval(_CLAIM_DUE, 1, key, now.timestamp(), now.timestamp() + lease_seconds, limit)
    return [text(item) for item in ids]


def acquire_slot(
    client: redis.Redis,
    subscription_id: str,
    delivery_id: str,
    now: datetime,
    lease_seconds: float,
    limit: int,
) -> bool:
    """Take one of the subscription's ``limit`` in-flight slots. A slot whose holder died frees
    itself when its lease ends."""
    got = client.eval(
        _ACQUIRE_SLOT,
        1,
        keys.deliveries_in_flight(subscription_id),
        delivery_id,
        now.timestamp(),
        now.timestamp() + lease_seconds,
        limit,
    )
    return bool(got)


def release_slot(client: redis.Redis, subscription_id: str, delivery_id: str) -> None:
    client.zrem(keys.deliveries_in_flight(subscription_id), delivery_id)


def in_flight(client: redis.Redis, subscription_id: str, now: datetime) -> int:
    key = keys.deliveries_in_flight(subscription_id)
    return int(client.zcount(key, now.timestamp(), "+inf"))


def add_waiter(client: redis.Redis, subscription_id: str, delivery_id: str, now: datetime) -> None:
    """Remember a delivery that found every slot taken, to be woken when one frees."""
    client.zadd(keys.deliveries_waiting(subscription_id), {delivery_id: now.timestamp()}, nx=True)


def remove_waiter(client: redis.Redis, subscription_id: str, delivery_id: str) -> None:
    client.zrem(keys.deliveries_waiting(subscription_id), delivery_id)


def pop_waiter(client: redis.Redis, subscription_id: str) -> str | None:
    """The delivery that has waited longest for a slot of this subscription, if any."""
    popped = client.zpopmin(keys.deliveries_waiting(subscription_id), 1)
    return text(popped[0][0]) if popped else None


def lock(client: redis.Redis, delivery_id: str, seconds: float) -> redis.lock.Lock:
    """The lock one attempt holds, so a redelivered task cannot send the same attempt twice."""
    held: redis.lock.Lock = client.lock(
        keys.delivery_lock(delivery_id), timeout=seconds, blocking=False
    )
    return held
