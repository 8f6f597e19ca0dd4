"""Publish's Celery tasks: thin entry points over fan-out, attempts, verification and pings.

    story events ─> drain_events ──> fanout.story_event ──> inline.first_attempts
                    (shared.publish_events: a list, taken in batches; on_story_event for
                     the outbox's and the parked events)
    feed.updated ─> on_feed_updated ─> fanout.feed_update ──> inline.first_attempts; hub_ping
    POST /websub ─> websub_verify ──> websub_verify.verify (GET with hub.challenge)
    scheduler ────> drain_due (every second) ──> deliver (due ones), on_story_event (parked ones)
    deliver ──────> attempts.run ──> deliver (woken: next version, a waiter for a slot)

Waits of any length live in Redis (the due-time schedule), never in a worker or the broker.
"""

from __future__ import annotations

import logging
import secrets
import time
from datetime import UTC, datetime
from typing import Any

import redis
from celery.signals import worker_init
from pydantic import ValidationError

from services.publish import (
    attempts,
    chains,
    fanout,
    follows,
    hubs,
    inline,
    schedule,
    websub_verify,
)
from shared import batches, named_feeds, names, outbox, publish_events, stories
from shared.celery_app import get_celery, send
from shared.errors import ConfigurationError
from shared.logging import add, bind
from shared.models import Event, FeedUpdate
from shared.redis_conn import get_redis
from shared.settings import Settings, get_settings

log = logging.getLogger(__name__)
app = get_celery()

FANOUT_CLAIM_SECONDS = 30.0
HUB_PING_RETRIES = 8


@worker_init.connect
def check_named_feeds(**_: Any) -> None:
    """Named feeds that cannot be read stop the publish worker at start, as they stop render:
    a subscription filtered on one could not be judged."""
    try:
        named_feeds.named_feeds(get_settings())
    except ConfigurationError as exc:
        log.critical("publish worker: %s", exc.detail)
        raise SystemExit(2) from exc


#: story events one fan-out task handles at most: its own and those waiting behind it in the
#: queue (``shared.batches``; they wait there only when every publish thread is busy)
EVENT_BATCH = 16


@app.task(name=names.TASK_PUBLISH_ON_EVENT)
def on_story_event(event_data: dict[str, Any]) -> int:
    """One delivery per subscription that gets this story event, and the same for the story
    events waiting behind it in the queue; then the first attempts of them all, together. A
    taken event that fails is logged and the others go on; the task then fails with its
    error, and the outbox sends it again."""
    event = Event.model_validate(event_data)
    client = get_redis()
    settings = get_settings()
    with bind(event_id=event.id, story_id=event.story_id):
        deliveries = _fan_out(client, event, settings)  # its errors are the task's (retried)
    # made (or parked): a lost message is resent; and the events waiting behind this one,
    # taken in the same round trip
    pipe = client.pipeline(transaction=False)
    outbox.fill_handled(pipe, "publish", event.id)
    batches.fill_take(pipe, names.TASK_PUBLISH_ON_EVENT, EVENT_BATCH - 1)
    _, reply = pipe.execute()
    taken = batches.events(batches.taken(names.TASK_PUBLISH_ON_EVENT, reply))
    made, failed = _fan_out_all(client, taken, settings, deliveries)
    if failed is not None:
        raise failed
    return made


def _fan_out_all(
    client: redis.Redis, events: list[Event], settings: Settings, deliveries: list[str]
) -> tuple[int, Exception | None]:
    """Fan each event out (one that fails is logged, and its outbox entry stays, so it is sent
    again), mark the others handled, then make the first attempts of all the deliveries
    (``deliveries``: those made already) together. Returns how many deliveries there were and
    the first error."""
    handled: list[str] = []
    failed: Exception | None = None
    for event in events:
        with bind(event_id=event.id, story_id=event.story_id):
            try:
                deliveries += _fan_out(client, event, settings)
            except Exception as exc:
                log.exception("event %s could not fan out; the outbox sends it again", event.id)
                failed = failed or exc
                continue
        handled.append(event.id)
    if handled:
        pipe = client.pipeline(transaction=False)
        for event_id in handled:
            outbox.fill_handled(pipe, "publish", event_id)
        pipe.execute()
    inline.first_attempts(client, deliveries, settings, _send_deliver)
    return len(deliveries), failed


@app.task(name=names.TASK_PUBLISH_DRAIN_EVENTS)
def drain_events(slot: int) -> int:
    """Fan out the story events waiting in publish's list, a batch at a time, while they come
    (``shared.publish_events``); then stand down, or after ``DRAIN_SECONDS`` hand over to a
    fresh task (so a worker asked to stop is not kept by a steady stream). An event that fails
    is logged and the outbox sends it again; the others go on. Returns the deliveries made."""
    client = get_redis()
    settings = get_settings()
    ends = time.monotonic() + publish_events.DRAIN_SECONDS
    made = 0
    while True:
        raws = publish_events.take(client, slot)
        if raws:
            made += _fan_out_all(client, _events(raws), settings, [])[0]
            if time.monotonic() < ends:
                continue
        if not publish_events.stand_down(client, slot):
            return made  # nothing waits for this slot
        if time.monotonic() >= ends:
            send(names.TASK_PUBLISH_DRAIN_EVENTS, slot)  # the slot is flagged: hand over
            return made


def _events(raws: list[bytes]) -> list[Event]:
    """The events taken from the list; one that cannot be read is logged and left to the
    outbox (its id, if it had one, is still there)."""
    events = []
    for raw in raws:
        try:
            events.append(Event.model_validate_json(raw))
        except ValidationError:
            log.error("a story event waiting for publish cannot be read: %r", raw[:200])
    return events


def _fan_out(client: redis.Redis, event: Event, settings: Settings) -> list[str]:
    result = fanout.story_event(client, event, datetime.now(UTC), settings)
    if result.waiting:
        log.info("event %s waits for version %s to fan out", event.id, event.previous_version)
    else:
        log.info("event %s (%s): %d deliveries", event.id, event.type, len(result.deliveries))
    return result.deliveries


def _send_deliver(delivery_id: str) -> None:
    send(names.TASK_PUBLISH_DELIVER, delivery_id)


@app.task(name=names.TASK_PUBLISH_ON_FEED_UPDATED)
def on_feed_updated(update_data: dict[str, Any]) -> int:
    """A feed changed: ``feed.updated`` webhooks, WebSub distribution, external hub pings."""
    update = FeedUpdate.model_validate(update_data)
    add(event_id=update.id)
    settings = get_settings()
    client = get_redis()
    made = fanout.feed_update(client, update, datetime.now(UTC), settings)
    for hub in settings.websub_publish_hubs:
        for topic in sorted(update.urls.values()):
            send(names.TASK_PUBLISH_HUB_PING, hub, topic)
    log.info("feed %s updated: %d deliveries", update.feed, len(made))
    inline.first_attempts(client, made, settings, _send_deliver)
    return len(made)


@app.task(name=names.TASK_PUBLISH_DELIVER)
def deliver(delivery_id: str) -> str:
    """Make the next attempt of one delivery, if it is due and nobody else is making it."""
    add(delivery_id=delivery_id)
    result = attempts.run(get_redis(), delivery_id, datetime.now(UTC), get_settings())
    for woken in result.wake:
        send(names.TASK_PUBLISH_DELIVER, woken)
    return result.status


@app.task(name=names.TASK_PUBLISH_DRAIN_DUE)
def drain_due() -> int:
    """Hand out every delivery whose time has come, and every parked fan-out."""
    client = get_redis()
    now = datetime.now(UTC)
    follows.refresh_now_and_then(client, now)  # WebSub leases that ran out, auto-disabled hooks
    for slot in publish_events.wake_waiting(client, get_settings().publish_drainers):
        send(names.TASK_PUBLISH_DRAIN_EVENTS, slot)  # events wait and no drainer runs
    ids = schedule.take_due(client, now, attempts.attempt_lease(get_settings()))
    for delivery_id in ids:
        send(names.TASK_PUBLISH_DELIVER, delivery_id)
    for event_id in schedule.take_due_fanouts(client, now, FANOUT_CLAIM_SECONDS):
        event = stories.get_event(client, event_id)
        if event is None or event.story_id is None or event.version is None:
            log.error("parked event %s is not stored; dropping it", event_id)
            chains.drop_parked(client, event_id)
            continue
        send(names.TASK_PUBLISH_ON_EVENT, event.model_dump(mode="json"))
    return len(ids)


@app.task(name=names.TASK_PUBLISH_WEBSUB_VERIFY)
def websub_verify_intent(intent_id: str) -> str:
    """Verify a WebSub subscriber's intent (or tell it the request is denied)."""
    challenge = secrets.token_urlsafe(32)
    return websub_verify.verify(
        get_redis(), intent_id, datetime.now(UTC), get_settings(), challenge
    )


@app.task(name=names.TASK_PUBLISH_HUB_PING, max_retries=HUB_PING_RETRIES)
def hub_ping(hub: str, topic: str) -> int:
    """Tell an external hub that ``topic`` changed (``hub.mode=publish``). A failure raises
    ``DeliveryError``, which the task base class retries with backoff, up to ``max_retries``."""
    return hubs.ping(hub, topic, get_settings())
