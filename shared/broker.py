"""Task messages written straight onto the broker's Redis lists.

Celery's ``send_task`` costs about a millisecond of CPU per message (building the message
through several layers, a producer from the pool, a new kombu client object per publish, one
round trip each), and a story makes several messages on its way through: that was a large part
of the service's CPU per story (docs/performance.md). The message itself is simple: kombu's
Redis transport keeps a queue as a list holding JSON envelopes, and Celery's worker reads
protocol 2 (headers naming the task, a body ``[args, kwargs, embed]``). This module builds that
envelope, field for field what ``send_task`` writes for our tasks (no ETA, no expiry, priority 0,
no result, the default exchange), and pushes it with ``LPUSH``: alone, or added to a pipeline the
caller already sends, so a task's writes and the messages it emits go in one round trip (and, in
a ``MULTI`` pipeline, together or not at all).

Workers consume these messages exactly as they consume Celery's own; only the sending side is
ours. ``tests/unit/test_broker.py`` holds the envelope against the one ``send_task`` builds.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import socket
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import redis

from shared import keys, names

#: Celery's limit for the ``argsrepr`` header (``AMQP.argsrepr_maxsize``)
ARGSREPR_MAX = 1024
_EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}


@functools.cache
def _origin_of(pid: int) -> str:
    return f"gen{pid}@{socket.gethostname()}"


def _origin() -> str:
    """Celery's ``anon_nodename()``: which process sent the message (for logs and Flower)."""
    return _origin_of(os.getpid())


def envelope(task_name: str, args: Sequence[Any], task_id: str | None = None) -> bytes:
    """The JSON kombu's Redis transport keeps in a queue's list for one Celery task message."""
    queue = names.queue_of(task_name)
    task_id = task_id or str(uuid.uuid4())
    arguments = list(args)
    body = json.dumps([arguments, {}, _EMBED]).encode("utf-8")
    argsrepr = repr(arguments)
    if len(argsrepr) > ARGSREPR_MAX:
        argsrepr = argsrepr[: ARGSREPR_MAX - 3] + "..."
    message = {
        "body": base64.b64encode(body).decode("ascii"),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {
            "lang": "py",
            "task": task_name,
            "id": task_id,
            "shadow": None,
            "eta": None,
            "expires": None,
            "group": None,
            "group_index": None,
            "retries": 0,
            "timelimit": [None, None],
            "root_id": task_id,
            "parent_id": None,
            "argsrepr": argsrepr,
            "kwargsrepr": "{}",
            "origin": _origin(),
            "ignore_result": None,
            "replaced_task_nesting": 0,
            "stamped_headers": None,
            "stamps": {},
        },
        "properties": {
            "correlation_id": task_id,
            "reply_to": "",
            "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": queue},
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": str(uuid.uuid4()),
        },
    }
    return json.dumps(message).encode("utf-8")


def add(pipe: Any, task_name: str, *args: Any) -> None:
    """Queue one task message on ``pipe`` (a Redis pipeline the caller executes, or a client:
    then it is sent at once)."""
    pipe.lpush(keys.celery_queue(names.queue_of(task_name)), envelope(task_name, args))


def add_many(pipe: Any, messages: Iterable[tuple[str, Sequence[Any]]]) -> None:
    """Queue several task messages on ``pipe``, in order."""
    for task_name, args in messages:
        add(pipe, task_name, *args)


def push(client: redis.Redis, task_name: str, *args: Any) -> None:
    """Send one task message now (one round trip)."""
    add(client, task_name, *args)
