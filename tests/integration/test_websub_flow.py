"""WebSub distribution step by step, in-process (real Redis, a real callback on loopback, the
clock passed in): retries on the durable schedule, a lease that ends while a retry waits, and
the SSRF guard when intent is verified and when content is distributed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis

from services.publish import attempts, fanout, schedule, store, websub_store
from services.publish.websub import (
    Intent,
    WebSubSubscription,
    hub_signature,
    subscription_from,
    subscription_id_for,
)
from services.publish.websub_verify import verify
from shared.ids import random_id
from shared.models import FeedUpdate
from shared.settings import Settings, get_settings
from tests.support.events import Injector
from tests.support.receiver import Received
from tests.support.websub_callback import Callback

T0 = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(autouse=True)
def _fresh_clock() -> None:
    """Each test's clock starts when it runs: signatures made at T0 must still be fresh for
    verifiers (they refuse timestamps older than five minutes) however long the suite takes."""
    global T0
    T0 = datetime.now(UTC).replace(microsecond=0)


RSS = "application/rss+xml; charset=utf-8"


def configure(env: pytest.MonkeyPatch, *, allow_loopback: bool = True) -> Settings:
    if allow_loopback:
        env.setenv("SYNDICATE_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8")
    env.setenv("SYNDICATE_WEBHOOK_RETRY_SCHEDULE", "0,5,5")
    get_settings.cache_clear()
    return get_settings()


def intent_for(settings: Settings, callback_url: str, lease: int = 600, **kw: str) -> Intent:
    return Intent(
        id=random_id("wsi"),
        subscription_id=subscription_id_for("all", "rss", callback_url),
        mode="subscribe",
        topic=f"{settings.base_url}/feeds/all.rss",
        feed="all",
        fmt="rss",
        callback=callback_url,
        lease_seconds=lease,
        requested_at=T0,
        **kw,  # type: ignore[arg-type]
    )


def subscribed(
    client: redis.Redis, settings: Settings, callback_url: str, lease: int = 600
) -> WebSubSubscription:
    """An active subscription (verified at T0), as verification of intent leaves it."""
    intent = intent_for(settings, callback_url, lease, secret="k")
    websub_store.save_intent(client, intent)
    subscription = subscription_from(intent, T0, None)
    assert websub_store.apply_intent(client, intent, subscription)
    return subscription


def feed_changes(settings: Settings, body: bytes) -> FeedUpdate:
    injector = Injector(settings.effective_redis_url())
    try:
        return injector.feed(settings.base_url, "all", "rss", body, RSS, send=False)
    finally:
        injector.close()


def test_a_failing_callback_is_retried_on_the_durable_schedule_then_succeeds(
    redis_db: redis.Redis, settings_env: pytest.MonkeyPatch, callback: Callback
) -> None:
    settings = configure(settings_env)
    answers = [500]
    callback.respond = lambda got: (
        (answers.pop(0) if answers else 200, b"x") if got.method == "POST" else (200, b"")
    )
    subscribed(redis_db, settings, callback.url)
    (d,) = fanout.feed_update(redis_db, feed_changes(settings, b"<rss>1</rss>"), T0)

    assert attempts.run(redis_db, d, T0, settings).status == "retry"
    pending = store.get_delivery(redis_db, d)
    assert pending is not None and pending.channel == "websub" and pending.state == "pending"
    assert pending.attempts[0].status_code == 500 and pending.attempts[0].at == T0
    assert pending.next_attempt_at is not None
    assert 4.5 <= (pending.next_attempt_at - T0).total_seconds() <= 6.5
    assert schedule.due_at(redis_db, d) == pending.next_attempt_at.timestamp(), "in Redis"
    assert schedule.take_due(redis_db, T0 + timedelta(seconds=1), 30) == []

    later = pending.next_attempt_at
    assert schedule.take_due(redis_db, later, 30) == [d]
    assert attempts.run(redis_db, d, later, settings).status == "succeeded"
    posts: list[Received] = callback.contents()
    assert [p.body for p in posts] == [b"<rss>1</rss>"] * 2
    assert all(p.headers["X-Hub-Signature"] == hub_signature("k", b"<rss>1</rss>") for p in posts)
    assert schedule.due_at(redis_db, d) is None


def test_a_pending_distribution_whose_lease_ends_before_its_retry_is_dropped(
    redis_db: redis.Redis, settings_env: pytest.MonkeyPatch, callback: Callback
) -> None:
    settings = configure(settings_env)
    callback.respond = lambda got: (500, b"no") if got.method == "POST" else (200, b"")
    sub = subscribed(redis_db, settings, callback.url, lease=3)
    (d,) = fanout.feed_update(redis_db, feed_changes(settings, b"<rss>2</rss>"), T0)
    assert attempts.run(redis_db, d, T0, settings).status == "retry"
    retry_at = store.get_delivery(redis_db, d).next_attempt_at  # type: ignore[union-attr]
    assert retry_at is not None and sub.expires_at < retry_at, "the lease ends first"

    assert attempts.run(redis_db, d, retry_at, settings).status == "failed"
    ended = store.get_delivery(redis_db, d)
    assert ended is not None and "lease ended" in (ended.reason or "")
    assert len(callback.contents()) == 1, "nothing went out after the lease"
    assert schedule.due_at(redis_db, d) is None


def test_the_ssrf_guard_refuses_a_callback_at_verification(
    redis_db: redis.Redis, settings_env: pytest.MonkeyPatch, callback: Callback
) -> None:
    settings = configure(settings_env, allow_loopback=False)  # allowed when asked, not now
    for url, words in (
        (callback.url, ["127.0.0.0/8", "loopback"]),
        ("http://10.0.0.1/cb", ["10.0.0.0/8", "private network"]),
    ):
        intent = intent_for(settings, url)
        websub_store.save_intent(redis_db, intent)
        assert verify(redis_db, intent.id, T0, settings, "chal") == "failed"
        done = websub_store.get_intent(redis_db, intent.id)
        assert done is not None and (done.detail or "").startswith("refused by the SSRF guard")
        for word in [*words, "SYNDICATE_WEBHOOK_ALLOWED_NETWORKS"]:
            assert word in (done.detail or ""), (word, done.detail)
    assert callback.snapshot() == [], "no verification request went out"
    assert websub_store.list_all(redis_db, T0) == []


def test_the_ssrf_guard_refuses_a_callback_at_distribution(
    redis_db: redis.Redis, settings_env: pytest.MonkeyPatch, callback: Callback
) -> None:
    settings = configure(settings_env)
    subscribed(redis_db, settings, callback.url)
    settings_env.delenv("SYNDICATE_WEBHOOK_ALLOWED_NETWORKS")  # the operator narrowed it since
    get_settings.cache_clear()
    settings = get_settings()
    assert settings.webhook_allowed_networks == []
    (d,) = fanout.feed_update(redis_db, feed_changes(settings, b"<rss>3</rss>"), T0)

    assert attempts.run(redis_db, d, T0, settings).status == "retry"
    refused = store.get_delivery(redis_db, d)
    assert refused is not None
    error = refused.attempts[0].error or ""
    assert error.startswith("refused by the SSRF guard"), error
    assert "127.0.0.0/8" in error and "SYNDICATE_WEBHOOK_ALLOWED_NETWORKS" in error
    assert refused.attempts[0].status_code is None
    assert callback.snapshot() == []


def test_a_publish_ping_tells_an_external_hub_and_a_refusal_is_an_error(
    settings_env: pytest.MonkeyPatch, callback: Callback
) -> None:
    from urllib.parse import parse_qs

    from services.publish import hubs
    from shared.errors import DeliveryError, TargetRefused

    settings = configure(settings_env)
    callback.statuses = [204, 500]
    callback.respond = None  # plain statuses: a hub, not a subscriber
    topic = f"{settings.base_url}/feeds/all.rss"
    assert hubs.ping(callback.url, topic, settings) == 204
    (ping,) = callback.snapshot()
    assert ping.method == "POST"
    assert ping.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(ping.body.decode()) == {"hub.mode": ["publish"], "hub.url": [topic]}
    with pytest.raises(DeliveryError, match="answered 500"):
        hubs.ping(callback.url, topic, settings)
    assert DeliveryError.retryable, "the hub_ping task retries it"
    with pytest.raises(TargetRefused):
        hubs.ping("http://10.0.0.1/hub", topic, settings)
