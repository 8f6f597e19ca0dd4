"""Send a finished delivery again (a dead letter, a failed or a past one): the API and the CLI.

The replay keeps the delivery's id, its event and so its ``webhook-id``; every attempt is signed
afresh. It starts a fresh run of the retry schedule (its first attempt after the schedule's first
delay, like a new delivery); the attempt log goes on from where it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import redis

from services.publish import schedule, store, websub_store
from services.publish.fanout import first_attempt
from shared import leftovers
from shared.errors import Conflict, NotFound, SyndicateError
from shared.models import Delivery
from shared.settings import Settings, get_settings


def replay(
    client: redis.Redis,
    delivery_id: str,
    now: datetime,
    lock_seconds: float,
    settings: Settings | None = None,
) -> Delivery:
    """Make a delivery pending again, due after the schedule's first delay. The caller hands it
    out (``deliver``).

    ``NotFound`` for an unknown id; ``Conflict`` when it is still pending, being attempted, or
    its subscription cannot take it (deleted, disabled, lease ended).
    """
    held = schedule.lock(client, delivery_id, lock_seconds)
    if not held.acquire():
        raise Conflict(
            f"Delivery {delivery_id!r} is being attempted right now.", resource=delivery_id
        )
    try:
        delivery = store.get_delivery(client, delivery_id)
        if delivery is None:
            raise NotFound(f"No delivery {delivery_id!r}.", resource=delivery_id)
        if delivery.state == "pending":
            when = delivery.next_attempt_at.isoformat() if delivery.next_attempt_at else "soon"
            raise Conflict(
                f"Delivery {delivery_id!r} is still pending (next attempt {when}).",
                resource=delivery_id,
            )
        _check_target(client, delivery, now)
        at, due = first_attempt(now, settings or get_settings())
        again = delivery.model_copy(
            update={
                "state": "pending",
                "schedule_start": len(delivery.attempts),
                "next_attempt_at": at,
                "reason": None,
                "replays": delivery.replays + 1,
                # WebSub: send whatever the feed holds now
                "etag": None if delivery.channel == "websub" else delivery.etag,
            }
        )
        store.record(client, again, due=due)
        return again
    finally:
        leftovers.release(held.release)  # Redis away: released before the next task


def _check_target(client: redis.Redis, delivery: Delivery, now: datetime) -> None:
    if delivery.channel == "websub":
        wsub = websub_store.get(client, delivery.subscription_id)
        if wsub is None or not wsub.active(now):
            raise Conflict(
                "The WebSub subscription of this delivery has ended.", resource=delivery.id
            )
        return
    sub = store.get_subscription(client, delivery.subscription_id)
    if sub is None:
        raise Conflict("The subscription of this delivery was deleted.", resource=delivery.id)
    if sub.disabled:
        raise Conflict(
            f"Subscription {sub.id} is disabled ({sub.disabled_reason}); "
            'enable it first with PATCH {"disabled": false}.',
            resource=delivery.id,
        )


#: dead letters read per round trip when looking for one subscription's
DEAD_PAGE = 500


def dead_letters(client: redis.Redis, limit: int, subscription_id: str | None = None) -> list[str]:
    """Ids of dead-lettered deliveries, newest first (only ``subscription_id``'s, when given:
    the dead-letter list is read page by page, it is bounded by the retention)."""
    if subscription_id is None:
        _, found = store.list_dead(client, limit)
        return [d.id for d in found]
    ids: list[str] = []
    offset = 0
    while len(ids) < limit:
        _, page = store.list_dead(client, DEAD_PAGE, offset)
        ids += [d.id for d in page if d.subscription_id == subscription_id]
        if len(page) < DEAD_PAGE:
            break
        offset += DEAD_PAGE
    return ids[:limit]


@dataclass
class Replayed:
    """What a bulk replay did: ids made pending again, and ids refused with why."""

    replayed: list[Delivery] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


def replay_many(
    client: redis.Redis,
    delivery_ids: list[str],
    now: datetime,
    lock_seconds: float,
    settings: Settings | None = None,
) -> Replayed:
    """``replay`` each delivery (once, in order); one that cannot be replayed is refused alone.
    The caller hands out the replayed ones (``deliver``)."""
    done = Replayed()
    for delivery_id in dict.fromkeys(delivery_ids):
        try:
            done.replayed.append(replay(client, delivery_id, now, lock_seconds, settings))
        except SyndicateError as exc:
            done.refused[delivery_id] = exc.detail
    return done
