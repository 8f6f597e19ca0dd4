"""The transactional outbox of ``POST /v1/wire``: copy stored is parsed even when its task is
lost, a 503 says nothing was accepted only when that is true, and a poison item is quarantined
after ``SYNDICATE_INGEST_MAX_RUNS`` runs that never finished.

The API runs in this process (real HTTP on loopback, a real Redis database); messages are made
to go missing or the broker's send to fail here, and the ingest task is called in-process as a
worker would run it.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime

import kombu.exceptions
import pytest
import redis
import requests

from services.ingest import outbox, store
from shared import broker, keys, names, stories
from shared.models import WireItem
from tests.integration.conftest import AUTH
from tests.integration.test_end_to_end import sample_copy
from tests.integration.test_ingest_versions import nitf, queued_event_ids

QUEUE = f"{keys.celery_prefix()}{names.QUEUE_INGEST}"


def post(api: str, body: bytes) -> requests.Response:
    return requests.post(
        f"{api}/v1/wire",
        data=body,
        headers={**AUTH, "Content-Type": "text/plain"},
        timeout=10,
    )


def queued_wire_ids(client: redis.Redis) -> list[str]:
    import base64
    import json

    found = []
    for raw in client.lrange(QUEUE, 0, -1):
        message = json.loads(raw)
        found += json.loads(base64.b64decode(message["body"]))[0]
    return found


@pytest.fixture
def message_lost(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The first ingest task message (the API's) never reaches the queue, as kombu's Redis
    transport loses a message taken by a worker that dies at once; the sweeper's do."""
    lost: list[str] = []
    real = broker.add

    def dropping(pipe: object, task: str, *args: object) -> None:
        if task == names.TASK_INGEST_WIRE and not lost:
            lost.append(str(args[0]))
            return
        real(pipe, task, *args)

    monkeypatch.setattr(broker, "add", dropping)
    return lost


def test_copy_whose_message_is_lost_is_202_and_the_sweeper_gets_it_parsed(
    api: str, redis_db: redis.Redis, message_lost: list[str]
) -> None:
    response = post(api, sample_copy("outbox"))
    assert response.status_code == 202, response.text
    wire_id = response.json()["id"]
    assert message_lost == [wire_id], "its message was lost"
    assert queued_wire_ids(redis_db) == []
    assert redis_db.zscore(keys.wire_outbox(), wire_id) is not None
    print(f"injected: the ingest task message of {wire_id} was lost after it was stored")

    now = time.time()
    assert outbox.sweep_once(redis_db, older_than=60, now=now) == [], "too young to resend"
    assert outbox.sweep_once(redis_db, older_than=60, now=now + 61) == [wire_id]
    assert queued_wire_ids(redis_db) == [wire_id]
    # claimed: not sent again until another period has passed
    assert outbox.sweep_once(redis_db, older_than=60, now=now + 62) == []

    from services.ingest.tasks import process_wire  # the worker's run of what the sweeper sent

    assert redis_db.rpop(keys.celery_queue("ingest")), "the worker fetches the message"
    assert process_wire(wire_id) == "parsed"
    item = store.get_wire(redis_db, wire_id)
    assert item is not None and item.status == "parsed" and len(item.story_ids) == 1
    assert queued_event_ids(redis_db, "render") == item.event_ids
    assert store.outbox_size(redis_db) == 0, "through ingest: out of the outbox"
    assert outbox.sweep_once(redis_db, older_than=60, now=now + 1000) == []

    # the sweeper's send and the original one may both arrive: the second run stores nothing
    assert process_wire(wire_id) == "parsed"
    assert [v.version for v in stories.list_versions(redis_db, item.story_ids[0])] == [1]
    print(f"counted: {wire_id} parsed once, 1 version, outbox empty")


def test_a_sweep_whose_send_fails_leaves_the_entry_for_the_next(
    redis_db: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:

    body = nitf()
    item = WireItem(
        id="wire_outbox1",
        received_at=datetime(2026, 6, 1, tzinfo=UTC),
        content_type="application/octet-stream",
        size=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
    )
    store.save_wire(redis_db, item, body)
    now = time.time()

    def failing_send(task: str, *args: object) -> None:
        raise kombu.exceptions.OperationalError("broker down")

    real_send = outbox.send
    monkeypatch.setattr(outbox, "send", failing_send)
    with pytest.raises(kombu.exceptions.OperationalError):
        outbox.sweep_once(redis_db, older_than=5, now=now + 6)
    monkeypatch.setattr(outbox, "send", real_send)
    assert outbox.sweep_once(redis_db, older_than=5, now=now + 12) == [item.id]


def test_store_down_at_save_is_503_and_nothing_accepted(
    api: str, redis_db: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_save(*_args: object, **_kwargs: object) -> None:
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(store, "save_wire", failing_save)
    response = post(api, sample_copy("down"))
    assert response.status_code == 503
    assert "nothing was accepted" in response.json()["detail"]
    assert response.headers["retry-after"] == "5"
    assert redis_db.zcard(keys.wire_received()) == 0


def test_copy_refused_with_422_is_not_in_the_outbox(api: str, redis_db: redis.Redis) -> None:
    response = requests.post(
        f"{api}/v1/wire",
        data=b"<nitf><head>unclosed",
        headers={**AUTH, "Content-Type": "application/xml"},
        timeout=10,
    )
    assert response.status_code == 422
    assert redis_db.zcard(keys.quarantine()) == 1
    assert store.outbox_size(redis_db) == 0


def test_an_item_whose_runs_never_finish_is_quarantined(
    api: str, redis_db: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.ingest import tasks

    monkeypatch.setenv("SYNDICATE_INGEST_MAX_RUNS", "2")
    from shared.settings import get_settings

    get_settings.cache_clear()
    response = post(api, sample_copy("poison"))
    wire_id = response.json()["id"]

    # a run that fails in a way the worker lives to see does not count as a crash
    def failing(*_args: object) -> str:
        raise redis.ConnectionError("blip")

    real_process = tasks._process
    monkeypatch.setattr(tasks, "_process", failing)
    for _ in range(3):
        with pytest.raises(redis.ConnectionError):
            tasks.process_wire(wire_id)
    assert int(redis_db.hget(keys.wire(wire_id), "runs") or 0) == 0
    monkeypatch.setattr(tasks, "_process", real_process)

    # two runs started and the worker died in each (as a parser that kills the process would)
    for _ in range(2):
        started = store.get_wire(redis_db, wire_id)
        assert started is not None
        store.begin_run(redis_db, started)
    assert tasks.process_wire(wire_id) == "quarantined"
    item = store.get_wire(redis_db, wire_id)
    assert item is not None and item.status == "quarantined" and item.error is not None
    assert "SYNDICATE_INGEST_MAX_RUNS" in str(item.error["detail"])
    assert wire_id in {i.id for i in store.list_quarantine(redis_db, 10)}
    assert store.outbox_size(redis_db) == 0
    assert tasks.process_wire(wire_id) == "quarantined", "a later delivery changes nothing"


def test_story_events_not_handled_are_sent_again(redis_db: redis.Redis) -> None:
    """Ingest enters its events in render's and publish's outboxes before sending them; each
    consumer's task removes its entry; the sweeper sends again what a lost message left."""
    from services.ingest.tasks import process_wire
    from services.publish.tasks import on_story_event as publish_event
    from services.render.tasks import on_story_event as render_event
    from shared import outbox as events

    body = nitf()
    item = WireItem(
        id="wire_events1",
        received_at=datetime(2026, 6, 1, tzinfo=UTC),
        content_type="application/octet-stream",
        size=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
    )
    store.save_wire(redis_db, item, body)
    assert process_wire(item.id) == "parsed"
    (event_id,) = store.get_wire(redis_db, item.id).event_ids  # type: ignore[union-attr]
    assert events.size(redis_db, "render") == events.size(redis_db, "publish") == 1
    # lost: render's message, and publish's event (taken by a drainer that was then killed)
    redis_db.delete(f"{keys.celery_prefix()}render", keys.publish_events())

    now = time.time()
    assert outbox.sweep_once(redis_db, older_than=5, now=now) == []
    assert queued_event_ids(redis_db, "render") == [], "too young to send again"
    outbox.sweep_once(redis_db, older_than=5, now=now + 6)
    assert queued_event_ids(redis_db, "render") == [event_id]
    assert queued_event_ids(redis_db, "publish") == [event_id]

    event = stories.get_event(redis_db, event_id)
    assert event is not None
    render_event(event.model_dump(mode="json"))
    publish_event(event.model_dump(mode="json"))
    assert events.size(redis_db, "render") == events.size(redis_db, "publish") == 0
