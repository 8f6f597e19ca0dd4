"""First attempts made inside the fan-out task, not one ``deliver`` task per delivery.

A fan-out creates each delivery with its schedule entry (the safety net) and then makes its
first attempt right there, through ``attempts.run`` (the same lock, due check, chain order,
in-flight slot, judgement and record as a ``deliver`` task), so a delivery costs no broker
message of its own: enqueue, fetch, unacked bookkeeping and ack were about half of publish's
CPU per delivery (docs/performance.md). Several deliveries of one fan-out are attempted at once
on a small thread pool, so a slow subscriber holds up no other subscriber's first attempt, only
the fan-out task that waits for them (bounded by the HTTP deadline). What an attempt wakes (the
next version of a story, a waiter for a slot) goes out as ``deliver`` tasks, as before; so does
a delivery whose inline attempt raised (Redis trouble), and a worker killed mid-attempt leaves
the delivery to its safety net. ``SYNDICATE_PUBLISH_INLINE_ATTEMPTS=false`` sends a task per
delivery instead.
"""

from __future__ import annotations

import contextvars
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import redis

from services.publish import attempts
from shared.settings import Settings

log = logging.getLogger(__name__)

#: threads per process making the first attempts of one fan-out side by side
POOL_THREADS = 8

_pool: ThreadPoolExecutor | None = None
_pool_pid = 0
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    """The process's pool (made again in a forked child, whose copy of the parent's threads
    does not run)."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(POOL_THREADS, thread_name_prefix="first-attempt")
            _pool_pid = os.getpid()
        return _pool


def first_attempts(
    client: redis.Redis,
    delivery_ids: list[str],
    settings: Settings,
    send_deliver: Callable[[str], None],
) -> dict[str, str]:
    """Make the first attempt of each new delivery; hand what they wake (and any whose attempt
    raised) to ``send_deliver``. Returns each delivery's status."""
    if not delivery_ids:
        return {}
    if not settings.publish_inline_attempts:
        for delivery_id in delivery_ids:
            send_deliver(delivery_id)
        return dict.fromkeys(delivery_ids, "sent")

    def one(delivery_id: str) -> tuple[str, attempts.Result | None]:
        try:
            return delivery_id, attempts.run(client, delivery_id, datetime.now(UTC), settings)
        except Exception:
            log.warning("first attempt of %s failed to run; sent as a task", delivery_id,
                        exc_info=True)  # fmt: skip
            return delivery_id, None

    if len(delivery_ids) == 1:
        results = [one(delivery_ids[0])]
    else:  # each in a copy of this task's log context
        futures = [
            _executor().submit(contextvars.copy_context().run, one, delivery_id)
            for delivery_id in delivery_ids
        ]
        results = [future.result() for future in futures]
    statuses: dict[str, str] = {}
    for delivery_id, result in results:
        if result is None:
            send_deliver(delivery_id)
            statuses[delivery_id] = "sent"
            continue
        statuses[delivery_id] = result.status
        for woken in result.wake:
            send_deliver(woken)
    return statuses
