"""Real attempts in-process against receivers that misbehave: timeouts and refused connections
recorded and retried, a receiver that drips its answer, an attempt that finishes after its
lock (it must not overwrite the newer record), the schedule's first delay, and retention
(finished deliveries expire, dead letters stay replayable meanwhile, lists are trimmed)."""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from services.publish import attempts, fanout, schedule, store
from services.publish.replay import replay
from shared import keys
from shared.redis_server import free_port
from shared.settings import Settings, get_settings
from tests.integration.test_publish_flow import subscribe, version
from tests.support.rawserver import RawServer, drip, serve
from tests.support.receiver import Received, Receiver
from tests.support.waiting import wait_for

T0 = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(autouse=True)
def _fresh_clock() -> None:
    """Each test's clock starts when it runs: signatures made at T0 must still be fresh for
    verifiers (they refuse timestamps older than five minutes) however long the suite takes."""
    global T0
    T0 = datetime.now(UTC).replace(microsecond=0)


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"


def configure(env: pytest.MonkeyPatch, **values: str) -> Settings:
    env.setenv("SYNDICATE_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8")
    env.setenv("SYNDICATE_WEBHOOK_RETRY_SCHEDULE", "0,5,5")
    for name, value in values.items():
        env.setenv(f"SYNDICATE_{name}", value)
    get_settings.cache_clear()
    return get_settings()


def one_delivery(client: redis.Redis, url: str, story_id: str) -> str:
    """A subscription to ``url`` and the delivery of a new story to it."""
    subscribe(client, url)
    return story_to(client, story_id)


def story_to(client: redis.Redis, story_id: str, now: datetime | None = None) -> str:
    """The delivery of a new story to the (one) subscription."""
    (delivery_id,) = fanout.story_event(
        client, version(client, story_id, 1, "story.published"), now or T0
    ).deliveries
    return delivery_id


# --- timeouts, refused connections, dripping receivers ---------------------------------------


def test_a_timed_out_attempt_is_recorded_and_retried(
    redis_db: redis.Redis, settings_env: pytest.MonkeyPatch, servers: list[RawServer]
) -> None:
    settings = configure(settings_env, WEBHOOK_READ_TIMEOUT="0.5")

    def first_silent_then_ok(conn: socket.socket, server: RawServer) -> None:
        if server.connections == 1:
            server.release.wait(10)  # the first attempt gets no answer
        else:
            server.send(conn, OK)

    server = serve(servers, first_silent_then_ok)
    d = one_delivery(redis_db, server.url(), "st_timeout")

    assert attempts.run(redis_db, d, T0, settings).status == "retry"
    pending = store.get_delivery(redis_db, d)
    assert pending is not None and pending.state == "pending"
    (first,) = pending.attempts
    assert first.at == T0 and first.status_code is None
    assert first.error is not None and first.error.startswith("timed out"), first.error
    assert first.latency_ms is not None and first.latency_ms >= 450
    assert pending.next_attempt_at is not None
    waited = (pending.next_attempt_at - T0).total_seconds()
    assert 5 * 0.9 < waited < 5 * 1.1 + 2, "the schedule's second delay, after the attempt"
    assert schedule.due_at(redis_db, d) == pending.next_attempt_at.timestamp()

    later = pending.next_attempt_at
    assert attempts.run(redis_db, d, later, settings).status == "succeeded"
    done = store.get_delivery(redis_db, d)
    assert done is not None
    assert [(a.at, a.status_code) for a in done.attempts] == [(T0, None), (later, 200)]


def test_a_refused_connection_is_recorded_and_retried(
    redis_db: redis.Redis, settings_env: pytest.MonkeyPatch
) -> None:
    settings = configure(settings_env)
    port = free_port()  # nothing listens there yet
    d = one_delivery(redis_db, f"http://127.0.0.1:{port}/hook", "st_refused")

    assert attempts.run(redis_db, d, T0, settings).status == "retry"
    pending = store.get_delivery(redis_db, d)
    assert pending is not None and pending.next_attempt_at is not None
    (first,) = pending.attempts
    assert first.at == T0 and first.status_code is None
    assert first.error is not None and "connection failed" in first.error
    assert "refused" in first.error.lower(), first.error
    assert schedule.due_at(redis_db, d) == pending.next_attempt_at.timestamp()

    partner = Receiver(port=port).start()  # the partner comes back on that port
    try:
        assert attempts.run(redis_db, d, pending.next_attempt_at, settings).status == "succeeded"
        assert len(partner.snapshot()) == 1
    finally:
        partner.stop()


def test_an_attempt_against_a_dripping_receiver_ends_within_its_lease(
    redis_db: redis.Redis, settings_env: pytest.MonkeyPatch, servers: list[RawServer]
) -> None:
    settings = configure(
        settings_env, WEBHOOK_CONNECT_TIMEOUT="1", WEBHOOK_READ_TIMEOUT="1"
    )  # every byte comes within the read timeout; the whole answer would take 40 s
    server = serve(servers, drip(b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * 200, 0.2))
    d = one_delivery(redis_db, server.url(), "st_drip")
    assert attempts.attempt_lease(settings) == 2 + attempts.LEASE_MARGIN_SECONDS

    outcome: list[str] = []
    running = threading.Thread(
        target=lambda: outcome.append(attempts.run(redis_db, d, T0, settings).status)
    )
    running.start()
    wait_for(lambda: server.written > 0, timeout=10, message="the receiver to start answering")
    # the broker hands the same delivery out again meanwhile: nothing is sent twice
    assert attempts.run(redis_db, d, T0, settings).status == "busy"
    running.join(timeout=20)
    assert outcome == ["retry"]
    assert server.connections == 1
    (only,) = store.get_delivery(redis_db, d).attempts  # type: ignore[union-attr]
    assert only.error == "timed out: the request took longer than 2 s in all"
    assert only.latency_ms is not None and 1900 <= only.latency_ms < 5000
    assert redis_db.exists(keys.delivery_lock(d)) == 0, "the lock went with the attempt"


def test_an_attempt_that_outlives_its_lock_does_not_overwrite_the_newer_record(
    redis_db: redis.Redis, settings_env: pytest.MonkeyPatch
) -> None:
    settings = configure(settings_env)
    held = threading.Event()

    def respond(got: Received) -> tuple[int, bytes]:
        if got.headers.get("webhook-timestamp") == str(int(T0.timestamp())):
            held.wait(30)  # the first attempt's answer is late
        return 200, b"ok"

    receiver = Receiver(respond=respond).start()
    try:
        d = one_delivery(redis_db, receiver.url, "st_late")
        first: list[attempts.Result] = []
        late = threading.Thread(
            target=lambda: first.append(attempts.run(redis_db, d, T0, settings))
        )
        late.start()
        wait_for(lambda: receiver.snapshot(), timeout=10, message="the first attempt to arrive")
        redis_db.delete(keys.delivery_lock(d))  # its lease ran out (a paused worker, say)
        newer = T0 + timedelta(seconds=1)
        assert attempts.run(redis_db, d, newer, settings).status == "succeeded"
        held.set()
        late.join(timeout=20)
        assert [r.status for r in first] == ["late"]
        final = store.get_delivery(redis_db, d)
        assert final is not None and final.state == "succeeded"
        assert [a.at for a in final.attempts] == [newer], "the newer record stands"
        assert len(receiver.snapshot()) == 2
    finally:
        held.set()
        receiver.stop()


# --- the schedule's first delay ---------------------------------------------------------------


def test_the_first_attempt_and_a_replays_first_wait_for_the_schedules_first_delay(
    redis_db: redis.Redis, settings_env: pytest.MonkeyPatch
) -> None:
    settings = configure(settings_env, WEBHOOK_RETRY_SCHEDULE="20,5")
    receiver = Receiver(statuses=[500, 500]).start()
    try:
        d = one_delivery(redis_db, receiver.url, "st_first_delay")
        made = store.get_delivery(redis_db, d)
        assert made is not None and made.next_attempt_at is not None
        first_at = made.next_attempt_at
        assert 18 <= (first_at - T0).total_seconds() <= 22, "20 s ± 10% jitter"
        assert schedule.due_at(redis_db, d) == first_at.timestamp()
        assert attempts.run(redis_db, d, T0, settings).status == "not due"
        assert receiver.snapshot() == []

        assert attempts.run(redis_db, d, first_at, settings).status == "retry"
        second_at = store.get_delivery(redis_db, d).next_attempt_at  # type: ignore[union-attr]
        assert second_at is not None
        assert attempts.run(redis_db, d, second_at, settings).status == "dead"

        replayed_at = second_at + timedelta(minutes=1)
        again = replay(redis_db, d, replayed_at, 30, settings)
        assert again.next_attempt_at is not None
        assert 18 <= (again.next_attempt_at - replayed_at).total_seconds() <= 22
        assert schedule.due_at(redis_db, d) == again.next_attempt_at.timestamp()
        assert attempts.run(redis_db, d, replayed_at, settings).status == "not due"
        assert len(receiver.snapshot()) == 2
        assert attempts.run(redis_db, d, again.next_attempt_at, settings).status == "succeeded"
    finally:
        receiver.stop()


# --- retention --------------------------------------------------------------------------------


def test_finished_deliveries_expire_and_dead_letters_stay_replayable_meanwhile(
    redis_db: redis.Redis, settings_env: pytest.MonkeyPatch
) -> None:
    settings = configure(settings_env, WEBHOOK_RETRY_SCHEDULE="0", DELIVERY_RETENTION_SECONDS="60")
    receiver = Receiver(statuses=[200, 500]).start()
    try:
        ok = one_delivery(redis_db, receiver.url, "st_kept_ok")
        dead = story_to(redis_db, "st_kept_dead")
        assert redis_db.ttl(keys.delivery(ok)) == -1, "a pending delivery does not expire"
        assert attempts.run(redis_db, ok, T0, settings).status == "succeeded"
        assert 0 < redis_db.ttl(keys.delivery(ok)) <= 60
        assert attempts.run(redis_db, dead, T0, settings).status == "dead"
        assert 0 < redis_db.ttl(keys.delivery(dead)) <= 60
        assert redis_db.zscore(keys.deliveries_dead(), dead) is not None

        replay(redis_db, dead, T0 + timedelta(seconds=30), 30, settings)
        assert redis_db.ttl(keys.delivery(dead)) == -1, "pending again: kept until it finishes"
        assert attempts.run(redis_db, dead, T0 + timedelta(seconds=30), settings).status == (
            "succeeded"
        )
        assert 0 < redis_db.ttl(keys.delivery(dead)) <= 60
    finally:
        receiver.stop()


def test_expired_deliveries_leave_the_subscription_and_dead_letter_lists(
    redis_db: redis.Redis, settings_env: pytest.MonkeyPatch
) -> None:
    settings = configure(settings_env, WEBHOOK_RETRY_SCHEDULE="0", DELIVERY_RETENTION_SECONDS="1")
    receiver = Receiver(statuses=[500]).start()
    try:
        sub = subscribe(redis_db, receiver.url)
        long_ago = T0 - timedelta(hours=1)
        old = story_to(redis_db, "st_old", long_ago)
        assert attempts.run(redis_db, old, long_ago, settings).status == "dead"
        assert redis_db.zscore(keys.deliveries_dead(), old) is not None
        wait_for(
            lambda: not redis_db.exists(keys.delivery(old)),
            timeout=20,
            message="the finished delivery to expire",
        )
        new = story_to(redis_db, "st_new")
        members = {m.decode() for m in redis_db.zrange(keys.subscription_deliveries(sub.id), 0, -1)}
        assert members == {new}, "the expired one left the subscription's list"
        assert attempts.run(redis_db, new, T0, settings).status == "succeeded"
        assert redis_db.zscore(keys.deliveries_dead(), old) is None, "and the dead letters"
        assert store.delete_subscription(redis_db, sub.id)
        assert not redis_db.exists(keys.subscription_deliveries(sub.id)), "gone with it"
    finally:
        receiver.stop()


def test_a_received_feed_update_is_kept_as_long_as_its_deliveries(
    redis_db: redis.Redis, settings_env: pytest.MonkeyPatch
) -> None:
    from tests.support.events import Injector

    settings = configure(settings_env, DELIVERY_RETENTION_SECONDS="60")
    receiver = Receiver().start()
    try:
        subscribe(redis_db, receiver.url, events=("feed.updated",))
        injector = Injector(settings.effective_redis_url())
        update = injector.feed(settings.base_url, "all", "rss", b"<rss/>", "x/rss", send=False)
        injector.close()
        (d,) = fanout.feed_update(redis_db, update, T0, settings)
        assert 0 < redis_db.ttl(keys.feed_update(update.id)) <= 60
        redis_db.expire(keys.feed_update(update.id), 5)
        assert attempts.run(redis_db, d, T0, settings).status == "succeeded"
        assert redis_db.ttl(keys.feed_update(update.id)) > 5, "its delivery finishing renews it"
    finally:
        receiver.stop()


# --- https, pinned ----------------------------------------------------------------------------


def test_an_https_delivery_goes_to_the_checked_address_under_its_name(
    redis_db: redis.Redis, settings_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from standardwebhooks.webhooks import Webhook

    from services.publish.targets import http_client
    from tests.integration.test_publish_http import NAME, rebinding_dns
    from tests.support.tls import make_certificates

    settings = configure(settings_env, WEBHOOK_ALLOWED_NETWORKS="127.0.0.1/32")
    certs = make_certificates(tmp_path, NAME)
    partner = Receiver(ssl_context=certs.server_context()).start()
    elsewhere = Receiver(host="127.0.0.2", port=partner.bound_port).start()
    settings_env.setattr(http_client(settings), "verify", str(certs.ca))
    try:
        lookups = rebinding_dns(settings_env, "127.0.0.1", "127.0.0.2")
        sub = subscribe(redis_db, f"https://{NAME}:{partner.bound_port}/hook")
        d = story_to(redis_db, "st_tls")
        assert attempts.run(redis_db, d, T0, settings).status == "succeeded"
        assert lookups == ["127.0.0.1"] and partner.server_names == [NAME]
        (got,) = partner.snapshot()
        headers = {k.lower(): v for k, v in got.headers.items()}
        assert Webhook(sub.secret).verify(got.body, headers)["data"]["id"] == "st_tls"
        assert elsewhere.snapshot() == []
    finally:
        partner.stop()
        elsewhere.stop()
