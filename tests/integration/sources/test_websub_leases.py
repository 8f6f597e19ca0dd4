"""The WebSub side of a poll, in this process against hubs on loopback and a Redis database: a
hub at a blocked address is the subscription's error; a failed poll still renews a lease that is
due (and wakes up for one that will be); a hub that drips its answer cannot outlive the source's
time budget (and so the poll's lock and claim)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis

from services.ingest.sources import manage, poll, store
from services.ingest.sources.fetch import http_client
from services.ingest.sources.model import SourceIn, WebSubState
from services.ingest.sources.subscriber import maintain
from services.ingest.sources.websub import Discovery
from shared.settings import get_settings
from tests.conftest import _clear_caches
from tests.support.hub import Hub
from tests.support.upstream import Answer, Upstream, rss
from tests.support.waiting import wait_for

RSS_TYPE = "application/rss+xml; charset=utf-8"


@pytest.fixture
def env(redis_db: redis.Redis, settings_env: pytest.MonkeyPatch, tmp_path: Path) -> redis.Redis:
    settings_env.setenv("SYNDICATE_SOURCE_MIN_INTERVAL_SECONDS", "1")
    settings_env.setenv("SYNDICATE_SOURCE_ALLOWED_NETWORKS", "127.0.0.0/8")
    settings_env.setenv("SYNDICATE_SOURCE_FOLDER_ROOTS", str(tmp_path / "drop"))
    settings_env.setenv("SYNDICATE_PUBLIC_URL", "http://127.0.0.1:9")  # no callback: no checks
    _clear_caches()
    return redis_db


def add(client: redis.Redis, url: str, **fields: Any) -> str:
    fields.setdefault("interval_seconds", 3600)
    return manage.create(client, SourceIn(name="hubbed", url=url, **fields), get_settings()).id


def subscribed(
    client: redis.Redis, source_id: str, hub: str, topic: str, expires_in: float
) -> None:
    """An active subscription, as a verified check of intent leaves it (lease 400 s: renewed
    when 100 s are left)."""
    now = store.redis_now(client)
    state = WebSubState(
        hub=hub,
        topic=topic,
        secret="the-secret-we-gave",
        lease_seconds=400,
        expires_at=now + timedelta(seconds=expires_in),
        verified_at=now,
    )
    store.update_websub(client, source_id, lambda _old: state)


def websub_of(client: redis.Redis, source_id: str) -> dict[str, Any]:
    shown = manage.show(client, source_id, get_settings()).websub
    assert shown is not None
    return shown.model_dump()


def test_a_hub_at_a_blocked_address_is_the_subscriptions_error(
    env: redis.Redis, upstream: Upstream
) -> None:
    link = '<http://169.254.169.254/hub>; rel="hub"'
    body = rss([("m", "Mooring lines hold")])
    url = upstream.serve(
        "/metadata-hub", Answer(200, {"Content-Type": RSS_TYPE, "Link": link}, body)
    )
    source_id = add(env, url)
    report = poll.poll(env, source_id, get_settings(), http_client())
    assert report.outcome == "ok" and report.taken == 1  # the feed itself is fine
    assert report.websub == "subscribe failed"
    websub = websub_of(env, source_id)
    assert websub["state"] == "failed" and websub["hub"] is None
    assert "169.254.169.254" in websub["last_error"] and "cloud metadata" in websub["last_error"]
    assert "SYNDICATE_SOURCE_ALLOWED_NETWORKS" in websub["last_error"]


@pytest.fixture
def hub() -> Iterator[Hub]:
    server = Hub(lease_seconds=400).start()
    yield server
    server.stop()


def test_a_failed_poll_still_renews_a_lease_that_is_due(
    env: redis.Redis, upstream: Upstream, hub: Hub
) -> None:
    """The feed is down but its hub still pushes: letting the lease lapse would stop the pushes
    too. Before, only a successful poll renewed it."""
    url = upstream.serve("/down", Answer(500, {}, b"maintenance"))
    source_id = add(env, url)
    subscribed(env, source_id, hub.url, url, expires_in=60)  # 100 s before the end: due now
    report = poll.poll(env, source_id, get_settings(), http_client())
    assert report.outcome == "error" and report.websub == "subscribe requested"
    # the hub records a request once it has tried to check our intent (nobody answers here)
    (renewal,) = wait_for(lambda: hub.requests_of("subscribe"), timeout=30, message="the request")
    assert renewal.form["hub.topic"] == url
    assert renewal.form["hub.secret"] == "the-secret-we-gave"  # the same subscription, renewed
    assert websub_of(env, source_id)["pending_mode"] == "subscribe"


def test_a_failed_poll_wakes_up_for_the_renewal(
    env: redis.Redis, upstream: Upstream, hub: Hub
) -> None:
    """A backoff (2 h here) longer than the time to the renewal (900 s) must not skip it."""
    url = upstream.serve("/down-long", Answer(503, {}, b"later"))
    source_id = add(env, url)
    subscribed(env, source_id, hub.url, url, expires_in=1000)  # renewal due in 900 s
    report = poll.poll(env, source_id, get_settings(), http_client())
    assert report.outcome == "throttled" and report.websub is None  # not due yet: nothing asked
    assert hub.requests_of("subscribe") == []
    assert report.next_poll_reason == "websub lease renewal"
    due = store.due_at(env, source_id)
    assert due is not None
    assert 880 < (due - store.redis_now(env)).total_seconds() <= 900


@pytest.fixture
def dripping_hub() -> Iterator[str]:
    """A hub that answers its headers at once, then one byte of its body every 0.2 s, for ten
    seconds: every read is quick, only the whole is slow."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            try:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 202 Accepted\r\nContent-Length: 50\r\n\r\n")
                for _ in range(50):
                    if stop.is_set():
                        break
                    conn.sendall(b"x")
                    time.sleep(0.2)
            except OSError:
                pass
            finally:
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/hub"
    stop.set()
    server.close()


def test_a_dripping_hub_cannot_outlive_the_sources_budget(
    env: redis.Redis, dripping_hub: str
) -> None:
    source_id = add(env, "http://127.0.0.1:9/feed", timeout_seconds=1)
    found = Discovery(dripping_hub, "http://127.0.0.1:9/feed")
    started = time.monotonic()
    asked = maintain(
        env, source_id, found, store.redis_now(env), get_settings(), http_client(), budget=1.0
    )
    assert time.monotonic() - started < 3.0  # not the ten seconds the hub would take
    assert asked == "subscribe failed"
    assert "timed out" in websub_of(env, source_id)["last_error"]
