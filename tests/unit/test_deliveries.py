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
from shared.models import Event, FeedUpdate, Subscription, SubscriptionFilter

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


def test_named_feed_filter_follows_the_feed_catalog() -> None:
    from services.publish.deliveries import story_in_feed

    assert story_in_feed("all", event())
    assert story_in_feed("sections/science", event())
    assert story_in_feed("agencies/Reuters", event())
    assert story_in_feed("contributors/ana-lima", event())
    assert not story_in_feed("sections/politics", event())
    assert not story_in_feed("a-configured-feed", event())
    assert matches(sub(filter=SubscriptionFilter(feeds=["sections/science"])), event())
    assert not matches(sub(filter=SubscriptionFilter(feeds=["agencies/ap"])), event())
    both = SubscriptionFilter(sections=["Science"], feeds=["agencies/ap"])
    assert not matches(sub(filter=both), event()), "lists are and-ed"


def test_a_named_feed_filter_matches_the_stories_that_feed_shows() -> None:
    from services.publish.deliveries import story_in_feed
    from shared.named_feeds import NamedFeed
    from tests.support.events import make_story

    named = {"energy": NamedFeed(name="energy", title="Energy", keywords=["oil"])}
    oil = make_story("st_1", headline="Oil prices rise")
    gold = make_story("st_1", headline="Gold prices rise")
    assert story_in_feed("energy", event(), oil, named)
    assert story_in_feed("Energy/", event(), oil, named), "names compare as feed URLs do"
    assert not story_in_feed("energy", event(), gold, named)
    assert not story_in_feed("energy", event(), None, named), "no story, no match"
    assert not story_in_feed("energy", event(), oil, {}), "not configured"
    wants = sub(filter=SubscriptionFilter(feeds=["energy"]))
    assert matches(wants, event(), oil, named)
    assert not matches(wants, event(), gold, named)
    either = sub(filter=SubscriptionFilter(feeds=["energy", "sections/science"]))
    assert matches(either, event(), gold, named), "any listed feed will do"


def test_follow_ups_ignore_the_filter_but_not_the_event_types() -> None:
    from services.publish.deliveries import follows_up

    narrow = sub(
        events=["story.published", "story.updated"],
        filter=SubscriptionFilter(sections=["Politics"]),
    )
    assert follows_up(narrow, event(type="story.updated"))
    assert not follows_up(narrow, event(type="story.killed")), "not asked for"
    assert not follows_up(narrow, event(type="story.published"))
    assert not follows_up(narrow.model_copy(update={"disabled": True}), event(type="story.updated"))


def update(feed: str = "all") -> FeedUpdate:
    return FeedUpdate(
        id="evt_feed",
        timestamp=NOW,
        feed=feed,
        urls={"rss": f"https://s.example/feeds/{feed}.rss"},
        etags={"rss": '"abc"'},
    )


def test_feed_updated_matching_uses_only_the_feeds_filter() -> None:
    from services.publish.deliveries import matches_feed_update

    wants = sub(events=["feed.updated"])
    assert matches_feed_update(wants, update())
    assert not matches_feed_update(sub(), update()), "did not ask for feed.updated"
    named = wants.model_copy(update={"filter": SubscriptionFilter(feeds=["Sections/Science"])})
    assert matches_feed_update(named, update("sections/science"))
    assert not matches_feed_update(named, update("all"))


def test_feed_updated_payload_names_urls_and_etags() -> None:
    from services.publish.deliveries import feed_update_payload

    body = feed_update_payload(update())
    assert json.loads(body) == {
        "type": "feed.updated",
        "timestamp": "2026-03-04T12:00:00+00:00",
        "data": {
            "feed": "all",
            "urls": {"rss": "https://s.example/feeds/all.rss"},
            "etags": {"rss": '"abc"'},
        },
    }
    assert body == feed_update_payload(update()) and b", " not in body


def test_rotated_secrets_sign_until_their_grace_ends() -> None:
    from datetime import timedelta

    from services.publish.deliveries import signing_secrets
    from shared.models import RetiredSecret

    rotated = sub(
        secret="whsec_new",
        previous_secrets=[
            RetiredSecret(secret="whsec_old", expires_at=NOW + timedelta(hours=1)),
            RetiredSecret(secret="whsec_older", expires_at=NOW - timedelta(seconds=1)),
        ],
    )
    assert signing_secrets(rotated, NOW) == ["whsec_new", "whsec_old"]
    assert signing_secrets(rotated, NOW + timedelta(hours=2)) == ["whsec_new"]


def test_disable_after_a_long_enough_run_of_failures() -> None:
    from datetime import timedelta

    from services.publish.deliveries import disable_reason

    five_days = 5 * 86400
    assert disable_reason(None, NOW, five_days) is None
    assert disable_reason(NOW - timedelta(days=4), NOW, five_days) is None
    reason = disable_reason(NOW - timedelta(days=5), NOW, five_days)
    assert reason is not None
    assert "5 days" in reason and "SYNDICATE_WEBHOOK_DISABLE_AFTER_SECONDS" in reason


def test_a_story_event_waits_for_the_nearest_earlier_version_that_has_an_event() -> None:
    from services.publish.deliveries import version_to_await

    def await_(previous: int | None, fanned: set[int], events: set[int]) -> int | None:
        return version_to_await(previous, fanned.__contains__, events.__contains__)

    assert await_(None, set(), set()) is None, "a first version waits for nothing"
    assert await_(1, set(), {1}) == 1, "its event is stored: wait, however long"
    assert await_(1, {1}, {1}) is None, "fanned out already"
    assert await_(1, set(), set()) is None, "no event: it can never fan out"
    assert await_(3, set(), {1}) == 1, "versions 2 and 3 had no event: wait for 1"
    assert await_(3, {1}, {1}) is None
    assert await_(3, set(), {1, 2}) == 2


def test_the_first_attempt_waits_for_the_schedules_first_value() -> None:
    from services.publish.deliveries import first_delay

    assert first_delay([0, 5, 300]) == 0, "Svix: at once"
    delays = {first_delay([20, 5], random.Random(seed)) for seed in range(20)}
    assert all(18 <= d <= 22 for d in delays) and len(delays) > 1


def test_the_last_attempt_of_a_run_is_judged_against_the_schedule() -> None:
    # attempts counted from the start of the run: a replayed delivery gets the whole schedule
    assert judge(500, {}, len(SCHEDULE), SCHEDULE, NOW).verdict == "dead"
    assert judge(500, {}, len(SCHEDULE) - 1, SCHEDULE, NOW).verdict == "retry"
