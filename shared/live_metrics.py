"""Gauges read live when Prometheus scrapes: what is waiting, and what state things are in.

Queue depths, the durable schedules, dead letters, the quarantine and subscriptions by state are
states, not events: no worker writes them (a worker that died would leave a stale value behind).
The API computes them from Redis at scrape time, in two pipelined round trips, beside the
counters and histograms that ``shared.metrics`` keeps.

    queues    LLEN of each Celery queue's broker lists (kombu keeps one per priority step)
    unacked   messages handed to a worker and not yet acknowledged, by queue
    schedules ZCARD, ZCOUNT(-inf, now) and the oldest score of each due-time sorted set
    subscriptions  webhook subscriptions active/disabled; WebSub leases active/expired
    outboxes  entries of the ingest and story-event outboxes and the age of the oldest
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from shared import keys, names
from shared.redis_conn import text

#: kombu's redis transport default ``priority_steps``: a message of priority p > 0 waits in the
#: list of the highest step <= p (we set no priorities, but a sender may)
PRIORITY_STEPS = (0, 3, 6, 9)
#: the queue label of the story events waiting for publish (``shared.publish_events``)
EVENTS_FOR_PUBLISH = "publish-events"

#: the durable schedules: label → the sorted set of ids scored by when they are due (epoch s)
SCHEDULES: Mapping[str, Callable[[], str]] = {
    "deliveries": keys.deliveries_due,  # every pending webhook/WebSub delivery, by next attempt
    "render": keys.feeds_dirty,  # feed documents marked and waiting to render (coalescing)
    "sources": keys.sources_due,  # enabled upstream sources, by next poll
    "fanouts": keys.fanouts_due,  # story events waiting for an earlier version's fan-out
}

#: the outboxes: label → the sorted set of what was sent and not yet handled, scored by when it
#: was (last) sent; the scheduler's sweeper sends again what waits past its period
OUTBOXES: Mapping[str, Callable[[], str]] = {
    "wire": keys.wire_outbox,  # stored copy not yet through ingest
    "events-render": lambda: keys.events_outbox("render"),  # story events render has not moved
    "events-publish": lambda: keys.events_outbox("publish"),  # ... publish has not fanned out
}


def oldest_age(oldest_sent: float | None, now: float) -> float:
    """Seconds since the oldest outbox entry was (last) sent; 0 for an empty outbox (pure)."""
    return max(0.0, now - oldest_sent) if oldest_sent is not None else 0.0


@dataclass(frozen=True)
class Schedule:
    size: int
    overdue: int
    lag_seconds: float


def schedule_state(size: int, overdue: int, oldest_due: float | None, now: float) -> Schedule:
    """A schedule's gauges (pure): ``lag_seconds`` is how long past its time the most overdue
    entry is (0 when nothing is overdue; a claimed entry is scored a lease ahead, so it is not
    overdue while a worker holds it)."""
    lag = max(0.0, now - oldest_due) if oldest_due is not None and overdue else 0.0
    return Schedule(size=size, overdue=overdue, lag_seconds=lag)


def unacked_by_queue(values: Iterable[bytes | str], queues: Sequence[str]) -> dict[str, int]:
    """Count unacknowledged messages per queue (pure): kombu stores each as the JSON
    ``[message, exchange, routing_key]``; with direct routing the routing key is the queue."""
    counts = dict.fromkeys(queues, 0)
    for value in values:
        try:
            routing_key = json.loads(value)[2]
        except (ValueError, TypeError, IndexError, KeyError):
            continue
        if routing_key in counts:
            counts[routing_key] += 1
    return counts


def subscription_states(raws: Iterable[bytes | str | None]) -> dict[str, int]:
    """Webhook subscriptions by state (pure): ``disabled`` when its record says so, else
    ``active``; records that vanished between the two reads are not counted."""
    counts = {"active": 0, "disabled": 0}
    for raw in raws:
        if not raw:
            continue
        try:
            disabled = bool(json.loads(raw).get("disabled"))
        except (ValueError, AttributeError):
            continue
        counts["disabled" if disabled else "active"] += 1
    return counts


def _now(reply: Any) -> float:
    seconds, micros = reply
    return int(seconds) + int(micros) / 1_000_000


def read_live(client: redis.Redis) -> Iterator[Metric]:
    """The live gauges, read from Redis now."""
    queues = names.QUEUES
    pipe = client.pipeline(transaction=False)
    pipe.time()
    for queue in queues:
        for step in PRIORITY_STEPS:
            pipe.llen(keys.celery_queue(queue, step))
    pipe.llen(keys.publish_events())
    pipe.hvals(keys.celery_unacked())
    for key in SCHEDULES.values():
        pipe.zcard(key())
        pipe.zrange(key(), 0, 0, withscores=True)
    for key in OUTBOXES.values():
        pipe.zcard(key())
        pipe.zrange(key(), 0, 0, withscores=True)
    pipe.zcard(keys.deliveries_dead())
    pipe.zcard(keys.quarantine())
    pipe.get(keys.credit_lines_unparsed())
    pipe.zrange(keys.subscriptions(), 0, -1)
    pipe.smembers(keys.websub_topics())
    replies = iter(pipe.execute())

    now = _now(next(replies))
    depth = {q: sum(int(next(replies)) for _ in PRIORITY_STEPS) for q in queues}
    depth[EVENTS_FOR_PUBLISH] = int(next(replies))
    unacked = unacked_by_queue(next(replies), queues)
    sizes: dict[str, tuple[int, float | None]] = {}
    for label in SCHEDULES:
        size = int(next(replies))
        oldest = next(replies)
        sizes[label] = (size, float(oldest[0][1]) if oldest else None)
    outboxes: dict[str, tuple[int, float]] = {}
    for label in OUTBOXES:
        size = int(next(replies))
        oldest = next(replies)
        outboxes[label] = (size, oldest_age(float(oldest[0][1]) if oldest else None, now))
    dead = int(next(replies))
    quarantined = int(next(replies))
    unparsed = next(replies)
    sub_ids = [text(i) for i in next(replies)]
    topics = sorted(text(t) for t in next(replies))

    pipe = client.pipeline(transaction=False)
    for key in SCHEDULES.values():
        pipe.zcount(key(), "-inf", now)
    if sub_ids:
        pipe.mget([keys.subscription(i) for i in sub_ids])
    for topic in topics:
        feed, _, fmt = topic.rpartition(":")
        pipe.zcount(keys.websub_topic(feed, fmt), f"({now}", "+inf")
        pipe.zcount(keys.websub_topic(feed, fmt), "-inf", now)
    replies = iter(pipe.execute())
    schedules = {
        label: schedule_state(size, int(next(replies)), oldest, now)
        for label, (size, oldest) in sizes.items()
    }
    webhook = subscription_states(next(replies) if sub_ids else [])
    websub = {"active": 0, "expired": 0}
    for _ in topics:
        websub["active"] += int(next(replies))
        websub["expired"] += int(next(replies))

    yield _gauge(
        "syndicate_queue_depth",
        "Messages waiting in a Celery queue (every priority list), not yet handed to a worker; "
        'and, as queue="publish-events", story events waiting for publish\'s drainers.',
        ("queue",),
        {(q,): n for q, n in depth.items()},
    )
    yield _gauge(
        "syndicate_queue_unacked",
        "Messages handed to a worker of a queue and not yet acknowledged (running, or held by "
        "a worker that died until the visibility timeout hands them out again).",
        ("queue",),
        {(q,): n for q, n in unacked.items()},
    )
    yield _gauge(
        "syndicate_schedule_size",
        "Entries in a durable schedule (deliveries, render, sources, fanouts).",
        ("schedule",),
        {(s,): v.size for s, v in schedules.items()},
    )
    yield _gauge(
        "syndicate_schedule_overdue",
        "Entries of a durable schedule whose time has come and that nobody has claimed.",
        ("schedule",),
        {(s,): v.overdue for s, v in schedules.items()},
    )
    yield _gauge(
        "syndicate_schedule_lag_seconds",
        "How long past its time the most overdue entry of a durable schedule is (0: none).",
        ("schedule",),
        {(s,): v.lag_seconds for s, v in schedules.items()},
    )
    yield _gauge(
        "syndicate_outbox_size",
        "Entries of an outbox (wire: stored copy not yet through ingest; events-render, "
        "events-publish: story events that consumer has not handled yet).",
        ("outbox",),
        {(o,): size for o, (size, _) in outboxes.items()},
    )
    yield _gauge(
        "syndicate_outbox_oldest_seconds",
        "Seconds since the oldest entry of an outbox was (last) sent (0: empty); above the "
        "sweep period, its message was lost and the sweeper sends it again.",
        ("outbox",),
        {(o,): age for o, (_, age) in outboxes.items()},
    )
    yield _gauge(
        "syndicate_dead_letters",
        "Deliveries dead-lettered and kept for a replay (for the retention period).",
        (),
        {(): dead},
    )
    yield _gauge(
        "syndicate_quarantine_items",
        "Raw items in the quarantine (could not be parsed).",
        (),
        {(): quarantined},
    )
    states: dict[tuple[str, ...], float] = {("webhook", s): n for s, n in webhook.items()}
    states.update({("websub", s): n for s, n in websub.items()})
    yield _gauge(
        "syndicate_subscriptions",
        "Subscriptions by channel and state: webhook active/disabled; WebSub leases "
        "active/expired (per topic and callback).",
        ("channel", "state"),
        states,
    )
    counter = CounterMetricFamily(
        "syndicate_credit_lines_unparsed",
        "Story versions stored with a credit line kept verbatim (it could not be parsed).",
    )
    counter.add_metric([], float(text(unparsed)) if unparsed else 0.0)
    yield counter


def _gauge(
    name: str,
    helptext: str,
    labelnames: Sequence[str],
    values: Mapping[tuple[str, ...], float],
) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(name, helptext, labels=list(labelnames))
    for labels, value in sorted(values.items()):
        gauge.add_metric(list(labels), float(value))
    return gauge


class LiveCollector(Collector):
    """Exposes the live gauges to a Prometheus registry (in the API process)."""

    def __init__(self, client: Callable[[], redis.Redis]) -> None:
        self._client = client

    def collect(self) -> Iterator[Metric]:
        yield from read_live(self._client())
