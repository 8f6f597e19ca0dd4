"""How many times publish waits on Redis for a fan-out and an attempt: a fixed handful, not one
per subscription or per step (docs/performance.md: round trips, not the work, were most of
publish's CPU). Counted on the client's connections, so a change that adds a round trip to the
hot path fails here, whatever the machine's speed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
import redis
from redis.connection import AbstractConnection

from services.publish import attempts, fanout, schedule
from shared import keys
from shared.settings import Settings
from tests.integration.test_publish_attempts import configure
from tests.integration.test_publish_flow import subscribe, version
from tests.support.receiver import Receiver


@pytest.fixture
def settings(redis_db: redis.Redis, settings_env: pytest.MonkeyPatch) -> Settings:
    return configure(settings_env)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    got = Receiver().start()
    yield got
    got.stop()


class Trips:
    def __init__(self) -> None:
        self.count = 0


@contextmanager
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[Trips]:
    """Count the requests written to Redis (a pipeline is one) while the block runs."""
    trips = Trips()
    sent = AbstractConnection.send_packed_command

    def send(self: AbstractConnection, command: object, check_health: bool = True) -> None:
        trips.count += 1
        sent(self, command, check_health)  # type: ignore[arg-type]

    with monkeypatch.context() as patch:
        patch.setattr(AbstractConnection, "send_packed_command", send)
        yield trips


def _fan_out_trips(
    client: redis.Redis, monkeypatch: pytest.MonkeyPatch, story_id: str
) -> tuple[int, int]:
    event = version(client, story_id, 1, "story.published")
    with counted(monkeypatch) as trips:
        made = fanout.story_event(client, event, datetime.now(UTC)).deliveries
    return trips.count, len(made)


def test_a_fan_out_waits_on_redis_as_often_for_ten_subscribers_as_for_one(
    redis_db: redis.Redis, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscribe(redis_db, "https://one.example/hook")
    one, made_one = _fan_out_trips(redis_db, monkeypatch, "st_rt1")
    for n in range(9):
        subscribe(redis_db, f"https://more{n}.example/hook")
    ten, made_ten = _fan_out_trips(redis_db, monkeypatch, "st_rt2")
    assert (made_one, made_ten) == (1, 10)
    assert ten == one, f"{one} round trips for one subscriber, {ten} for ten"
    # the chain's state, the version and the subscriptions; the creations; the links with the
    # end of the fan-out
    assert one == 3, one


def test_an_update_fans_out_with_the_same_round_trips(
    redis_db: redis.Redis, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscribe(redis_db, "https://one.example/hook")
    first = fanout.story_event(
        redis_db, version(redis_db, "st_rt3", 1, "story.published"), datetime.now(UTC)
    )
    assert len(first.deliveries) == 1
    update = version(redis_db, "st_rt3", 2, "story.updated")
    with counted(monkeypatch) as trips:
        made = fanout.story_event(redis_db, update, datetime.now(UTC)).deliveries
    assert len(made) == 1
    assert trips.count == 3, trips.count


def test_a_successful_webhook_attempt_takes_five_round_trips(
    redis_db: redis.Redis,
    settings: Settings,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sub = subscribe(redis_db, receiver.url)
    now = datetime.now(UTC)
    first, d = (
        fanout.story_event(redis_db, version(redis_db, s, 1, "story.published"), now).deliveries[0]
        for s in ("st_rt4", "st_rt5")
    )
    assert attempts.run(redis_db, first, now, settings).status == "succeeded"  # scripts loaded
    with counted(monkeypatch) as trips:
        result = attempts.run(redis_db, d, now, settings)
    assert result.status == "succeeded"
    assert len(receiver.snapshot()) == 2
    # the lock and the record; the subscription, its failing state, the event and the
    # version; a slot; after the request: the slot, a waiter, the record and the next version;
    # the settlement, the metrics and the unlock
    assert trips.count == 5, trips.count
    assert redis_db.exists(keys.delivery_lock(d)) == 0, "the lock went with the attempt"
    assert schedule.in_flight(redis_db, sub.id, now) == 0, "the slot went with the attempt"


def test_the_first_attempts_of_a_fan_out_to_ten_take_the_round_trips_of_one(
    redis_db: redis.Redis,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    receivers = [Receiver().start() for _ in range(10)]
    try:
        subscribe(redis_db, receivers[0].url)
        now = datetime.now(UTC)
        warm = fanout.story_event(redis_db, version(redis_db, "st_rt6", 1, "story.published"), now)
        attempts.run_many(redis_db, warm.deliveries, now, settings)  # scripts loaded

        def trips_for(story_id: str) -> tuple[int, dict[str, attempts.Result]]:
            event = version(redis_db, story_id, 1, "story.published")
            made = fanout.story_event(redis_db, event, datetime.now(UTC)).deliveries
            with counted(monkeypatch) as trips:
                results = attempts.run_many(redis_db, made, datetime.now(UTC), settings)
            return trips.count, results

        one, results_one = trips_for("st_rt7")
        for receiver in receivers[1:]:
            subscribe(redis_db, receiver.url)
        ten, results_ten = trips_for("st_rt8")
        assert [r.status for r in results_one.values()] == ["succeeded"]
        assert [r.status for r in results_ten.values()] == ["succeeded"] * 10
        assert one == 5, one
        # three before the requests (locks and records, what to send, slots) whatever their
        # number; then two per group of requests that ended together (5 to 7 here, on
        # loopback), at most one group per request: never the fifty of ten single attempts
        assert ten >= one and (ten - 3) % 2 == 0, ten
        assert ten <= 3 + 2 * 10, ten
    finally:
        for receiver in receivers:
            receiver.stop()


def test_a_story_event_task_with_nothing_waiting_takes_nine_round_trips(
    redis_db: redis.Redis,
    settings: Settings,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The whole task with an empty queue: looking for a batch to take costs no round trip of
    its own (it goes with the outbox entry's removal)."""
    from services.publish import tasks

    subscribe(redis_db, receiver.url)
    warm, event = (version(redis_db, s, 1, "story.published") for s in ("st_rt6", "st_rt7"))
    assert tasks.on_story_event(warm.model_dump(mode="json")) == 1  # connections made
    with counted(monkeypatch) as trips:
        assert tasks.on_story_event(event.model_dump(mode="json")) == 1
    assert len(receiver.snapshot()) == 2
    # the fan-out's three; the outbox entry with the look for a batch; the attempt's five
    assert trips.count == 9, trips.count


def test_the_attempts_of_a_fan_out_read_its_event_and_version_once(
    redis_db: redis.Redis, settings: Settings
) -> None:
    """Ten subscribers' attempts carry one event and one version: their bytes (kilobytes each)
    come back once, not once per subscriber; each subscription is still read on its own."""
    from services.publish import store

    for n in range(10):
        subscribe(redis_db, f"https://reads{n}.example/hook")
    event = version(redis_db, "st_rt9", 1, "story.published")
    ids = fanout.story_event(redis_db, event, datetime.now(UTC)).deliveries
    made = [d for d in (store.get_delivery(redis_db, i) for i in ids) if d is not None]
    assert len(made) == 10
    redis_db.config_resetstat()
    loaded = store.load_for_attempts(redis_db, made)
    stats = redis_db.info("commandstats")
    assert stats["cmdstat_lindex"]["calls"] == 1, stats["cmdstat_lindex"]
    # ten subscriptions and one event
    assert stats["cmdstat_get"]["calls"] == 11, stats["cmdstat_get"]
    assert stats["cmdstat_exists"]["calls"] == 10, stats["cmdstat_exists"]
    assert {f.raw_event for f in loaded} == {redis_db.get(keys.event(event.id))}
    assert all(f.raw_story and f.subscription for f in loaded)
    assert sorted(f.subscription.id for f in loaded if f.subscription) == sorted(
        d.subscription_id for d in made
    )
