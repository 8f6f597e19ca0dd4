"""Ingest's Celery task: load the raw item, parse (pure), decide (pure), store, emit.

Safe to run twice (a worker killed mid-task hands its message to another): a story version this
very wire item already stored is recognised, and its event is sent again under the same id.
"""

from __future__ import annotations

import contextlib
import logging
import time
from datetime import UTC, datetime
from functools import partial
from typing import Any

import redis

from services.ingest import meters, store
from services.ingest.decide import Decision, decide, event_id_for, story_id_for
from services.ingest.draft import Draft
from services.ingest.formats import ParseContext, parse
from services.ingest.locks import story_lock
from shared import batches, broker, keys, metrics, names, outbox, publish_events, stories
from shared.celery_app import get_celery
from shared.errors import ParseError, SyndicateError
from shared.logging import bind
from shared.models import Event, WireItem
from shared.redis_conn import get_redis
from shared.settings import get_settings

log = logging.getLogger(__name__)
app = get_celery()

_DONE = ("parsed", "duplicate", "stale", "quarantined")


def _messages(events: list[Event]) -> list[tuple[str, list[Any]]]:
    """Each event goes to render as a task message (publish's wait in a list of their own)."""
    return [(names.TASK_RENDER_ON_EVENT, [event.model_dump(mode="json")]) for event in events]


def _finish(
    client: redis.Redis,
    wire_id: str,
    events: list[Event],
    *,
    item: WireItem | None = None,
    writes: tuple[metrics.Write, ...] = (),
) -> None:
    """One transaction ends the run: the item's final record (``item``), its events entered in
    the consumers' outboxes and sent, its metrics, and its own outbox entry gone. Either all of
    it happens or none (Redis away: the task is retried and sends the same event ids again)."""
    pipe = client.pipeline(transaction=True)
    if item is not None:
        store.fill_update(pipe, item)
    outbox.fill_enter(pipe, [e.id for e in events])  # sent again should a message be lost
    broker.add_many(pipe, _messages(events))
    pushed = len(pipe)  # where the push's reply will be
    if events:
        drainers = get_settings().publish_drainers
        publish_events.fill_push(pipe, [e.model_dump_json() for e in events], drainers)
    metrics.fill(pipe, *writes)
    store.fill_outbox_done(pipe, wire_id)
    replies = pipe.execute()
    if events:
        # a message lost here (the process dies first) leaves the slot flagged for a moment:
        # the scheduler wakes it again once its flag runs out (shared.publish_events)
        for slot in publish_events.woken(replies[pushed]):
            broker.push(client, names.TASK_PUBLISH_DRAIN_EVENTS, slot)


#: wire items one ingest task handles at most: its own and those waiting behind it in the
#: queue (``shared.batches``)
WIRE_BATCH = 16


@app.task(name=names.TASK_INGEST_WIRE)
def process_wire(wire_id: str) -> str:
    """Turn one accepted raw item into stories and events; then the items waiting behind it in
    the queue (``shared.batches``: Celery's cost per task paid once for them all). An item that
    fails is logged and the others go on; the task then fails with the first error, and the
    ingest outbox sends each item that did not finish again. Returns the first item's status."""
    client = get_redis()
    with bind(wire_id=wire_id):
        first = _handle(client, wire_id)
    failed: Exception | None = None
    for args in batches.take(client, names.TASK_INGEST_WIRE, WIRE_BATCH - 1):
        taken = args[0] if args and isinstance(args[0], str) else None
        if taken is None:
            log.error("an ingest message taken for a batch names no wire item: %r", args)
            continue
        with bind(wire_id=taken):
            try:
                _handle(client, taken)
            except Exception as exc:
                log.exception("wire %s failed; the outbox sends it again", taken)
                failed = failed or exc
    if failed is not None:
        raise failed
    return first


def _handle(client: redis.Redis, wire_id: str) -> str:
    """One wire item, from its stored copy to its stories and events."""
    loaded = store.load_wire(client, wire_id)
    if loaded is None:
        log.error("wire item %s not found; nothing to do", wire_id)
        store.outbox_done(client, wire_id)
        return "missing"
    item, body = loaded
    if item.status in _DONE:
        # a redelivered task: the work is done; make sure its events went out
        _finish(
            client,
            wire_id,
            [e for e in map(partial(stories.get_event, client), item.event_ids) if e],
        )
        return item.status
    item, runs = store.begin_run(client, item)
    max_runs = get_settings().ingest_max_runs
    if runs > max_runs:
        store.quarantine(client, item, _did_not_finish(max_runs), datetime.now(UTC))
        log.error("wire %s quarantined: %d runs started and none finished", wire_id, max_runs)
        return "quarantined"
    try:
        return _process(client, item, body)
    except Exception:
        with contextlib.suppress(redis.RedisError):
            store.end_run(client, wire_id)  # a failure the worker lived to see: not a crash
        raise


def _did_not_finish(runs: int) -> ParseError:
    return ParseError(
        f"the ingest task started {runs} times on this copy and never finished (the worker "
        "died each time, e.g. a parser crash that takes the process down); quarantined so it "
        "cannot stall ingest (SYNDICATE_INGEST_MAX_RUNS)"
    )


def _process(client: redis.Redis, item: WireItem, body: bytes) -> str:
    """Parse, decide and store each story of the item; then end the run (``_finish``)."""
    wire_id = item.id
    now = datetime.now(UTC)
    started = time.perf_counter()
    try:
        drafts = parse(
            body,
            ParseContext(
                received=item.received_at,
                content_type=item.content_type,
                default_agency=item.default_agency,
            ),
        )
    except ParseError as exc:
        _parse_time(client, meters.format_of(error=exc), started)
        store.quarantine(client, item, exc, now)
        log.warning("wire %s quarantined: %s", wire_id, exc.detail)
        return "quarantined"
    except SyndicateError:
        raise
    except Exception as exc:
        _parse_time(client, meters.format_of(error=exc), started)
        store.quarantine(client, item, exc, now)
        log.exception("wire %s quarantined after a parser crash", wire_id)
        return "quarantined"

    seconds = time.perf_counter() - started
    events: list[Event] = []
    story_ids: list[str] = []
    outcomes: list[str] = []
    stored = False
    for draft in drafts:
        story_id = story_id_for(draft)
        with bind(story_id=story_id):
            decision = _decide_and_store(client, item, story_id, draft, now)
            event_id = decision.event.id if decision.event else None
            with bind(event_id=event_id):
                log.info("story %s: %s (%s)", story_id, decision.outcome, draft.format)
        story_ids.append(story_id)
        outcomes.append(decision.outcome)
        stored = stored or decision.story is not None
        if decision.event is not None:
            events.append(decision.event)
    status = "parsed" if events or stored else ("stale" if "stale" in outcomes else "duplicate")
    done = item.model_copy(
        update={"status": status, "story_ids": story_ids, "event_ids": [e.id for e in events]}
    )
    _finish(
        client,
        wire_id,
        events,
        item=done,
        writes=tuple(meters.parsed(meters.format_of(drafts), seconds, outcomes)),
    )
    log.info("wire %s %s: %d stories", wire_id, status, len(story_ids))  # each logged above
    return status


def _parse_time(client: redis.Redis, fmt: str, started: float) -> None:
    metrics.record(client, meters.PARSE_SECONDS.observation((fmt,), time.perf_counter() - started))


def _decide_and_store(
    client: redis.Redis, item: WireItem, story_id: str, draft: Draft, now: datetime
) -> Decision:
    """Decide and write one story's new version under its lock, which is taken with the read
    of the story and released with the write (``locks``)."""
    lock = story_lock(client, story_id)
    latest, raw_versions = lock.acquire_with(
        lambda pipe: stories.fill_get_with_versions(pipe, story_id)
    )
    existing, versions = stories.read_with_versions(latest, raw_versions)
    try:
        decision = decide(existing, draft, now=now, wire_id=item.id, versions=versions)
        if decision.outcome == "duplicate" and existing is not None and existing.wire_id == item.id:
            # we stored this version before a crash: send its event again, same id
            event = stories.get_event(client, event_id_for(existing.id, existing.version))
            return Decision("new", None, event) if event else decision
        if decision.story is not None:
            pipe = client.pipeline(transaction=True)  # the event stands only with its version
            if decision.event is not None:
                stories.fill_event(pipe, decision.event)
            stories.fill_version(pipe, decision.story)
            if not draft.credit_line_parsed:
                # a credit line kept verbatim: counted once per stored version (issue #7)
                pipe.incr(keys.credit_lines_unparsed())
            lock.fill_release(pipe)
            pipe.execute()
            lock.released = True
        return decision
    finally:
        lock.let_go()
