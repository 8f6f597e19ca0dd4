"""Render's own indexes in Redis: which stories each feed holds, its archive pages, tombstones.

Per feed: ``entries`` (story ids scored by first publication, epoch seconds), ``pages`` (closed
archive pages, label scored by the newest date the page covers) and ``tombstones`` (removed story
ids scored by when the tombstone expires). Per story: the set of feeds it is in now, so that an
update knows which feeds it leaves. A feed's keys share a hash tag (``shared.keys``), so each
script below touches one Redis Cluster slot.

The subscription document shows the newest ``page_size`` entries by date, whatever order the
copy arrived in. Archive pages (RFC 5005) are date ranges: closed pages cover
``(-inf, b1]``, ``(b1, b2]``, … ``(bk-1, bk]``; the entries newer than ``bk`` (the open tail)
are always fewer than ``page_size``, so every one of them is in the subscription document. When
the open tail reaches ``page_size`` those entries close a new page, named after the date of its
newest entry and its number (``2026-03-04-17``). A story that arrives late, dated at or before
``bk``, joins the closed page that covers its date (that page renders again); every other page
stays as it was. Walking ``prev-archive`` from the subscription document therefore reaches every
story the feed holds, in date order.

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
from shared.locks import TokenLock
from shared.models import Story
from shared.redis_conn import Lua, text

# The civil date (UTC) of an epoch-seconds score (H. Hinnant's days-to-civil algorithm).
_DATE = """
local function civil(seconds)
  local z = math.floor(seconds / 86400) + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524)
    - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp + 3
  if mp >= 10 then m = mp - 9 end
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return string.format('%04d-%02d-%02d', y, m, d)
end
"""

# KEYS: entries, pages, tombstones. ARGV: story id, score (its date), page size.
# Returns {score, closed page label or "", previous page label or "", the old score or "",
# the closed page covering the score or "", the closed page covering the old score or ""}:
# the pages a late story (or an update of one in a closed page) changes, looked up after the
# join, so a page the join closed counts.
_JOIN = Lua(
    _DATE
    + """
local function page_of(score)
  if score == '' then return '' end
  return redis.call('ZRANGEBYSCORE', KEYS[2], score, '+inf', 'LIMIT', 0, 1)[1] or ''
end
local old = redis.call('ZSCORE', KEYS[1], ARGV[1])
if old and tonumber(old) == tonumber(ARGV[2]) then
  return {old, '', '', old, page_of(old), ''}
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
local floor = '-inf'
if last[2] then floor = '(' .. last[2] end
local closed, previous = '', ''
if redis.call('ZCOUNT', KEYS[1], floor, '+inf') >= tonumber(ARGV[3]) then
  local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  closed = civil(tonumber(top[2])) .. '-' .. (redis.call('ZCARD', KEYS[2]) + 1)
  redis.call('ZADD', KEYS[2], top[2], closed)
  previous = last[1] or ''
end
return {ARGV[2], closed, previous, old or '', page_of(ARGV[2]), page_of(old or '')}
"""
)

# KEYS: entries, tombstones. ARGV: story id, tombstone expiry (0: none). Returns the score or nil.
_LEAVE = Lua(
    """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then return false end
redis.call('ZREM', KEYS[1], ARGV[1])
if tonumber(ARGV[2]) > 0 then redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1]) end
return score
"""
)


def date_score(story: Story) -> float:
    """Where a story sorts in its feeds: its first publication, epoch seconds."""
    return story.first_published.timestamp()


@dataclass(frozen=True)
class PageBounds:
    """A closed page: the dates it covers, ``(after, last]`` (``after`` None: from the start)."""

    label: str
    after: float | None
    last: float
    prev: str | None
    next: str | None


class Index:
    """Render's indexes on one Redis client."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

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
        # the story's lock (a dead holder's lives 20 s: moving a story takes milliseconds) is
        # taken with the read of the feeds the story is in, and released with the write of
        # the feeds it is in now (a release Redis refused is made before the next task)
        lock = TokenLock(client, keys.story_render_lock(story.id), 20)
        (members,) = lock.acquire_with(lambda pipe: pipe.smembers(keys.story_feeds(story.id)))
        try:
            old = {text(name) for name in members}
            documents: set[str] = set()
            created = story.first_published.astimezone(UTC).isoformat()
            names = list(feeds)
            # every feed's join, with the pages it changes, in one round trip
            pipe = client.pipeline(transaction=False)
            for name in names:
                first_seen = replace(feeds[name], created=feeds[name].created or created)
                pipe.hsetnx(keys.feed_registry(), name, first_seen.to_json())
                _JOIN(pipe, self._keys(name), [story.id, repr(date_score(story)), page_size])
            joined = pipe.execute()[1::2]
            for name, (_, closed, previous, _, page, left) in zip(names, joined, strict=True):
                documents.add(name)
                if closed:
                    documents.add(document_id(name, text(closed)))
                    if previous:
                        documents.add(document_id(name, text(previous)))  # gains next-archive
                # a late story, or an update of one already in a closed page: that page
                # renders; and the page it left if its date moved
                for label in (page, left):
                    if label:
                        documents.add(document_id(name, text(label)))
            for name in old - set(feeds):
                score = _LEAVE(
                    client,
                    [keys.feed_entries(name), keys.feed_tombstones(name)],
                    [story.id, tombstone_expires],
                )
                documents.add(name)
                if score is not None and (page := self.page_of(name, float(score))):
                    documents.add(document_id(name, page))
            if old != set(feeds):
                pipe = client.pipeline(transaction=True)
                pipe.delete(keys.story_feeds(story.id))
                if feeds:
                    pipe.sadd(keys.story_feeds(story.id), *feeds)
                lock.fill_release(pipe)
                pipe.execute()
                lock.released = True
        finally:
            lock.let_go()
        return documents

    @staticmethod
    def _keys(name: str) -> list[str]:
        return [keys.feed_entries(name), keys.feed_pages(name), keys.feed_tombstones(name)]

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
        """The subscription document's story ids: the newest ``limit`` by first publication."""
        return [text(i) for i in self.client.zrevrange(keys.feed_entries(name), 0, limit - 1)]

    def newest_page(self, name: str) -> str | None:
        last = self.client.zrange(keys.feed_pages(name), -1, -1)
        return text(last[0]) if last else None

    def page_of(self, name: str, score: float) -> str | None:
        """The closed page covering date ``score`` (``None``: newer than every closed page)."""
        found = self.client.zrangebyscore(
            keys.feed_pages(name), repr(score), "+inf", start=0, num=1
        )
        return text(found[0]) if found else None

    def page_bounds(self, name: str, label: str) -> PageBounds | None:
        pages = keys.feed_pages(name)
        last = self.client.zscore(pages, label)
        if last is None:
            return None
        bound = f"({last!r}"
        before = self.client.zrevrangebyscore(pages, bound, "-inf", start=0, num=1, withscores=True)
        after = self.client.zrangebyscore(pages, bound, "+inf", start=0, num=1)
        return PageBounds(
            label=label,
            after=float(before[0][1]) if before else None,
            last=float(last),
            prev=text(before[0][0]) if before else None,
            next=text(after[0]) if after else None,
        )

    def page_ids(self, name: str, bounds: PageBounds) -> list[str]:
        low = "-inf" if bounds.after is None else f"({bounds.after!r}"
        ids = self.client.zrangebyscore(keys.feed_entries(name), low, repr(bounds.last))
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
