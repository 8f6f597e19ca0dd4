"""The pure parts of the metrics: labels, live gauges from raw Redis replies, batched writes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.ingest import meters as ingest_meters
from services.ingest.draft import Draft
from services.publish import meters as publish_meters
from services.publish.deliveries import Outcome
from shared import keys, metrics
from shared.errors import ParseError
from shared.live_metrics import schedule_state, subscription_states, unacked_by_queue
from shared.models import Delivery

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


class Recorder:
    """Stands in for a pipeline: records the commands it is given."""

    def __init__(self) -> None:
        self.commands: list[tuple[str, tuple[Any, ...]]] = []

    def __getattr__(self, name: str) -> Any:
        return lambda *args: self.commands.append((name, args))


def test_a_schedule_lags_by_its_oldest_overdue_entry_only() -> None:
    assert schedule_state(3, 2, oldest_due=100.0, now=130.0).lag_seconds == 30.0
    # the oldest entry is in the future (claimed, or simply not due): no lag
    assert schedule_state(3, 0, oldest_due=200.0, now=130.0).lag_seconds == 0.0
    assert schedule_state(0, 0, oldest_due=None, now=130.0) == schedule_state(0, 0, None, 1.0)


def test_unacked_messages_are_counted_by_their_routing_key() -> None:
    values = [
        json.dumps([{"body": "x"}, "", "ingest"]),
        json.dumps([{"body": "y"}, "", "ingest"]).encode(),
        json.dumps([{"body": "z"}, "", "publish"]),
        json.dumps([{"body": "z"}, "", "celery"]),  # not ours: not counted
        "not json",
        json.dumps({"odd": "shape"}),
    ]
    assert unacked_by_queue(values, ("ingest", "render", "publish")) == {
        "ingest": 2,
        "render": 0,
        "publish": 1,
    }


def test_subscriptions_are_active_unless_disabled() -> None:
    raws = [
        json.dumps({"id": "a", "disabled": False}),
        json.dumps({"id": "b"}).encode(),
        json.dumps({"id": "c", "disabled": True}),
        None,  # deleted between the two reads
        "[]",
    ]
    assert subscription_states(raws) == {"active": 2, "disabled": 1}


def draft(fmt: str) -> Draft:
    return Draft(format=fmt, headline="Seals Return")


def test_the_format_label_comes_from_the_drafts_else_the_error() -> None:
    assert ingest_meters.format_of([draft("nitf"), draft("nitf")]) == "nitf"
    assert ingest_meters.format_of(error=ParseError("bad", format="encoding")) == "encoding"
    assert ingest_meters.format_of(error=ParseError("bad")) == "unknown"
    assert ingest_meters.format_of(error=RuntimeError("parser crash")) == "unknown"


def test_a_parsed_item_writes_its_parse_time_and_one_count_per_story() -> None:
    pipe = Recorder()
    metrics.fill(pipe, *ingest_meters.parsed("rss", 0.02, ["new", "duplicate", "new"]))
    incs = [args for name, args in pipe.commands if name == "hincrbyfloat"]
    stories_key = keys.metric("syndicate_stories_total")
    # one command per label set, the two new stories added up
    assert [(k, f, n) for k, f, n in incs if k == stories_key] == [
        (stories_key, '["new", "rss"]', 2.0),
        (stories_key, '["duplicate", "rss"]', 1.0),
    ]
    # each metric described once, however many writes it has
    described = [args[1] for name, args in pipe.commands if name == "hset"]
    assert sorted(described) == ["syndicate_parse_seconds", "syndicate_stories_total"]


def test_quarantined_copy_is_counted_by_the_format_its_error_names() -> None:
    pipe = Recorder()
    metrics.fill(pipe, ingest_meters.quarantined(ParseError("no vocabulary", format="xml")))
    assert (
        "hincrbyfloat",
        (keys.metric("syndicate_stories_total"), '["quarantined", "xml"]', 1.0),
    ) in pipe.commands


@pytest.mark.parametrize(
    ("outcome", "status", "label"),
    [
        (Outcome("succeeded"), 200, "delivered"),
        (Outcome("retry", delay=5), 500, "retrying"),
        (Outcome("retry", delay=5), None, "retrying"),
        (Outcome("retry", delay=60), 429, "throttled"),
        (Outcome("retry", delay=60), 503, "throttled"),
        (Outcome("dead", reason="gave up"), 500, "dead"),
        (Outcome("dead", reason="gave up"), 429, "dead"),
        (Outcome("gone", reason="410"), 410, "gone"),
    ],
)
def test_attempt_outcome_labels(outcome: Outcome, status: int | None, label: str) -> None:
    assert publish_meters.outcome_label(outcome, status) == label


def delivery() -> Delivery:
    return Delivery(
        id="dlv_1",
        subscription_id="sub_1",
        event_id="evt_1",
        event_type="story.published",
        created_at=NOW,
    )


def test_a_delivered_attempt_records_its_latency_since_the_delivery_was_made() -> None:
    pipe = Recorder()
    ended = NOW + timedelta(seconds=2.5)
    metrics.fill(
        pipe, *publish_meters.attempted(delivery(), Outcome("succeeded"), 200, 2, 0.04, ended)
    )
    counted = keys.metric("syndicate_deliveries_total")
    assert ("hincrbyfloat", (counted, '["webhook", "delivered", "2"]', 1.0)) in pipe.commands
    latency = keys.metric("syndicate_delivery_latency_seconds")
    sums = [a for n, a in pipe.commands if n == "hincrbyfloat" and a[0] == latency]
    assert [value for _, _, value in sums] == [2.5]


def test_a_failed_attempt_records_no_delivery_latency() -> None:
    pipe = Recorder()
    writes = publish_meters.attempted(delivery(), Outcome("retry", delay=5), 500, 1, 0.04, NOW)
    metrics.fill(pipe, *writes)
    touched = {args[0] for _, args in pipe.commands}
    assert keys.metric("syndicate_delivery_latency_seconds") not in touched
    assert keys.metric("syndicate_delivery_request_seconds") in touched


def test_a_histogram_write_counts_its_bucket_sum_and_count() -> None:
    histogram = metrics.Histogram("t_seconds", "T.", ("kind",), buckets=(0.1, 1.0))
    pipe = Recorder()
    metrics.fill(pipe, histogram.observation(("a",), 0.5), histogram.observation(("a",), 7.0))
    fields = [(name, args[1], args[2]) for name, args in pipe.commands if name != "hset"]
    # one command per field, the two observations added up; 7.0 is above every bound: only
    # +Inf (the count) holds it
    assert fields == [
        ("hincrby", '["a"]\x1fb1', 1),
        ("hincrbyfloat", '["a"]\x1fsum', 7.5),
        ("hincrby", '["a"]\x1fcount', 2),
    ]


def test_a_batch_of_writes_costs_a_command_per_field_and_a_description_per_metric() -> None:
    """Ten deliveries' metrics, as an attempt batch writes them: the sums are the ten writes',
    in one command per field; a gauge keeps the last value set."""
    pipe = Recorder()
    ended = NOW + timedelta(seconds=1)
    writes = [
        w
        for _ in range(10)
        for w in publish_meters.attempted(delivery(), Outcome("succeeded"), 200, 1, 0.002, ended)
    ]
    gauge = metrics.Gauge("t_backlog", "T.")
    metrics.fill(pipe, *writes, gauge.setting(3), gauge.setting(5))
    described = [
        args[1]
        for name, args in pipe.commands
        if name == "hset" and args[0] == keys.metrics_registry()
    ]
    assert sorted(described) == sorted(
        {"syndicate_deliveries_total", "syndicate_delivery_request_seconds",
         "syndicate_delivery_latency_seconds", "t_backlog"}
    )  # fmt: skip
    changes = [(name, args) for name, args in pipe.commands if args[0] != keys.metrics_registry()]
    assert len(changes) == len({args[:2] for _, args in changes}) == 8  # 1 + 3 + 3 + 1
    counted = keys.metric("syndicate_deliveries_total")
    assert ("hincrbyfloat", (counted, '["webhook", "delivered", "1"]', 10.0)) in changes
    latency = keys.metric("syndicate_delivery_latency_seconds")
    assert ("hincrby", (latency, '["webhook"]\x1fcount', 10)) in changes
    assert ("hincrbyfloat", (latency, '["webhook"]\x1fsum', 10.0)) in changes
    assert ("hset", (keys.metric("t_backlog"), "[]", 5)) in changes


def test_writes_of_different_kinds_to_one_field_are_all_sent() -> None:
    """Merging never drops a write: an increment and a set of one field both go out."""
    pipe = Recorder()
    counter = metrics.Counter("t_mixed", "T.")
    gauge = metrics.Gauge("t_mixed", "T.")
    metrics.fill(pipe, counter.increment(), gauge.setting(4), counter.increment())
    changes = [(name, args[2]) for name, args in pipe.commands if args[0] == keys.metric("t_mixed")]
    assert changes == [("hincrbyfloat", 2.0), ("hset", 4)]
