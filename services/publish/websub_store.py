"""WebSub subscriptions and intents in Redis (publish's own I/O).

Each topic has a sorted set of its subscriptions scored by lease expiry, so the active ones are
one range query away and expired ones are pruned in the same step (atomically, so a renewal
racing the prune is never lost).
"""

from __future__ import annotations

from datetime import datetime

import redis

from services.publish.websub import Intent, WebSubSubscription
from shared import keys
from shared.redis_conn import Lua, text

INTENT_TTL_SECONDS = 7 * 24 * 3600

# KEYS: topic set; ARGV: now, then the subscription key of each expired id (parallel to ids)
_PRUNE = Lua("""
local gone = 0
for i = 2, #ARGV, 2 do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) <= tonumber(ARGV[1]) then
    redis.call('ZREM', KEYS[1], ARGV[i])
    redis.call('DEL', ARGV[i + 1])
    gone = gone + 1
  end
end
return gone
""")


def save_intent(client: redis.Redis, intent: Intent) -> None:
    """Store a request and make it the newest for its (topic, callback): only it may apply."""
    pipe = client.pipeline(transaction=True)
    pipe.set(keys.websub_intent(intent.id), intent.model_dump_json(), ex=INTENT_TTL_SECONDS)
    if intent.denied_reason is None:
        pipe.set(
            keys.websub_latest_intent(intent.subscription_id), intent.id, ex=INTENT_TTL_SECONDS
        )
    pipe.execute()


def get_intent(client: redis.Redis, intent_id: str) -> Intent | None:
    raw = client.get(keys.websub_intent(intent_id))
    return Intent.model_validate_json(raw) if raw else None


def finish_intent(client: redis.Redis, intent: Intent) -> None:
    client.set(keys.websub_intent(intent.id), intent.model_dump_json(), ex=INTENT_TTL_SECONDS)


def apply_intent(
    client: redis.Redis, intent: Intent, subscription: WebSubSubscription | None
) -> bool:
    """Make a verified intent take effect (subscribe: store ``subscription``; unsubscribe:
    remove it), unless a newer intent for the same pair came in meanwhile. Returns whether it
    took effect."""
    latest_key = keys.websub_latest_intent(intent.subscription_id)
    sub_key = keys.websub_subscription(intent.subscription_id)
    with client.pipeline(transaction=True) as pipe:
        while True:
            try:
                pipe.watch(latest_key)  # type: ignore[no-untyped-call]
                latest = pipe.get(latest_key)
                if latest is None or text(latest) != intent.id:
                    pipe.unwatch()
                    return False
                pipe.multi()
                if subscription is not None:
                    topic = keys.websub_topic(subscription.feed, subscription.fmt)
                    pipe.set(sub_key, subscription.model_dump_json())
                    pipe.zadd(topic, {subscription.id: subscription.expires_at.timestamp()})
                    pipe.sadd(keys.websub_topics(), f"{subscription.feed}:{subscription.fmt}")
                elif intent.feed is not None and intent.fmt is not None:
                    pipe.delete(sub_key)
                    pipe.zrem(keys.websub_topic(intent.feed, intent.fmt), intent.subscription_id)
                pipe.execute()
                return True
            except redis.WatchError:
                continue


def get(client: redis.Redis, subscription_id: str) -> WebSubSubscription | None:
    raw = client.get(keys.websub_subscription(subscription_id))
    return WebSubSubscription.model_validate_json(raw) if raw else None


def remove(client: redis.Redis, subscription: WebSubSubscription) -> None:
    pipe = client.pipeline(transaction=True)
    pipe.delete(keys.websub_subscription(subscription.id))
    pipe.zrem(keys.websub_topic(subscription.feed, subscription.fmt), subscription.id)
    pipe.execute()


def active(client: redis.Redis, feed: str, fmt: str, now: datetime) -> list[WebSubSubscription]:
    """The topic's subscriptions whose lease runs past ``now``; expired ones are removed."""
    topic = keys.websub_topic(feed, fmt)
    expired = [text(i) for i in client.zrangebyscore(topic, "-inf", now.timestamp())]
    if expired:
        args: list[str] = [str(now.timestamp())]
        for sub_id in expired:
            args.extend([sub_id, keys.websub_subscription(sub_id)])
        _PRUNE(client, [topic], args)
    ids = [text(i) for i in client.zrangebyscore(topic, f"({now.timestamp()}", "+inf")]
    if not ids:
        return []
    raws = client.mget([keys.websub_subscription(i) for i in ids])
    found = [WebSubSubscription.model_validate_json(raw) for raw in raws if raw]
    return [sub for sub in found if sub.active(now)]


def active_many(
    client: redis.Redis, feed: str, fmts: list[str], now: datetime
) -> dict[str, list[WebSubSubscription]]:
    """``active`` for several formats of one feed in two round trips (one when nobody follows
    it): a feed renders many times a second under load, and most feeds have no subscriber."""
    stamp = now.timestamp()
    pipe = client.pipeline(transaction=False)
    for fmt in fmts:
        pipe.zcount(keys.websub_topic(feed, fmt), "-inf", stamp)
        pipe.zrangebyscore(keys.websub_topic(feed, fmt), f"({stamp}", "+inf")
    answers = pipe.execute()
    found: dict[str, list[WebSubSubscription]] = {}
    live: dict[str, list[str]] = {}
    for fmt, expired, ids in zip(fmts, answers[::2], answers[1::2], strict=True):
        if expired:  # rare: let the one-format path prune them
            found[fmt] = active(client, feed, fmt, now)
        elif ids:
            live[fmt] = [text(i) for i in ids]
    wanted = [i for ids in live.values() for i in ids]
    if wanted:
        raws = iter(client.mget([keys.websub_subscription(i) for i in wanted]))
        for fmt, ids in live.items():
            subs = [
                WebSubSubscription.model_validate_json(r) for r in (next(raws) for _ in ids) if r
            ]
            found[fmt] = [sub for sub in subs if sub.active(now)]
    return found


def list_all(client: redis.Redis, now: datetime) -> list[WebSubSubscription]:
    """Every active subscription of every topic."""
    found: list[WebSubSubscription] = []
    for member in sorted(text(t) for t in client.smembers(keys.websub_topics())):
        feed, _, fmt = member.rpartition(":")
        found.extend(active(client, feed, fmt, now))
    return found
