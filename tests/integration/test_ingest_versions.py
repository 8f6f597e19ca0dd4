"""The ingest task on a real Redis (its own database), run in-process without a worker: versions,
corrections, kills, withheld stories, stale copies and the unparsed-credit counter.

The task's own code is called directly (it is a plain function under the Celery decorator); the
events it sends go to the broker queues in this database, where no worker takes them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from services.ingest import store
from shared import keys, stories
from shared.ids import random_id
from shared.models import WireItem
from shared.redis_server import RedisServer
from tests.conftest import CORPUS, DB_INGEST_TASK, _clear_caches, redis_url

DATA = Path(__file__).parents[1] / "data" / "formats"


@pytest.fixture
def task_db(redis_server: RedisServer, settings_env: pytest.MonkeyPatch) -> Iterator[redis.Redis]:
    settings_env.setenv("SYNDICATE_REDIS_URL", redis_url(redis_server, DB_INGEST_TASK))
    client = redis.Redis.from_url(redis_url(redis_server, DB_INGEST_TASK))
    client.flushdb()
    _clear_caches()
    yield client
    client.flushdb()
    client.close()


def save(
    client: redis.Redis, body: bytes, content_type: str = "application/octet-stream"
) -> WireItem:
    """Store ``body`` as accepted copy, as the API does (no task sent)."""
    item = WireItem(
        id=random_id("wire"),
        received_at=datetime(2026, 6, 1, tzinfo=UTC),
        content_type=content_type,
        size=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
    )
    store.save_wire(client, item, body)
    return item


def ingest(
    client: redis.Redis, body: bytes, content_type: str = "application/octet-stream"
) -> WireItem:
    item = save(client, body, content_type)
    from services.ingest.tasks import process_wire  # after the settings point at this database

    process_wire(item.id)
    done = store.get_wire(client, item.id)
    assert done is not None
    return done


def event_types(client: redis.Redis, item: WireItem) -> list[str]:
    return [e.type for e in (stories.get_event(client, i) for i in item.event_ids) if e]


def nitf(status: str = "usable", version: int = 3, extra: bytes = b"") -> bytes:
    copy = (DATA / "nitf.xml").read_bytes()
    copy = copy.replace(b'management-status="usable"', f'management-status="{status}"'.encode())
    copy = copy.replace(b'version="3"', f'version="{version}"'.encode())
    return copy.replace(b"Fares stay the same", b"Fares stay the same" + extra)


def test_update_correction_stale_and_kill_of_one_story(task_db: redis.Redis) -> None:
    first = ingest(task_db, nitf())
    assert first.status == "parsed" and event_types(task_db, first) == ["story.published"]
    (story_id,) = first.story_ids

    same = ingest(task_db, nitf())
    assert same.status == "duplicate" and same.story_ids == [story_id] and same.event_ids == []

    update = ingest(task_db, nitf(version=4, extra=b" and into winter"))
    assert event_types(task_db, update) == ["story.updated"]

    correction = nitf(version=5, extra=b" after all").replace(
        b"<date.issue", b'<correction info="Corrects the month." id-string="c"/><date.issue'
    )
    corrected = ingest(task_db, correction)
    assert event_types(task_db, corrected) == ["story.corrected"]
    story = stories.get_story(task_db, story_id)
    assert story is not None and story.correction == "Corrects the month."

    stale = ingest(task_db, nitf(version=2, extra=b" (old)"))
    assert stale.status == "stale" and stale.event_ids == []

    killed = ingest(task_db, nitf(status="canceled", version=6))
    assert event_types(task_db, killed) == ["story.killed"]
    versions = stories.list_versions(task_db, story_id)
    assert [v.version for v in versions] == [1, 2, 3, 4]
    assert [v.status for v in versions][-1] == "withdrawn"
    assert versions[0].first_published == versions[-1].first_published


def test_withheld_story_is_held_until_released(task_db: redis.Redis) -> None:
    held = ingest(task_db, nitf(status="withheld"))
    assert held.status == "parsed" and held.event_ids == []
    (story_id,) = held.story_ids
    story = stories.get_story(task_db, story_id)
    assert story is not None and story.status == "withheld"
    released = ingest(task_db, nitf(version=4))
    assert event_types(task_db, released) == ["story.published"]
    story = stories.get_story(task_db, story_id)
    assert story is not None and (story.status, story.version) == ("usable", 2)


def test_a_message_of_several_items_is_several_stories(task_db: redis.Redis) -> None:
    item = ingest(task_db, (DATA / "newsml_g2_message.xml").read_bytes())
    assert len(item.story_ids) == 2
    # the first is new (published); the withheld one is stored and announced to nobody
    assert event_types(task_db, item) == ["story.published"]
    statuses = [s.status for s in stories.get_many(task_db, item.story_ids)]
    assert statuses == ["usable", "withheld"]


def test_an_unparsed_credit_line_is_kept_counted_and_the_story_still_goes_out(
    task_db: redis.Redis,
) -> None:
    copy = (
        b"Harbour cranes replaced after fifty years of service\n\n"
        b"ABERDEEN, May 2 (Reuters) - The port replaced its cranes.\n\n"
        b"(Reporting by the staff of three newspapers in 2026)\n"
    )
    item = ingest(task_db, copy, "text/plain")
    assert event_types(task_db, item) == ["story.published"]
    story = stories.get_story(task_db, item.story_ids[0])
    assert story is not None and story.contributors == []
    assert story.credit_line == "(Reporting by the staff of three newspapers in 2026)"
    assert int(task_db.get(keys.credit_lines_unparsed()) or 0) == 1


def test_xml_of_no_known_vocabulary_is_quarantined_with_its_reason(task_db: redis.Redis) -> None:
    item = ingest(task_db, b"<?xml version='1.0'?><unknown-root/>", "application/xml")
    assert item.status == "quarantined"
    assert item.error is not None and "unknown-root" in item.error["detail"]


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is not here")
def test_reuters_corrected_then_canceled(task_db: redis.Redis) -> None:
    folder = CORPUS / "superdesk"
    corrected = ingest(
        task_db, (folder / "reuters_L1N14N0FF_v978556838_corrected.xml").read_bytes()
    )
    canceled = ingest(task_db, (folder / "reuters_L1N14N0FF_v1542761538_canceled.xml").read_bytes())
    assert corrected.story_ids == canceled.story_ids
    assert event_types(task_db, canceled) == ["story.killed"]


def queued_event_ids(client: redis.Redis, queue: str) -> list[str]:
    """Event ids of the story events waiting on a broker queue, or for publish in its list of
    story events, oldest first (no worker runs in these tests)."""
    import base64
    import json

    found = []
    if queue == "publish":
        waiting = client.lrange(keys.publish_events(), 0, -1)
        found += [json.loads(raw)["id"] for raw in reversed(waiting)]
    for raw in client.lrange(f"{keys.celery_prefix()}{queue}", 0, -1):
        message = json.loads(raw)
        args = json.loads(base64.b64decode(message["body"]))[0]
        found += [a["id"] for a in args if isinstance(a, dict) and "id" in a]
    return found


def test_a_story_stored_before_a_crash_is_finished_and_its_event_sent_again(
    task_db: redis.Redis,
) -> None:
    """The worker died after storing the story version but before finishing the wire item: the
    redelivered task recognises the version as this item's and sends its event, same id."""
    from services.ingest import tasks
    from services.ingest.formats import ParseContext, parse

    body = nitf()
    item = save(task_db, body)
    processing = store.update_wire(task_db, item, status="processing")
    (draft,) = parse(body, ParseContext(received=item.received_at))
    story_id = tasks.story_id_for(draft)
    partial = tasks._decide_and_store(
        task_db, processing, story_id, draft, datetime(2026, 6, 1, tzinfo=UTC)
    )
    assert partial.event is not None and stories.get_story(task_db, story_id) is not None
    assert queued_event_ids(task_db, "render") == []  # the crash: nothing was sent

    assert tasks.process_wire(item.id) == "parsed"
    done = store.get_wire(task_db, item.id)
    assert done is not None and done.event_ids == [partial.event.id]
    assert queued_event_ids(task_db, "render") == [partial.event.id]
    assert queued_event_ids(task_db, "publish") == [partial.event.id]
    assert [v.version for v in stories.list_versions(task_db, story_id)] == [1]

    # run once more (the task redelivered again): the same event again, nothing new stored
    assert tasks.process_wire(item.id) == "parsed"
    assert queued_event_ids(task_db, "render") == [partial.event.id] * 2
    assert [v.version for v in stories.list_versions(task_db, story_id)] == [1]


def test_the_first_version_again_after_an_update_changes_nothing(task_db: redis.Redis) -> None:
    def copy(flag: str = "", extra: bytes = b"") -> bytes:
        return (
            flag.encode() + b"Keepers return to island after storm season\n\n"
            b"OSLO, March 4 (Reuters) - Two keepers returned." + extra + b"\n"
        )

    first = ingest(task_db, copy(), "text/plain")
    update = ingest(task_db, copy("UPDATE 2-", b" More detail."), "text/plain")
    again = ingest(task_db, copy(), "text/plain")
    edited = ingest(task_db, copy(extra=b" Edited."), "text/plain")
    refile = ingest(task_db, copy("REFILE-UPDATE 2-", b" More detail."), "text/plain")
    assert [first.status, update.status, again.status, edited.status, refile.status] == [
        "parsed",
        "parsed",
        "duplicate",
        "stale",
        "duplicate",
    ]
    (story_id,) = first.story_ids
    versions = stories.list_versions(task_db, story_id)
    assert [v.body[0].text for v in versions] == [
        "Two keepers returned.",
        "Two keepers returned. More detail.",
    ]
