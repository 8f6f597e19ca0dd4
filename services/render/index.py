"""Render's own indexes in Redis: which stories each feed holds, its archive pages, tombstones.

Per feed: ``entries`` (story ids scored by a join sequence: the order they joined the feed),
``seq`` (the last sequence handed out), ``pages`` (closed archive pages, label scored by the last
sequence in the page) and ``tombstones`` (removed story ids scored by when the tombstone expires).
Per story: the set of feeds it is in now, so that an update knows which feeds it leaves.

Archive pages (RFC 5005) are cut by sequence, not by date: a page closes when ``page_size``
stories have joined since the last page closed, and is named by the date of the story that closed
it and its number (``2026-03-04-17``). New stories always get the next sequence, so a closed page
never changes, except that a withdrawn story leaves it. The subscription document shows the newest
``page_size`` by sequence, so it always holds every story not yet in a closed page: walking
``prev-archive`` from it reaches every story the feed ever held.

Joining and leaving are one Lua script each (atomic, and a no-op when run twice).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import redis

from services.render.catalog import FeedInfo, document_id
from shared import keys, stories
from shared.models import Story
from shared.redis_conn import text

# KEYS: entries, seq, pages, tombstones. ARGV: story id, page size, date label.
# Returns {seq, closed page label or "", previous page label or "", 1 if it was already in}.
_JOIN = """
local existing = redis.call('ZSCORE', KEYS[1], ARGV[1])
if existing then return {existing, '', '', 1} end
local seq = redis.call('INCR', KEYS[2])
redis.call('ZADD', KEYS[1], seq, ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
local last = redis.call('ZRANGE', KEYS[3], -1, -1, 'WITHSCORES')
local last_hi = 0
if last[2] then last_hi = tonumber(last[2]) end
if seq - last_hi >= tonumber(ARGV[2]) then
  local label = ARGV[3] .. '-' .. (redis.call('ZCARD', KEYS[3]) + 1)
  redis.call('ZADD', KEYS[3], seq, label)
  return {tostring(seq), label, last[1] or '', 0}
end
return {tostring(seq), '', '', 0}
"""

# KEYS: entries, tombstones. ARGV: story id, tombstone expiry (0: none). Returns the seq or nil.
_LEAVE = """
local seq = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not seq then return false end
redis.call('ZREM', KEYS[1], ARGV[1])
if tonumber(ARGV[2]) > 0 then redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1]) end
return seq
"""


@dataclass(frozen=True)
class PageBounds:
    label: str
    first: int
    last: int
    prev: str | None
    next: str | None


class Index:
    """Render's indexes on one Redis client."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self._join = client.register_script(_JOIN)
        self._leave = client.register_script(_LEAVE)

    # --- writing ------------------------------------------------------------------------------

    def move_story(
        self,
        story: Story,
        feeds: dict[str, FeedInfo],
        *,
        page_size: int,
        tombstone_expires: float,
    ) -> set[str]:
        """Put ``story`` in exactly ``feeds`` (joining new ones, leaving the others with a
        tombstone that expires at ``tombstone_expires``, epoch seconds; 0 for none).

        Returns the documents (subscription documents and archive pages) whose content changed.
        """
        client = self.client
        with client.lock(keys.story_render_lock(story.id), timeout=60, blocking_timeout=60):
            old = {text(name) for name in client.smembers(keys.story_feeds(story.id))}
            documents: set[str] = set()
            label_date = story.first_published.astimezone(UTC).date().isoformat()
            created = story.first_published.astimezone(UTC).isoformat()
            for name, info in feeds.items():
                first_seen = replace(info, created=info.created or created)
                client.hsetnx(keys.feed_registry(), name, first_seen.to_json())
                seq, closed, previous, existed = self._join(
                    keys=self._keys(name), args=[story.id, page_size, label_date]
                )
                documents.add(name)
                if closed:
                    documents.add(document_id(name, text(closed)))
                    if previous:
                        documents.add(document_id(name, text(previous)))  # gains next-archive
                elif int(existed) and (page := self.page_of(name, float(seq))):
                    documents.add(document_id(name, page))
            for name in old - set(feeds):
                seq = self._leave(
                    keys=[keys.feed_entries(name), keys.feed_tombstones(name)],
                    args=[story.id, tombstone_expires],
                )
                documents.add(name)
                if seq is not None and (page := self.page_of(name, float(seq))):
                    documents.add(document_id(name, page))
            if old != set(feeds):
                pipe = client.pipeline(transaction=True)
                pipe.delete(keys.story_feeds(story.id))
                if feeds:
                    pipe.sadd(keys.story_feeds(story.id), *feeds)
                pipe.execute()
        return documents

    @staticmethod
    def _keys(name: str) -> list[str]:
        return [
            keys.feed_entries(name),
            keys.feed_sequence(name),
            keys.feed_pages(name),
            keys.feed_tombstones(name),
        ]

    def register(self, info: FeedInfo, now: datetime) -> None:
        """Make a feed exist (or update how it is titled), keeping when it was first created."""
        known = self.feed_info(info.name)
        created = known.created if known and known.created else now.isoformat()
        self.client.hset(keys.feed_registry(), info.name, replace(info, created=created).to_json())

    def drop_feed(self, name: str) -> list[str]:
        """Forget a feed's index; returns its document ids (so their bytes can go too)."""
        labels = [text(label) for label in self.client.zrange(keys.feed_pages(name), 0, -1)]
        self.client.delete(*self._keys(name))
        self.client.hdel(keys.feed_registry(), name)
        return [name, *(document_id(name, label) for label in labels)]

    # --- reading ------------------------------------------------------------------------------

    def feed_info(self, name: str) -> FeedInfo | None:
        raw = self.client.hget(keys.feed_registry(), name)
        return FeedInfo.from_json(raw) if raw else None

    def all_feeds(self) -> list[FeedInfo]:
        registry = self.client.hgetall(keys.feed_registry())
        return sorted((FeedInfo.from_json(v) for v in registry.values()), key=lambda i: i.name)

    def newest_ids(self, name: str, limit: int) -> list[str]:
        """The subscription document's story ids: the newest ``limit`` to join."""
        return [text(i) for i in self.client.zrevrange(keys.feed_entries(name), 0, limit - 1)]

    def newest_page(self, name: str) -> str | None:
        last = self.client.zrange(keys.feed_pages(name), -1, -1)
        return text(last[0]) if last else None

    def page_of(self, name: str, seq: float) -> str | None:
        """The closed page holding sequence ``seq`` (``None``: not in a closed page yet)."""
        found = self.client.zrangebyscore(keys.feed_pages(name), seq, "+inf", start=0, num=1)
        return text(found[0]) if found else None

    def page_bounds(self, name: str, label: str) -> PageBounds | None:
        pages = keys.feed_pages(name)
        last = self.client.zscore(pages, label)
        if last is None:
            return None
        before = self.client.zrevrangebyscore(
            pages, f"({last}", "-inf", start=0, num=1, withscores=True
        )
        after = self.client.zrangebyscore(pages, f"({last}", "+inf", start=0, num=1)
        return PageBounds(
            label=label,
            first=int(before[0][1]) + 1 if before else 1,
            last=int(last),
            prev=text(before[0][0]) if before else None,
            next=text(after[0]) if after else None,
        )

    def page_ids(self, name: str, bounds: PageBounds) -> list[str]:
        ids = self.client.zrangebyscore(keys.feed_entries(name), bounds.first, bounds.last)
        return [text(i) for i in ids]

    def tombstones(self, name: str, now: float) -> list[tuple[str, float]]:
        """Tombstones still in force (story id, expiry); expired ones are pruned."""
        key = keys.feed_tombstones(name)
        self.client.zremrangebyscore(key, "-inf", now)
        pairs: list[Any] = self.client.zrange(key, 0, -1, withscores=True)
        return [(text(member), float(score)) for member, score in pairs]


def stories_oldest_first(client: redis.Redis, batch: int = 500) -> Iterator[Story]:
    """Every stored story (latest version), oldest first publication first."""
    offset = 0
    while True:
        ids = client.zrange(keys.stories_by_time(), offset, offset + batch - 1)
        if not ids:
            return
        yield from stories.get_many(client, [text(i) for i in ids])
        offset += len(ids)
