"""Which touched feed documents render at once and which wait to be read.

A followed feed (``shared.follows``: a WebSub subscriber, a ``feed.updated`` webhook) is
rendered one coalescing window after a change and announced; so is every feed when external
WebSub hubs are configured (they must hear of every change) or ``SYNDICATE_FEED_LAZY_SECONDS``
is 0. The documents of any other feed, and the archive pages of every feed, are marked
due ``SYNDICATE_FEED_LAZY_SECONDS`` later: the API renders one when someone reads it first
(``api.py``), and the pump at the latest then. Most feeds (one per contributor, section and agency) are read far less often than they
change, so this spares most renders (decisions/0007-lazy-renders.md).

A followed feed renders at once only in the formats its followers take (``formats_at_once``:
a WebSub subscriber to its JSON alone does not need RSS and Atom written at every change); its
other formats wait like an unfollowed feed's (decisions/0010-followed-formats.md).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

import redis

from services.render import catalog
from services.render.documents import FORMATS
from shared import follows
from shared.settings import Settings

#: how long a process trusts the followed record it read (seconds)
CACHE_SECONDS = 1.0


def everything_eager(settings: Settings) -> bool:
    """Settings under which every document renders at once."""
    return settings.feed_lazy_seconds == 0 or bool(settings.websub_publish_hubs)


def is_eager(document: str, members: frozenset[str] | None, settings: Settings) -> bool:
    """Does ``document`` render at once (the subscription document of a followed feed)?

    Archive pages wait to be read, even a followed feed's: they are never announced (nothing
    pushes them, no hub hears of them), and a follower walking back reads them, which renders a
    pending change first. A busy followed feed's newest page changed with nearly every window,
    and rendering it each time cost the pump about a fifth of its work."""
    name, page = catalog.split_document_id(document)
    if settings.feed_lazy_seconds == 0:
        return True
    if page is not None:
        return False
    return bool(settings.websub_publish_hubs) or follows.is_followed(members, name)


def formats_at_once(
    document: str, members: frozenset[str] | None, settings: Settings
) -> tuple[str, ...]:
    """The formats of ``document`` rendered as soon as it changes: every format when every
    document renders at once (``everything_eager``); for a followed feed's subscription
    document, those its followers take (``follows.eager_formats``); none otherwise."""
    if everything_eager(settings):
        return FORMATS
    if not is_eager(document, members, settings):
        return ()
    name = catalog.split_document_id(document)[0]
    return follows.eager_formats(members, name)


def members(client: redis.Redis, settings: Settings) -> frozenset[str] | None:
    """The followed record as this process knows it (``FOLLOWED``); not read when every
    document renders at once anyway."""
    return None if everything_eager(settings) else FOLLOWED.get(client)


def split(
    documents: Iterable[str], members: frozenset[str] | None, settings: Settings
) -> tuple[list[str], list[str]]:
    """The documents to mark due one window from now, and those due after the lazy delay."""
    eager: list[str] = []
    lazy: list[str] = []
    for document in documents:
        (eager if is_eager(document, members, settings) else lazy).append(document)
    return eager, lazy


class FollowedCache:
    """The followed record, read at most once per ``CACHE_SECONDS`` per process: render reads
    it on every story event, and a follow that starts is seen within that second."""

    def __init__(self, seconds: float = CACHE_SECONDS) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._read_at = float("-inf")
        self._members: frozenset[str] | None = None

    def get(self, client: redis.Redis) -> frozenset[str] | None:
        now = time.monotonic()
        with self._lock:
            if now - self._read_at < self.seconds:
                return self._members
        members = follows.read(client)
        with self._lock:
            self._members, self._read_at = members, now
        return members


FOLLOWED = FollowedCache()
