"""One poll of one source: what the scheduler's poller runs, and ``syndicate sources poll``.

    lock the source ─ load ─┬─ feed:   conditional GET ─ classify ─ split ─ take new entries
                            │          ─ a 301 moves the source ─ WebSub: subscribe / renew
                            └─ folder: scan ─ judge completeness ─ take complete files
                          ─ plan the next poll (policy.py) ─ record health ─ reschedule ─ unlock

Safe to run twice (a scheduler killed mid-poll, a poll-now racing the schedule): one poll of a
source at a time (a lock with the claim's lease), raw items with derived ids, stored once.
"""

from __future__ import annotations

import logging
import random
import time
from datetime import datetime, timedelta

import redis

from services.ingest.sources import store
from services.ingest.sources.entries import split
from services.ingest.sources.fetch import budget, fetch, max_bytes
from services.ingest.sources.model import PollState, Source, WebSubState
from services.ingest.sources.outcome import Clock, Report, failure
from services.ingest.sources.policy import (
    Plan,
    classify,
    fresh_for,
    header,
    permanent_url,
    plan_success,
    retry_after,
)
from services.ingest.sources.poll_folder import poll_folder
from services.ingest.sources.subscriber import maintain
from services.ingest.sources.take import ITEMS, quarantine_document, take_entries
from services.ingest.sources.websub import Discovery, discover, renew_at
from shared import metrics
from shared.errors import DeliveryError, ParseError, TargetRefused
from shared.http import Client, HttpResult
from shared.settings import Settings

log = logging.getLogger(__name__)

#: how long past its two time budgets (the fetch; a request to a WebSub hub) a poll keeps its
#: claim and lock: time to store what it took
LEASE_MARGIN_SECONDS = 15.0

POLLS = metrics.Counter(
    "syndicate_source_polls_total", "Polls of upstream sources, by outcome.", ("source", "outcome")
)
POLL_SECONDS = metrics.Histogram(
    "syndicate_source_poll_seconds",
    "Time one poll took (fetch or scan, split, store).",
    ("kind",),
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)


def lease_seconds(source: Source, settings: Settings) -> float:
    """How long a poll of this source may hold its claim and lock: the fetch and a request to
    its hub each keep to the source's budget."""
    return 2 * budget(source, settings) + LEASE_MARGIN_SECONDS


def poll(
    client: redis.Redis,
    source_id: str,
    settings: Settings,
    http: Client,
    *,
    clock: Clock = store.redis_now,
    rng: random.Random | None = None,
) -> Report:
    """Poll one source now (if nobody else is), record what happened, schedule the next."""
    source = store.get(client, source_id)
    if source is None:
        store.unschedule(client, source_id)
        return Report(source_id, "missing")
    lease = lease_seconds(source, settings)
    lock = store.lock(client, source_id, lease)
    if not lock.acquire(blocking=False):
        return Report(source_id, "busy")
    try:
        jitter = rng or random.Random()  # noqa: S311 - jitter, not crypto
        return _poll_locked(client, source_id, settings, http, clock, jitter, lease)
    finally:
        try:
            lock.release()
        except redis.exceptions.LockError:
            log.warning("source %s: poll outlived its lock (%ss)", source_id, lease)


def _poll_locked(
    client: redis.Redis,
    source_id: str,
    settings: Settings,
    http: Client,
    clock: Clock,
    rng: random.Random,
    lease: float,
) -> Report:
    loaded = store.load(client, source_id)
    if loaded is None:
        store.unschedule(client, source_id)
        return Report(source_id, "missing")
    source, state, _websub, _taken = loaded
    if not source.enabled:
        store.unschedule(client, source_id)
        return Report(source_id, "disabled")
    started = clock(client)
    store.reschedule(client, source_id, started + timedelta(seconds=lease))  # hold the claim
    began = time.perf_counter()
    if source.kind == "feed":
        report, plan, state = _poll_feed(client, source, state, settings, http, clock, rng)
    else:
        try:
            report, plan, state = poll_folder(client, source, state, settings, clock, rng)
        except redis.RedisError:
            raise  # nothing can be recorded: the claim falls due again after its lease
        except Exception as exc:  # noqa: BLE001 - a failed poll, recorded, never a crash
            report, plan, state = _unexpected(client, source, state, settings, clock, rng, exc)
    POLL_SECONDS.observe(client, (source.kind,), time.perf_counter() - began)
    POLLS.inc(client, (source.id, report.outcome))
    if report.taken:
        ITEMS.inc(client, (source.id, source.kind), report.taken)
    state = state.model_copy(update={"last_poll_at": started})
    if plan is not None:
        report.next_poll_at, report.next_poll_reason = plan.next_at, plan.reason
        state = state.model_copy(
            update={"next_poll_at": plan.next_at, "next_poll_reason": plan.reason}
        )
        store.reschedule(client, source_id, plan.next_at)
    else:
        state = state.model_copy(update={"next_poll_at": None, "next_poll_reason": None})
    store.save_state(client, source_id, state)
    log.info(
        "source %s polled: %s%s, %d taken; next %s (%s)",
        source_id,
        report.outcome,
        f" {report.status}" if report.status else "",
        report.taken,
        report.next_poll_at.isoformat() if report.next_poll_at else "never",
        report.next_poll_reason or report.error or "-",
    )
    return report


# --- feeds ---------------------------------------------------------------------------------------


def _poll_feed(
    client: redis.Redis,
    source: Source,
    state: PollState,
    settings: Settings,
    http: Client,
    clock: Clock,
    rng: random.Random,
) -> tuple[Report, Plan | None, PollState]:
    """Fetch, take, plan. Whatever the upstream answers, the poll ends recorded: an exception
    nobody foresaw is the source's error with backoff, not a crash the poller only logs. A
    failed poll still renews an active WebSub lease (the hub may push while the feed is down)."""
    try:
        report, plan, state = _fetch_and_take(client, source, state, settings, http, clock, rng)
    except redis.RedisError:
        raise  # nothing can be recorded: the claim falls due again after its lease
    except Exception as exc:  # noqa: BLE001 - a failed poll, recorded, never a crash
        report, plan, state = _unexpected(client, source, state, settings, clock, rng, exc)
    if plan is not None and report.outcome in ("error", "throttled"):
        plan = _keep_lease(client, source, settings, http, clock(client), plan, report)
    return report, plan, state


def _unexpected(
    client: redis.Redis,
    source: Source,
    state: PollState,
    settings: Settings,
    clock: Clock,
    rng: random.Random,
    exc: Exception,
) -> tuple[Report, Plan, PollState]:
    log.exception("source %s: the poll failed unexpectedly", source.id)
    error = f"the poll failed unexpectedly: {type(exc).__name__}: {str(exc)[:300]}"
    return failure(Report(source.id, "error"), state, source, settings, clock(client), rng, error)


def _keep_lease(
    client: redis.Redis,
    source: Source,
    settings: Settings,
    http: Client,
    now: datetime,
    plan: Plan,
    report: Report,
) -> Plan:
    """After a failed poll: renew an active subscription's lease when it is due (the feed's
    hub and topic are the ones we hold), and wake up for the renewal (or a retry of it) when
    that comes before the backoff's next poll."""
    loaded = store.load(client, source.id)
    websub = loaded[2] if loaded else None
    if websub is None or not websub.active(now) or not websub.hub or not websub.topic:
        return plan
    try:
        held = Discovery(websub.hub, websub.topic)
        report.websub = maintain(
            client, source.id, held, now, settings, http, budget(source, settings)
        )
    except redis.RedisError:
        raise
    except Exception:  # the poll's own failure is what gets recorded
        log.exception("source %s: the WebSub lease could not be renewed", source.id)
    loaded = store.load(client, source.id)
    return _wake_for_websub(loaded[2] if loaded else None, now, plan)


def _wake_for_websub(websub: WebSubState | None, now: datetime, plan: Plan) -> Plan:
    """Wake up for the lease's renewal (or to retry one the hub refused) even when polls are
    rare (a safety net, a backoff)."""
    if websub is None or not websub.active(now):
        return plan
    for wake, why in (
        (renew_at(websub), "websub lease renewal"),
        (websub.retry_at, "websub retry"),
    ):
        if wake is not None and now < wake < plan.next_at:
            plan = Plan(wake, why, plan.failures)
    return plan


def _fetch_and_take(
    client: redis.Redis,
    source: Source,
    state: PollState,
    settings: Settings,
    http: Client,
    clock: Clock,
    rng: random.Random,
) -> tuple[Report, Plan | None, PollState]:
    report = Report(source.id, "error")
    try:
        answer = fetch(http, source, state, settings)
    except TargetRefused as exc:
        error = f"refused by the SSRF guard: {exc.detail}"
        return failure(report, state, source, settings, clock(client), rng, error)
    except DeliveryError as exc:
        error = f"fetch failed: {exc.detail}"
        return failure(report, state, source, settings, clock(client), rng, error)
    now = clock(client)
    report.status = answer.status
    report.outcome = classify(answer.status)
    if report.outcome == "gone":
        return _gone(client, source, state, report, now)
    if report.outcome == "throttled":
        asked = retry_after(header(answer.headers, "retry-after"), now)
        error = f"the upstream answered {answer.status}" + (
            f"; Retry-After {asked:g} s" if asked is not None else ""
        )
        return failure(report, state, source, settings, now, rng, error, asked=asked)
    if report.outcome == "error":
        excerpt = answer.body[:200].decode("utf-8", "replace").strip()
        error = f"the upstream answered {answer.status}" + (f": {excerpt}" if excerpt else "")
        return failure(report, state, source, settings, now, rng, error)

    url = source.url or ""
    moved = permanent_url(answer.redirects)
    if moved and moved != url and _move(client, source, moved, now):
        report.moved_to, url = moved, moved
    found: Discovery | None
    if report.outcome == "ok":
        if answer.truncated:
            report.outcome = "error"
            error = f"the feed is over {max_bytes(source, settings)} bytes; not read"
            return failure(report, state, source, settings, now, rng, error)
        content_type = header(answer.headers, "content-type") or ""
        try:
            document = split(answer.body, content_type, source.format)
        except ParseError as exc:
            report.outcome = "error"
            wire_id = quarantine_document(
                client, source, answer.body, content_type, exc, now, "polled"
            )
            error = f"malformed feed: {exc.detail} (the document is kept as {wire_id})"
            return failure(report, state, source, settings, now, rng, error)
        taken = take_entries(client, source, document.entries, now)
        report.taken, report.changed = len(taken.wire_ids), taken.changed
        found = discover(
            header(answer.headers, "link"), document.hubs, document.self_url, answer.url
        )
        state = state.model_copy(
            update={
                "etag": header(answer.headers, "etag"),
                "last_modified": header(answer.headers, "last-modified"),
                "validators_for": url,
                "hub": found.hub if found else None,
                "topic": found.topic if found else None,
            }
        )
    else:  # 304: the document, and so what it advertises, is unchanged
        found = discover(header(answer.headers, "link"), [], None, answer.url) or (
            Discovery(state.hub, state.topic) if state.hub and state.topic else None
        )
    state = state.model_copy(
        update={
            "failures": 0,
            "last_success_at": now,
            "last_outcome": report.outcome,
            "last_status": answer.status,
        }
    )
    report.websub = maintain(
        client, source.id, found, now, settings, http, budget(source, settings)
    )
    return report, _success_plan(client, source, settings, now, answer), state


def _success_plan(
    client: redis.Redis, source: Source, settings: Settings, now: datetime, answer: HttpResult
) -> Plan:
    loaded = store.load(client, source.id)
    websub = loaded[2] if loaded else None
    pushed = websub is not None and websub.active(now)
    plan = plan_success(
        now,
        source.interval_seconds,
        settings.source_max_delay_seconds,
        fresh=fresh_for(answer.headers),
        safety_net=settings.source_websub_poll_seconds if pushed else None,
    )
    return _wake_for_websub(websub, now, plan)


def _move(client: redis.Redis, source: Source, url: str, now: datetime) -> bool:
    """A permanent redirect: the source's URL becomes the new one (unless it was edited
    meanwhile)."""
    current = store.get(client, source.id)
    if current is None or current.url != source.url:
        return False
    moved = current.model_copy(update={"url": url, "updated_at": now})
    log.info("source %s moved permanently: %s → %s", source.id, source.url, url)
    return store.save_config(client, moved)


def _gone(
    client: redis.Redis, source: Source, state: PollState, report: Report, now: datetime
) -> tuple[Report, None, PollState]:
    """``410 Gone``: the upstream says the feed will not come back; stop polling it."""
    reason = f"the upstream answered 410 Gone at {now.isoformat()}"
    current = store.get(client, source.id)
    if current is not None:
        store.save_config(
            client,
            current.model_copy(
                update={"enabled": False, "disabled_reason": reason, "updated_at": now}
            ),
        )
    store.unschedule(client, source.id)
    store.clear_websub(client, source.id)
    report.error = reason
    state = state.model_copy(
        update={
            "last_outcome": "gone",
            "last_status": 410,
            "last_error": reason,
            "last_error_at": now,
        }
    )
    return report, None, state
