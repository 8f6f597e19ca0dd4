"""One attempt of one delivery, from the schedule's hand-out to the recorded outcome.

    lock the delivery ─ still pending and due? ─ its earlier version settled? ─ prepare (channel)
      ─ take an in-flight slot of the subscription ─ send (shared.http: guard, pin, timeouts)
      ─ judge (pure) ─ record attempt + next time, atomically ─ settle (channel) ─ wake others

Whatever cannot go ahead now stays in the durable schedule with a time to look again, so no
step here holds a worker thread while it waits.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis

from services.publish import chains, meters, schedule, store
from services.publish.channels import CHANNELS, Outbound, Stop
from services.publish.deliveries import judge
from services.publish.targets import http_client, webhook_guard
from shared import keys, leftovers, metrics
from shared.errors import DeliveryError, TargetRefused
from shared.logging import add, bind
from shared.models import Attempt, Delivery
from shared.redis_conn import text
from shared.settings import Settings

log = logging.getLogger(__name__)

EXCERPT_BYTES = 512
BUSY_POKE = timedelta(seconds=1)  # another worker holds the delivery: look again soon
WAIT_POLL = timedelta(seconds=15)  # waiting for an earlier version: look again at least this often
SLOT_POLL = timedelta(seconds=5)  # waiting for a slot: look again at least this often
EARLY = timedelta(seconds=1)  # what counts as due


@dataclass(frozen=True)
class Result:
    status: str
    wake: tuple[str, ...] = ()  # deliveries to hand out now


@dataclass(frozen=True)
class Sent:
    status: int | None
    headers: dict[str, str] | None
    latency_ms: float
    excerpt: str | None
    error: str | None


#: what an attempt's lock and slot outlast its request by (loading, recording, a slow Redis)
LEASE_MARGIN_SECONDS = 30.0


def attempt_lease(settings: Settings) -> float:
    """How long one attempt may hold its lock and its slot: longer than any request, whose
    total deadline is connect + read timeout (``shared.http``), by a margin."""
    return http_client(settings).deadline_seconds + LEASE_MARGIN_SECONDS


def run(client: redis.Redis, delivery_id: str, now: datetime, settings: Settings) -> Result:
    """Make the next attempt of a delivery if it is due and nobody else is making it.

    About six round trips to Redis: take the lock and read the delivery; read what to send;
    take a slot; after the request, free the slot, wake a waiter, record the attempt and find
    the next version's delivery; settle, count and unlock; and what a settlement needs."""
    held = schedule.lock(client, delivery_id, attempt_lease(settings))
    pipe = client.pipeline(transaction=False)
    held.fill_acquire(pipe)
    pipe.get(keys.delivery(delivery_id))  # read after the lock is ours: the latest record
    got, raw = pipe.execute()
    if not got:
        schedule.schedule(client, delivery_id, now + BUSY_POKE, only_if_absent=True)
        log.info("delivery %s busy: another worker is attempting it", delivery_id)
        return Result("busy")
    try:
        with bind(delivery_id=delivery_id):  # the ids the attempt adds end with it
            delivery = Delivery.model_validate_json(raw) if raw else None
            return _run_locked(client, held, delivery_id, delivery, now, settings)
    finally:
        if not held.released:
            leftovers.release(held.release)  # Redis away: released before the next task


def _run_locked(
    client: redis.Redis,
    held: schedule.Lock,
    delivery_id: str,
    delivery: Delivery | None,
    now: datetime,
    settings: Settings,
) -> Result:
    if delivery is not None:  # every line about this attempt names what it delivers
        add(event_id=delivery.event_id, subscription_id=delivery.subscription_id,
            story_id=delivery.story_id)  # fmt: skip
    if delivery is None or delivery.state != "pending":
        schedule.unschedule(client, delivery_id)
        return Result("nothing to do")
    if delivery.next_attempt_at and delivery.next_attempt_at > now + EARLY:
        schedule.schedule(client, delivery.id, delivery.next_attempt_at)
        return Result("not due")
    if delivery.after:
        before = store.get_delivery(client, delivery.after)
        if before is not None and before.state == "pending":
            schedule.schedule(client, delivery.id, now + WAIT_POLL)
            return Result(f"waiting for {before.id}")
    channel = CHANNELS[delivery.channel]
    prepared = channel.prepare(client, delivery, now, settings)
    if isinstance(prepared, Stop):
        return _stop(client, delivery, prepared, now, settings)
    sub_id = delivery.subscription_id
    lease = attempt_lease(settings)
    if not schedule.acquire_slot(
        client, sub_id, delivery.id, now, lease, prepared.slots, look_again=now + SLOT_POLL
    ):
        return Result("waiting for a slot")  # it waits for a slot, and is due again
    try:
        sent = send(prepared, settings)
    except BaseException:
        leftovers.release(functools.partial(schedule.release_slot, client, sub_id, delivery.id))
        raise
    ended = now + timedelta(milliseconds=sent.latency_ms)
    made = len(delivery.attempts) - delivery.schedule_start + 1
    outcome = judge(sent.status, sent.headers, made, settings.webhook_retry_schedule, ended)
    attempt = Attempt(
        number=len(delivery.attempts) + 1,
        at=now,
        status_code=sent.status,
        latency_ms=round(sent.latency_ms, 2),
        error=sent.error,
        response_excerpt=sent.excerpt,
        webhook_timestamp=prepared.signed_at,
    )
    attempts = [*delivery.attempts, attempt]
    keep = settings.delivery_retention_seconds
    if outcome.verdict == "retry":
        when = ended + timedelta(seconds=outcome.delay or 0)
        updated = delivery.model_copy(update={"attempts": attempts, "next_attempt_at": when})
        due, dead_at = when, None
    else:
        state = {"succeeded": "succeeded", "dead": "dead", "gone": "failed"}[outcome.verdict]
        reason = None
        if outcome.verdict != "succeeded":
            reason = f"{outcome.reason}; last: {sent.error}" if sent.error else outcome.reason
        updated = delivery.model_copy(
            update={
                "attempts": attempts,
                "state": state,
                "next_attempt_at": None,
                "reason": reason,
            }
        )
        due, dead_at = None, (None if outcome.verdict == "succeeded" else ended)
    # the slot freed, its longest waiter popped, the attempt recorded, the next version's
    # delivery looked up: one round trip
    pipe = client.pipeline(transaction=False)
    schedule.release_slot(pipe, sub_id, delivery.id)
    schedule.fill_pop_waiter(pipe, sub_id)
    store.fill_record(
        pipe, updated, due=due, dead_at=dead_at, retention_seconds=keep, now=ended, expect=delivery
    )
    chains.fill_next_of(pipe, delivery.id)
    try:
        _, popped, written, follower = pipe.execute()
    except BaseException:
        leftovers.release(functools.partial(schedule.release_slot, client, sub_id, delivery.id))
        raise
    waiter = schedule.popped_waiter(popped)
    wake = [w for w in (waiter,) if w and w != delivery.id]
    if not written:
        # this attempt outlived its lock (a paused process): a newer attempt or a replay has
        # written since, and its record stands; the partner drops this one by its webhook-id
        log.warning(
            "delivery %s: attempt %d finished late (%s); a newer record stands, not recorded",
            delivery.id, attempt.number, sent.error or sent.status,
        )  # fmt: skip
        return Result("late", tuple(wake))
    # what the outcome does to the subscription, the metrics and the unlock: one more
    pipe = client.pipeline(transaction=False)
    channel.settle(client, pipe, delivery, outcome, ended, settings)
    metrics.fill(
        pipe, *meters.attempted(delivery, outcome, sent.status, made, sent.latency_ms / 1000, ended)
    )
    held.fill_release(pipe)
    try:
        pipe.execute()
        held.released = True
    except redis.RedisError:
        log.warning("delivery %s: attempt recorded, its metrics not (Redis unavailable)",
                    delivery.id)  # fmt: skip
    log.info(
        "delivery %s (%s %s) to %s: attempt %d %s (%s)",
        delivery.id, delivery.channel, delivery.event_id, sub_id, attempt.number,
        outcome.verdict, sent.error or sent.status,
    )  # fmt: skip
    if outcome.verdict != "retry" and follower:
        wake.append(text(follower))
    return Result(outcome.verdict, tuple(wake))


def _stop(
    client: redis.Redis, delivery: Delivery, stop: Stop, now: datetime, settings: Settings
) -> Result:
    updated = delivery.model_copy(
        update={"state": stop.state, "reason": stop.reason, "next_attempt_at": None}
    )
    store.record(
        client,
        updated,
        due=None,
        dead_at=now if stop.dead_letter else None,
        retention_seconds=settings.delivery_retention_seconds,
        now=now,
        expect=delivery,
    )
    metrics.record(client, meters.stopped(delivery, stop.state))
    log.info("delivery %s %s: %s", delivery.id, stop.state, stop.reason)
    return Result(stop.state, tuple(_next(client, delivery)))


def _next(client: redis.Redis, delivery: Delivery) -> list[str]:
    follower = chains.next_of(client, delivery.id)
    return [follower] if follower else []


def send(outbound: Outbound, settings: Settings) -> Sent:
    """One guarded ``POST``; every failure becomes a recorded error, never an exception."""
    started = time.perf_counter()
    try:
        result = http_client(settings).request(
            "POST",
            outbound.url,
            guard=webhook_guard(settings),
            data=outbound.body,
            headers=outbound.headers,
        )
    except TargetRefused as exc:
        return Sent(None, None, _since(started), None, f"refused by the SSRF guard: {exc.detail}")
    except DeliveryError as exc:
        return Sent(None, None, _since(started), None, exc.detail)
    error = None if 200 <= result.status < 300 else f"HTTP {result.status}"
    excerpt = result.body[:EXCERPT_BYTES].decode("utf-8", "replace")
    return Sent(result.status, dict(result.headers), result.elapsed_ms, excerpt, error)


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
