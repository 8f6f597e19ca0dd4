"""What a scheduler's poller does when it starts (in this process: the scheduler's own
``Poller``, a Redis database, upstreams on loopback): the schedule it finds is kept (a source
told to wait is not polled early because a scheduler restarted), sources missing from it are put
back, and sources stored under the keys of before the Redis Cluster hash tags are moved once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from services.ingest.sources import manage, store
from services.ingest.sources.fetch import http_client
from services.ingest.sources.model import SourceIn
from services.ingest.sources.poll import poll
from services.ingest.sources.poller import Poller
from shared import keys
from shared.errors import NotFound
from shared.redis_conn import get_redis
from shared.settings import get_settings
from tests.conftest import _clear_caches
from tests.support.upstream import Answer, Upstream, rss
from tests.support.waiting import wait_for

RSS_TYPE = "application/rss+xml; charset=utf-8"


@pytest.fixture
def env(redis_db: redis.Redis, settings_env: pytest.MonkeyPatch, tmp_path: Path) -> redis.Redis:
    settings_env.setenv("SYNDICATE_SOURCE_MIN_INTERVAL_SECONDS", "1")
    settings_env.setenv("SYNDICATE_SOURCE_ALLOWED_NETWORKS", "127.0.0.0/8")
    settings_env.setenv("SYNDICATE_SOURCE_FOLDER_ROOTS", str(tmp_path / "drop"))
    _clear_caches()
    return redis_db


@pytest.fixture
def pollers() -> Iterator[list[Poller]]:
    """Pollers a test starts; all stopped at its end."""
    started: list[Poller] = []
    yield started
    for poller in started:
        poller.stop(timeout=10)


def start_poller(pollers: list[Poller], name: str) -> Poller:
    poller = Poller(get_redis, get_settings(), http_client(), name=name).start()
    pollers.append(poller)
    return poller


def add(client: redis.Redis, url: str, **fields: Any) -> str:
    fields.setdefault("interval_seconds", 1)
    return manage.create(client, SourceIn(name="s", url=url, **fields), get_settings()).id


def test_a_restart_keeps_the_schedule(
    env: redis.Redis, upstream: Upstream, pollers: list[Poller]
) -> None:
    """A source that answered ``Retry-After: 600`` is not polled again because its scheduler
    restarted: the start puts back only what is missing from the schedule."""
    waiting_url = upstream.serve("/wait", Answer(429, {"Retry-After": "600"}, b"not now"))
    waiting = add(env, waiting_url)
    first = start_poller(pollers, "first")
    wait_for(
        lambda: manage.show(env, waiting, get_settings()).health.last_outcome == "throttled",
        timeout=30,
        message="the 429 recorded",
    )
    first.stop(timeout=10)
    due_before = store.due_at(env, waiting)
    assert due_before is not None
    assert (due_before - store.redis_now(env)).total_seconds() > 590

    # a source off the schedule (a crash between writing it and scheduling it)
    lost_url = upstream.serve("/lost", Answer(200, {"Content-Type": RSS_TYPE}, rss([("l", "L")])))
    lost = add(env, lost_url, interval_seconds=3600)
    store.unschedule(env, lost)

    second = start_poller(pollers, "second")
    assert store.due_at(env, waiting) == due_before  # the wait stands
    wait_for(lambda: upstream.hits_of("/lost"), timeout=30, message="the lost source polled")
    assert second.run_once() == 0  # nothing else is due
    assert len(upstream.hits_of("/wait")) == 1


def untag(client: redis.Redis, source_id: str) -> None:
    """Store a source as the code before the hash tags did."""
    for part, tagged in (
        ("", keys.source),
        ("seen", keys.source_seen),
        ("seen-at", keys.source_seen_at),
        ("items", keys.source_items),
    ):
        client.rename(tagged(source_id), keys.source_untagged(source_id, part))


def test_sources_under_the_keys_of_before_are_moved_at_start(
    env: redis.Redis, upstream: Upstream, pollers: list[Poller]
) -> None:
    items = [("o-2", "Two ships pass"), ("o-1", "One ship waits")]
    url = upstream.serve("/old", Answer(200, {"Content-Type": RSS_TYPE}, rss(items)))
    source_id = add(env, url, interval_seconds=3600)
    assert poll(env, source_id, get_settings(), http_client()).taken == 2
    untag(env, source_id)
    with pytest.raises(NotFound):
        manage.show(env, source_id, get_settings())  # the new keys find nothing

    assert store.move_untagged(env) == 1
    assert store.move_untagged(env) == 0  # once: a second start (or scheduler) has nothing to do
    assert not any(env.exists(keys.source_untagged(source_id, p)) for p in ("", "seen", "items"))
    moved = manage.show(env, source_id, get_settings())
    assert moved.url == url and moved.health.items_taken == 2
    assert manage.taken(env, source_id, 10, 0).total == 2
    assert poll(env, source_id, get_settings(), http_client()).taken == 0  # what it saw is kept

    # the poller does it at start, before it reconciles the schedule
    untag(env, source_id)
    store.unschedule(env, source_id)
    start_poller(pollers, "after-upgrade")
    assert manage.show(env, source_id, get_settings()).health.items_taken == 2
    assert store.due_at(env, source_id) is not None
