"""Feeds nobody follows render when read (or after SYNDICATE_FEED_LAZY_SECONDS); followed feeds
render at once and are announced; the followed record follows the subscriptions."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import feedparser
import pytest
import redis
import requests

from services.render.dirty import DirtySet
from services.render.documents import FORMATS
from services.render.pump import Pump
from shared import feedstore, keys
from shared.follows import PRESENT, pushed_key
from shared.redis_conn import get_redis
from shared.settings import get_settings
from tests.support.render import feed_updates, publish
from tests.support.stories import rich_story
from tests.support.waiting import wait_for

FOLLOWED = "agencies/reuters"  # rich_story's agency
UNFOLLOWED = ("all", "sections/science", "contributors/ana-lima")


def follow(client: redis.Redis, *feeds: str) -> None:
    client.delete(keys.feeds_followed())
    client.sadd(keys.feeds_followed(), PRESENT, *feeds)


def announced(client: redis.Redis) -> list[str]:
    """The feeds of the ``feed.updated`` messages waiting in publish's queue."""
    return [update.feed for update in feed_updates(client)]


def render_due(client: redis.Redis) -> None:
    from services.render import tasks

    Pump(get_redis, tasks.render_due).run_once()


@pytest.fixture
def lazy(redis_db: redis.Redis, settings_env: pytest.MonkeyPatch) -> redis.Redis:
    settings_env.setenv("SYNDICATE_FEED_RENDER_WINDOW", "0.05")
    settings_env.setenv("SYNDICATE_FEED_LAZY_SECONDS", "60")
    get_settings.cache_clear()
    from services.render.eagerness import FOLLOWED as cache

    cache.seconds = 0  # each test writes its own record: read it every time
    return redis_db


def test_only_followed_feeds_render_at_once_and_only_they_are_announced(
    lazy: redis.Redis,
) -> None:
    follow(lazy, FOLLOWED)
    marked = publish(lazy, rich_story(1))
    assert {FOLLOWED, *UNFOLLOWED} <= set(marked)
    time.sleep(0.06)  # the coalescing window (0.05 s) passes; the lazy delay does not
    render_due(lazy)
    assert feedstore.load_feed(lazy, FOLLOWED, "json") is not None
    for feed in UNFOLLOWED:
        assert feedstore.load_feed(lazy, feed, "json") is None, feed
    assert announced(lazy) == [FOLLOWED]
    seconds, _ = lazy.time()
    for feed in UNFOLLOWED:  # still marked, due a lazy delay after the event
        due = lazy.zscore(keys.feeds_dirty(), feed)
        assert due is not None and due > seconds + 50, feed


def test_a_read_renders_a_pending_change_first(lazy: redis.Redis, api: str) -> None:
    follow(lazy)  # nobody follows anything
    publish(lazy, rich_story(1))
    first = requests.get(f"{api}/feeds/sections/science.json", timeout=10)
    assert first.status_code == 200
    assert [i["id"].rsplit(":", 1)[1] for i in first.json()["items"]] == ["st_1"]
    assert lazy.zscore(keys.feeds_dirty(), "sections/science") is None, "nothing pending now"
    publish(lazy, rich_story(2))
    second = requests.get(f"{api}/feeds/sections/science.json", timeout=10)
    assert [i["id"].rsplit(":", 1)[1] for i in second.json()["items"]] == ["st_2", "st_1"]
    again = requests.get(
        f"{api}/feeds/sections/science.json",
        headers={"If-None-Match": second.headers["etag"]},
        timeout=10,
    )
    assert again.status_code == 304, "nothing pending: the stored bytes stand"
    assert announced(lazy) == [], "a feed nobody follows changes silently"


def test_head_and_gzip_reads_render_a_pending_change_too(lazy: redis.Redis, api: str) -> None:
    follow(lazy)
    publish(lazy, rich_story(1))
    head = requests.head(f"{api}/feeds/contributors/ana-lima.atom", timeout=10)
    assert head.status_code == 200, "a HEAD of a feed never rendered renders it"
    assert lazy.zscore(keys.feeds_dirty(), "contributors/ana-lima") is None
    publish(lazy, rich_story(2))
    zipped = requests.get(
        f"{api}/feeds/contributors/ana-lima.json",
        headers={"Accept-Encoding": "gzip"},
        timeout=10,
    )
    assert zipped.headers["content-encoding"] == "gzip"
    assert [i["id"].rsplit(":", 1)[1] for i in zipped.json()["items"]] == ["st_2", "st_1"]
    assert (
        head.headers["etag"]
        != requests.head(f"{api}/feeds/contributors/ana-lima.atom", timeout=10).headers["etag"]
    ), "the second story is in the stored Atom too"


def test_a_followed_feed_read_before_the_pump_renders_it_is_announced(
    lazy: redis.Redis, api: str
) -> None:
    follow(lazy, FOLLOWED)
    publish(lazy, rich_story(1))
    answer = requests.get(f"{api}/feeds/{FOLLOWED}.json", timeout=10)  # inside the window
    assert answer.status_code == 200
    assert announced(lazy) == [FOLLOWED], "the API's render announces like the pump's"
    time.sleep(0.06)
    render_due(lazy)
    assert announced(lazy) == [FOLLOWED], "and the pump has nothing left to announce"


def test_a_read_waits_for_a_render_in_progress_then_renders_what_came_after(
    lazy: redis.Redis,
) -> None:
    from services.render.onread import render_pending
    from services.render.tasks import render_feed_document

    follow(lazy)
    publish(lazy, rich_story(1))
    dirty = DirtySet(lazy)
    held = dirty.claim_now("all", 30)  # a pump holds it
    assert held
    assert render_pending(lazy, "all", render_feed_document, wait=0.1) == "busy"
    dirty.done("all", held)
    assert render_pending(lazy, "all", render_feed_document) == "current", "done: not pending"
    publish(lazy, rich_story(2))
    assert render_pending(lazy, "all", render_feed_document) == "rendered"
    stored = feedstore.load_feed(lazy, "all", "json")
    assert stored is not None and b"st_2" in stored.body


def test_a_feed_nobody_reads_still_renders_after_the_lazy_delay(
    lazy: redis.Redis, settings_env: pytest.MonkeyPatch
) -> None:
    settings_env.setenv("SYNDICATE_FEED_LAZY_SECONDS", "0.5")
    get_settings.cache_clear()
    follow(lazy)
    publish(lazy, rich_story(1))
    render_due(lazy)
    assert feedstore.load_feed(lazy, "all", "rss") is None, "not yet"

    def rendered() -> bool:
        render_due(lazy)
        return feedstore.load_feed(lazy, "all", "rss") is not None

    wait_for(rendered, timeout=10, interval=0.05, message="the lazy delay to pass")


def test_every_feed_renders_at_once_without_a_record_or_with_lazy_seconds_zero(
    lazy: redis.Redis, settings_env: pytest.MonkeyPatch
) -> None:
    publish(lazy, rich_story(1))  # no record: publish never ran
    time.sleep(0.06)
    render_due(lazy)
    for feed in (FOLLOWED, *UNFOLLOWED):
        assert feedstore.load_feed(lazy, feed, "atom") is not None, feed
    follow(lazy)
    settings_env.setenv("SYNDICATE_FEED_LAZY_SECONDS", "0")
    get_settings.cache_clear()
    publish(lazy, rich_story(2))
    time.sleep(0.06)
    render_due(lazy)
    stored = feedstore.load_feed(lazy, "sections/science", "atom")
    assert stored is not None and b"st_2" in stored.body


def test_a_feed_followed_later_is_announced_at_its_next_render(lazy: redis.Redis) -> None:
    from services.render.onread import render_pending
    from services.render.tasks import render_feed_document

    follow(lazy)
    publish(lazy, rich_story(1))
    assert render_pending(lazy, "all", render_feed_document) == "rendered"
    assert announced(lazy) == []
    follow(lazy, "all")
    publish(lazy, rich_story(1, section="Business"))  # touches "all" again, same bytes or not
    time.sleep(0.06)
    render_due(lazy)
    assert announced(lazy) == ["all"]


def test_the_record_follows_webhooks_and_websub_leases(redis_db: redis.Redis) -> None:
    from services.publish import follows, websub_store
    from services.publish.store import save_subscription
    from services.publish.websub import WebSubSubscription
    from shared.models import Subscription, SubscriptionFilter

    now = datetime.now(UTC)
    assert follows.refresh(redis_db, now) == {PRESENT}

    def hook(n: int, events: list[str], feeds: list[str], disabled: bool = False) -> None:
        save_subscription(
            redis_db,
            Subscription(
                id=f"sub_{n}",
                url="https://partner.example/hook",
                events=events,  # type: ignore[arg-type]
                filter=SubscriptionFilter(feeds=feeds),
                secret="whsec_x",
                created_at=now,
                disabled=disabled,
            ),
        )

    hook(1, ["story.published"], [])  # stories only: follows no feed
    hook(2, ["feed.updated"], ["Sections/Business"])
    hook(3, ["feed.updated"], [], disabled=True)
    assert follows.refresh(redis_db, now) == {PRESENT, "sections/business", "sections/business#*"}

    def websub(n: int, feed: str, expires: datetime) -> None:
        sub = WebSubSubscription(
            id=f"ws_{n}",
            topic=f"http://feeds.test/feeds/{feed}.json",
            feed=feed,
            fmt="json",
            callback="https://reader.example/cb",
            lease_seconds=60,
            expires_at=expires,
            created_at=now,
            verified_at=now,
        )
        redis_db.set(keys.websub_subscription(sub.id), sub.model_dump_json())
        redis_db.zadd(keys.websub_topic(feed, "json"), {sub.id: expires.timestamp()})
        redis_db.sadd(keys.websub_topics(), f"{feed}:json")

    websub(1, "agencies/afp", now + timedelta(minutes=5))
    websub(2, "agencies/dpa", now - timedelta(minutes=5))  # its lease ran out
    assert follows.refresh(redis_db, now) == {
        PRESENT,
        "sections/business",
        "sections/business#*",  # a feed.updated webhook: every format at once
        "agencies/afp",
        "agencies/afp#json",  # the format with a WebSub subscriber: render keeps its diffs
    }
    assert websub_store.active(redis_db, "agencies/afp", "json", now)
    hook(4, ["feed.updated", "story.published"], [])
    assert "*" in follows.refresh(redis_db, now)
    stored = {m.decode() for m in redis_db.smembers(keys.feeds_followed())}
    assert stored == {
        PRESENT,
        "*",
        "sections/business",
        "sections/business#*",
        "agencies/afp",
        "agencies/afp#json",
    }


def follow_formats(client: redis.Redis, feed: str, *formats: str) -> None:
    """The record as publish writes it for WebSub subscribers of ``feed`` in ``formats``."""
    follow(client, feed, *(pushed_key(feed, fmt) for fmt in formats))


def stored(client: redis.Redis, feed: str) -> dict[str, bytes]:
    found = {fmt: feedstore.load_feed(client, feed, fmt) for fmt in FORMATS}
    return {fmt: feed.body for fmt, feed in found.items() if feed is not None}


def test_a_feed_followed_in_json_alone_renders_json_at_once_and_the_rest_when_read(
    lazy: redis.Redis, api: str
) -> None:
    follow_formats(lazy, FOLLOWED, "json")
    publish(lazy, rich_story(1))
    time.sleep(0.06)  # the coalescing window
    render_due(lazy)
    assert set(stored(lazy, FOLLOWED)) == {"json"}, "RSS and Atom wait"
    [update] = feed_updates(lazy)
    assert update.feed == FOLLOWED and set(update.etags) == set(update.urls) == {"json"}
    seconds, _ = lazy.time()
    rest_due = lazy.zscore(keys.feeds_dirty(), FOLLOWED)
    assert rest_due is not None and rest_due > seconds + 50, "the rest due a lazy delay later"

    publish(lazy, rich_story(2))
    time.sleep(0.06)
    render_due(lazy)
    assert b"st_2" in stored(lazy, FOLLOWED)["json"]
    assert set(stored(lazy, FOLLOWED)) == {"json"}
    assert lazy.zscore(keys.feeds_dirty(), FOLLOWED) == rest_due, "not put off by a new render"

    answer = requests.get(f"{api}/feeds/{FOLLOWED}.rss", timeout=10)
    assert answer.status_code == 200
    assert [e.id.rsplit(":", 1)[1] for e in feedparser.parse(answer.content).entries] == [
        "st_2",
        "st_1",
    ]
    assert set(stored(lazy, FOLLOWED)) == set(FORMATS), "a read renders every format"
    assert lazy.hget(keys.feeds_partial(), FOLLOWED) is None
    assert lazy.zscore(keys.feeds_dirty(), FOLLOWED) is None, "nothing left pending"


def test_formats_nobody_is_pushed_still_render_after_the_lazy_delay(
    lazy: redis.Redis, settings_env: pytest.MonkeyPatch
) -> None:
    settings_env.setenv("SYNDICATE_FEED_LAZY_SECONDS", "1")
    get_settings.cache_clear()
    follow_formats(lazy, FOLLOWED, "json", "atom")
    publish(lazy, rich_story(1))
    time.sleep(0.06)
    render_due(lazy)
    assert set(stored(lazy, FOLLOWED)) == {"json", "atom"}

    def every_format() -> bool:
        publish(lazy, rich_story(2, version=len(feed_updates(lazy)) + 1))  # the feed stays busy
        time.sleep(0.06)
        render_due(lazy)
        return set(stored(lazy, FOLLOWED)) == set(FORMATS)

    wait_for(every_format, timeout=10, interval=0.05, message="RSS after the lazy delay")
    assert b"st_2" in stored(lazy, FOLLOWED)["rss"]
    assert lazy.hget(keys.feeds_partial(), FOLLOWED) is None


def test_a_feed_a_webhook_follows_renders_every_format_at_once(lazy: redis.Redis) -> None:
    from services.publish.follows import followed
    from shared.models import Subscription, SubscriptionFilter

    hook = Subscription(
        id="sub_1",
        url="https://partner.example/hook",
        events=["feed.updated"],
        filter=SubscriptionFilter(feeds=[FOLLOWED]),
        secret="whsec_x",
        created_at=datetime.now(UTC),
    )
    members = followed([hook], [(FOLLOWED, "json")])  # and a WebSub subscriber to its JSON
    follow(lazy, *(m for m in members if m != PRESENT))
    publish(lazy, rich_story(1))
    time.sleep(0.06)
    render_due(lazy)
    assert set(stored(lazy, FOLLOWED)) == set(FORMATS)
    [update] = feed_updates(lazy)
    assert set(update.etags) == set(FORMATS), "feed.updated names every format"


def test_a_followed_feed_near_the_size_limit_renders_every_format(
    lazy: redis.Redis, settings_env: pytest.MonkeyPatch
) -> None:
    """Fitting sizes entries by the formats rendered: near the limit all three are rendered,
    so the JSON is the one a full render makes."""
    settings_env.setenv("SYNDICATE_FEED_MAX_BYTES", "20000")
    get_settings.cache_clear()
    follow_formats(lazy, FOLLOWED, "json")
    for n in range(1, 13):
        publish(lazy, rich_story(n))
    time.sleep(0.06)
    render_due(lazy)
    assert len(stored(lazy, FOLLOWED)["json"]) > 10_000, "the test needs a feed near the limit"
    assert set(stored(lazy, FOLLOWED)) == set(FORMATS)


def test_the_pump_writes_no_format_nobody_is_pushed_not_even_for_a_diff(
    lazy: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A WebSub push of JSON needs the feed and its diff in JSON: RSS and Atom are not written
    (their cost was most of a render's)."""
    from services.render import documents

    written: list[str] = []
    for fmt, render in list(documents.RENDERERS.items()):
        monkeypatch.setitem(
            documents.RENDERERS,
            fmt,
            lambda *args, _fmt=fmt, _render=render: written.append(_fmt) or _render(*args),
        )
    follow_formats(lazy, FOLLOWED, "json")
    for n in (1, 2, 3):  # the second and third changes keep a diff
        publish(lazy, rich_story(n))
        time.sleep(0.06)
        render_due(lazy)
    assert lazy.keys(keys.feed_diff(FOLLOWED, "json", "*")), "diffs were kept"
    assert written and set(written) == {"json"}
