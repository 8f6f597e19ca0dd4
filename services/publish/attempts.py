"""The next attempt of deliveries, from the schedule's hand-out to the recorded outcome.

    lock each delivery ─ still pending and due? ─ its earlier version settled? ─ prepare
      (channel) ─ take an in-flight slot of the subscription ─ send (shared.http: guard, pin,
      timeouts) ─ judge (pure) ─ record attempt + next time, atomically ─ settle (channel)
      ─ wake others

``run_many`` takes each step for several deliveries at once (one round trip to Redis for all
of them; the requests side by side, recorded in groups as they end); ``run`` is one delivery.
Whatever cannot go ahead now stays in the durable schedule with a time to look again, so no
step here holds a worker thread while it waits.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis

from services.publish import chains, meters, schedule, store
from services.publish.channels import CHANNELS, Channel, Outbound, Stop
from services.publish.deliveries import Outcome, judge
from services.publish.targets import http_client, webhook_guard
from shared import keys, leftovers, metrics
from shared.errors import DeliveryError, TargetRefused
from shared.http import HttpResult
from shared.http_many import Call, exchange
from shared.logging import bind
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
    """Make the next attempt of a delivery if it is due and nobody else is making it."""
    return run_many(client, [delivery_id], now, settings)[delivery_id]


@dataclass(frozen=True)
class _Going:
    """An attempt that has its request ready (``run_many``'s steps pass these along)."""

    lock: schedule.Lock
    delivery: Delivery
    channel: Channel
    outbound: Outbound


@dataclass(frozen=True)
class _Judged:
    """An attempt whose request was made: the verdict and the delivery's new record."""

    going: _Going
    sent: Sent
    outcome: Outcome
    updated: Delivery
    ended: datetime
    made: int  # the attempt's number in its run of the retry schedule
    due: datetime | None  # when to look at it next (``None``: finished)
    dead_at: datetime | None  # when it died (``None``: it did not)


def _ids(delivery: Delivery) -> contextlib.AbstractContextManager[None]:
    """Every line about an attempt names what it delivers."""
    return bind(delivery_id=delivery.id, event_id=delivery.event_id,
                subscription_id=delivery.subscription_id, story_id=delivery.story_id)  # fmt: skip


def run_many(
    client: redis.Redis, delivery_ids: list[str], now: datetime, settings: Settings
) -> dict[str, Result]:
    """Make the next attempt of each delivery that is due and that nobody else is making.

    Each step is one round trip to Redis for all of them, so the ten deliveries of a fan-out
    cost the round trips of one: take the locks and read the records; read what to send (with
    each subscription's failing state); take slots (a delivery that finds none waits for one,
    due again to look); the requests, side by side; free the slots, pop their waiters, record
    the attempts and find the next versions' deliveries; settle, count and unlock. Whatever
    cannot go ahead now stays in the durable schedule with a time to look again."""
    ids = list(dict.fromkeys(delivery_ids))
    lease = attempt_lease(settings)
    locks = {delivery_id: schedule.lock(client, delivery_id, lease) for delivery_id in ids}
    pipe = client.pipeline(transaction=False)
    for delivery_id in ids:
        locks[delivery_id].fill_acquire(pipe)
        pipe.get(keys.delivery(delivery_id))  # read after the lock is ours: the latest record
    replies = pipe.execute()
    results: dict[str, Result] = {}
    held: list[tuple[schedule.Lock, str, Delivery | None]] = []
    busy: list[str] = []
    for i, delivery_id in enumerate(ids):
        got, raw = replies[2 * i], replies[2 * i + 1]
        if not got:
            busy.append(delivery_id)
            continue
        delivery = Delivery.model_validate_json(raw) if raw else None
        held.append((locks[delivery_id], delivery_id, delivery))
    try:
        if busy:
            pipe = client.pipeline(transaction=False)
            for delivery_id in busy:
                schedule.schedule(pipe, delivery_id, now + BUSY_POKE, only_if_absent=True)
                results[delivery_id] = Result("busy")
            pipe.execute()
            log.info("delivery %s busy: another worker is attempting it", ", ".join(busy))
        results.update(_run_locked(client, held, now, settings))
    finally:
        for lock, _, _ in held:
            if not lock.released:
                leftovers.release(lock.release)  # Redis away: released before the next task
    return results


def _run_locked(
    client: redis.Redis,
    held: list[tuple[schedule.Lock, str, Delivery | None]],
    now: datetime,
    settings: Settings,
) -> dict[str, Result]:
    results: dict[str, Result] = {}
    waiting_for = _pending_before(client, [d for _, _, d in held if d is not None and d.after])
    ready: list[tuple[schedule.Lock, Delivery]] = []
    pipe = client.pipeline(transaction=False)  # what goes back to the schedule
    for lock, delivery_id, delivery in held:
        if delivery is None or delivery.state != "pending":
            schedule.unschedule(pipe, delivery_id)
            results[delivery_id] = Result("nothing to do")
        elif delivery.next_attempt_at and delivery.next_attempt_at > now + EARLY:
            schedule.schedule(pipe, delivery.id, delivery.next_attempt_at)
            results[delivery_id] = Result("not due")
        elif delivery.after and delivery.after in waiting_for:
            schedule.schedule(pipe, delivery.id, now + WAIT_POLL)
            results[delivery_id] = Result(f"waiting for {delivery.after}")
        else:
            ready.append((lock, delivery))
    if len(pipe):
        pipe.execute()
    going = _take_slots(client, _prepare(client, ready, now, settings, results), now, settings,
                        results)  # fmt: skip
    # what is not attempted now lets go of its lock at once: a delivery waiting for a slot is
    # woken by the next slot freed, and must not find its lock held until the slowest request
    # of this batch ends (a hanging partner's: the read timeout)
    attempting = {g.delivery.id for g in going}
    _unlock(client, [lock for lock, delivery_id, _ in held if delivery_id not in attempting])
    if not going:
        return results
    try:
        for wave in send_waves([g.outbound for g in going], settings):
            judged = [_judge(going[i], sent, now, settings) for i, sent in wave]
            results.update(_record(client, judged, settings))
    except BaseException:
        _release_slots(client, [g for g in going if g.delivery.id not in results])
        raise
    return results


def _unlock(client: redis.Redis, locks: list[schedule.Lock]) -> None:
    """Release ``locks`` in one round trip (none when there are none); should Redis refuse,
    ``run_many`` releases them at its end."""
    if not locks:
        return
    pipe = client.pipeline(transaction=False)
    for lock in locks:
        lock.fill_release(pipe)
    with contextlib.suppress(redis.RedisError):
        pipe.execute()
        for lock in locks:
            lock.released = True


def _pending_before(client: redis.Redis, deliveries: list[Delivery]) -> set[str]:
    """The earlier versions' deliveries (``after``) still pending: what these must wait for."""
    before = store.get_deliveries(client, sorted({d.after for d in deliveries if d.after}))
    return {d.id for d in before if d.state == "pending"}


def _prepare(
    client: redis.Redis,
    ready: list[tuple[schedule.Lock, Delivery]],
    now: datetime,
    settings: Settings,
    results: dict[str, Result],
) -> list[_Going]:
    """What each attempt sends (each channel reads for all of its deliveries at once); a
    delivery that ends here without a request is recorded and its result set."""
    going: list[_Going] = []
    channels = {delivery.channel for _, delivery in ready}
    for name in sorted(channels):
        channel = CHANNELS[name]
        mine = [(lock, delivery) for lock, delivery in ready if delivery.channel == name]
        prepared = channel.prepare_many(client, [d for _, d in mine], now, settings)
        for (lock, delivery), outbound in zip(mine, prepared, strict=True):
            if isinstance(outbound, Stop):
                with _ids(delivery):
                    results[delivery.id] = _stop(client, delivery, outbound, now, settings)
            else:
                going.append(_Going(lock, delivery, channel, outbound))
    return going


def _take_slots(
    client: redis.Redis,
    going: list[_Going],
    now: datetime,
    settings: Settings,
    results: dict[str, Result],
) -> list[_Going]:
    """An in-flight slot for each attempt, in one round trip; one that finds none waits for
    one (and is due again to look)."""
    if not going:
        return []
    lease = attempt_lease(settings)
    pipe = client.pipeline(transaction=False)
    for g in going:
        d = g.delivery
        schedule.acquire_slot(pipe, d.subscription_id, d.id, now, lease, g.outbound.slots,
                              look_again=now + SLOT_POLL, quick_limit=g.outbound.quick_slots,
                              slow_seconds=settings.webhook_slow_answer_seconds)  # fmt: skip
    taken = []
    for g, got in zip(going, pipe.execute(), strict=True):
        if got:
            taken.append(g)
        else:
            results[g.delivery.id] = Result("waiting for a slot")
    return taken


def _release_slots(client: redis.Redis, going: list[_Going]) -> None:
    for g in going:
        d = g.delivery
        leftovers.release(functools.partial(schedule.release_slot, client, d.subscription_id, d.id))


def _judge(going: _Going, sent: Sent, now: datetime, settings: Settings) -> _Judged:
    """What the answer means for the delivery, and its new record (pure)."""
    delivery = going.delivery
    ended = now + timedelta(milliseconds=sent.latency_ms)
    made = len(delivery.attempts) - delivery.schedule_start + 1
    outcome = judge(sent.status, sent.headers, made, settings.webhook_retry_schedule, ended)
    attempts = [
        *delivery.attempts,
        Attempt(
            number=len(delivery.attempts) + 1,
            at=now,
            status_code=sent.status,
            latency_ms=round(sent.latency_ms, 2),
            error=sent.error,
            response_excerpt=sent.excerpt,
            webhook_timestamp=going.outbound.signed_at,
        ),
    ]
    if outcome.verdict == "retry":
        when = ended + timedelta(seconds=outcome.delay or 0)
        updated = delivery.model_copy(update={"attempts": attempts, "next_attempt_at": when})
        return _Judged(going, sent, outcome, updated, ended, made, due=when, dead_at=None)
    state = {"succeeded": "succeeded", "dead": "dead", "gone": "failed"}[outcome.verdict]
    reason = None
    if outcome.verdict != "succeeded":
        reason = f"{outcome.reason}; last: {sent.error}" if sent.error else outcome.reason
    updated = delivery.model_copy(
        update={"attempts": attempts, "state": state, "next_attempt_at": None, "reason": reason}
    )
    dead_at = None if outcome.verdict == "succeeded" else ended
    return _Judged(going, sent, outcome, updated, ended, made, due=None, dead_at=dead_at)


def _record(client: redis.Redis, judged: list[_Judged], settings: Settings) -> dict[str, Result]:
    """After the requests: each slot freed, its subscription's longest waiter popped, the
    attempt recorded and the next version's delivery looked up, for all in one round trip;
    then the settlements, the metrics and the unlocks in one more."""
    keep = settings.delivery_retention_seconds
    pipe = client.pipeline(transaction=False)
    for j in judged:
        d = j.going.delivery
        schedule.release_slot(pipe, d.subscription_id, d.id)
        schedule.fill_pop_waiter(pipe, d.subscription_id)
        store.record(pipe, j.updated, due=j.due, dead_at=j.dead_at, retention_seconds=keep,
                     now=j.ended, expect=d)  # fmt: skip
        chains.fill_next_of(pipe, d.id)
    try:
        replies = pipe.execute()
    except BaseException:
        _release_slots(client, [j.going for j in judged])
        raise
    results: dict[str, Result] = {}
    written: list[tuple[_Judged, list[str]]] = []
    for i, j in enumerate(judged):
        _, popped, stored, follower = replies[4 * i : 4 * i + 4]
        d = j.going.delivery
        waiter = schedule.popped_waiter(popped)
        wake = [w for w in (waiter,) if w and w != d.id]
        if not stored:
            # this attempt outlived its lock (a paused process): a newer attempt or a replay
            # has written since, and its record stands; the partner drops this one by its
            # webhook-id
            with _ids(d):
                log.warning(
                    "delivery %s: attempt %d finished late (%s); a newer record stands, "
                    "not recorded",
                    d.id, len(d.attempts) + 1, j.sent.error or j.sent.status,
                )  # fmt: skip
            results[d.id] = Result("late", tuple(wake))
            continue
        if j.outcome.verdict != "retry" and follower:
            wake.append(text(follower))
        written.append((j, wake))
    if not written:
        return results
    pipe = client.pipeline(transaction=False)
    writes: list[metrics.Write] = []  # the batch's metrics, merged: one command per field
    for j, _ in written:
        d = j.going.delivery
        with _ids(d):
            j.going.channel.settle(client, pipe, d, j.outcome, j.ended, settings)
        writes += meters.attempted(d, j.outcome, j.sent.status, j.made, j.sent.latency_ms / 1000,
                                   j.ended)  # fmt: skip
        j.going.lock.fill_release(pipe)
    metrics.fill(pipe, *writes)
    try:
        pipe.execute()
        for j, _ in written:
            j.going.lock.released = True
    except redis.RedisError:
        log.warning("deliveries %s: attempts recorded, their metrics not (Redis unavailable)",
                    ", ".join(j.going.delivery.id for j, _ in written))  # fmt: skip
    for j, wake in written:
        d = j.going.delivery
        with _ids(d):
            log.info(
                "delivery %s (%s %s) to %s: attempt %d %s (%s)",
                d.id, d.channel, d.event_id, d.subscription_id, len(d.attempts) + 1,
                j.outcome.verdict, j.sent.error or j.sent.status,
            )  # fmt: skip
        results[d.id] = Result(j.outcome.verdict, tuple(wake))
    return results


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
    ((_, sent),) = [pair for wave in send_waves([outbound], settings) for pair in wave]
    return sent


#: requests of one batch that end this close together are recorded together (seconds)
WAVE_GRACE = 0.005


def send_waves(outbounds: list[Outbound], settings: Settings) -> Iterator[list[tuple[int, Sent]]]:
    """Each a guarded ``POST``, side by side on this thread (``shared.http_many``), yielded (by
    index) in waves as they end: those that end together (within ``WAVE_GRACE``) are recorded
    in one round trip, and a slow target holds up no other's record, slot or wake-ups, only the
    batch that waits for it (bounded by the request deadline). Every failure becomes a recorded
    error, never an exception."""
    calls = [Call("POST", o.url, o.body, o.headers) for o in outbounds]
    client, guard = http_client(settings), webhook_guard(settings)
    started = time.perf_counter()
    for wave in exchange(client, calls, guard, WAVE_GRACE):
        yield [(i, _sent(answer, started)) for i, answer in wave]


def _sent(answer: HttpResult | DeliveryError | TargetRefused, started: float) -> Sent:
    if isinstance(answer, TargetRefused):
        return Sent(
            None, None, _since(started), None, f"refused by the SSRF guard: {answer.detail}"
        )
    if isinstance(answer, DeliveryError):
        return Sent(None, None, _since(started), None, answer.detail)
    error = None if 200 <= answer.status < 300 else f"HTTP {answer.status}"
    excerpt = answer.body[:EXCERPT_BYTES].decode("utf-8", "replace")
    return Sent(answer.status, dict(answer.headers), answer.elapsed_ms, excerpt, error)


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
