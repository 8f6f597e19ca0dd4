"""First attempts made inside the fan-out task, not one ``deliver`` task per delivery.

A fan-out creates each delivery with its schedule entry (the safety net) and then makes the
first attempts right there, through ``attempts.run_many`` (the same locks, due checks, chain
order, in-flight slots, judgement and records as ``deliver`` tasks), so a delivery costs no
broker message of its own: enqueue, fetch, unacked bookkeeping and ack were about half of
publish's CPU per delivery (docs/performance.md). The fan-out's attempts go together, each step
one round trip to Redis for all of them, and their requests side by side, so a slow subscriber
holds up no other subscriber's first attempt, only the fan-out task that waits for them
(bounded by the HTTP deadline). What the attempts wake (the next version of a story, a waiter
for a slot) goes out as ``deliver`` tasks, as before; so do the deliveries of attempts that
raised (Redis trouble), and a worker killed mid-attempt leaves the deliveries to their safety
net. ``SYNDICATE_PUBLISH_INLINE_ATTEMPTS=false`` sends a task per delivery instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import redis

from services.publish import attempts
from shared.settings import Settings

log = logging.getLogger(__name__)


def first_attempts(
    client: redis.Redis,
    delivery_ids: list[str],
    settings: Settings,
    send_deliver: Callable[[str], None],
) -> dict[str, str]:
    """Make the first attempt of each new delivery; hand what they wake (and all of them, if
    the attempts raised) to ``send_deliver``. Returns each delivery's status."""
    if not delivery_ids:
        return {}
    if not settings.publish_inline_attempts:
        for delivery_id in delivery_ids:
            send_deliver(delivery_id)
        return dict.fromkeys(delivery_ids, "sent")
    try:
        results = attempts.run_many(client, delivery_ids, datetime.now(UTC), settings)
    except Exception:
        log.warning("first attempts of %s failed to run; sent as tasks",
                    ", ".join(delivery_ids), exc_info=True)  # fmt: skip
        for delivery_id in delivery_ids:
            send_deliver(delivery_id)
        return dict.fromkeys(delivery_ids, "sent")
    statuses: dict[str, str] = {}
    for delivery_id, result in results.items():
        statuses[delivery_id] = result.status
        for woken in result.wake:
            send_deliver(woken)
    return statuses
