"""The story lock of the ingest task, which a Redis outage does not leave held.

A version is decided and written under a per-story lock (a Redis key with a TTL). When Redis
goes away while a run holds it, the release fails and the key (kept by the AOF) would hold out
every later run on that story until its TTL ends: a whole minute in which the one-task-at-a-time
ingest worker waits. Instead the process keeps the locks it could not release and releases them
(only if still its own: the lock's token is checked) at the start of its next run.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import redis
from redis.exceptions import LockError
from redis.lock import Lock

from shared import keys

#: seconds a lock lives if its holder dies; seconds a run waits for it
TIMEOUT_SECONDS = 60

_abandoned: list[Lock] = []
_guard = threading.Lock()


def release_abandoned() -> int:
    """Release the locks this process could not release before; returns how many it tried.
    Raises ``redis.RedisError`` while Redis is still away (the locks are kept for later)."""
    tried = 0
    while True:
        with _guard:
            if not _abandoned:
                return tried
            lock = _abandoned[0]
        with contextlib.suppress(LockError):  # expired or taken since: not ours any more
            lock.release()
        with _guard:
            _abandoned.remove(lock)
        tried += 1


@contextlib.contextmanager
def story_lock(client: redis.Redis, story_id: str) -> Iterator[None]:
    """Hold the story's lock for the block; a release Redis refuses is retried by the next run
    (``release_abandoned``)."""
    release_abandoned()
    lock = client.lock(
        keys.story_lock(story_id), timeout=TIMEOUT_SECONDS, blocking_timeout=TIMEOUT_SECONDS
    )
    if not lock.acquire():
        raise LockError(f"the lock of story {story_id} was not free in {TIMEOUT_SECONDS} s")
    try:
        yield
    finally:
        try:
            lock.release()
        except LockError:
            pass  # it expired (the block outlived the TTL): nothing to release
        except redis.RedisError:
            with _guard:
                _abandoned.append(lock)
