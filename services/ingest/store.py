"""Raw wire items and the quarantine in Redis (ingest's own I/O).

The bytes of every accepted item are written before the API answers ``202``; the item's status
then moves ``accepted → processing → parsed | duplicate | stale | quarantined``.

The transactional outbox: an item is stored together with an entry in ``keys.wire_outbox``
(one transaction), so that storing it and sending its ingest task cannot come apart. The task
removes the entry once the item is through (its events sent); the scheduler's sweeper sends the
task again for an entry left longer than ``SYNDICATE_INGEST_OUTBOX_SECONDS`` (a send that failed,
an API process that died between the two, a message lost with a worker).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import redis

from services.ingest import meters
from shared import broker, keys, metrics, names
from shared.errors import ParseError
from shared.models import WireItem
from shared.redis_conn import Lua, raw, text

#: how long an Idempotency-Key is remembered
IDEMPOTENCY_TTL_SECONDS = 24 * 3600


def save_wire(
    client: redis.Redis, item: WireItem, body: bytes, *, pending: bool = True, send: bool = False
) -> None:
    """Store the raw bytes and their metadata, and (``pending``: it is to be parsed) its outbox
    entry, in one transaction; with ``send``, its ingest task message too (one round trip for
    the API's ``POST /v1/wire``, and the item is never stored without its message on the way)."""
    pipe = client.pipeline(transaction=True)
    pipe.hset(keys.wire(item.id), mapping={"meta": item.model_dump_json(), "body": body})
    pipe.zadd(keys.wire_received(), {item.id: item.received_at.timestamp()})
    if pending:
        pipe.zadd(keys.wire_outbox(), {item.id: time.time()})
    if send:
        broker.add(pipe, names.TASK_INGEST_WIRE, item.id)
    pipe.execute()


_SAVE_ONCE = Lua("""
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'meta', ARGV[1], 'body', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
if ARGV[5] == '1' then redis.call('ZADD', KEYS[3], ARGV[6], ARGV[4]) end
return 1
""")


def save_wire_once(
    client: redis.Redis, item: WireItem, body: bytes, *, pending: bool = True
) -> bool:
    """Store a raw item whose id is derived (a source's entry or file) unless it is already
    stored: a poll run twice stores it once. With its outbox entry when ``pending``. True when
    this call stored it."""
    stored = _SAVE_ONCE(
        client,
        [keys.wire(item.id), keys.wire_received(), keys.wire_outbox()],
        [
            item.model_dump_json(),
            body,
            item.received_at.timestamp(),
            item.id,
            "1" if pending else "0",
            time.time(),
        ],
    )
    return bool(stored)


def outbox_done(client: redis.Redis, wire_id: str) -> None:
    """The item is through ingest (its events sent): the sweeper need not send it again."""
    fill_outbox_done(client, wire_id)


def fill_outbox_done(pipe: Any, wire_id: str) -> None:
    """``outbox_done`` on a client, or added to a pipeline the caller runs."""
    pipe.zrem(keys.wire_outbox(), wire_id)


_CLAIM_OUTBOX = Lua("""
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], 'XX', ARGV[2], id) end
return ids
""")


def claim_outbox(client: redis.Redis, now: float, older_than: float, limit: int) -> list[str]:
    """The outbox entries last sent before ``now - older_than``, marked sent ``now`` (atomic:
    with several schedulers each is claimed once per period). An entry stays until the task
    removes it, so a send lost again is claimed again."""
    ids = _CLAIM_OUTBOX(client, [keys.wire_outbox()], [now - older_than, now, limit])
    return [text(i) for i in ids]


def outbox_size(client: redis.Redis) -> int:
    return int(client.zcard(keys.wire_outbox()))


def begin_run(client: redis.Redis, item: WireItem) -> tuple[WireItem, int]:
    """Count a run of the ingest task on this item and move it to ``processing``, in one
    transaction: the item as now stored, and the runs started and not ended."""
    processing = item.model_copy(update={"status": "processing"})
    pipe = client.pipeline(transaction=True)
    pipe.hincrby(keys.wire(item.id), "runs", 1)
    fill_update(pipe, processing)
    runs, _ = pipe.execute()
    return processing, int(runs)


def end_run(client: redis.Redis, wire_id: str) -> None:
    """A run that ended in an exception the worker saw (not a dead worker) does not count."""
    client.hincrby(keys.wire(wire_id), "runs", -1)


def claim_idempotency_key(client: redis.Redis, token: str, key: str, wire_id: str) -> str | None:
    """Remember ``key`` → ``wire_id``; returns the earlier wire id if the key was used before."""
    name = keys.idempotency(token, key)
    if client.set(name, wire_id, nx=True, ex=IDEMPOTENCY_TTL_SECONDS):
        return None
    earlier = client.get(name)
    return text(earlier) if earlier else None


def release_idempotency_key(client: redis.Redis, token: str, key: str) -> None:
    client.delete(keys.idempotency(token, key))


def load_wire(client: redis.Redis, wire_id: str) -> tuple[WireItem, bytes] | None:
    meta, body = client.hmget(keys.wire(wire_id), ["meta", "body"])
    if meta is None:
        return None
    return WireItem.model_validate_json(meta), raw(body) if body else b""


def get_wire(client: redis.Redis, wire_id: str) -> WireItem | None:
    meta = client.hget(keys.wire(wire_id), "meta")
    return WireItem.model_validate_json(meta) if meta else None


def update_wire(client: redis.Redis, item: WireItem, **changes: Any) -> WireItem:
    updated = item.model_copy(update=changes)
    fill_update(client, updated)
    return updated


def fill_update(pipe: Any, item: WireItem) -> None:
    """Store the item's record as it is now (on a client, or on a caller's pipeline)."""
    pipe.hset(keys.wire(item.id), "meta", item.model_dump_json())


def quarantine(
    client: redis.Redis, item: WireItem, error: ParseError | Exception, now: datetime
) -> WireItem:
    """Keep copy we could not parse, with the error, where an operator can find it."""
    if isinstance(error, ParseError):
        detail: dict[str, Any] = {"type": "parse-error", "detail": error.detail, **error.extra}
    else:
        detail = {"type": "internal", "detail": f"{type(error).__name__}: {error}"}
    detail["at"] = now.isoformat()
    pipe = client.pipeline(transaction=True)
    updated = item.model_copy(update={"status": "quarantined", "error": detail})
    pipe.hset(keys.wire(item.id), "meta", updated.model_dump_json())
    pipe.zadd(keys.quarantine(), {item.id: now.timestamp()})
    metrics.fill(pipe, meters.quarantined(error))
    pipe.zrem(keys.wire_outbox(), item.id)
    pipe.execute()
    return updated


def list_quarantine(client: redis.Redis, limit: int, offset: int = 0) -> list[WireItem]:
    ids = client.zrevrange(keys.quarantine(), offset, offset + limit - 1)
    items = []
    for raw_id in ids:
        item = get_wire(client, text(raw_id))
        if item is not None:
            items.append(item)
    return items


def quarantine_size(client: redis.Redis) -> int:
    return int(client.zcard(keys.quarantine()))
