"""The record of followed feeds (``keys.feeds_followed``): its form, written by publish
(``services.publish.follows``) and read by render to choose between rendering a feed at once
and rendering it when it is read (decisions/0007-lazy-renders.md), and which of a feed's formats
have WebSub subscribers (render keeps a diff of each change for those: ``docs/websub.md``), and
so which formats render at once (``eager_formats``: decisions/0010-followed-formats.md)."""

from __future__ import annotations

import redis

from shared import keys
from shared.redis_conn import text

#: a ``feed.updated`` webhook with no ``feeds`` filter: every feed is followed
EVERY_FEED = "*"
#: always in the record, so an empty record differs from none at all
PRESENT = "#"
#: formats a feed can be pushed in (its WebSub topics)
FORMATS = ("rss", "atom", "json")


def feed_key(name: str) -> str:
    """How feed names are compared (as ``feed.updated`` filters are: case-insensitively)."""
    return name.strip().strip("/").casefold()


def read(client: redis.Redis) -> frozenset[str] | None:
    """The record's members, or ``None`` when there is no record (publish never wrote one)."""
    members = frozenset(text(m) for m in client.smembers(keys.feeds_followed()))
    return members if PRESENT in members else None


def is_followed(members: frozenset[str] | None, feed: str) -> bool:
    """Is ``feed`` followed, by the record's ``members`` (no record: every feed is)?"""
    return members is None or EVERY_FEED in members or feed_key(feed) in members


def pushed_key(feed: str, fmt: str) -> str:
    """The member saying a feed has WebSub subscribers in ``fmt`` (``#`` is in no feed name)."""
    return f"{feed_key(feed)}#{fmt}"


def every_format_key(feed: str) -> str:
    """The member saying a ``feed.updated`` webhook follows the feed: its announcements name
    every format, so every format renders at once."""
    return pushed_key(feed, "*")


def pushed_formats(members: frozenset[str] | None, feed: str) -> tuple[str, ...]:
    """The formats of ``feed`` that WebSub subscribers follow (no record: every format)."""
    if members is None:
        return FORMATS
    return tuple(fmt for fmt in FORMATS if pushed_key(feed, fmt) in members)


def eager_formats(members: frozenset[str] | None, feed: str) -> tuple[str, ...]:
    """The formats of ``feed`` its followers take as it changes: every format when a
    ``feed.updated`` webhook follows it (``*``, ``feed#*``, or a record written before that
    member existed: the feed with no format named), else those WebSub subscribers follow; none
    when nobody follows the feed. No record: every format."""
    if members is None or EVERY_FEED in members or every_format_key(feed) in members:
        return FORMATS
    if feed_key(feed) not in members:
        return ()
    return pushed_formats(members, feed) or FORMATS
