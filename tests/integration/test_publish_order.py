"""Order and reach of story events, in-process (real Redis, real receivers, the clock passed
in): an update waits, however long, for the version it updates to fan out, and goes ahead at
once only when that version has no event; a subscription filtered on a named feed gets the
stories that feed shows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis

from services.publish import attempts, fanout, schedule, store
from shared import keys
from shared.models import SubscriptionFilter
from shared.settings import Settings, get_settings
from tests.integration.test_publish_flow import T0, subscribe, version
from tests.support.events import make_story
from tests.support.receiver import Receiver


@pytest.fixture
def settings(redis_db: redis.Redis, settings_env: pytest.MonkeyPatch) -> Settings:
    settings_env.setenv("SYNDICATE_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8")
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    got = Receiver().start()
    yield got
    got.stop()


def test_an_update_whose_previous_version_has_no_event_goes_ahead_at_once(
    redis_db: redis.Redis, settings: Settings, receiver: Receiver
) -> None:
    from shared import stories

    subscribe(redis_db, receiver.url)
    # version 1 was withheld (stored, no event: it can never fan out); version 2 releases it
    stories.save_version(redis_db, make_story("st_d", 1, status="withheld"))
    released = version(redis_db, "st_d", 2, "story.published")
    assert len(fanout.story_event(redis_db, released, T0).deliveries) == 1
    # a story whose earlier versions predate any event at all
    e3 = version(redis_db, "st_d2", 3, "story.updated")
    assert len(fanout.story_event(redis_db, e3, T0).deliveries) == 1
    assert redis_db.zcard(keys.fanouts_due()) == 0


def test_an_update_waits_however_long_the_version_it_updates_takes_to_fan_out(
    redis_db: redis.Redis, settings: Settings, receiver: Receiver
) -> None:
    subscribe(redis_db, receiver.url)
    e1 = version(redis_db, "st_w", 1, "story.published")  # stored; its fan-out is delayed
    e2 = version(redis_db, "st_w", 2, "story.updated")
    for minutes in (0, 6, 60):  # the old rule let it go after 5 minutes
        parked = fanout.story_event(redis_db, e2, T0 + timedelta(minutes=minutes))
        assert parked.waiting and parked.deliveries == [], minutes
    # the version it waits for is parked too: its own message may have been lost
    nudge = redis_db.zscore(keys.fanouts_due(), e1.id)
    assert nudge == (T0 + fanout.FANOUT_NUDGE).timestamp()
    handed = schedule.take_due_fanouts(redis_db, T0 + timedelta(minutes=61), 30)
    assert sorted(handed) == sorted([e1.id, e2.id])

    (d1,) = fanout.story_event(redis_db, e1, T0 + timedelta(minutes=61)).deliveries
    (d2,) = fanout.story_event(redis_db, e2, T0 + timedelta(minutes=61)).deliveries
    assert store.get_delivery(redis_db, d2).after == d1  # type: ignore[union-attr]
    assert redis_db.zcard(keys.fanouts_due()) == 0
    assert fanout.story_event(redis_db, e1, T0).deliveries == [], "a late nudge does nothing"
    assert redis_db.zcard(keys.fanouts_due()) == 0


def test_an_update_waits_for_the_nearest_version_that_has_an_event(
    redis_db: redis.Redis, settings: Settings, receiver: Receiver
) -> None:
    from shared import stories

    subscribe(redis_db, receiver.url)
    e1 = version(redis_db, "st_n3", 1, "story.published")
    stories.save_version(redis_db, make_story("st_n3", 2, status="withheld"))  # no event
    e3 = version(redis_db, "st_n3", 3, "story.published")
    assert fanout.story_event(redis_db, e3, T0).waiting, "version 1 is still to fan out"
    (d1,) = fanout.story_event(redis_db, e1, T0).deliveries
    (d3,) = fanout.story_event(redis_db, e3, T0).deliveries
    assert store.get_delivery(redis_db, d3).after == d1  # type: ignore[union-attr]


def test_a_subscription_filtered_on_a_named_feed_gets_the_stories_of_that_feed(
    redis_db: redis.Redis, settings_env: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    settings_env.setenv("SYNDICATE_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8")
    settings_env.setenv(
        "SYNDICATE_NAMED_FEEDS",
        json.dumps({"energy": {"title": "Energy", "sections": ["Business"], "keywords": ["oil"]}}),
    )
    get_settings.cache_clear()
    energy = subscribe(
        redis_db,
        receiver.url,
        events=("story.published",),
        filter=SubscriptionFilter(feeds=["energy"]),
    )
    inside = version(
        redis_db, "st_oil", 1, "story.published", section="Business", headline="Oil prices rise"
    )
    elsewhere = version(
        redis_db, "st_gold", 1, "story.published", section="Business", headline="Gold rises"
    )
    sport = version(redis_db, "st_sport", 1, "story.published", headline="Oil on the pitch")
    (d,) = fanout.story_event(redis_db, inside, T0).deliveries
    assert fanout.story_event(redis_db, elsewhere, T0).deliveries == []
    assert fanout.story_event(redis_db, sport, T0).deliveries == [], "wrong section"
    assert store.get_delivery(redis_db, d).subscription_id == energy.id  # type: ignore[union-attr]
    assert attempts.run(redis_db, d, T0, get_settings()).status == "succeeded"
    (got,) = receiver.snapshot()
    body = json.loads(got.body)
    assert body["type"] == "story.published" and body["data"]["id"] == "st_oil"
