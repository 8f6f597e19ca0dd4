"""Sources in Redis: configuration, poll state, WebSub state, the due-time schedule, seen
entries, drop-folder watches and the items each source produced.

Redis Cluster: a source's own keys share its id as hash tag (``keys.source``), so what changes
them together (a transaction, a Lua script) stays in one slot; the two global sets (every source,
the schedule) are written by separate commands, never in a transaction with them. The order of
those writes makes a crash between them harmless: a new source is written before it is listed
and scheduled (a poller's start puts an enabled source missing from the schedule back), a
deleted one is forgotten before it is unlisted (a listed id without a source is skipped).

The schedule is one sorted set of enabled sources scored by when to poll them next, on the
Redis server's clock (so schedulers on several hosts agree). ``claim_due`` hands each due source
to one scheduler only: it moves the source's score a lease ahead rather than removing it, so a
claim lost with its scheduler comes due again by itself, and a poll records the real next time
when it ends (``reschedule``, only if the source is still scheduled: a source deleted or
disabled meanwhile stays out).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import redis

from services.ingest.sources.folder import Watch
from services.ingest.sources.model import PollState, Source, WebSubState
from shared import keys
from shared.redis_conn import Lua, text

#: entry keys remembered per source (the oldest seen are forgotten first)
SEEN_KEEP = 5000
#: raw items listed per source
ITEMS_KEEP = 1000

# KEYS: due set; ARGV: now, lease-until, limit
_CLAIM_DUE = Lua("""
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], ARGV[2], id) end
return ids
""")

# KEYS: source hash; ARGV: field, value — write only while the source exists
_SET_IF_SOURCE = Lua("""
if redis.call('HEXISTS', KEYS[1], 'config') == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
""")


def redis_now(client: redis.Redis) -> datetime:
    """Now on the Redis server's clock (every scheduler, the API and the CLI agree on it)."""
    seconds, micros = client.time()
    return datetime.fromtimestamp(int(seconds) + int(micros) / 1e6, UTC)


# --- configuration ------------------------------------------------------------------------------


def create(client: redis.Redis, source: Source, due: datetime | None) -> None:
    """Store a new source, then list it, then schedule its first poll at ``due`` (when
    enabled): three slots, three writes, in the order that survives a crash between them."""
    client.hset(keys.source(source.id), mapping={"config": source.model_dump_json(), "taken": 0})
    client.zadd(keys.sources(), {source.id: source.created_at.timestamp()})
    if due is not None:
        client.zadd(keys.sources_due(), {source.id: due.timestamp()})


def save_config(client: redis.Redis, source: Source) -> bool:
    """Replace a source's configuration; False when the source is gone."""
    return _set_if_source(client, source.id, "config", source.model_dump_json())


def get(client: redis.Redis, source_id: str) -> Source | None:
    raw = client.hget(keys.source(source_id), "config")
    return Source.model_validate_json(raw) if raw else None


def load(
    client: redis.Redis, source_id: str
) -> tuple[Source, PollState, WebSubState | None, int] | None:
    """Configuration, poll state, WebSub state and items taken, in one round trip."""
    config, state, websub, taken = client.hmget(
        keys.source(source_id), ["config", "state", "websub", "taken"]
    )
    if not config:
        return None
    return (
        Source.model_validate_json(config),
        PollState.model_validate_json(state) if state else PollState(),
        WebSubState.model_validate_json(websub) if websub else None,
        int(taken or 0),
    )


def ids(client: redis.Redis) -> list[str]:
    return [text(i) for i in client.zrange(keys.sources(), 0, -1)]


def delete(client: redis.Redis, source_id: str) -> bool:
    """Forget a source and everything kept for it (one slot, one transaction), then take it
    off the schedule and the list; False when there was none."""
    pipe = client.pipeline(transaction=True)
    pipe.delete(keys.source(source_id))
    pipe.delete(
        keys.source_seen(source_id),
        keys.source_seen_at(source_id),
        keys.source_items(source_id),
        keys.source_files(source_id),
    )
    removed = pipe.execute()
    client.zrem(keys.sources_due(), source_id)
    client.zrem(keys.sources(), source_id)
    return bool(removed[0])


#: the keys of a source besides its hash, as ``keys.source_untagged`` names their part
_PARTS: dict[str, Callable[[str], str]] = {
    "seen": keys.source_seen,
    "seen-at": keys.source_seen_at,
    "items": keys.source_items,
    "files": keys.source_files,
}


def move_untagged(client: redis.Redis) -> int:
    """Move sources stored before their keys were hash-tagged to the tagged keys; returns how
    many. Run by every poller at start: idempotent, and safe when several run at once (a key
    another scheduler moved first is simply gone). The hash moves last: until it has, no code
    sees the source, so nothing writes its other new keys meanwhile."""
    moved = 0
    for source_id in ids(client):
        if not client.exists(keys.source_untagged(source_id)):
            continue
        for part, tagged in _PARTS.items():
            _rename(client, keys.source_untagged(source_id, part), tagged(source_id))
        moved += _rename(client, keys.source_untagged(source_id), keys.source(source_id))
    return moved


def _rename(client: redis.Redis, old: str, new: str) -> bool:
    try:
        return bool(client.renamenx(old, new))
    except redis.ResponseError:  # no such key: never there, or another scheduler moved it
        return False


def save_state(client: redis.Redis, source_id: str, state: PollState) -> bool:
    return _set_if_source(client, source_id, "state", state.model_dump_json())


def _set_if_source(client: redis.Redis, source_id: str, name: str, value: str) -> bool:
    return bool(_SET_IF_SOURCE(client, [keys.source(source_id)], [name, value]))


def add_taken(client: redis.Redis, source_id: str, wire_ids: list[str], at: datetime) -> None:
    """Count and list raw items the source produced (only while the source exists)."""
    if not wire_ids or not client.hexists(keys.source(source_id), "config"):
        return
    pipe = client.pipeline(transaction=True)
    pipe.hincrby(keys.source(source_id), "taken", len(wire_ids))
    # a microsecond apart, so that the list keeps the order they were taken in
    scores = {wire_id: at.timestamp() + n / 1e6 for n, wire_id in enumerate(wire_ids)}
    pipe.zadd(keys.source_items(source_id), scores)
    pipe.zremrangebyrank(keys.source_items(source_id), 0, -ITEMS_KEEP - 1)
    pipe.execute()


def taken_items(
    client: redis.Redis, source_id: str, limit: int, offset: int = 0
) -> tuple[int, list[str]]:
    key = keys.source_items(source_id)
    found = client.zrevrange(key, offset, offset + limit - 1)
    return int(client.zcard(key)), [text(i) for i in found]


# --- WebSub state: read, then compare-and-set ----------------------------------------------------


def update_websub(
    client: redis.Redis,
    source_id: str,
    change: Callable[[WebSubState], WebSubState | None],
) -> WebSubState | None:
    """Apply ``change`` to the source's WebSub state atomically (optimistic: retried when the
    callback or another scheduler wrote it meanwhile). ``change`` returning ``None`` writes
    nothing. Returns the state written (or ``None``: nothing written, or no such source)."""
    key = keys.source(source_id)
    written: list[WebSubState | None] = [None]

    def attempt(pipe: redis.client.Pipeline) -> None:
        config, raw = pipe.hmget(key, ["config", "websub"])
        written[0] = None
        if not config:
            return
        current = WebSubState.model_validate_json(raw) if raw else WebSubState()
        new = change(current)
        if new is None:
            return
        pipe.multi()
        pipe.hset(key, "websub", new.model_dump_json())
        written[0] = new

    client.transaction(attempt, key)
    return written[0]


def clear_websub(client: redis.Redis, source_id: str) -> None:
    client.hdel(keys.source(source_id), "websub")


# --- the schedule -------------------------------------------------------------------------------


def schedule(client: redis.Redis, source_id: str, when: datetime) -> None:
    client.zadd(keys.sources_due(), {source_id: when.timestamp()})


def reschedule(client: redis.Redis, source_id: str, when: datetime) -> bool:
    """Set the next poll of a source that is still scheduled (deleted/disabled ones stay out)."""
    return bool(client.zadd(keys.sources_due(), {source_id: when.timestamp()}, xx=True, ch=True))


def unschedule(client: redis.Redis, source_id: str) -> None:
    client.zrem(keys.sources_due(), source_id)


def due_at(client: redis.Redis, source_id: str) -> datetime | None:
    score = client.zscore(keys.sources_due(), source_id)
    return datetime.fromtimestamp(float(score), UTC) if score is not None else None


def claim_due(client: redis.Redis, now: datetime, lease_seconds: float, limit: int) -> list[str]:
    """Claim up to ``limit`` due sources: each stays scheduled a lease ahead until its poll
    records the real next time, so two schedulers never claim the same due poll."""
    claimed = _CLAIM_DUE(
        client, [keys.sources_due()], [now.timestamp(), now.timestamp() + lease_seconds, limit]
    )
    return [text(i) for i in claimed]


def next_due(client: redis.Redis) -> float | None:
    """Epoch seconds of the earliest scheduled poll, if any."""
    first = client.zrange(keys.sources_due(), 0, 0, withscores=True)
    return float(first[0][1]) if first else None


def reconcile(client: redis.Redis, now: datetime) -> int:
    """Put every enabled source that is missing from the schedule back on it (due now), and
    take disabled ones off: the schedule is rebuilt from the sources at scheduler start."""
    added = 0
    for source_id in ids(client):
        source = get(client, source_id)
        if source is None or not source.enabled:
            unschedule(client, source_id)
        elif client.zadd(keys.sources_due(), {source_id: now.timestamp()}, nx=True):
            added += 1
    return added


def lock(client: redis.Redis, source_id: str, seconds: float) -> redis.lock.Lock:
    """Held while one scheduler polls the source."""
    held: redis.lock.Lock = client.lock(
        keys.source_poll_lock(source_id), timeout=seconds, blocking=False
    )
    return held


# --- entries seen, and drop-folder files --------------------------------------------------------


def known_digests(
    client: redis.Redis, source_id: str, entry_keys: list[str]
) -> dict[str, str | None]:
    """The digest last taken for each entry key (``None``: never taken)."""
    if not entry_keys:
        return {}
    found = client.hmget(keys.source_seen(source_id), entry_keys)
    return {k: (text(v) if v is not None else None) for k, v in zip(entry_keys, found, strict=True)}


def mark_seen(
    client: redis.Redis,
    source_id: str,
    taken: Mapping[str, str],
    present: Iterable[str],
    now: datetime,
) -> None:
    """Remember the digests taken, note every key the document still holds, forget the oldest."""
    if not client.hexists(keys.source(source_id), "config"):
        return  # removed while it was being polled: leave nothing behind
    seen, seen_at = keys.source_seen(source_id), keys.source_seen_at(source_id)
    present = list(present)
    pipe = client.pipeline(transaction=True)
    if taken:
        digests: dict[Any, Any] = dict(taken)
        pipe.hset(seen, mapping=digests)
    if present:
        pipe.zadd(seen_at, dict.fromkeys(present, now.timestamp()))
    pipe.zcard(seen_at)
    size = int(pipe.execute()[-1])
    if size > SEEN_KEEP:
        stale = [text(k) for k in client.zrange(seen_at, 0, size - SEEN_KEEP - 1)]
        if stale:
            pipe = client.pipeline(transaction=True)
            pipe.hdel(seen, *stale)
            pipe.zrem(seen_at, *stale)
            pipe.execute()


def watches(client: redis.Redis, source_id: str) -> dict[str, Watch]:
    found: dict[str, Watch] = {}
    for name, raw in client.hgetall(keys.source_files(source_id)).items():
        watch = Watch.loads(text(raw))
        if watch is not None:
            found[text(name)] = watch
    return found


def save_watches(
    client: redis.Redis, source_id: str, current: Mapping[str, Watch], gone: Iterable[str]
) -> None:
    if not client.hexists(keys.source(source_id), "config"):
        return  # removed while it was being polled: leave nothing behind
    key = keys.source_files(source_id)
    gone = list(gone)
    pipe = client.pipeline(transaction=True)
    if gone:
        pipe.hdel(key, *gone)
    if current:
        pipe.hset(key, mapping={name: watch.dumps() for name, watch in current.items()})
    pipe.execute()
