"""The story lock of the ingest task, which a Redis outage does not leave held.

A version is decided and written under a per-story lock (a Redis key with a TTL). When Redis
goes away while a run holds it, the release fails and the key (kept by the AOF) would hold out
every later run on that story until its TTL ends: a whole minute in which the one-task-at-a-time
ingest worker waits. The refused release is kept by ``shared.leftovers`` and made (only if the
lock is still ours: its token is checked) before the process's next task.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import redis
from redis.exceptions import LockError

from shared import keys, leftovers

#: seconds a lock lives if its holder dies; seconds a run waits for it
TIMEOUT_SECONDS = 60


@contextlib.contextmanager
def story_lock(client: redis.Redis, story_id: str) -> Iterator[None]:
    """Hold the story's lock for the block."""
    lock = client.lock(
        keys.story_lock(story_id), timeout=TIMEOUT_SECONDS, blocking_timeout=TIMEOUT_SECONDS
    )
    if not lock.acquire():
        raise LockError(f"the lock of story {story_id} was not free in {TIMEOUT_SECONDS} s")
    try:
        yield
    finally:
        leftovers.release(lock.release)
