"""Releases that Redis refused while it was away, made as soon as it answers again.

A task that holds a lock or a slot (a Redis key with a lease) and loses Redis mid-way cannot
release it; the key, kept by the AOF, would then hold out every later run until its lease ends
(a minute for a story lock, most of one for a delivery's). The process keeps such releases here
and the task base class makes them before its next task runs, so a Redis restart delays work by
the outage, not by a lease. Each release checks ownership itself (a lock's token, a slot's
member), so a late release never frees what someone else holds since.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

import redis
from redis.exceptions import LockError

log = logging.getLogger(__name__)

_pending: deque[Callable[[], object]] = deque()
_guard = threading.Lock()


def release(action: Callable[[], object]) -> None:
    """Run ``action`` (a release) now; if Redis refuses, keep it for ``release_pending``. A lock
    that is no longer ours (it expired) needs no release."""
    try:
        action()
    except LockError:
        pass
    except redis.RedisError:
        with _guard:
            _pending.append(action)


def release_pending() -> int:
    """Make the releases Redis refused before; returns how many were made. Raises
    ``redis.RedisError`` while Redis is still away (what is left is kept)."""
    made = 0
    while True:
        with _guard:
            if not _pending:
                break
            action = _pending.popleft()
        try:
            action()
        except LockError:
            pass
        except redis.RedisError:
            with _guard:
                _pending.appendleft(action)
            raise
        made += 1
    if made:
        log.info("released %d locks and slots held since Redis went away", made)
    return made


def pending() -> int:
    with _guard:
        return len(_pending)
