"""Which feeds someone follows, written where render can read it (``keys.feeds_followed``).

Render renders a followed feed as soon as its window allows and announces each change
(``feed.updated``); a feed nobody follows is rendered when it is read, or after
``SYNDICATE_FEED_LAZY_SECONDS`` at the latest (decisions/0007-lazy-renders.md). Publish is the one
that knows who follows what: an active WebSub subscription to any of a feed's topics (the
record names its format too, ``feed#json``: render keeps WebSub diffs for those formats only), or an
enabled webhook subscription that asked for ``feed.updated`` (its ``feeds`` filter names the
feeds, each also as ``feed#*``: its announcements name every format, so render renders them all
at once; an empty filter means every feed, written ``*``). Render decides external hubs from its
own settings.

The record is rewritten whenever a subscription changes (the API, a verified WebSub intent),
and every few seconds from ``drain_due`` (so WebSub leases that ran out, and webhooks disabled
for failing, stop counting; a fresh store has it within seconds of the first publish worker). It always holds ``#``: a store without the record (publish never ran)
makes render treat every feed as followed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime

import redis

from services.publish import store
from shared import keys
from shared.follows import EVERY_FEED, PRESENT, every_format_key, feed_key, pushed_key
from shared.models import Subscription
from shared.redis_conn import text

#: ``refresh_now_and_then`` rewrites the record at most this often per process (seconds)
PERIOD_SECONDS = 5.0

_last_refresh = 0.0


def followed(
    webhooks: Iterable[Subscription], websub_topics: Iterable[tuple[str, str]]
) -> set[str]:
    """The record's members: every feed a subscription follows, and every (feed, format) a
    WebSub subscriber follows (pure)."""
    members = {PRESENT}
    for sub in webhooks:
        if sub.disabled or "feed.updated" not in sub.events:
            continue
        wanted = [feed_key(f) for f in sub.filter.feeds]
        if not wanted:
            members.add(EVERY_FEED)
        members.update(wanted)
        members.update(every_format_key(feed) for feed in sub.filter.feeds)
    for feed, fmt in websub_topics:
        members.update((feed_key(feed), pushed_key(feed, fmt)))
    return members


def _websub_topics(client: redis.Redis, now: datetime) -> set[tuple[str, str]]:
    """(feed, format) of every topic with a WebSub subscription whose lease runs past ``now``."""
    topics = sorted(text(t) for t in client.smembers(keys.websub_topics()))
    if not topics:
        return set()
    pipe = client.pipeline(transaction=False)
    for topic in topics:
        feed, _, fmt = topic.rpartition(":")
        pipe.zcount(keys.websub_topic(feed, fmt), f"({now.timestamp()}", "+inf")
    counts = pipe.execute()
    return {
        (feed, fmt)
        for (feed, _, fmt), n in zip((t.rpartition(":") for t in topics), counts, strict=True)
        if int(n) > 0
    }


def refresh(client: redis.Redis, now: datetime) -> set[str]:
    """Rewrite the record from the subscriptions as they are now; returns its members."""
    global _last_refresh
    members = followed(store.list_subscriptions(client), _websub_topics(client, now))
    pipe = client.pipeline(transaction=True)
    pipe.delete(keys.feeds_followed())
    pipe.sadd(keys.feeds_followed(), *sorted(members))
    pipe.execute()
    _last_refresh = time.monotonic()
    return members


def refresh_now_and_then(client: redis.Redis, now: datetime) -> bool:
    """``refresh`` if this process has not done so for ``PERIOD_SECONDS``."""
    if time.monotonic() - _last_refresh < PERIOD_SECONDS:
        return False
    refresh(client, now)
    return True
