"""Path traversal in feed names, in every encoding: ``..``, ``%2e%2e``, ``%2f``, backslashes,
absolute paths, double encoding, overlong UTF-8, NUL. Feeds live in Redis, not on disk, but a
path that reaches a key it should not (another feed, a file-like name) is still a hole: each of
these is a ``404`` problem (or a ``400`` the server gives to a request line it cannot parse),
never a feed and never a ``5xx``. Requests go out byte for byte (``tests/support/rawhttp.py``):
client libraries would normalise the dots away."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import redis

from shared import feedstore
from shared.redis_server import RedisServer
from shared.settings import get_settings
from tests.integration.security.conftest import serving
from tests.support.rawhttp import request

SECRET_FEED = b"<rss version='2.0'><channel><title>only by its own name</title></channel></rss>"

TRAVERSALS = [
    "/feeds/../feeds/all.rss",
    "/feeds/sections/../all.rss",
    "/feeds/sections/world/../../all.rss",
    "/feeds/./all.rss",
    "/feeds/sections/./world.rss",
    "/feeds/sections/%2e%2e/all.rss",
    "/feeds/sections/%2E%2E/all.rss",
    "/feeds/sections/.%2e/all.rss",
    "/feeds/sections%2f..%2fall.rss",
    "/feeds/sections%2F%2E%2E%2Fall.rss",
    "/feeds/%2e%2e%2fv1%2fstories.json",
    "/feeds/sections/%252e%252e/all.rss",
    "/feeds/sections%252f..%252fall.rss",
    "/feeds/sections/%c0%ae%c0%ae/all.rss",
    "/feeds/sections/%e0%80%ae%e0%80%ae/all.rss",
    "/feeds/sections\\..\\all.rss",
    "/feeds/sections%5c..%5call.rss",
    "/feeds/..\\all.rss",
    "/feeds//etc/passwd.rss",
    "/feeds/%2fetc%2fpasswd.rss",
    "/feeds/%2Fall.rss",
    "/feeds//all.rss",
    "/feeds/C:%5cWindows%5cwin.ini.rss",
    "/feeds/file:%2f%2f%2fetc%2fpasswd.rss",
    "/feeds/all.rss%00.json",
    "/feeds/all%00.rss",
    "/feeds/all.rss/..",
    "/feeds/all.rss/../all.json",
    "/feeds/sections/world/archive/../../../all.rss",
    "/feeds/sections/world/archive/..%2f..%2f..%2fall.rss",
    "/feeds/sections/world/archive/2026-03-04-1/../../world.rss",
    "/feeds/sections/world:all.rss",
    "/feeds/sections/world*.rss",
    "/feeds/%E2%80%AE%2e%2e/all.rss",
    "/feeds/\u2024\u2024/all.rss".encode().decode("latin-1"),
    "/feeds/%ef%bc%8e%ef%bc%8e/all.rss",
    "/feeds/.rss",
    "/feeds/..rss",
    "/feeds/.../all.rss",
]


@pytest.fixture(scope="module")
def feed_host(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The API serving two stored feeds (``all`` and ``sections/world``), nothing else."""
    with serving(redis_server, tmp_path_factory.mktemp("traversal")) as base_url:
        client = redis.Redis.from_url(get_settings().effective_redis_url())
        now = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
        for name in ("all", "sections/world"):
            for fmt, kind in (("rss", "application/rss+xml"), ("json", "application/feed+json")):
                feedstore.save_feed(client, name, fmt, SECRET_FEED, now, kind)
        client.close()
        yield base_url


def test_the_stored_feeds_are_served_by_their_own_names(feed_host: str) -> None:
    for path in ("/feeds/all.rss", "/feeds/sections/world.rss", "/feeds/all.json"):
        answer = request(feed_host, "GET", path)
        assert answer.status == 200 and answer.body == SECRET_FEED, path


@pytest.mark.parametrize("path", TRAVERSALS)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_traversal_is_a_404_problem(feed_host: str, path: str, method: str) -> None:
    answer = request(feed_host, method, path)
    assert answer.status in (400, 404), (path, answer.status, answer.body[:200])
    assert SECRET_FEED not in answer.body
    if answer.status == 404 and method == "GET":
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert json.loads(answer.body)["status"] == 404


@pytest.mark.parametrize(
    "topic",
    [
        "/feeds/../feeds/all.rss",
        "/feeds/sections/%2e%2e/all.rss",
        "/feeds/sections%2f..%2fall.rss",
        "/feeds/sections\\..\\all.rss",
        "/feeds//etc/passwd.rss",
    ],
)
def test_websub_topics_that_traverse_are_denied(feed_host: str, topic: str) -> None:
    """The hub takes the topic as a URL of ours: a traversing one names no feed."""
    from services.publish.websub import topic_feed

    base = get_settings().base_url
    assert topic_feed(f"{base}{topic}", base) is None
