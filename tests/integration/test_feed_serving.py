"""The HTTP side serves the stored bytes as they are (a pending change rendered first); 304s
carry every header a 200 does; Last-Modified has whole seconds and moves on whenever the bytes change, so a client
revalidating with If-Modified-Since alone never gets a wrong 304."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
import redis
import requests

from services.render.index import Index
from shared import feedstore, keys, stories
from shared.settings import get_settings
from tests.support.render import drain, publish
from tests.support.stories import T0, rich_story

IDENTITY = {"Accept-Encoding": "identity"}
HEADERS = ("etag", "last-modified", "cache-control", "link", "vary")


@pytest.fixture
def feeds(api: str, redis_db: redis.Redis, settings_env: pytest.MonkeyPatch) -> str:
    settings_env.setenv("SYNDICATE_FEED_RENDER_WINDOW", "0.01")
    settings_env.setenv("SYNDICATE_FEED_MAX_AGE", "90")
    get_settings.cache_clear()
    publish(redis_db, rich_story(1))
    drain(redis_db)
    return api


def get(url: str, **headers: str) -> requests.Response:
    return requests.get(url, headers=headers, timeout=10)


@pytest.mark.parametrize("path", ["all.atom", "sections/science.rss", "all.json"])
@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_a_304_carries_the_same_validators_caching_and_links(
    feeds: str, path: str, encoding: str
) -> None:
    url = f"{feeds}/feeds/{path}"
    full = get(url, **{"Accept-Encoding": encoding})
    assert full.status_code == 200
    for conditional in (
        {"If-None-Match": full.headers["etag"]},
        {"If-Modified-Since": full.headers["last-modified"]},
    ):
        short = get(url, **{"Accept-Encoding": encoding}, **conditional)
        assert short.status_code == 304, conditional
        assert short.content == b""
        for header in HEADERS:
            assert short.headers.get(header) == full.headers[header], (header, conditional)
        assert 'rel="hub"' in short.headers["link"] and 'rel="self"' in short.headers["link"]
        assert short.headers["cache-control"] == "public, max-age=90"
        assert short.headers["vary"] == "Accept-Encoding"


def test_archive_page_304_has_its_links(
    feeds: str, redis_db: redis.Redis, settings_env: pytest.MonkeyPatch
) -> None:
    settings_env.setenv("SYNDICATE_FEED_SIZE", "1")
    get_settings.cache_clear()
    publish(redis_db, rich_story(2))
    drain(redis_db)
    page = Index(redis_db).newest_page("all")
    assert page is not None
    url = f"{feeds}/feeds/all/archive/{page}.atom"
    full = get(url, **IDENTITY)
    short = get(url, **IDENTITY, **{"If-None-Match": full.headers["etag"]})
    assert short.status_code == 304
    for header in HEADERS:
        assert short.headers[header] == full.headers[header], header
    assert 'rel="current"' in short.headers["link"]


def test_the_handler_serves_the_stored_bytes_verbatim(feeds: str, redis_db: redis.Redis) -> None:
    """Whatever is stored is what is served, byte for byte, even when the stories behind it have
    changed since (a GET never renders: rendering is the render worker's job)."""
    stored_at = datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)
    planted = b"<?xml version='1.0'?><feed>not what the stories would render</feed>\n"
    feedstore.save_feed(redis_db, "all", "atom", planted, stored_at, "application/atom+xml")
    # the story behind the feed changes, and no render runs
    stories.save_version(redis_db, rich_story(1, version=2, headline="Changed", updated=T0))
    response = get(f"{feeds}/feeds/all.atom", **IDENTITY)
    assert response.content == planted
    assert response.headers["etag"] == feedstore.etag_of(planted)
    assert response.headers["last-modified"] == "Wed, 06 May 2026 07:08:09 GMT"
    assert response.headers["content-type"] == "application/atom+xml"
    packed = requests.get(
        f"{feeds}/feeds/all.atom", headers={"Accept-Encoding": "gzip"}, timeout=10, stream=True
    )
    assert packed.raw.read(decode_content=False) == feedstore.compress(planted)
    again = feedstore.load_feed(redis_db, "all", "atom")
    assert again is not None and again.body == planted  # the GET rendered nothing


def test_gzip_bytes_are_made_by_the_first_gzip_read_and_dropped_by_the_next_render(
    feeds: str, redis_db: redis.Redis
) -> None:
    """A render stores no gzip bytes; the first gzip read makes and keeps them; later reads
    serve the kept bytes; a new render drops them with the body they were made from."""
    url = f"{feeds}/feeds/all.atom"
    key = keys.feed("all", "atom")
    when = datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)
    first = b"<?xml version='1.0'?><feed>first</feed>\n" * 20
    feedstore.save_feed(redis_db, "all", "atom", first, when, "application/atom+xml")
    assert redis_db.hget(key, "gzip") is None

    def zipped() -> requests.Response:
        return requests.get(url, headers={"Accept-Encoding": "gzip"}, timeout=10, stream=True)

    answer = zipped()
    assert answer.raw.read(decode_content=False) == feedstore.compress(first)
    assert answer.headers["etag"] == feedstore.gzip_etag_of(feedstore.etag_of(first))
    assert redis_db.hget(key, "gzip") == feedstore.compress(first)
    # kept bytes are served as kept (not compressed again): plant other valid gzip bytes
    planted = gzip.compress(first, compresslevel=1, mtime=0)
    redis_db.hset(key, mapping={"gzip": planted, "gzip_length": len(planted)})
    again = zipped()
    assert again.raw.read(decode_content=False) == planted
    assert again.headers["content-length"] == str(len(planted))
    # HEAD of a render nobody has read compressed yet: the length is that of the gzip bytes
    second = b"<?xml version='1.0'?><feed>second</feed>\n" * 20
    feedstore.save_feed(redis_db, "all", "atom", second, when, "application/atom+xml")
    assert redis_db.hmget(key, ["gzip", "gzip_etag", "gzip_length"]) == [None, None, None]
    head = requests.head(url, headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert head.headers["content-length"] == str(len(feedstore.compress(second)))
    assert head.headers["etag"] == feedstore.gzip_etag_of(feedstore.etag_of(second))
    assert zipped().raw.read(decode_content=False) == feedstore.compress(second)


def test_gzip_bytes_of_a_body_replaced_meanwhile_are_served_but_not_kept(
    redis_db: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A render that lands while a read compresses the older body: the read serves the older
    body's gzip bytes with that body's ETag, and keeps nothing (the newer body has no gzip
    bytes yet, so the next gzip read compresses it)."""
    when = datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)
    old, new = b"<feed>old</feed>", b"<feed>new</feed>"
    feedstore.save_feed(redis_db, "all", "rss", old, when, "application/rss+xml")
    real = feedstore.compress

    def compress_while_a_render_lands(body: bytes) -> bytes:
        feedstore.save_feed(redis_db, "all", "rss", new, when, "application/rss+xml")
        return real(body)

    monkeypatch.setattr(feedstore, "compress", compress_while_a_render_lands)
    loaded = feedstore.load_encoded(redis_db, "all", "rss", "gzip")
    assert loaded is not None
    body, headers = loaded
    assert body == real(old)
    assert headers.etag == feedstore.gzip_etag_of(feedstore.etag_of(old))
    assert headers.length == len(body)
    assert redis_db.hget(keys.feed("all", "rss"), "gzip") is None
    monkeypatch.setattr(feedstore, "compress", real)
    loaded = feedstore.load_encoded(redis_db, "all", "rss", "gzip")
    assert loaded is not None and loaded[0] == real(new)


def test_a_feed_not_yet_rendered_is_rendered_by_the_first_get(
    feeds: str, redis_db: redis.Redis
) -> None:
    # a section that exists in the index (its story's event ran) but has not rendered yet
    publish(redis_db, rich_story(7, section="Unrendered", contributors=[]))
    assert Index(redis_db).feed_info("sections/unrendered") is not None
    assert feedstore.load_feed(redis_db, "sections/unrendered", "rss") is None
    response = get(f"{feeds}/feeds/sections/unrendered.rss")
    assert response.status_code == 200
    assert b"st_7" in response.content
    for fmt in ("rss", "atom", "json"):  # one render stores every format
        assert feedstore.load_feed(redis_db, "sections/unrendered", fmt) is not None
    # a feed that does not exist is still a 404 problem, and renders nothing
    missing = get(f"{feeds}/feeds/sections/never-seen.rss")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


def test_last_modified_moves_on_for_every_change_within_one_second(
    feeds: str, redis_db: redis.Redis
) -> None:
    """Two renders with different bytes whose newest stories are in the same second: the second
    Last-Modified is later, in whole seconds, and If-Modified-Since alone sees the change."""
    start = datetime(2026, 6, 1, 9, 0, 0, tzinfo=UTC)
    url = f"{feeds}/feeds/sections/clock.rss"

    def story(n: int, millis: int) -> object:
        when = start + timedelta(milliseconds=millis)
        return rich_story(n, section="Clock", contributors=[], first_published=when, updated=when)

    publish(redis_db, story(50, 100))  # type: ignore[arg-type]
    drain(redis_db)
    first = get(url, **IDENTITY)
    assert first.headers["last-modified"] == "Mon, 01 Jun 2026 09:00:00 GMT"
    publish(redis_db, story(51, 900))  # type: ignore[arg-type]
    drain(redis_db)
    second = get(url, **IDENTITY)
    assert second.headers["etag"] != first.headers["etag"]
    assert parsedate_to_datetime(second.headers["last-modified"]) > parsedate_to_datetime(
        first.headers["last-modified"]
    )
    # a client holding the first render and only its date gets the new bytes, not a 304
    revalidated = get(url, **IDENTITY, **{"If-Modified-Since": first.headers["last-modified"]})
    assert revalidated.status_code == 200
    assert revalidated.content == second.content
    stored = feedstore.load_feed(redis_db, "sections/clock", "rss")
    assert stored is not None and stored.last_modified.microsecond == 0
