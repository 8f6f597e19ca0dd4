"""The durable due-time schedule, dead letters, in-flight slots and attempt locks (Redis).

Every pending delivery sits in one sorted set scored by when it should next be looked at.
``take_due`` does not remove what it hands out: it *claims* it, moving its score a lease ahead,
so a hand-out lost anywhere (a message dropped, a worker killed, Redis restarted) comes due again
by itself. The attempt then sets the real next time, or removes the delivery when it is done.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import redis

from shared import keys
from shared.locks import TokenLock
from shared.redis_conn import Lua, text

# KEYS: a due set; ARGV: now, lease-until, limit
_CLAIM_DUE = Lua("""
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], ARGV[2], id) end
return ids
""")

# KEYS: in-flight set, waiting set, due set; ARGV: member, now, lease-until, limit, look again
# at (or ''), quick limit, slow-after seconds. A slot's score is when its lease ends, so the
# oldest slot was taken at its score less the lease. Past ``limit`` a slot is given only while
# the oldest in flight began under slow-after seconds ago (up to the quick limit). A slot taken
# ends the member's wait; none free: it waits, and is due again then.
_ACQUIRE_SLOT = Lua(
    """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local free = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not free then
  local count = redis.call('ZCARD', KEYS[1])
  free = count < tonumber(ARGV[4])
  if not free and count < tonumber(ARGV[6]) then
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    free = tonumber(oldest[2]) > tonumber(ARGV[3]) - tonumber(ARGV[7])
  end
end
if free then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 1
end
if ARGV[5] ~= '' then
  redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[1])
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
end
return 0
"""
)


def schedule(
    client: Any, delivery_id: str, when: datetime, *, only_if_absent: bool = False
) -> None:
    """Look at the delivery again at ``when`` (``only_if_absent``: unless it is already due at
    some time, which then stands). On a pipeline: queued with what the caller runs."""
    client.zadd(keys.deliveries_due(), {delivery_id: when.timestamp()}, nx=only_if_absent)


def unschedule(client: Any, delivery_id: str) -> None:
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
    ids = _CLAIM_DUE(client, [key], [now.timestamp(), now.timestamp() + lease_seconds, limit])
    return [text(item) for item in ids]


def acquire_slot(
    client: Any,
    subscription_id: str,
    delivery_id: str,
    now: datetime,
    lease_seconds: float,
    limit: int,
    look_again: datetime | None = None,
    *,
    quick_limit: int = 0,
    slow_seconds: float = 0.0,
) -> Any:
    """Take one of the subscription's in-flight slots (and end the delivery's wait for one).

    ``limit`` slots are always there; past them, up to ``quick_limit`` while the partner
    answers quickly: while the oldest attempt in flight to it began less than ``slow_seconds``
    ago. A partner that is slow to answer, or hangs, is held to ``limit``: within
    ``slow_seconds`` its oldest attempt is old, and it gets no slot past ``limit`` until that
    one ends (its age is read off its lease's end: every attempt takes its slot with the same
    lease, ``attempts.attempt_lease``). A slot whose holder died frees itself when its lease
    ends. With ``look_again``, a delivery that finds none free waits for one (``pop_waiter``)
    and is due again then; all in one round trip. On a client the reply is 1 (taken) or 0; on
    a pipeline it is queued, and its reply comes with the others."""
    return _ACQUIRE_SLOT(
        client,
        [
            keys.deliveries_in_flight(subscription_id),
            keys.deliveries_waiting(subscription_id),
            keys.deliveries_due(),
        ],
        [
            delivery_id,
            now.timestamp(),
            now.timestamp() + lease_seconds,
            limit,
            "" if look_again is None else look_again.timestamp(),
            max(limit, quick_limit),
            slow_seconds,
        ],
    )


def release_slot(client: Any, subscription_id: str, delivery_id: str) -> None:
    """Free the delivery's slot (on a pipeline: queued with what the caller runs)."""
    client.zrem(keys.deliveries_in_flight(subscription_id), delivery_id)


def in_flight(client: redis.Redis, subscription_id: str, now: datetime) -> int:
    key = keys.deliveries_in_flight(subscription_id)
    return int(client.zcount(key, now.timestamp(), "+inf"))


def pop_waiter(client: redis.Redis, subscription_id: str) -> str | None:
    """The delivery that has waited longest for a slot of this subscription, if any."""
    return popped_waiter(client.zpopmin(keys.deliveries_waiting(subscription_id), 1))


def fill_pop_waiter(pipe: Any, subscription_id: str) -> None:
    """``pop_waiter`` queued on a pipeline; ``popped_waiter`` reads its reply."""
    pipe.zpopmin(keys.deliveries_waiting(subscription_id), 1)


def popped_waiter(reply: Any) -> str | None:
    return text(reply[0][0]) if reply else None


class Lock(TokenLock):
    """The lock one attempt (or a replay) holds on a delivery, so a redelivered task cannot
    send the same attempt twice (``shared.locks``: taking and releasing it join the pipelines
    the attempt runs anyway)."""

    def __init__(self, client: redis.Redis, delivery_id: str, seconds: float) -> None:
        super().__init__(client, keys.delivery_lock(delivery_id), seconds)


def lock(client: redis.Redis, delivery_id: str, seconds: float) -> Lock:
    """The lock of one attempt of ``delivery_id`` (not taken yet), with a lease of ``seconds``."""
    return Lock(client, delivery_id, seconds)
