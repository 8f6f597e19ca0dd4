"""Coalescing on a real Redis: marks are never lost, a document renders at most once per window,
and a burst of 500 stories into one section causes a handful of renders of it, not 500."""

from __future__ import annotations

import time

import pytest
import redis

from services.render.dirty import DirtySet
from services.render.pump import Pump
from shared import keys
from shared.redis_conn import get_redis
from shared.settings import get_settings
from tests.support.render import counter, due_now, publish
from tests.support.stories import rich_story
from tests.support.waiting import wait_for


def test_many_marks_make_one_due_document(redis_db: redis.Redis) -> None:
    dirty = DirtySet(redis_db)
    dirty.mark(["a", "b"], 0.3)
    first = redis_db.zscore(keys.feeds_dirty(), "a")
    for _ in range(20):
        dirty.mark(["a"], 0.3)  # later marks never push the due time back
    assert redis_db.zscore(keys.feeds_dirty(), "a") == first
    assert dirty.pending() == 2
    assert dirty.claim(10, 30) == []  # not due yet
    claimed = wait_for(lambda: dirty.claim(10, 30), timeout=10, message="the window to pass")
    assert sorted(doc for doc, _ in claimed) == ["a", "b"]
    assert all(dirty.done(doc, lease) for doc, lease in claimed)
    assert dirty.pending() == 0


def test_a_mark_during_a_render_makes_it_render_again(redis_db: redis.Redis) -> None:
    dirty = DirtySet(redis_db)
    dirty.mark(["a"], 0)
    [(doc, lease)] = dirty.claim(10, 30)
    dirty.mark(["a"], 0.2)  # an event arrives while "a" renders
    assert dirty.done(doc, lease) is False
    assert wait_for(lambda: dirty.claim(10, 30), timeout=10, message="the new mark")[0][0] == "a"


def test_a_renderer_that_dies_loses_no_mark(redis_db: redis.Redis) -> None:
    dirty = DirtySet(redis_db)
    dirty.mark(["a"], 0)
    assert [doc for doc, _ in dirty.claim(10, lease=0.5)] == ["a"]
    # the renderer dies here: no done(); the lease expires and another renderer gets it
    assert dirty.claim(10, 30) == []
    again = wait_for(lambda: dirty.claim(10, 30), timeout=10, message="the lease to expire")
    assert [doc for doc, _ in again] == ["a"]


def test_done_can_keep_a_document_due_later(redis_db: redis.Redis) -> None:
    dirty = DirtySet(redis_db)
    dirty.mark(["a"], 0)
    [(doc, lease)] = dirty.claim(10, 30)
    later = time.time() + 3600
    assert dirty.done(doc, lease, next_due=later)
    assert redis_db.zscore(keys.feeds_dirty(), "a") == pytest.approx(later)


def test_a_burst_into_one_section_renders_it_a_handful_of_times(
    redis_db: redis.Redis, settings_env: pytest.MonkeyPatch
) -> None:
    from services.render.tasks import render_feed_document

    window = 0.25
    settings_env.setenv("SYNDICATE_FEED_RENDER_WINDOW", str(window))
    get_settings.cache_clear()
    publish(redis_db, rich_story(0, section="Quiet", contributors=[]))  # another section
    pump = Pump(get_redis, render_feed_document, poll=0.01).start()
    try:
        wait_for(
            lambda: counter(redis_db, "syndicate_feed_renders_total", ["sections/quiet", "rss"]),
            timeout=30,
            message="the first render",
        )
        quiet_before = counter(redis_db, "syndicate_feed_renders_total", ["sections/quiet", "rss"])
        started = time.monotonic()
        for n in range(1, 501):
            publish(redis_db, rich_story(n, section="Burst", contributors=[]))
        burst_seconds = time.monotonic() - started

        def renders() -> float:
            return counter(redis_db, "syndicate_feed_renders_total", ["sections/burst", "rss"])

        def settled() -> bool:  # archive pages wait to be read (a lazy delay): not counted
            return bool(renders()) and due_now(redis_db) == 0

        wait_for(settled, timeout=60, message="the burst to render")
    finally:
        pump.stop()
    # at most one render per window while the burst lasted, plus the one after it
    assert 1 <= renders() <= burst_seconds / window + 2, (renders(), burst_seconds)
    assert renders() < 50
    # feeds no event touched did not render again
    assert (
        counter(redis_db, "syndicate_feed_renders_total", ["sections/quiet", "rss"]) == quiet_before
    )
    marks = counter(redis_db, "syndicate_feed_marks_total", [])
    assert marks >= 500 * 3  # all, the section and the agency, for every story
    from shared import feedstore

    stored = feedstore.load_feed(redis_db, "sections/burst", "atom")
    assert stored is not None and b"st_500" in stored.body and b"st_450<" not in stored.body
