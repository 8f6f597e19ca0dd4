"""Publish's Celery tasks: fan events out to subscriptions, attempt deliveries, drain the schedule.

``on_story_event`` creates one delivery per matching subscription (deterministic ids: running it
twice creates nothing new) and sends each at once; ``deliver`` makes one attempt under a lock and
records it; a failed attempt goes into the due-time set, which ``drain_due`` (sent every second by
the scheduler) empties as attempts fall due.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from services.publish import store
from services.publish.deliveries import delivery_id_for, judge, matches, payload
from services.publish.signing import webhook_headers
from services.publish.targets import http_client, webhook_guard
from shared import names, stories
from shared.celery_app import get_celery, send
from shared.errors import DeliveryError, TargetRefused
from shared.models import Attempt, Delivery, Event, FeedUpdate
from shared.redis_conn import get_redis
from shared.settings import get_settings

log = logging.getLogger(__name__)
app = get_celery()
EXCERPT_BYTES = 512
SAFETY_NET = timedelta(seconds=60)


@app.task(name=names.TASK_PUBLISH_ON_EVENT)
def on_story_event(event_data: dict[str, Any]) -> int:
    """One delivery per subscription that wants this event."""
    event = Event.model_validate(event_data)
    client = get_redis()
    now = datetime.now(UTC)
    count = 0
    for sub in store.list_subscriptions(client):
        if not matches(sub, event):
            continue
        delivery = Delivery(
            id=delivery_id_for(event.id, sub.id),
            subscription_id=sub.id,
            event_id=event.id,
            event_type=event.type,
            created_at=now,
            next_attempt_at=now,
        )
        if store.create_delivery(client, delivery):
            # durable safety net first: if the fast path below is lost, the schedule has it
            store.schedule(client, delivery.id, now + SAFETY_NET)
            send(names.TASK_PUBLISH_DELIVER, delivery.id)
            count += 1
    log.info("event %s (%s): %d deliveries", event.id, event.type, count)
    return count


def _event_body(event: Event) -> bytes:
    client = get_redis()
    data: dict[str, Any] = {}
    if event.story_id and event.version:
        story = stories.get_version(client, event.story_id, event.version)
        if story is not None:
            data = story.to_json_dict()
    return payload(event, data)


@app.task(name=names.TASK_PUBLISH_DELIVER)
def deliver(delivery_id: str) -> str:
    """Make the next attempt of one delivery, if it is due and nobody else is making it."""
    settings = get_settings()
    client = get_redis()
    lock = store.lock(
        client,
        delivery_id,
        settings.webhook_connect_timeout + settings.webhook_read_timeout + 30,
    )
    if not lock.acquire():
        return "busy"
    try:
        return _attempt(client, delivery_id)
    finally:
        lock.release()


def _attempt(client: Any, delivery_id: str) -> str:
    settings = get_settings()
    delivery = store.get_delivery(client, delivery_id)
    if delivery is None or delivery.state != "pending":
        return "nothing to do"
    now = datetime.now(UTC)
    if delivery.next_attempt_at and delivery.next_attempt_at > now + timedelta(seconds=1):
        store.schedule(client, delivery.id, delivery.next_attempt_at)
        return "not due"
    sub = store.get_subscription(client, delivery.subscription_id)
    event = stories.get_event(client, delivery.event_id)
    if sub is None or event is None:
        store.save_delivery(client, delivery.model_copy(update={"state": "failed"}))
        return "orphaned"
    if sub.disabled:
        return "subscription disabled"
    body = _event_body(event)
    timestamp = int(time.time())
    headers = webhook_headers([sub.secret], event.id, timestamp, body)
    status: int | None = None
    response_headers: dict[str, str] | None = None
    error: str | None = None
    excerpt: str | None = None
    latency: float | None = None
    started = time.perf_counter()
    try:
        result = http_client().request(
            "POST", sub.url, guard=webhook_guard(), data=body, headers=headers
        )
        status, response_headers = result.status, dict(result.headers)
        latency = result.elapsed_ms
        excerpt = result.body[:EXCERPT_BYTES].decode("utf-8", "replace")
        if not 200 <= status < 300:
            error = f"HTTP {status}"
    except (TargetRefused, DeliveryError) as exc:
        error = exc.detail
        latency = (time.perf_counter() - started) * 1000
    number = len(delivery.attempts) + 1
    attempt = Attempt(
        number=number,
        at=now,
        status_code=status,
        latency_ms=round(latency, 2) if latency is not None else None,
        error=error,
        response_excerpt=excerpt,
        webhook_timestamp=timestamp,
    )
    outcome = judge(status, response_headers, number, settings.webhook_retry_schedule, now)
    attempts = [*delivery.attempts, attempt]
    if outcome.verdict == "succeeded":
        delivery = delivery.model_copy(
            update={"attempts": attempts, "state": "succeeded", "next_attempt_at": None}
        )
        store.unschedule(client, delivery.id)
    elif outcome.verdict == "retry":
        when = now + timedelta(seconds=outcome.delay or 0)
        delivery = delivery.model_copy(update={"attempts": attempts, "next_attempt_at": when})
        store.schedule(client, delivery.id, when)
    else:
        state = "dead" if outcome.verdict == "dead" else "failed"
        delivery = delivery.model_copy(
            update={"attempts": attempts, "state": state, "next_attempt_at": None}
        )
        store.unschedule(client, delivery.id)
        store.mark_dead(client, delivery.id, now)
        if outcome.verdict == "gone":
            store.save_subscription(
                client, sub.model_copy(update={"disabled": True, "disabled_reason": outcome.reason})
            )
    store.save_delivery(client, delivery)
    log.info(
        "delivery %s of event %s to %s: attempt %d %s (%s)",
        delivery.id, event.id, sub.id, number, outcome.verdict, error or status,
    )  # fmt: skip
    return outcome.verdict


@app.task(name=names.TASK_PUBLISH_ON_FEED_UPDATED)
def on_feed_updated(update_data: dict[str, Any]) -> int:
    """A feed changed: ``feed.updated`` webhooks and WebSub distribution (to come, issue #5)."""
    update = FeedUpdate.model_validate(update_data)
    log.info("feed %s updated (%s)", update.feed, ", ".join(sorted(update.etags)))
    return 0


@app.task(name=names.TASK_PUBLISH_DRAIN_DUE)
def drain_due() -> int:
    """Hand out every delivery whose next attempt is due."""
    ids = store.take_due(get_redis(), datetime.now(UTC))
    for delivery_id in ids:
        send(names.TASK_PUBLISH_DELIVER, delivery_id)
    return len(ids)
