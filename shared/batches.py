"""More messages of the running task, taken off the head of its queue, so that one task handles
a batch of story events and Celery's cost per task is paid once for all of them.

A story makes a task in render and one in publish, and Celery's own work per task (the fetch,
the unacknowledged record, the ack, the tracing) is about 1.5 ms of CPU: more than render's or
publish's own work for many stories (``docs/performance.md``). When events come faster than a
worker handles them, they wait in the queue; the task that runs then takes the messages of its
own task waiting at the head of the queue (the ones a worker would fetch next) and handles them
too. Nothing changes when the queue is empty (one round trip finds that, or none when the look
joins a pipeline the task sends anyway: ``fill_take``).

Only messages at the head are taken, and only while they are messages of the same task, so the
queue's order holds and nothing is put back. A message taken this way is not in kombu's
unacknowledged set: should the worker die before it has handled the batch, the events are sent
again by the outbox sweeper (``shared.outbox``: every task that takes batches consumes
events the outbox keeps), after ``SYNDICATE_INGEST_OUTBOX_SECONDS``, as for a message kombu
loses.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import redis
from pydantic import ValidationError

from shared import keys, names
from shared.models import Event
from shared.redis_conn import Lua

log = logging.getLogger(__name__)

# KEYS: a queue's list (kombu: LPUSH to add, BRPOP from the right to take); ARGV: task name,
# how many at most. Takes messages from the right while they name the task.
_TAKE = Lua(
    """
local taken = {}
for _ = 1, tonumber(ARGV[2]) do
  local raw = redis.call('LINDEX', KEYS[1], -1)
  if not raw then break end
  local ok, message = pcall(cjson.decode, raw)
  if not ok or type(message) ~= 'table' or type(message['headers']) ~= 'table'
     or message['headers']['task'] ~= ARGV[1] then
    break
  end
  redis.call('RPOP', KEYS[1])
  taken[#taken + 1] = raw
end
return taken
"""
)


class BadMessage(ValueError):
    """A message that names the task but whose arguments cannot be read."""


def take(client: redis.Redis, task_name: str, limit: int) -> list[list[Any]]:
    """The positional arguments of up to ``limit`` messages of ``task_name`` waiting at the head
    of its queue, oldest first; they are off the queue once this returns. A message whose
    arguments cannot be read is logged and left out (its event is in the outbox)."""
    if limit <= 0:
        return []
    return taken(task_name, fill_take(client, task_name, limit))


def fill_take(client_or_pipe: Any, task_name: str, limit: int) -> Any:
    """``take`` on a client (its reply for ``taken``), or queued on a pipeline the caller runs
    anyway, so that finding the queue empty costs no round trip of its own."""
    queue = keys.celery_queue(names.queue_of(task_name))
    return _TAKE(client_or_pipe, [queue], [task_name, max(0, limit)])


def taken(task_name: str, reply: Any) -> list[list[Any]]:
    """The arguments of the messages ``fill_take`` took (its reply)."""
    found: list[list[Any]] = []
    for raw in reply or ():
        try:
            found.append(arguments(raw))
        except BadMessage as exc:
            log.error("a %s message taken for a batch cannot be read: %s", task_name, exc)
    return found


def events(found: list[list[Any]]) -> list[Event]:
    """The story events that taken messages carry (their one argument); a message that
    carries none is logged and left out."""
    out: list[Event] = []
    for args in found:
        try:
            out.append(Event.model_validate(args[0]))
        except (ValidationError, IndexError) as exc:
            log.error("a story event taken for a batch is not one: %s", exc)
    return out


def arguments(raw: bytes | str) -> list[Any]:
    """The positional arguments of one task message as kombu's Redis transport keeps it
    (Celery's protocol 2: a body ``[args, kwargs, embed]``, base64 in the envelope)."""
    try:
        message = json.loads(raw)
        body: Any = message["body"]
        if message.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args, kwargs, _embed = json.loads(body)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BadMessage(f"not a protocol 2 task message ({type(exc).__name__}: {exc})") from None
    if not isinstance(args, list) or kwargs:
        raise BadMessage("the task takes positional arguments only")
    return args
