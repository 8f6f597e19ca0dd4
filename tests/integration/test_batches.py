"""A task takes the messages of its own task waiting at the head of its queue (``shared.batches``),
and render's event task handles them with its own."""

from __future__ import annotations

import json

import pytest
import redis

from shared import batches, broker, feedstore, keys, names, outbox, stories
from shared.models import Event
from shared.settings import get_settings
from tests.support.events import event_for
from tests.support.render import drain
from tests.support.stories import rich_story

RENDER = names.TASK_RENDER_ON_EVENT
PUBLISH = names.TASK_PUBLISH_ON_EVENT
QUEUE = keys.celery_queue("render")


def queued(client: redis.Redis) -> list[dict]:
    """The queue's messages, the next to be fetched first."""
    return [json.loads(raw) for raw in reversed(client.lrange(QUEUE, 0, -1))]


def test_only_messages_of_the_task_at_the_head_are_taken_in_order(redis_db: redis.Redis) -> None:
    for n in (1, 2):
        broker.push(redis_db, RENDER, {"n": n})
    broker.push(redis_db, "syndicate.render.something_else", {"n": 3})
    broker.push(redis_db, RENDER, {"n": 4})
    assert batches.take(redis_db, RENDER, 10) == [[{"n": 1}], [{"n": 2}]]
    left = queued(redis_db)
    assert [m["headers"]["task"] for m in left] == ["syndicate.render.something_else", RENDER]
    assert batches.take(redis_db, RENDER, 10) == [], "another task's message is at the head"


def test_the_limit_holds_and_an_empty_queue_gives_nothing(redis_db: redis.Redis) -> None:
    assert batches.take(redis_db, RENDER, 5) == []
    for n in range(5):
        broker.push(redis_db, RENDER, n)
    assert batches.take(redis_db, RENDER, 0) == []
    assert batches.take(redis_db, RENDER, 3) == [[0], [1], [2]]
    assert batches.take(redis_db, RENDER, 3) == [[3], [4]]


def test_a_message_that_is_not_json_stops_the_batch_and_stays(redis_db: redis.Redis) -> None:
    broker.push(redis_db, RENDER, 1)
    redis_db.lpush(QUEUE, b"\xff not json")
    broker.push(redis_db, RENDER, 2)
    assert batches.take(redis_db, RENDER, 10) == [[1]]
    assert redis_db.lindex(QUEUE, -1) == b"\xff not json"


def test_a_message_naming_the_task_with_unreadable_arguments_is_left_out(
    redis_db: redis.Redis,
) -> None:
    bad = json.loads(broker.envelope(RENDER, [1]))
    bad["body"] = "not base64 json"
    broker.push(redis_db, RENDER, 1)
    redis_db.lpush(QUEUE, json.dumps(bad))
    broker.push(redis_db, RENDER, 3)
    assert batches.take(redis_db, RENDER, 10) == [[1], [3]]
    with pytest.raises(batches.BadMessage):
        batches.arguments(json.dumps(bad))


def test_arguments_read_protocol_2_bodies_and_refuse_keyword_arguments() -> None:
    """``broker.envelope`` is Celery's own message (``tests/unit/test_broker.py``)."""
    assert batches.arguments(broker.envelope(RENDER, [{"n": 1}])) == [{"n": 1}]
    plain = json.loads(broker.envelope(RENDER, [2]))
    plain["body"], plain["properties"]["body_encoding"] = json.dumps([[2], {}, {}]), "utf-8"
    assert batches.arguments(json.dumps(plain)) == [2]
    plain["body"] = json.dumps([[2], {"late": True}, {}])
    with pytest.raises(batches.BadMessage, match="positional"):
        batches.arguments(json.dumps(plain))


def _event(client: redis.Redis, n: int) -> Event:
    story = rich_story(n)
    stories.save_version(client, story)
    event = event_for(story, "story.published")
    stories.save_event(client, event)
    outbox.enter(client, [event.id])
    return event


def test_render_handles_the_events_waiting_behind_its_own(
    redis_db: redis.Redis, settings_env: pytest.MonkeyPatch
) -> None:
    from services.render.tasks import on_story_event

    settings_env.setenv("SYNDICATE_FEED_RENDER_WINDOW", "0.05")
    get_settings.cache_clear()
    events = [_event(redis_db, n) for n in range(1, 5)]
    for event in events[1:]:
        broker.push(redis_db, RENDER, event.model_dump(mode="json"))
    broker.push(redis_db, PUBLISH, events[0].model_dump(mode="json"))  # another queue
    marked = on_story_event(events[0].model_dump(mode="json"))
    assert {"all", "contributors/di-ewa"} <= set(marked)
    assert redis_db.llen(QUEUE) == 0, "the three waiting were taken"
    assert outbox.size(redis_db, "render") == 0, "and handled, each"
    assert outbox.size(redis_db, "publish") == 4
    drain(redis_db)
    stored = feedstore.load_feed(redis_db, "all", "json")
    assert stored is not None
    body = json.loads(stored.body)
    assert sorted(i["_syndicate"]["story_id"] for i in body["items"]) == [
        "st_1",
        "st_2",
        "st_3",
        "st_4",
    ]


def test_an_event_that_fails_leaves_the_rest_of_the_batch_handled(
    redis_db: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.render import tasks

    events = [_event(redis_db, n) for n in range(1, 4)]
    broker.push(redis_db, RENDER, events[1].model_dump(mode="json"))
    broker.push(redis_db, RENDER, events[2].model_dump(mode="json"))
    real_move = tasks._move

    def move(client: redis.Redis, event: Event, pipe: object) -> list[str]:
        if event.id == events[1].id:
            raise RuntimeError("a bug in one story")
        return real_move(client, event, pipe)

    monkeypatch.setattr(tasks, "_move", move)
    with pytest.raises(RuntimeError, match="a bug in one story"):
        tasks.on_story_event(events[0].model_dump(mode="json"))
    waiting = redis_db.zrange(keys.events_outbox("render"), 0, -1)
    assert waiting == [events[1].id.encode()], "only the failed one is left for the outbox"
    assert redis_db.llen(QUEUE) == 0


def _stored_wire(client: redis.Redis, n: int) -> str:
    from tests.integration.test_ingest_versions import save

    body = (
        f"Seals return to the Thames {n}\n\nLONDON (Reuters) - Seal number {n} was seen on "
        f"the river.\n\n(Reporting by Ann Lee {n}; Editing by Bo Hart)\n"
    ).encode()
    return save(client, body, "text/plain").id


def test_ingest_handles_the_items_waiting_behind_its_own_and_a_failure_stays_for_the_outbox(
    redis_db: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.ingest import store, tasks

    ids = [_stored_wire(redis_db, n) for n in range(1, 5)]
    for wire_id in ids[1:]:
        broker.push(redis_db, names.TASK_INGEST_WIRE, wire_id)
    real = tasks._process

    def process(client: redis.Redis, item: object, body: bytes) -> str:
        if getattr(item, "id", None) == ids[2]:
            raise RuntimeError("a bug in one item")
        return real(client, item, body)  # type: ignore[arg-type]

    monkeypatch.setattr(tasks, "_process", process)
    with pytest.raises(RuntimeError, match="a bug in one item"):
        tasks.process_wire(ids[0])
    assert redis_db.llen(keys.celery_queue("ingest")) == 0, "the three waiting were taken"
    statuses = {}
    for wire_id in ids:
        item = store.get_wire(redis_db, wire_id)
        assert item is not None
        statuses[wire_id] = item.status
    assert [statuses[i] for i in ids] == ["parsed", "parsed", "processing", "parsed"]
    waiting = {m.decode() for m in redis_db.zrange(keys.wire_outbox(), 0, -1)}
    assert waiting == {ids[2]}, "only the failed item is left for the outbox to send again"
    # each parsed item sent its event to render and to publish
    assert redis_db.llen(keys.celery_queue("render")) == 3


def test_publish_fans_out_the_events_waiting_behind_its_own_and_attempts_them_together(
    redis_db: redis.Redis, settings_env: pytest.MonkeyPatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.publish import attempts, tasks
    from tests.integration.test_publish_attempts import configure
    from tests.integration.test_publish_flow import subscribe, version
    from tests.support.receiver import Receiver

    configure(settings_env)
    receiver = Receiver().start()
    try:
        subscribe(redis_db, receiver.url)
        events = [version(redis_db, f"st_b{n}", 1, "story.published") for n in range(4)]
        outbox.enter(redis_db, [e.id for e in events])
        for event in events[1:]:
            broker.push(redis_db, PUBLISH, event.model_dump(mode="json"))
        broker.push(redis_db, names.TASK_PUBLISH_DELIVER, "dlv_other")  # not a story event
        runs: list[int] = []
        real = attempts.run_many

        def run_many(*args: object, **kwargs: object) -> object:
            runs.append(len(args[1]))  # type: ignore[arg-type]
            return real(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(attempts, "run_many", run_many)
        assert tasks.on_story_event(events[0].model_dump(mode="json")) == 4
        assert runs == [4], "the four first attempts went together"
        got = sorted(r.headers["webhook-id"] for r in receiver.snapshot())
        assert got == sorted(e.id for e in events)
        assert outbox.size(redis_db, "publish") == 0
        left = [
            json.loads(m)["headers"]["task"]
            for m in redis_db.lrange(keys.celery_queue("publish"), 0, -1)
        ]
        assert left == [names.TASK_PUBLISH_DELIVER], "the deliver task stays"
    finally:
        receiver.stop()


def test_taken_messages_that_carry_no_story_event_are_left_out(redis_db: redis.Redis) -> None:
    event = _event(redis_db, 9)
    found = [[{"not": "an event"}], [], [event.model_dump(mode="json")]]
    assert batches.events(found) == [event]
