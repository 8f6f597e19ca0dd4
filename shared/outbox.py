"""The outboxes of story events: each event ingest sends to render and to publish is also
entered, before it is sent, in a sorted set per consumer; the consumer's task removes it once
it has handled the event. The scheduler's sweeper sends again the events left there too long.

A message can be lost outside our control: kombu's Redis transport takes a message off its
queue before it records it as unacknowledged, so a worker killed between the two loses it. The
outbox makes such a loss a delay. Handling an event twice is safe (render moves a story
idempotently; publish fans a version out once).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import redis

from shared import keys
from shared.redis_conn import Lua, text

#: the tasks that consume story events
CONSUMERS = ("render", "publish")

_CLAIM = Lua("""
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], 'XX', ARGV[2], id) end
return ids
""")


def enter(client: redis.Redis, event_ids: Iterable[str], now: float | None = None) -> None:
    """Enter events in every consumer's outbox (kept at their first time when already in)."""
    ids = list(event_ids)
    if not ids:
        return
    pipe = client.pipeline(transaction=False)
    fill_enter(pipe, ids, now)
    pipe.execute()


def fill_enter(pipe: Any, event_ids: Iterable[str], now: float | None = None) -> None:
    """``enter``, added to a pipeline the caller runs (with the sends, in one transaction)."""
    ids = list(event_ids)
    if not ids:
        return
    at = time.time() if now is None else now
    for consumer in CONSUMERS:
        pipe.zadd(keys.events_outbox(consumer), dict.fromkeys(ids, at), nx=True)


def handled(client: redis.Redis, consumer: str, event_id: str) -> None:
    """``consumer`` has handled the event: it need not be sent again."""
    fill_handled(client, consumer, event_id)


def fill_handled(pipe: Any, consumer: str, event_id: str) -> None:
    """``handled`` on a client, or added to a pipeline the caller runs."""
    pipe.zrem(keys.events_outbox(consumer), event_id)


def claim(
    client: redis.Redis, consumer: str, now: float, older_than: float, limit: int
) -> list[str]:
    """The events ``consumer`` was sent before ``now - older_than`` and has not handled,
    marked sent ``now`` (atomic: several sweepers send each once per period)."""
    ids = _CLAIM(client, [keys.events_outbox(consumer)], [now - older_than, now, limit])
    return [text(i) for i in ids]


def size(client: redis.Redis, consumer: str) -> int:
    return int(client.zcard(keys.events_outbox(consumer)))
