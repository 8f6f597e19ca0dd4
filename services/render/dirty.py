"""Coalescing: feed documents waiting to render, in a Redis sorted set scored by due time.

An event *marks* the documents it touches, due one window from now (``ZADD LT``: a later mark
never pushes an earlier due time back, so a document marked 500 times in a burst is still due
once, one window after the first mark). A renderer *claims* due documents: the claim moves each
one's score to a lease (now + ``lease`` seconds) instead of removing it. After rendering, *done*
removes the document only if its score is still that lease; a mark that arrived during the render
lowered the score (``LT``), so the document stays and renders again one window later. A renderer
that dies mid-render leaves its lease, which falls due when it expires: a mark is never lost.

Times are the Redis server's (``TIME``), so renderers on several hosts agree on what is due.
"""

from __future__ import annotations

from collections.abc import Iterable

import redis

from shared import keys
from shared.redis_conn import text

# ARGV: delay seconds, then members.
_MARK = """
local t = redis.call('TIME')
local due = tonumber(t[1]) + tonumber(t[2]) / 1000000 + tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'LT', due, ARGV[i]) end
return #ARGV - 1
"""

# ARGV: limit, lease seconds. Returns member, lease score, member, lease score, ...
_CLAIM = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
local out = {}
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), member)
  out[#out + 1] = member
  out[#out + 1] = redis.call('ZSCORE', KEYS[1], member)
end
return out
"""

# ARGV: member, lease score as claimed, next due time (0: none). Removes the member (or sets it
# due at that time) only if nothing marked it since.
_DONE = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then
  if tonumber(ARGV[3]) > 0 then
    redis.call('ZADD', KEYS[1], tonumber(ARGV[3]), ARGV[1])
  else
    redis.call('ZREM', KEYS[1], ARGV[1])
  end
  return 1
end
return 0
"""


class DirtySet:
    """The documents waiting to render, on one Redis client."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self._mark = client.register_script(_MARK)
        self._claim = client.register_script(_CLAIM)
        self._done = client.register_script(_DONE)

    def mark(self, documents: Iterable[str], delay: float) -> int:
        """Mark ``documents`` due ``delay`` seconds from now (unless due sooner already)."""
        members = sorted(set(documents))
        if not members:
            return 0
        return int(self._mark(keys=[keys.feeds_dirty()], args=[delay, *members]))

    def claim(self, limit: int, lease: float) -> list[tuple[str, str]]:
        """Up to ``limit`` due documents, each with the lease score to hand back to ``done``."""
        flat = self._claim(keys=[keys.feeds_dirty()], args=[limit, lease])
        return [(text(flat[i]), text(flat[i + 1])) for i in range(0, len(flat), 2)]

    def done(self, document: str, lease: str, next_due: float | None = None) -> bool:
        """The render of ``document`` under ``lease`` finished. It leaves the set, or stays due at
        ``next_due`` (epoch seconds: when a tombstone it shows expires). ``False`` when it was
        marked again meanwhile: it stays, due one window after that mark."""
        args = [document, lease, next_due or 0]
        return bool(self._done(keys=[keys.feeds_dirty()], args=args))

    def pending(self) -> int:
        return int(self.client.zcard(keys.feeds_dirty()))
