"""Subscriptions, deliveries and received feed updates in Redis (publish's own I/O).

A delivery's record and its place in the due-time schedule change together, in one transaction
(or one Lua script), so the append-only file never holds one without the other: after any crash
every pending delivery is still in the schedule (``services.publish.schedule``).

Retention: a finished delivery (succeeded, failed, superseded or dead) expires
``SYNDICATE_DELIVERY_RETENTION_SECONDS`` after it finished, so a dead letter stays replayable that
long; the dead-letter list and each subscription's list of deliveries drop what has expired as
new entries are written (trim on write), and a received ``feed.updated`` lives as long.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis

from shared import keys, stories
from shared.models import Delivery, Event, FeedUpdate, Story, Subscription
from shared.redis_conn import Lua, text

# KEYS: delivery, subscription's deliveries, due set; ARGV: json, created score, due score
_CREATE_DELIVERY = Lua(
    """
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
  if ARGV[5] ~= '' and #redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[5], 'LIMIT', 0, 1) > 0
  then return 2 end
  return 1
end
return 0
"""
)


# KEYS: delivery, due set, dead set, feed update (or the delivery again);
# ARGV: json, id, due score or '', dead score or '', ttl (0: none), expected attempts or '',
#       expected replays or '', dead letters older than this leave the list or '',
#       '1' to extend the feed update's life by the ttl
_RECORD = Lua(
    """
if ARGV[6] ~= '' then
  local raw = redis.call('GET', KEYS[1])
  if not raw then return 0 end
  local current = cjson.decode(raw)
  if current['state'] ~= 'pending' or #current['attempts'] ~= tonumber(ARGV[6])
      or tonumber(current['replays'] or 0) ~= tonumber(ARGV[7]) then
    return 0
  end
end
if tonumber(ARGV[5]) > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[5])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[2], ARGV[2])
else
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
end
if ARGV[4] == '' then
  redis.call('ZREM', KEYS[3], ARGV[2])
else
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
end
if ARGV[8] ~= '' then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[8])
end
if ARGV[9] ~= '' then
  redis.call('EXPIRE', KEYS[4], ARGV[5])
end
return 1
"""
)

#: how many old entries of a subscription's list one new delivery looks at (trim on write)
TRIM_BATCH = 50


def save_subscription(client: redis.Redis, sub: Subscription) -> None:
    pipe = client.pipeline(transaction=True)
    pipe.set(keys.subscription(sub.id), sub.model_dump_json())
    pipe.zadd(keys.subscriptions(), {sub.id: sub.created_at.timestamp()})
    pipe.execute()


def get_subscription(client: redis.Redis, sub_id: str) -> Subscription | None:
    raw = client.get(keys.subscription(sub_id))
    return parse_subscription(raw) if raw else None


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


# KEYS: the subscriptions' sorted set; ARGV: the prefix of a subscription's key. Every
# subscription's JSON, oldest first, in one round trip (was a ZRANGE, then an MGET).
_ALL_SUBSCRIPTIONS = Lua(
    """
local found = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local raw = redis.call('GET', ARGV[1] .. id)
  if raw then found[#found + 1] = raw end
end
return found
"""
)


def list_subscriptions(client: redis.Redis) -> list[Subscription]:
    return listed_subscriptions(fill_list_subscriptions(client))


def fill_list_subscriptions(client_or_pipe: Any) -> Any:
    """Every subscription, on a client (its reply for ``listed_subscriptions``) or queued on a
    pipeline (the reply comes with the others)."""
    return _ALL_SUBSCRIPTIONS(client_or_pipe, [keys.subscriptions()], [keys.subscription("")])


def listed_subscriptions(reply: Any) -> list[Subscription]:
    return [parse_subscription(raw) for raw in reply or ()]


@functools.lru_cache(maxsize=1024)
def parse_subscription(raw: bytes) -> Subscription:
    """A stored subscription, parsed once per process while its bytes stay the same: every
    fan-out and every attempt reads them (``Subscription`` is frozen, so sharing is safe)."""
    return Subscription.model_validate_json(raw)


def delete_subscription(client: redis.Redis, sub_id: str) -> bool:
    """Forget a subscription and its bookkeeping. Its pending deliveries end at their next
    look ("the subscription was deleted") and expire like any finished delivery."""
    pipe = client.pipeline(transaction=True)
    pipe.delete(keys.subscription(sub_id))
    pipe.zrem(keys.subscriptions(), sub_id)
    pipe.delete(keys.subscription_failing_since(sub_id))
    pipe.delete(keys.subscription_deliveries(sub_id))
    pipe.delete(keys.deliveries_waiting(sub_id))
    pipe.delete(keys.deliveries_in_flight(sub_id))
    deleted = pipe.execute()[0]
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


def note_success(client: Any, sub_id: str) -> None:
    """The run of failures is over (on a pipeline: queued with what the caller runs)."""
    client.delete(keys.subscription_failing_since(sub_id))


def create_deliveries(
    client: redis.Redis,
    deliveries: list[Delivery],
    due: datetime,
    retention_seconds: float | None = None,
) -> list[bool]:
    """Store each new delivery and put it in the schedule at ``due`` (each atomically, all in
    one round trip); whether each was new (``False``: it exists, the task that creates it ran
    twice). With ``retention_seconds``, a subscription's list then lets go of deliveries older
    than that whose records have expired."""
    if not deliveries:
        return []
    pipe = client.pipeline(transaction=False)
    for delivery in deliveries:
        before = None
        if retention_seconds is not None:
            before = delivery.created_at.timestamp() - retention_seconds
        _CREATE_DELIVERY(
            pipe,
            [
                keys.delivery(delivery.id),
                keys.subscription_deliveries(delivery.subscription_id),
                keys.deliveries_due(),
            ],
            [
                delivery.model_dump_json(),
                delivery.created_at.timestamp(),
                due.timestamp(),
                delivery.id,
                "" if before is None else f"({before}",
            ],
        )
    created = pipe.execute()
    if retention_seconds is not None:
        for delivery, outcome in zip(deliveries, created, strict=True):
            if outcome == 2:  # the script saw deliveries older than the retention
                before = delivery.created_at.timestamp() - retention_seconds
                trim_subscription_deliveries(client, delivery.subscription_id, before)
    return [bool(outcome) for outcome in created]


def trim_subscription_deliveries(
    client: redis.Redis, sub_id: str, before: float, limit: int = TRIM_BATCH
) -> int:
    """Drop from a subscription's list up to ``limit`` of its deliveries created before
    ``before`` (epoch seconds) whose records have expired; returns how many went."""
    key = keys.subscription_deliveries(sub_id)
    old = [text(i) for i in client.zrangebyscore(key, "-inf", f"({before}", start=0, num=limit)]
    if not old:
        return 0
    pipe = client.pipeline(transaction=False)
    for delivery_id in old:
        pipe.exists(keys.delivery(delivery_id))
    gone = [d for d, exists in zip(old, pipe.execute(), strict=True) if not exists]
    if gone:
        client.zrem(key, *gone)
    return len(gone)


def record(
    client: Any,
    delivery: Delivery,
    *,
    due: datetime | None,
    dead_at: datetime | None = None,
    retention_seconds: float | None = None,
    now: datetime | None = None,
    expect: Delivery | None = None,
) -> Any:
    """Write a delivery's new state and its schedule in one step (a Lua script).

    ``due``: when to look at it next (``None``: never, it is finished; then the record expires
    after ``retention_seconds``, when given). ``dead_at``: put it on the dead-letter list (a
    delivery that will not be tried again); otherwise take it off. Dead letters older than the
    retention (from ``now``) leave the list. ``expect``: the record this change was made from;
    the write happens only if the stored one is still that pending record (same attempts, same
    replays), so a late finisher never overwrites a newer record. The reply says whether it
    wrote (1 or 0): on a client at once; on a pipeline the write is queued, and its reply
    comes with the others.
    """
    return _RECORD(client, *_record_call(delivery, due, dead_at, retention_seconds, now, expect))


def _record_call(
    delivery: Delivery,
    due: datetime | None,
    dead_at: datetime | None,
    retention_seconds: float | None,
    now: datetime | None,
    expect: Delivery | None,
) -> tuple[list[str], list[Any]]:
    """The keys and arguments of ``_RECORD``."""
    ttl = int(retention_seconds) if due is None and retention_seconds is not None else 0
    trim_before = ""
    if retention_seconds is not None and now is not None:
        trim_before = f"({now.timestamp() - retention_seconds}"
    feed_update_key = (
        keys.feed_update(delivery.event_id) if delivery.event_type == "feed.updated" else ""
    )
    script_keys = [
        keys.delivery(delivery.id),
        keys.deliveries_due(),
        keys.deliveries_dead(),
        feed_update_key or keys.delivery(delivery.id),
    ]
    args: list[Any] = [
        delivery.model_dump_json(),
        delivery.id,
        "" if due is None else due.timestamp(),
        "" if dead_at is None else dead_at.timestamp(),
        ttl,
        "" if expect is None else len(expect.attempts),
        "" if expect is None else expect.replays,
        trim_before,
        "1" if feed_update_key and ttl else "",
    ]
    return script_keys, args


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


def save_feed_update(
    client: redis.Redis, update: FeedUpdate, retention_seconds: float | None = None
) -> None:
    """Keep a ``feed.updated`` event so its deliveries (and replays) can build their body; for
    ``retention_seconds`` (each finished delivery of it extends that, see ``record``)."""
    ttl = int(retention_seconds) if retention_seconds is not None else None
    client.set(keys.feed_update(update.id), update.model_dump_json(), ex=ttl)


@dataclass(frozen=True)
class ForAttempt:
    """What a webhook attempt reads before it sends (a story event and its version as stored
    bytes: parsing them is the caller's, who may have the body they make already)."""

    subscription: Subscription | None
    failing: bool  # the subscription's last attempts failed (``failing_since`` is set)
    raw_event: bytes | None = None  # a story event, and the version the delivery names
    raw_story: bytes | None = None
    update: FeedUpdate | None = None  # a ``feed.updated`` event


def load_for_attempts(client: redis.Redis, deliveries: list[Delivery]) -> list[ForAttempt]:
    """What each webhook attempt sends and how many slots its subscription has, all read in
    one round trip: the subscription, whether it is failing, and the event (a
    ``feed.updated`` record, or a story event and the version the delivery names by its own
    ``story_id`` and ``version``, copied from the event: ``version_of`` checks that they
    agree). Each key is read once however many deliveries share it: a fan-out's attempts all
    carry the same event and version, whose bytes would otherwise come back once per
    subscriber."""
    reads: dict[tuple[str, str, int], int] = {}  # (command, key, index) -> reply position
    pipe = client.pipeline(transaction=False)

    def read(command: str, key: str, index: int = 0) -> int:
        at = reads.get((command, key, index))
        if at is None:
            at = reads[(command, key, index)] = len(reads)
            if command == "lindex":
                pipe.lindex(key, index)
            else:
                getattr(pipe, command)(key)
        return at

    wanted: list[tuple[int, int, int, int | None]] = []  # subscription, failing, event, story
    for delivery in deliveries:
        sub_at = read("get", keys.subscription(delivery.subscription_id))
        failing_at = read("exists", keys.subscription_failing_since(delivery.subscription_id))
        if delivery.event_type == "feed.updated":
            wanted.append(
                (sub_at, failing_at, read("get", keys.feed_update(delivery.event_id)), None)
            )
            continue
        event_at = read("get", keys.event(delivery.event_id))
        story_id, version = delivery.story_id, delivery.version
        story_at = None
        if story_id and version and version >= 1:
            story_at = read("lindex", keys.story_versions(story_id), version - 1)
        wanted.append((sub_at, failing_at, event_at, story_at))
    replies = pipe.execute()
    loaded = []
    parsed: dict[int, FeedUpdate | None] = {}
    for delivery, (sub_at, failing_at, event_at, story_at) in zip(deliveries, wanted, strict=True):
        raw_sub, failing, raw_event = replies[sub_at], replies[failing_at], replies[event_at]
        sub = parse_subscription(raw_sub) if raw_sub else None
        if delivery.event_type == "feed.updated":
            if event_at not in parsed:
                parsed[event_at] = FeedUpdate.model_validate_json(raw_event) if raw_event else None
            loaded.append(ForAttempt(sub, bool(failing), update=parsed[event_at]))
        else:
            story = replies[story_at] if story_at is not None else None
            loaded.append(ForAttempt(sub, bool(failing), raw_event, story))
    return loaded


def version_of(
    client: redis.Redis, delivery: Delivery, event: Event, raw_story: bytes | None
) -> Story | None:
    """The story version ``event`` carries: ``raw_story`` (what ``load_for_attempts`` read by
    the delivery's ``story_id`` and ``version``) when they are the event's, read again if not."""
    if not (event.story_id and event.version):
        return None
    if (event.story_id, event.version) == (delivery.story_id, delivery.version):
        return stories.parse_cached(raw_story) if raw_story else None
    return stories.get_version(client, event.story_id, event.version)
