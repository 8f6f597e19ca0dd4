"""The subscription document holds the newest entries by publication date, whatever order the
copy arrives in; archive pages still let a reader walk the whole history (RFC 5005), a late
story joins the page that covers its date, and pages it does not belong to never change."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta

import pytest
import redis

from shared import feedstore, keys
from shared.settings import get_settings
from tests.integration.test_render_feeds import body, ids, walk
from tests.support.render import drain, publish
from tests.support.stories import T0, rich_story


@pytest.fixture
def client(redis_db: redis.Redis, settings_env: pytest.MonkeyPatch) -> redis.Redis:
    settings_env.setenv("SYNDICATE_FEED_RENDER_WINDOW", "0.01")
    settings_env.setenv("SYNDICATE_PUBLIC_URL", "http://feeds.test")
    settings_env.setenv("SYNDICATE_FEED_SIZE", "3")
    get_settings.cache_clear()
    return redis_db


def dated(n: int, when: timedelta) -> object:
    return rich_story(n, contributors=[], first_published=T0 + when, updated=T0 + when)


def test_late_old_copy_does_not_push_todays_stories_out(client: redis.Redis) -> None:
    for n in range(1, 4):
        publish(client, rich_story(n, contributors=[]))  # today, 12:01 to 12:03
    for n in range(101, 104):  # a backfill of week-old copy arrives afterwards
        publish(client, dated(n, timedelta(days=-7, minutes=n)))  # type: ignore[arg-type]
    drain(client)
    for fmt in ("rss", "atom", "json"):
        assert ids(client, "all", fmt) == ["st_3", "st_2", "st_1"], fmt
        seen, _ = walk(client, "all", fmt)
        assert set(seen) == {"st_1", "st_2", "st_3", "st_101", "st_102", "st_103"}, fmt


@pytest.mark.parametrize("fmt", ["atom", "json"])
def test_any_arrival_order_gives_the_newest_first_and_a_walk_reaches_every_story(
    client: redis.Redis, fmt: str
) -> None:
    numbers = list(range(1, 15))
    random.Random(4).shuffle(numbers)
    for n in numbers:
        publish(client, dated(n, timedelta(hours=n)))  # type: ignore[arg-type]
    drain(client)
    assert ids(client, "all", fmt) == ["st_14", "st_13", "st_12"]
    seen, pages = walk(client, "all", fmt)
    assert {f"st_{n}" for n in numbers} == set(seen)
    # walking back goes back in time: every page is older than the one before it
    newest_first = [int(story[3:]) for story in seen[3:]]
    starts = [0]
    for page in pages:
        starts.append(starts[-1] + len(ids(client, page, fmt)))
    chunks = [newest_first[a:b] for a, b in itertools.pairwise(starts)]
    for newer, older in itertools.pairwise(chunks):
        assert min(newer) > max(older), chunks


def test_a_late_story_joins_the_page_of_its_date_and_other_pages_stay(client: redis.Redis) -> None:
    for n in range(1, 10):  # 9 stories an hour apart: three closed pages of three
        publish(client, dated(n, timedelta(hours=n)))  # type: ignore[arg-type]
    drain(client)
    _, pages = walk(client, "all", "atom")
    assert len(pages) == 3
    before = {page: body(client, page, "atom") for page in pages}
    by_page = {page: ids(client, page, "atom") for page in pages}
    # st_50 is dated between st_4 and st_5; st_60 is older than anything the feed holds
    middle = next(page for page, held in by_page.items() if "st_5" in held)
    first = next(page for page, held in by_page.items() if "st_1" in held)
    publish(client, dated(50, timedelta(hours=4, minutes=30)))  # type: ignore[arg-type]
    publish(client, dated(60, timedelta(hours=-5)))  # type: ignore[arg-type]
    drain(client)
    assert ids(client, "all") == ["st_9", "st_8", "st_7"]
    assert "st_50" in ids(client, middle) and "st_60" in ids(client, first)
    for page in set(pages) - {middle, first}:
        assert body(client, page, "atom") == before[page], page  # untouched
    seen, pages_after = walk(client, "all", "atom")
    assert pages_after == pages
    assert {"st_50", "st_60"} <= set(seen)


def test_the_subscription_document_holds_feed_size_entries(client: redis.Redis) -> None:
    for n in range(1, 6):
        publish(client, dated(n, timedelta(hours=n)))  # type: ignore[arg-type]
    drain(client)
    stored = feedstore.load_feed(client, "all", "json")
    assert stored is not None
    assert ids(client, "all", "json") == ["st_5", "st_4", "st_3"]


def test_pages_are_named_after_the_date_of_their_newest_story(
    client: redis.Redis, settings_env: pytest.MonkeyPatch
) -> None:
    """The page label's date is worked out inside Redis (Lua): checked across awkward dates."""
    from datetime import UTC, datetime

    settings_env.setenv("SYNDICATE_FEED_SIZE", "1")  # every story closes a page of its own
    get_settings.cache_clear()
    dates = [
        datetime(1969, 12, 31, 23, 59, tzinfo=UTC),
        datetime(2000, 2, 29, 0, 0, tzinfo=UTC),
        datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(2026, 3, 1, 0, 0, 1, tzinfo=UTC),
        datetime(2100, 3, 1, 12, tzinfo=UTC),
    ]
    for n, when in enumerate(dates, start=1):
        publish(client, rich_story(n, contributors=[], first_published=when, updated=when))
    from services.render.index import Index

    labels = [label.decode() for label in client.zrange(keys.feed_pages("all"), 0, -1)]
    assert labels == [f"{when.date().isoformat()}-{n}" for n, when in enumerate(dates, start=1)]
    assert Index(client).newest_page("all") == labels[-1]


def test_an_upgrade_moves_marks_and_tombstones_and_rebuilds_the_index(
    client: redis.Redis,
) -> None:
    import time

    from services.render.index import Index
    from services.render.tasks import INDEX_VERSION, reconcile
    from shared import stories

    for n in range(1, 8):
        stories.save_version(client, dated(n, timedelta(hours=n)))  # type: ignore[arg-type]
    # what index version 1 left: un-tagged per-feed keys, the old dirty set, its state
    client.hset(keys.render_state(), "index_version", "1")
    client.hset(keys.feed_registry(), "all", '{"name": "all", "kind": "all", "label": "all"}')
    expiry = time.time() + 3600
    client.zadd(keys.legacy_feed_index("all", "tombstones"), {"st_gone": expiry})
    client.zadd(keys.legacy_feed_index("all", "entries"), {"st_1": 1})
    client.set(keys.legacy_feed_index("all", "seq"), 1)
    client.zadd(keys.legacy_feeds_dirty(), {"sections/old": 5.0})
    reconcile()
    assert client.hget(keys.render_state(), "index_version") == INDEX_VERSION.encode()
    for part in ("entries", "seq", "pages", "tombstones"):
        assert not client.exists(keys.legacy_feed_index("all", part)), part
    assert not client.exists(keys.legacy_feeds_dirty())
    assert client.zscore(keys.feeds_dirty(), "sections/old") == 5.0
    assert client.zscore(keys.feed_tombstones("all"), "st_gone") == pytest.approx(expiry)
    assert Index(client).newest_ids("all", 3) == ["st_7", "st_6", "st_5"]
    # the archive pages the rebuild made are marked, so they render without waiting for an event
    pages = [label.decode() for label in client.zrange(keys.feed_pages("all"), 0, -1)]
    assert pages and all(
        client.zscore(keys.feeds_dirty(), f"all/archive/{page}") is not None for page in pages
    )


def test_an_update_marks_the_page_it_is_in_and_a_moved_date_the_page_it_left_too(
    client: redis.Redis,
) -> None:
    for n in range(1, 10):  # three closed pages of three
        publish(client, dated(n, timedelta(hours=n)))  # type: ignore[arg-type]
    drain(client)
    _, pages = walk(client, "all", "atom")
    by_page = {page: ids(client, page, "atom") for page in pages}

    def page_of(story_id: str) -> str:
        return next(page for page, held in by_page.items() if story_id in held)

    edited = rich_story(
        2, version=2, contributors=[], first_published=T0 + timedelta(hours=2), updated=T0
    )
    marked = set(publish(client, edited))
    assert page_of("st_2") in marked, "an update of a story in a closed page renders that page"
    assert marked & set(pages) == {page_of("st_2")}, "and no other page"
    moved = rich_story(
        2, version=3, contributors=[], first_published=T0 + timedelta(hours=5, minutes=30)
    )
    marked = set(publish(client, moved))
    assert {page_of("st_2"), page_of("st_5")} <= marked, "the page it left and the one it joins"
    drain(client)
    assert "st_2" not in ids(client, page_of("st_2")) and "st_2" in ids(client, page_of("st_5"))
