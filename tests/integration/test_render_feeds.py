"""Render on a real Redis: per-feed indexes, kills and tombstones, archives a reader can walk,
named feeds, rebuilding the indexes. Events go through the real task and dirty set, renders
through the pump's code."""

from __future__ import annotations

import json
from datetime import timedelta

import feedparser
import pytest
import redis
from lxml import etree

from services.render.index import Index
from services.render.onread import render_pending
from shared import feedstore, keys, stories
from shared.settings import get_settings
from tests.support.render import drain, due_now, publish
from tests.support.stories import T0, rich_story

ATOM = "{http://www.w3.org/2005/Atom}"
TOMBSTONE = "{http://purl.org/atompub/tombstones/1.0}deleted-entry"
FEEDS = ["all", "sections/science", "agencies/reuters", "contributors/ana-lima"]


def body(client: redis.Redis, document: str, fmt: str) -> bytes:
    """The stored bytes; an archive page is read as the HTTP side reads it, a pending change
    rendered first (archive pages wait to be read: ``eagerness.py``)."""
    if "/archive/" in document:
        from services.render.tasks import render_feed_document  # needs the test's settings

        render_pending(client, document, render_feed_document)
    stored = feedstore.load_feed(client, document, fmt)
    assert stored is not None, f"{document}.{fmt} was not rendered"
    return stored.body


def ids(client: redis.Redis, document: str, fmt: str = "atom") -> list[str]:
    if fmt == "json":
        return [i["id"].rsplit(":", 1)[1] for i in json.loads(body(client, document, fmt))["items"]]
    parsed = feedparser.parse(body(client, document, fmt))
    assert parsed.bozo == 0
    return [e.id.rsplit(":", 1)[1] for e in parsed.entries]


@pytest.fixture
def client(redis_db: redis.Redis, settings_env: pytest.MonkeyPatch) -> redis.Redis:
    settings_env.setenv("SYNDICATE_FEED_RENDER_WINDOW", "0.05")
    settings_env.setenv("SYNDICATE_PUBLIC_URL", "http://feeds.test")
    get_settings.cache_clear()
    return redis_db


def test_a_story_reaches_every_feed_it_belongs_to(client: redis.Redis) -> None:
    marked = publish(client, rich_story(1))
    assert set(FEEDS) <= set(marked)
    drain(client)
    for feed in FEEDS:
        for fmt in ("rss", "atom", "json"):
            assert ids(client, feed, fmt) == ["st_1"], (feed, fmt)
    other = rich_story(2, section="Sport", contributors=[])
    publish(client, other)
    drain(client)
    assert ids(client, "all") == ["st_2", "st_1"]
    assert ids(client, "sections/science") == ["st_1"]
    assert ids(client, "sections/sport") == ["st_2"]
    names = [info.name for info in Index(client).all_feeds()]
    assert {"sections/sport", "contributors/di-ewa"} <= set(names)


def test_a_killed_story_leaves_every_feed_and_atom_keeps_a_tombstone(client: redis.Redis) -> None:
    publish(client, rich_story(1))
    publish(client, rich_story(2))
    drain(client)
    before = {feed: feedstore.load_feed(client, feed, "rss") for feed in FEEDS}
    killed = rich_story(1, version=2, status="withdrawn", updated=T0 + timedelta(minutes=5))
    publish(client, killed)
    drain(client)
    for feed in FEEDS:
        for fmt in ("rss", "atom", "json"):
            assert "st_1" not in ids(client, feed, fmt), (feed, fmt)
        root = etree.fromstring(body(client, feed, "atom"))
        tombstones = root.findall(TOMBSTONE)
        assert [t.get("ref") for t in tombstones] == ["urn:syndicate:story:st_1"]
        assert tombstones[0].get("when") == "2026-03-04T12:05:00+00:00"
        assert b"deleted-entry" not in body(client, feed, "rss")
        after = feedstore.load_feed(client, feed, "rss")
        old = before[feed]
        assert after is not None and old is not None
        assert after.etag != old.etag
        assert after.last_modified > old.last_modified  # moves forward on a removal too
    # the story is withdrawn: it comes back only with a usable version, and then the tombstone goes
    publish(client, rich_story(1, version=3, updated=T0 + timedelta(minutes=9)))
    drain(client)
    assert "st_1" in ids(client, "sections/science")
    assert etree.fromstring(body(client, "sections/science", "atom")).findall(TOMBSTONE) == []


def test_a_story_that_changes_section_moves_feed(client: redis.Redis) -> None:
    publish(client, rich_story(1))
    drain(client)
    publish(client, rich_story(1, version=2, section="Sport", updated=T0 + timedelta(hours=1)))
    drain(client)
    assert ids(client, "sections/science") == []
    assert ids(client, "sections/sport") == ["st_1"]
    science = etree.fromstring(body(client, "sections/science", "atom"))
    assert [
        t.findtext("{http://purl.org/atompub/tombstones/1.0}comment")
        for t in science.findall(TOMBSTONE)
    ] == ["Removed from this feed"]


def test_unchanged_data_renders_the_same_bytes_and_announces_nothing(client: redis.Redis) -> None:
    publish(client, rich_story(1))
    drain(client)
    first = {fmt: body(client, "all", fmt) for fmt in ("rss", "atom", "json")}
    from services.render.tasks import render_feed_document

    assert render_feed_document("all").changed == ()
    publish(client, rich_story(1))  # the same event again (a redelivered task)
    drain(client)
    assert {fmt: body(client, "all", fmt) for fmt in ("rss", "atom", "json")} == first


def walk(client: redis.Redis, feed: str, fmt: str) -> tuple[list[str], list[str]]:
    """Follow prev-archive from the subscription document; the ids seen and the pages visited."""
    seen, pages = ids(client, feed, fmt), []
    document = body(client, feed, fmt)
    while True:
        if fmt == "json":
            nxt = json.loads(document).get("next_url")
        else:
            parsed = feedparser.parse(document)
            nxt = next((x.href for x in parsed.feed.links if x.rel == "prev-archive"), None)
        if nxt is None:
            return seen, pages
        page = nxt.split("/feeds/", 1)[1].rsplit(".", 1)[0]
        pages.append(page)
        document = body(client, page, fmt)
        seen += ids(client, page, fmt)


@pytest.mark.parametrize("fmt", ["atom", "rss", "json"])
def test_archives_let_a_reader_walk_the_whole_history(
    client: redis.Redis, settings_env: pytest.MonkeyPatch, fmt: str
) -> None:
    settings_env.setenv("SYNDICATE_FEED_SIZE", "3")
    get_settings.cache_clear()
    for n in range(1, 11):
        publish(client, rich_story(n, contributors=[]))
    drain(client)
    assert ids(client, "all", fmt) == ["st_10", "st_9", "st_8"]
    seen, pages = walk(client, "all", fmt)
    assert sorted(set(seen), key=lambda s: int(s[3:])) == [f"st_{n}" for n in range(1, 11)]
    assert pages == [
        "all/archive/2026-03-04-3",
        "all/archive/2026-03-04-2",
        "all/archive/2026-03-04-1",
    ]
    if fmt == "atom":
        page = etree.fromstring(body(client, pages[1], "atom"))
        assert page.find("{http://purl.org/syndication/history/1.0}archive") is not None
        rels = {x.get("rel"): x.get("href") for x in page.findall(f"{ATOM}link")}
        assert rels["current"] == "http://feeds.test/feeds/all.atom"
        assert rels["next-archive"].endswith("/all/archive/2026-03-04-3.atom")
        assert rels["prev-archive"].endswith("/all/archive/2026-03-04-1.atom")
    # a story withdrawn from a closed page leaves that page too
    publish(client, rich_story(2, version=2, status="withdrawn", contributors=[]))
    drain(client)
    assert "st_2" not in walk(client, "all", fmt)[0]


def test_tombstones_expire_and_the_feed_renders_again(
    client: redis.Redis, settings_env: pytest.MonkeyPatch
) -> None:
    settings_env.setenv("SYNDICATE_FEED_TOMBSTONE_SECONDS", "2")
    get_settings.cache_clear()
    publish(client, rich_story(1, contributors=[]))
    drain(client)
    publish(client, rich_story(1, version=2, status="withdrawn", contributors=[]))
    drain(client)
    assert etree.fromstring(body(client, "all", "atom")).findall(TOMBSTONE)
    # the render scheduled itself for when the tombstone expires
    assert client.zscore(keys.feeds_dirty(), "all") is not None

    def expired() -> bool:
        drain(client)
        return not etree.fromstring(body(client, "all", "atom")).findall(TOMBSTONE)

    from tests.support.waiting import wait_for

    wait_for(expired, timeout=30, interval=0.2, message="the tombstone to expire")


def test_named_feeds_are_built_rebuilt_and_dropped_with_the_settings(
    client: redis.Redis, settings_env: pytest.MonkeyPatch
) -> None:
    for n in range(1, 4):
        stories.save_version(client, rich_story(n, section="Science" if n != 2 else "Sport"))
    settings_env.setenv(
        "SYNDICATE_NAMED_FEEDS", '{"lab": {"title": "Lab", "sections": ["science"]}}'
    )
    get_settings.cache_clear()
    from services.render.tasks import reconcile

    reconcile()  # builds every index from the stored stories (none had an event)
    drain_all = render_all(client)
    assert ids(client, "lab") == ["st_3", "st_1"]
    assert ids(client, "sections/sport") == ["st_2"]
    assert drain_all >= 3
    settings_env.setenv("SYNDICATE_NAMED_FEEDS", '{"lab": {"title": "Lab", "sections": ["sport"]}}')
    get_settings.cache_clear()
    reconcile()
    render_all(client)
    assert ids(client, "lab") == ["st_2"]
    settings_env.setenv("SYNDICATE_NAMED_FEEDS", "")
    get_settings.cache_clear()
    reconcile()
    assert feedstore.load_feed(client, "lab", "atom") is None
    assert "lab" not in [info.name for info in Index(client).all_feeds()]


def render_all(client: redis.Redis) -> int:
    from services.render.dirty import DirtySet

    feeds = [info.name for info in Index(client).all_feeds()]
    DirtySet(client).mark(feeds, 0)
    drain(client)
    return len(feeds)


def test_metrics_count_renders_per_feed_and_format(client: redis.Redis) -> None:
    from tests.support.render import counter

    publish(client, rich_story(1, contributors=[]))
    drain(client)
    assert counter(client, "syndicate_feed_renders_total", ["sections/science", "rss"]) == 1
    assert counter(client, "syndicate_feed_renders_total", ["sections/science", "json"]) == 1
    assert due_now(client) == 0


def test_an_empty_feed_is_dated_when_it_was_created_not_1970(client: redis.Redis) -> None:
    from services.render.tasks import render_all_feeds

    render_all_feeds()  # a fresh service: no story yet
    drain(client)
    info = Index(client).feed_info("all")
    assert info is not None and info.created is not None
    updated = etree.fromstring(body(client, "all", "atom")).findtext(f"{ATOM}updated")
    assert updated == info.created and not updated.startswith("1970")
    render_all_feeds()  # a restart keeps the date: the bytes do not change
    drain(client)
    assert etree.fromstring(body(client, "all", "atom")).findtext(f"{ATOM}updated") == updated


def test_last_modified_moves_forward_when_a_removal_leaves_no_newer_date(
    client: redis.Redis, settings_env: pytest.MonkeyPatch
) -> None:
    settings_env.setenv("SYNDICATE_FEED_TOMBSTONE_SECONDS", "0")  # no tombstone to date it
    get_settings.cache_clear()
    publish(client, rich_story(1, contributors=[]))
    publish(client, rich_story(2, contributors=[]))
    drain(client)
    before = feedstore.load_feed(client, "all", "rss")
    publish(client, rich_story(2, version=2, status="withdrawn", contributors=[], updated=T0))
    drain(client)
    after = feedstore.load_feed(client, "all", "rss")
    assert before is not None and after is not None
    assert ids(client, "all", "rss") == ["st_1"]
    assert after.last_modified > before.last_modified


def test_contributor_feeds_share_one_metric_series(client: redis.Redis) -> None:
    """One contributor feed per person ever credited: counted together, so the number of
    series stays bounded by sections, agencies and named feeds."""
    from tests.support.render import counter

    publish(client, rich_story(1))  # four contributors: four contributor feeds
    drain(client)
    renders = "syndicate_feed_renders_total"
    assert counter(client, renders, ["contributors/*", "atom"]) == 4
    assert counter(client, renders, ["contributors/ana-lima", "atom"]) == 0
    labels = [json.loads(field)[0] for field in client.hkeys(keys.metric(renders))]
    assert not [label for label in labels if label.startswith("contributors/") and "*" not in label]
    assert counter(client, renders, ["sections/science", "atom"]) == 1
