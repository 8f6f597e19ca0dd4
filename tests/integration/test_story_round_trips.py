"""How many times ingest and render wait on Redis for one story: the story locks go with the
reads and writes they guard (``shared.locks``), so a change that gives a lock round trips of
its own again, or adds one to the path, fails here (counted on the client's connections)."""

from __future__ import annotations

import pytest
import redis

from shared import keys
from shared.settings import get_settings
from tests.integration.test_batches import _event
from tests.integration.test_ingest_versions import nitf, save
from tests.integration.test_publish_round_trips import counted


def test_render_moves_a_new_story_in_six_round_trips(
    redis_db: redis.Redis, settings_env: pytest.MonkeyPatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.render import eagerness
    from services.render.tasks import on_story_event

    settings_env.setenv("SYNDICATE_FEED_RENDER_WINDOW", "0.05")
    get_settings.cache_clear()
    # who follows what is read at most once a second per process: read by the warm-up here
    monkeypatch.setattr(eagerness, "FOLLOWED", eagerness.FollowedCache(seconds=60))
    warm, event = _event(redis_db, 1), _event(redis_db, 2)
    on_story_event(warm.model_dump(mode="json"))  # connections made, followed feeds read
    with counted(monkeypatch) as trips:
        marked = on_story_event(event.model_dump(mode="json"))
    assert "all" in marked
    # the look for a batch; the story; its lock with the feeds it is in; every feed's join
    # with the pages it changes; the feeds it is in now with the lock's release; the marks
    # with the outbox
    assert trips.count == 6, trips.count
    assert not redis_db.exists(keys.story_render_lock(event.story_id or ""))


def test_ingest_stores_a_new_story_in_six_round_trips(
    redis_db: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.ingest.tasks import process_wire

    process_wire(save(redis_db, nitf(extra=b" warm")).id)  # connections made
    redis_db.delete(keys.celery_queue("render"), keys.celery_queue("publish"))
    redis_db.set(keys.publish_drainer(0), "1")  # a drainer of publish's events is running
    item = save(redis_db, nitf(version=4, extra=b" and a ferry"))
    with counted(monkeypatch) as trips:
        assert process_wire(item.id) == "parsed"
    # the item; its run begun; the story's lock with the story; the version with the lock's
    # release; the run's end (record, events, messages, the push to publish's list, metrics,
    # outbox); the look for a batch
    assert trips.count == 6, trips.count

    # with no drainer running, the push wakes one: one more trip, the drain_events message
    redis_db.delete(keys.publish_drainer(0))
    item = save(redis_db, nitf(version=5, extra=b" and a ferry, late"))
    with counted(monkeypatch) as trips:
        assert process_wire(item.id) == "parsed"
    assert trips.count == 7, trips.count
    assert redis_db.exists(keys.publish_drainer(0))
