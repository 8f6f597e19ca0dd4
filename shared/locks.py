"""A lock its holder takes and releases with its own token, in the round trips it makes anyway.

A lock is a Redis key holding a random token under a lease: taken with ``SET NX PX``, released
by a script that deletes the key only if it still holds the holder's token (once the lease ran
out, someone else may hold it). redis-py's ``Lock`` does the same in round trips of its own;
this one can also be queued on a pipeline, so taking it goes with the first reads of what it
guards and releasing it with the last writes (publish's attempt lock, render's story lock: two
round trips fewer each). A release Redis refuses is kept by ``shared.leftovers`` and made before
the process's next task.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

import redis
from redis.exceptions import LockError

from shared import leftovers
from shared.redis_conn import Lua

# KEYS: a lock; ARGV: its holder's token. Deletes the lock only if that holder still has it.
_UNLOCK = Lua(
    """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
)

#: how often a holder waiting for the lock tries again (seconds)
POLL_SECONDS = 0.01


class TokenLock:
    """One holder's lock on ``key``, with a lease of ``seconds`` (not taken yet)."""

    def __init__(self, client: redis.Redis, key: str, seconds: float) -> None:
        self.client = client
        self.key = key
        self.token = secrets.token_hex(16)
        self.seconds = seconds
        self.milliseconds = max(1, int(seconds * 1000))
        self.released = False

    def fill_acquire(self, pipe: Any) -> None:
        """Queue the taking on a pipeline; its reply is truthy when the lock was free."""
        pipe.set(self.key, self.token, nx=True, px=self.milliseconds)

    def acquire(self) -> bool:
        return bool(self.client.set(self.key, self.token, nx=True, px=self.milliseconds))

    def wait(self, seconds: float | None = None) -> None:
        """Take it, waiting at most ``seconds`` (its lease by default) for its holder to let go;
        ``LockError`` if it was never free."""
        limit = self.seconds if seconds is None else seconds
        deadline = time.monotonic() + limit
        while not self.acquire():
            if time.monotonic() >= deadline:
                raise LockError(f"{self.key} was not free in {limit:g} s")
            time.sleep(POLL_SECONDS)

    def acquire_with(self, read: Callable[[Any], None]) -> list[Any]:
        """Take it and make the reads it guards (``read`` queues them on a pipeline) in one
        round trip; if another holder has it, wait for it (``wait``) and read again then.
        Returns the reads' replies."""
        pipe = self.client.pipeline(transaction=False)
        self.fill_acquire(pipe)
        read(pipe)
        got, *replies = pipe.execute()
        if got:
            return replies
        self.wait()
        pipe = self.client.pipeline(transaction=False)
        read(pipe)
        return list(pipe.execute())

    def fill_release(self, pipe: Any) -> None:
        """Queue the release on a pipeline (set ``released`` once it has run)."""
        _UNLOCK(pipe, [self.key], [self.token])

    def release(self) -> None:
        """Release it if it is still ours."""
        _UNLOCK(self.client, [self.key], [self.token])
        self.released = True

    def let_go(self) -> None:
        """Release it unless a pipeline did; should Redis refuse, before the next task."""
        if not self.released:
            leftovers.release(self.release)
