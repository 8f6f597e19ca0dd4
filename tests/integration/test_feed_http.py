"""Feeds over real HTTP, served like a good feed host: media types, validators, 304s, gzip with
an ETag per encoding, caching, WebSub discovery, 404 problems, the list."""

from __future__ import annotations

import gzip
import json

import pytest
import redis
import requests

from shared.settings import get_settings
from tests.integration.test_api import assert_problem
from tests.support.render import drain, publish
from tests.support.stories import rich_story

IDENTITY = {"Accept-Encoding": "identity"}
TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}


@pytest.fixture
def feeds(api: str, redis_db: redis.Redis, settings_env: pytest.MonkeyPatch) -> str:
    settings_env.setenv("SYNDICATE_FEED_RENDER_WINDOW", "0.05")
    settings_env.setenv("SYNDICATE_FEED_MAX_AGE", "120")
    get_settings.cache_clear()
    publish(redis_db, rich_story(1))
    drain(redis_db)
    return api


def get(url: str, **headers: str) -> requests.Response:
    return requests.get(url, headers=headers, timeout=10)


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_each_format_with_its_media_type_and_headers(feeds: str, fmt: str) -> None:
    response = get(f"{feeds}/feeds/sections/science.{fmt}", **IDENTITY)
    assert response.status_code == 200
    assert response.headers["content-type"] == TYPES[fmt]
    assert response.headers["cache-control"] == "public, max-age=120"
    assert response.headers["vary"] == "Accept-Encoding"
    assert "content-encoding" not in response.headers
    assert response.headers["last-modified"] == "Wed, 04 Mar 2026 12:01:00 GMT"
    base = get_settings().base_url
    assert response.headers["link"] == (
        f'<{base}/websub>; rel="hub", <{base}/feeds/sections/science.{fmt}>; rel="self"'
    )
    assert b"st_1" in response.content
    etag = response.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert (
        get(
            f"{feeds}/feeds/sections/science.{fmt}", **IDENTITY, **{"If-None-Match": etag}
        ).status_code
        == 304
    )
    assert (
        get(
            f"{feeds}/feeds/sections/science.{fmt}",
            **IDENTITY,
            **{"If-None-Match": f'"x", W/{etag}'},
        ).status_code
        == 304
    )
    assert (
        get(
            f"{feeds}/feeds/sections/science.{fmt}", **IDENTITY, **{"If-None-Match": '"other"'}
        ).status_code
        == 200
    )


def test_gzip_has_its_own_etag_and_length(feeds: str) -> None:
    url = f"{feeds}/feeds/all.atom"
    plain = get(url, **IDENTITY)
    # raw bytes as sent (requests would decompress them)
    packed = requests.get(url, headers={"Accept-Encoding": "gzip"}, timeout=10, stream=True)
    raw = packed.raw.read(decode_content=False)
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.headers["vary"] == "Accept-Encoding"
    assert gzip.decompress(raw) == plain.content
    assert int(packed.headers["content-length"]) == len(raw) < len(plain.content)
    assert packed.headers["etag"] != plain.headers["etag"]
    assert packed.headers["etag"] == plain.headers["etag"][:-1] + '-gzip"'
    # each ETag validates its own encoding only
    gz = {"Accept-Encoding": "gzip"}
    assert get(url, **gz, **{"If-None-Match": packed.headers["etag"]}).status_code == 304
    assert get(url, **IDENTITY, **{"If-None-Match": packed.headers["etag"]}).status_code == 200
    assert get(url, **gz, **{"If-None-Match": plain.headers["etag"]}).status_code == 200
    for accept in ("gzip;q=0", "br", "identity, *;q=0"):
        assert "content-encoding" not in get(url, **{"Accept-Encoding": accept}).headers, accept
    for accept in ("GZIP", "deflate, gzip;q=0.5", "*", "x-gzip"):
        assert get(url, **{"Accept-Encoding": accept}).headers.get("content-encoding") == "gzip", (
            accept
        )


def test_if_modified_since(feeds: str) -> None:
    url = f"{feeds}/feeds/all.rss"
    assert get(url, **{"If-Modified-Since": "Wed, 04 Mar 2026 12:01:00 GMT"}).status_code == 304
    assert get(url, **{"If-Modified-Since": "Thu, 05 Mar 2026 00:00:00 GMT"}).status_code == 304
    assert get(url, **{"If-Modified-Since": "Wed, 04 Mar 2026 12:00:59 GMT"}).status_code == 200
    assert get(url, **{"If-Modified-Since": "not a date"}).status_code == 200
    # If-None-Match wins over If-Modified-Since
    assert (
        get(
            url, **{"If-None-Match": '"x"', "If-Modified-Since": "Thu, 05 Mar 2026 00:00:00 GMT"}
        ).status_code
        == 200
    )


def test_head_has_the_headers_and_no_body(feeds: str) -> None:
    url = f"{feeds}/feeds/all.json"
    full = get(url, **IDENTITY)
    head = requests.head(url, headers=IDENTITY, timeout=10)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(full.content))
    assert head.headers["etag"] == full.headers["etag"]
    head_gz = requests.head(url, headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert head_gz.headers["content-encoding"] == "gzip"
    assert int(head_gz.headers["content-length"]) < len(full.content)


def test_unknown_feeds_are_404_problems(feeds: str) -> None:
    for path in (
        "/feeds/nope.rss",
        "/feeds/sections/nope.atom",
        "/feeds/all.txt",
        "/feeds/all",
        "/feeds/all/archive/2026-03-04-9.atom",
        "/feeds/%2e%2e/%2e%2e/etc/passwd.rss",
        "/feeds/sections%2F..%2F..%2Fall.rss",
        "/feeds/all.rss%00.json",
    ):
        assert_problem(get(f"{feeds}{path}"), 404)


def test_the_feed_list_names_every_feed_in_three_formats(feeds: str) -> None:
    listed = get(f"{feeds}/feeds").json()["feeds"]
    names = [feed["name"] for feed in listed]
    assert names == sorted(names)
    assert {"all", "sections/science", "agencies/reuters", "contributors/ana-lima"} <= set(names)
    science = next(feed for feed in listed if feed["name"] == "sections/science")
    base = get_settings().base_url
    assert science["urls"] == {
        fmt: f"{base}/feeds/sections/science.{fmt}" for fmt in ("rss", "atom", "json")
    }
    assert science["kind"] == "section" and science["title"].endswith("Science")
    for feed in listed:  # every listed URL is served
        for url in feed["urls"].values():
            assert get(url.replace(base, feeds)).status_code == 200, url


def test_metrics_are_exposed_for_prometheus(feeds: str) -> None:
    response = get(f"{feeds}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'syndicate_feed_renders_total{feed="sections/science",format="rss"} 1.0' in text
    assert "# TYPE syndicate_feed_render_seconds histogram" in text
    assert 'syndicate_feed_render_seconds_count{document="subscription"}' in text
    assert 'syndicate_feed_render_seconds_bucket{document="subscription",le="+Inf"}' in text


def test_json_feed_from_http_is_json(feeds: str) -> None:
    assert json.loads(get(f"{feeds}/feeds/all.json").content)["items"][0]["id"].endswith("st_1")
