from __future__ import annotations

import json
import random
from datetime import UTC, datetime

from services.publish.deliveries import (
    delivery_id_for,
    judge,
    matches,
    next_delay,
    payload,
    retry_after_seconds,
)
from shared.models import Event, Subscription, SubscriptionFilter

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
SCHEDULE = [0.0, 5.0, 300.0]


def event(**changes: object) -> Event:
    base = Event(
        id="evt_1",
        type="story.published",
        timestamp=NOW,
        story_id="st_1",
        version=1,
        sections=["Science"],
        agencies=["Reuters"],
        contributors=["Ana Lima"],
    )
    return base.model_copy(update=changes)


def sub(**changes: object) -> Subscription:
    base = Subscription(
        id="sub_1",
        url="https://x.example/",
        events=["story.published"],
        secret="whsec_x",
        created_at=NOW,
    )
    return base.model_copy(update=changes)


def test_matching_by_type_and_filter() -> None:
    assert matches(sub(), event())
    assert not matches(sub(), event(type="story.updated"))
    assert matches(sub(filter=SubscriptionFilter(sections=["science"])), event())
    assert not matches(sub(filter=SubscriptionFilter(agencies=["AP"])), event())
    assert matches(sub(filter=SubscriptionFilter(contributors=["ana lima"])), event())
    assert not matches(sub(disabled=True), event())


def test_payload_is_compact_stable_json() -> None:
    body = payload(event(), {"id": "st_1", "headline": "Zoë"})
    assert body == payload(event(), {"headline": "Zoë", "id": "st_1"})
    assert b" " not in body.replace(b"Zo\xc3\xab", b"")
    assert json.loads(body) == {
        "type": "story.published",
        "timestamp": "2026-03-04T12:00:00+00:00",
        "data": {"id": "st_1", "headline": "Zoë"},
    }


def test_delivery_ids_are_deterministic() -> None:
    assert delivery_id_for("evt_1", "sub_1") == delivery_id_for("evt_1", "sub_1")
    assert delivery_id_for("evt_1", "sub_1") != delivery_id_for("evt_1", "sub_2")


def test_judge_verdicts() -> None:
    rng = random.Random(1)
    assert judge(200, {}, 1, SCHEDULE, NOW).verdict == "succeeded"
    assert judge(204, {}, 1, SCHEDULE, NOW).verdict == "succeeded"
    assert judge(410, {}, 1, SCHEDULE, NOW).verdict == "gone"
    retry = judge(500, {}, 1, SCHEDULE, NOW, rng)
    assert retry.verdict == "retry" and 4.5 <= (retry.delay or 0) <= 5.5
    assert judge(None, None, 2, SCHEDULE, NOW).verdict == "retry"
    assert judge(500, {}, 3, SCHEDULE, NOW).verdict == "dead"
    assert judge(301, {}, 3, SCHEDULE, NOW).verdict == "dead"


def test_retry_after_pushes_the_next_attempt_clamped_to_the_schedule() -> None:
    slow = judge(429, {"Retry-After": "120"}, 1, SCHEDULE, NOW, random.Random(1))
    assert slow.verdict == "retry" and slow.delay == 120
    clamped = judge(503, {"retry-after": "99999"}, 1, SCHEDULE, NOW)
    assert clamped.delay == 300


def test_retry_after_forms() -> None:
    assert retry_after_seconds("30", NOW) == 30
    assert retry_after_seconds("Wed, 04 Mar 2026 12:01:00 GMT", NOW) == 60
    assert retry_after_seconds("soon", NOW) is None
    assert retry_after_seconds(None, NOW) is None


def test_next_delay_jitter_and_exhaustion() -> None:
    delays = {next_delay(1, [0, 100], random.Random(seed)) for seed in range(20)}
    assert all(90 <= d <= 110 for d in delays if d is not None) and len(delays) > 1
    assert next_delay(2, [0, 100]) is None
