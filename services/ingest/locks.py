"""The story lock of the ingest task, which neither a Redis outage nor a dead worker holds for
long.

A version is decided and written under a per-story lock (a Redis key with a TTL) while the
one-task-at-a-time ingest worker waits for it. The lock is taken with the read of the story and
released with the write of its new version (``shared.locks``: no round trips of its own). When
Redis goes away while a run holds it, the refused release is kept by ``shared.leftovers`` and
made (only if the lock is still ours: its token is checked) before the process's next task.
When the worker holding it dies, the lock lives out its TTL: short, since deciding and writing
a version takes milliseconds.
"""

from __future__ import annotations

import redis

from shared import keys
from shared.locks import TokenLock

#: seconds a lock lives if its holder dies, and the longest a run waits for it
TIMEOUT_SECONDS = 20


def story_lock(client: redis.Redis, story_id: str) -> TokenLock:
    """The story's lock (not taken yet)."""
    return TokenLock(client, keys.story_lock(story_id), TIMEOUT_SECONDS)
