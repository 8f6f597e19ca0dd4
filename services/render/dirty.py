"""Coalescing: feed documents waiting to render, and the documents being rendered, in Redis.

An event *marks* the documents it touches, due one window from now in the ``dirty`` sorted set
(``ZADD LT``: a later mark never pushes an earlier due time back, so a document marked 500 times
in a burst is still due once, one window after the first mark). A renderer *claims* due
documents: each leaves ``dirty`` for ``rendering`` (scored by when the claim's lease expires) and
gets a claim number (the fencing token ``feedstore`` checks, so a renderer that outlived its lease
cannot overwrite newer bytes): the server time in microseconds, or one more than the document's
last claim if that is larger, so claims only grow even if the clock steps back or the ``claims``
hash is lost.

A document in ``rendering`` is never claimed again while its lease runs: a mark that arrives
during the render leaves it in ``dirty`` as well, and once the render is over (*done*) it is
claimed again, so the change that mark stands for is rendered, by one renderer at a time. A
renderer that dies mid-render leaves its lease; when it expires the document falls due again and
any renderer claims it: a mark is never lost.

Times are the Redis server's (``TIME``), so renderers on several hosts agree on what is due. The
three keys share a hash tag: one Redis Cluster slot.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import redis

from shared import keys
from shared.redis_conn import Lua, text

# KEYS: dirty. ARGV: delay seconds, then members.
_MARK = Lua(
    """
local t = redis.call('TIME')
local due = tonumber(t[1]) + tonumber(t[2]) / 1000000 + tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'LT', due, ARGV[i]) end
return #ARGV - 1
"""
)

# The next claim number of a document (in the claims hash, KEYS[3]): larger than the last one
# and than the time in microseconds, so a claim made after a restart still outranks older ones.
_NEXT_CLAIM = """
local function next_claim(member, now)
  local last = tonumber(redis.call('HGET', KEYS[3], member) or '0')
  local claim = string.format('%.0f', math.max(last + 1, math.floor(now * 1000000)))
  redis.call('HSET', KEYS[3], member, claim)
  return claim
end
"""

# KEYS: dirty, rendering, claims. ARGV: limit, lease seconds.
# Returns member, claim number, member, claim number, ...
_CLAIM = Lua(
    _NEXT_CLAIM
    + """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  redis.call('ZREM', KEYS[2], member)            -- its renderer died: due again at once
  redis.call('ZADD', KEYS[1], 'LT', now, member)
end
local limit = tonumber(ARGV[1])
local held = redis.call('ZCARD', KEYS[2])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit + held)
local out = {}
for _, member in ipairs(due) do
  if #out >= 2 * limit then break end
  if not redis.call('ZSCORE', KEYS[2], member) then
    redis.call('ZREM', KEYS[1], member)
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), member)
    out[#out + 1] = member
    out[#out + 1] = next_claim(member, now)
  end
end
return out
"""
)

# KEYS: dirty, rendering, claims. ARGV: member, claim number, next due time (0: none).
# Ends the claim if it is still the document's latest; returns 1 when nothing waits for it
# (or only ``next due``), 0 when it was marked meanwhile (it renders again) or the claim is stale.
_DONE = Lua(
    """
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] or not redis.call('ZSCORE', KEYS[2], ARGV[1])
then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
local marked = redis.call('ZSCORE', KEYS[1], ARGV[1])
if tonumber(ARGV[3]) > 0 then redis.call('ZADD', KEYS[1], 'LT', tonumber(ARGV[3]), ARGV[1]) end
if marked then return 0 end
return 1
"""
)


# KEYS: dirty, rendering, claims. ARGV: member, lease seconds.
# Claims one document now, whenever it is due: returns its claim number, 0 when a renderer
# holds it (its lease running), -1 when nothing is pending for it.
_CLAIM_NOW = Lua(
    _NEXT_CLAIM
    + """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local held = redis.call('ZSCORE', KEYS[2], ARGV[1])
if held and tonumber(held) > now then return 0 end
if held then
  redis.call('ZREM', KEYS[2], ARGV[1])        -- its renderer died: pending again
  redis.call('ZADD', KEYS[1], 'LT', now, ARGV[1])
end
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return -1 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
return next_claim(ARGV[1], now)
"""
)


class DirtySet:
    """The documents waiting to render, on one Redis client."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self._keys = [keys.feeds_dirty(), keys.feeds_rendering(), keys.feed_claims()]

    def mark(self, documents: Iterable[str], delay: float, pipe: Any = None) -> int:
        """Mark ``documents`` due ``delay`` seconds from now (unless due sooner already). With
        ``pipe``, the mark joins that pipeline (the caller runs it) and 0 is returned."""
        members = sorted(set(documents))
        if not members:
            return 0
        if pipe is not None:
            _MARK(pipe, [keys.feeds_dirty()], [delay, *members])
            return 0
        return int(_MARK(self.client, [keys.feeds_dirty()], [delay, *members]))

    def claim(self, limit: int, lease: float) -> list[tuple[str, int]]:
        """Up to ``limit`` due documents no renderer holds, each with its claim number (hand it
        to ``done``, and to the store as the render's fencing token)."""
        flat = _CLAIM(self.client, self._keys, [limit, lease])
        return [(text(flat[i]), int(flat[i + 1])) for i in range(0, len(flat), 2)]

    def claim_now(self, document: str, lease: float) -> int | None:
        """Claim ``document`` now, however far off its due time (a reader wants it): its
        claim number; ``0`` when a renderer holds it now; ``None`` when nothing is pending."""
        claim = int(_CLAIM_NOW(self.client, self._keys, [document, lease]))
        return None if claim < 0 else claim

    def done(self, document: str, claim: int, next_due: float | None = None) -> bool:
        """The render of ``document`` under ``claim`` finished: its lease ends. It stays due at
        ``next_due`` (epoch seconds: when a tombstone it shows expires). ``False`` when it was
        marked during the render (it is claimed again at once, its mark's window permitting) or
        when the claim is no longer the document's latest (the lease ran out)."""
        return bool(_DONE(self.client, self._keys, [document, claim, next_due or 0]))

    def pending(self) -> int:
        """Documents waiting to render or being rendered."""
        pipe = self.client.pipeline(transaction=False)
        pipe.zrange(keys.feeds_dirty(), 0, -1)
        pipe.zrange(keys.feeds_rendering(), 0, -1)
        waiting, rendering = pipe.execute()
        return len(set(waiting) | set(rendering))
