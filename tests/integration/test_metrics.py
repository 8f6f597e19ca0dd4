"""Metrics kept in Redis by any process and exposed by the API's collector, summed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests
from prometheus_client.parser import text_string_to_metric_families
from redis.backoff import NoBackoff
from redis.retry import Retry

from shared import keys, metrics, names
from shared.redis_server import RedisServer
from tests.conftest import DB_OBSERVABILITY, redis_url
from tests.support.receiver import Receiver
from tests.support.service import Service, running
from tests.support.waiting import wait_for


def samples(client: redis.Redis) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.exposition(lambda: client).decode()
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_counters_gauges_and_histograms_from_several_writers(redis_db: redis.Redis) -> None:
    renders = metrics.Counter("t_renders_total", "Renders.", ("feed",))
    backlog = metrics.Gauge("t_backlog", "Backlog.")
    seconds = metrics.Histogram("t_seconds", "Time.", ("kind",), buckets=(0.1, 1.0))
    for _ in range(3):
        renders.inc(redis_db, ("all",))
    renders.inc(redis_db, ("sections/x",), amount=2)
    backlog.set(redis_db, 7)
    for value in (0.05, 0.5, 0.7, 5.0):
        seconds.observe(redis_db, ("sub",), value)
    got = samples(redis_db)
    assert got[("t_renders_total", (("feed", "all"),))] == 3
    assert got[("t_renders_total", (("feed", "sections/x"),))] == 2
    assert got[("t_backlog", ())] == 7
    assert got[("t_seconds_bucket", (("kind", "sub"), ("le", "0.1")))] == 1
    assert got[("t_seconds_bucket", (("kind", "sub"), ("le", "1.0")))] == 3
    assert got[("t_seconds_bucket", (("kind", "sub"), ("le", "+Inf")))] == 4
    assert got[("t_seconds_count", (("kind", "sub"),))] == 4
    assert got[("t_seconds_sum", (("kind", "sub"),))] == pytest.approx(6.25)


def test_wrong_labels_are_a_bug_and_redis_down_is_not_fatal() -> None:
    counter = metrics.Counter("t_x_total", "X.", ("a",))
    with pytest.raises(ValueError, match="takes labels"):
        counter.inc(redis.Redis(port=1), ())
    down = redis.Redis(port=1, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
    counter.inc(down, ("v",))  # logged, not raised


# --- live gauges read at scrape time -----------------------------------------------------------


def test_queue_depths_and_schedules_are_read_live(redis_db: redis.Redis) -> None:
    """Tasks sent where no worker consumes them (this in-process database) wait in the broker's
    lists; the collector counts them per queue, a priority sub-list included."""
    from shared.celery_app import get_celery, send

    got = samples(redis_db)
    for queue in names.QUEUES:
        assert got[("syndicate_queue_depth", (("queue", queue),))] == 0
    for _ in range(3):
        send(names.TASK_INGEST_WIRE, "wire_x")
    send(names.TASK_PUBLISH_DELIVER, "dlv_x")
    get_celery().send_task(names.TASK_PUBLISH_DELIVER, args=["dlv_y"], queue="publish", priority=5)
    assert redis_db.llen(keys.celery_queue("publish", 3)) == 1  # kombu's sub-list, as spelt
    now = time.time()
    redis_db.zadd(keys.deliveries_due(), {"d1": now - 30, "d2": now - 5, "d3": now + 600})
    redis_db.zadd(keys.feeds_dirty(), {"all": now + 1})
    redis_db.zadd(keys.deliveries_dead(), {"d9": now})
    redis_db.zadd(keys.quarantine(), {"w1": now, "w2": now})
    redis_db.zadd(keys.wire_outbox(), {"w3": now - 120, "w4": now - 1})
    redis_db.zadd(keys.events_outbox("publish"), {"e1": now - 2})
    # WebSub leases by expiry, per topic (a feed name may hold a colon: the format is last)
    redis_db.sadd(keys.websub_topics(), "all:rss", "named:x:atom")
    redis_db.zadd(keys.websub_topic("all", "rss"), {"ws1": now + 600, "ws2": now - 1})
    redis_db.zadd(keys.websub_topic("named:x", "atom"), {"ws3": now + 600})
    got = samples(redis_db)
    assert got[("syndicate_queue_depth", (("queue", "ingest"),))] == 3
    assert got[("syndicate_queue_depth", (("queue", "publish"),))] == 2
    assert got[("syndicate_queue_depth", (("queue", "render"),))] == 0
    assert got[("syndicate_schedule_size", (("schedule", "deliveries"),))] == 3
    assert got[("syndicate_schedule_overdue", (("schedule", "deliveries"),))] == 2
    lag = got[("syndicate_schedule_lag_seconds", (("schedule", "deliveries"),))]
    assert 30 <= lag < 90
    assert got[("syndicate_schedule_size", (("schedule", "render"),))] == 1
    assert got[("syndicate_schedule_lag_seconds", (("schedule", "render"),))] == 0
    assert got[("syndicate_schedule_size", (("schedule", "sources"),))] == 0
    assert got[("syndicate_dead_letters", ())] == 1
    assert got[("syndicate_quarantine_items", ())] == 2
    assert got[("syndicate_outbox_size", (("outbox", "wire"),))] == 2
    assert 120 <= got[("syndicate_outbox_oldest_seconds", (("outbox", "wire"),))] < 180
    assert got[("syndicate_outbox_size", (("outbox", "events-publish"),))] == 1
    assert got[("syndicate_outbox_size", (("outbox", "events-render"),))] == 0
    assert got[("syndicate_outbox_oldest_seconds", (("outbox", "events-render"),))] == 0
    websub = {
        state: got[("syndicate_subscriptions", (("channel", "websub"), ("state", state)))]
        for state in ("active", "expired")
    }
    assert websub == {"active": 2, "expired": 1}


def test_unacked_messages_count_per_queue(redis_db: redis.Redis) -> None:
    """A message a worker took and has not acknowledged is counted where it came from."""
    from kombu.utils.json import dumps

    redis_db.hset(keys.celery_unacked(), "tag-1", dumps([{"body": "x"}, "", "render"]))
    got = samples(redis_db)
    assert got[("syndicate_queue_unacked", (("queue", "render"),))] == 1
    assert got[("syndicate_queue_unacked", (("queue", "ingest"),))] == 0


# --- the whole service: every series with the right counts ---------------------------------------

NITF = (Path(__file__).parents[1] / "data" / "formats" / "nitf.xml").read_bytes()


def nitf(
    version: int, status: str = "usable", extra: bytes = b"", correction: bool = False
) -> bytes:
    copy = NITF.replace(b'management-status="usable"', f'management-status="{status}"'.encode())
    copy = copy.replace(b'version="3"', f'version="{version}"'.encode())
    copy = copy.replace(b"Fares stay the same", b"Fares stay the same" + extra)
    if correction:
        copy = copy.replace(
            b"<date.issue", b'<correction info="Corrects the month." id-string="c"/><date.issue'
        )
    return copy


@pytest.fixture(scope="module")
def observed(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """The whole service on a database of its own, so counts are only this module's."""
    with running(
        redis_url(redis_server, DB_OBSERVABILITY),
        tmp_path_factory.mktemp("observed"),
        SYNDICATE_WEBHOOK_RETRY_SCHEDULE="0,0.2",
    ) as service:
        yield service


def scrape(service: Service) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = service.get("/metrics")
    assert response.status_code == 200
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def processed(service: Service, body: bytes, content_type: str = "application/nitf+xml") -> str:
    accepted = service.post_wire(body, content_type)
    assert accepted.status_code == 202, accepted.text
    wire_id = str(accepted.json()["id"])
    wait_for(
        lambda: service.wire_status(wire_id)["status"] not in ("accepted", "processing"),
        message=f"{wire_id} processed",
    )
    return str(service.wire_status(wire_id)["status"])


def test_every_series_counts_what_happened(observed: Service) -> None:
    good, failing = Receiver().start(), Receiver(statuses=[500, 500]).start()
    try:
        ok_sub = observed.subscribe(
            good.url, events=["story.published", "story.updated", "story.corrected", "story.killed"]
        )
        bad_sub = observed.subscribe(failing.url, events=["story.published"])
        got = scrape(observed)
        states = {
            s: got[("syndicate_subscriptions", (("channel", "webhook"), ("state", s)))]
            for s in ("active", "disabled")
        }
        assert states == {"active": 2, "disabled": 0}

        assert processed(observed, nitf(3)) == "parsed"  # new
        assert processed(observed, nitf(3)) == "duplicate"
        assert processed(observed, nitf(4, extra=b" this week")) == "parsed"  # update
        assert processed(observed, nitf(5, extra=b" this week", correction=True)) == "parsed"
        assert processed(observed, nitf(6, status="canceled")) == "parsed"  # kill
        worker_side = b"<memo><p>Not a vocabulary we read.</p></memo>"
        assert processed(observed, worker_side, "application/xml") == "quarantined"
        refused = observed.post_wire(b"<nitf><body>unclosed", "application/xml")
        assert refused.status_code == 422  # quarantined by the API at once

        # four events to the good receiver; the failing one gets story.published twice
        wait_for(lambda: len(good.requests) >= 4, message="four webhooks")
        wait_for(lambda: len(failing.requests) >= 2, message="two attempts")

        def settled() -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
            now = scrape(observed)
            dead = now.get(
                (
                    "syndicate_deliveries_total",
                    (("attempt", "2"), ("channel", "webhook"), ("outcome", "dead")),
                )
            )
            return now if dead == 1 else None

        got = wait_for(settled, message="the failing delivery dead-lettered")

        def stories(outcome: str, fmt: str) -> float:
            return got.get(("syndicate_stories_total", (("format", fmt), ("outcome", outcome))), 0)

        assert {
            o: stories(o, "nitf") for o in ("new", "duplicate", "update", "correction", "kill")
        } == dict.fromkeys(("new", "duplicate", "update", "correction", "kill"), 1)
        assert stories("quarantined", "xml") == 2  # one by the worker, one by the API
        assert got[("syndicate_parse_seconds_count", (("format", "nitf"),))] == 5
        assert got[("syndicate_parse_seconds_count", (("format", "xml"),))] == 1

        def deliveries(outcome: str, attempt: str) -> float:
            labels = (("attempt", attempt), ("channel", "webhook"), ("outcome", outcome))
            return got.get(("syndicate_deliveries_total", labels), 0)

        # the good receiver: four deliveries, each at its first attempt; the failing one, on
        # the schedule "0,0.2": attempt 1 retrying, attempt 2 dead
        assert deliveries("delivered", "1") == 4
        assert deliveries("retrying", "1") == 1
        assert deliveries("dead", "2") == 1
        assert got[("syndicate_delivery_latency_seconds_count", (("channel", "webhook"),))] == 4
        assert got[("syndicate_delivery_request_seconds_count", (("channel", "webhook"),))] == 6
        assert got[("syndicate_dead_letters", ())] == 1
        assert got[("syndicate_quarantine_items", ())] == 2
        assert got[("syndicate_feed_renders_total", (("feed", "all"), ("format", "rss")))] >= 1

        disabled = requests.patch(
            f"{observed.base_url}/v1/subscriptions/{bad_sub['id']}",
            json={"disabled": True},
            headers=observed.auth(),
            timeout=10,
        )
        assert disabled.status_code == 200, disabled.text
        observed.unsubscribe(str(ok_sub["id"]))
        got = scrape(observed)
        states = {
            s: got[("syndicate_subscriptions", (("channel", "webhook"), ("state", s)))]
            for s in ("active", "disabled")
        }
        assert states == {"active": 0, "disabled": 1}
    finally:
        good.stop()
        failing.stop()
        observed.unsubscribe(str(bad_sub["id"]))
