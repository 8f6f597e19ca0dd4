"""Publish's HTTP contract over real HTTP: rotation, deliveries, replay, the WebSub hub endpoint.

No workers here: where a task would run, the test runs its code in-process (verification of
intent, attempts), so each step can be checked on its own.
"""

from __future__ import annotations

import ipaddress
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis
import requests
from standardwebhooks.webhooks import Webhook

from services.publish import attempts, fanout, store, websub_store
from services.publish.websub import hub_signature
from services.publish.websub_verify import verify
from shared import keys, netguard
from shared.settings import get_settings
from tests.integration.conftest import AUTH
from tests.integration.test_api import assert_problem
from tests.support.events import Injector, event_for, make_story
from tests.support.receiver import Receiver
from tests.support.websub_callback import Callback

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def allow_loopback(redis_db: redis.Redis, settings_env: pytest.MonkeyPatch) -> None:
    settings_env.setenv("SYNDICATE_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8")
    settings_env.setenv("SYNDICATE_WEBHOOK_RETRY_SCHEDULE", "0,5,5")
    settings_env.setenv("SYNDICATE_WEBSUB_LEASE_MIN_SECONDS", "60")
    get_settings.cache_clear()


def hub_post(api: str, **fields: str) -> requests.Response:
    data = {name.replace("_", ".", 1): value for name, value in fields.items()}
    return requests.post(f"{api}/websub", data=data, timeout=10)


def queries(cb: Callback) -> list[dict[str, str]]:
    return cb.checks()


def now() -> datetime:
    return datetime.now(UTC)


# --- webhooks ---------------------------------------------------------------------------------


def test_rotated_secret_both_sign_for_the_grace_period(
    api: str, redis_db: redis.Redis, allow_loopback: None
) -> None:
    hook = Receiver().start()
    try:
        created = requests.post(
            f"{api}/v1/subscriptions", json={"url": hook.url}, headers=AUTH, timeout=10
        ).json()
        old = created["secret"]
        rotated = requests.post(
            f"{api}/v1/subscriptions/{created['id']}/rotate-secret", headers=AUTH, timeout=10
        )
        assert rotated.status_code == 200, rotated.text
        new = rotated.json()["secret"]
        assert new.startswith("whsec_") and new != old
        expires = datetime.fromisoformat(rotated.json()["previous_secret_expires_at"])
        assert timedelta(hours=23, minutes=59) < expires - now() <= timedelta(hours=24)
        shown = requests.get(f"{api}/v1/subscriptions/{created['id']}", headers=AUTH, timeout=10)
        assert "whsec_" not in shown.text
        assert (
            shown.json()["previous_secret_expires_at"]
            == rotated.json()["previous_secret_expires_at"]
        )

        story = make_story("st_rot")
        event = event_for(story, "story.published")
        from shared import stories

        stories.save_event(redis_db, event)
        stories.save_version(redis_db, story)
        (d,) = fanout.story_event(redis_db, event, now()).deliveries
        assert attempts.run(redis_db, d, now(), get_settings()).status == "succeeded"
        (got,) = hook.snapshot()
        headers = {k.lower(): v for k, v in got.headers.items()}
        assert len(headers["webhook-signature"].split(" ")) == 2
        assert Webhook(new).verify(got.body, headers)["data"]["id"] == "st_rot"
        assert Webhook(old).verify(got.body, headers)["data"]["id"] == "st_rot"
    finally:
        hook.stop()
    assert_problem(
        requests.post(f"{api}/v1/subscriptions/sub_nope/rotate-secret", headers=AUTH, timeout=10),
        404,
    )


def test_deliveries_can_be_read_listed_dead_and_replayed(
    api: str, redis_db: redis.Redis, allow_loopback: None
) -> None:
    hook = Receiver(statuses=[500, 500, 500]).start()
    try:
        sub = requests.post(
            f"{api}/v1/subscriptions", json={"url": hook.url}, headers=AUTH, timeout=10
        ).json()
        story = make_story("st_dead")
        event = event_for(story, "story.published")
        from shared import stories

        stories.save_event(redis_db, event)
        stories.save_version(redis_db, story)
        (d,) = fanout.story_event(redis_db, event, now()).deliveries
        conflict = requests.post(f"{api}/v1/deliveries/{d}/replay", headers=AUTH, timeout=10)
        assert_problem(conflict, 409, "pending")
        for step in range(3):
            attempts.run(redis_db, d, now() + timedelta(seconds=6 * step), get_settings())
        one = requests.get(f"{api}/v1/deliveries/{d}", headers=AUTH, timeout=10).json()
        assert one["state"] == "dead" and len(one["attempts"]) == 3
        dead = requests.get(f"{api}/v1/deliveries?state=dead", headers=AUTH, timeout=10).json()
        assert dead["total"] == 1 and dead["items"][0]["id"] == d
        listed = requests.get(
            f"{api}/v1/subscriptions/{sub['id']}/deliveries", headers=AUTH, timeout=10
        ).json()["items"]
        attempt = listed[0]["attempts"][0]
        assert attempt["status_code"] == 500 and attempt["error"] == "HTTP 500"
        assert attempt["response_excerpt"] == "ok" and attempt["latency_ms"] > 0
        replayed = requests.post(f"{api}/v1/deliveries/{d}/replay", headers=AUTH, timeout=10)
        assert replayed.status_code == 202, replayed.text
        assert replayed.json()["state"] == "pending" and replayed.json()["replays"] == 1
        queued = redis_db.lrange(f"{keys.celery_prefix()}publish", 0, -1)
        assert any(d.encode() in message for message in queued), "the attempt was handed out"
        assert attempts.run(redis_db, d, now(), get_settings()).status == "succeeded"
    finally:
        hook.stop()
    assert_problem(
        requests.post(f"{api}/v1/deliveries/dlv_x/replay", headers=AUTH, timeout=10), 404
    )
    assert_problem(requests.get(f"{api}/v1/deliveries/dlv_x", headers=AUTH, timeout=10), 404)
    assert_problem(requests.post(f"{api}/v1/deliveries/dlv_x/replay", timeout=10), 401)


def test_re_enabling_a_subscription_clears_its_failures(
    api: str, redis_db: redis.Redis, allow_loopback: None
) -> None:
    sub = requests.post(
        f"{api}/v1/subscriptions",
        json={
            "url": "http://127.0.0.1:9/x",
            "events": ["feed.updated"],
            "filter": {"feeds": ["all"]},
        },
        headers=AUTH,
        timeout=10,
    ).json()
    assert sub["events"] == ["feed.updated"] and sub["filter"]["feeds"] == ["all"]
    store.note_failure(redis_db, sub["id"], now() - timedelta(days=6))
    failing = requests.get(f"{api}/v1/subscriptions/{sub['id']}", headers=AUTH, timeout=10)
    assert failing.json()["failing_since"] is not None
    url = f"{api}/v1/subscriptions/{sub['id']}"
    requests.patch(url, json={"disabled": True}, headers=AUTH, timeout=10)
    enabled = requests.patch(url, json={"disabled": False}, headers=AUTH, timeout=10).json()
    assert enabled["disabled"] is False and enabled["disabled_reason"] is None
    assert enabled["failing_since"] is None


# --- the WebSub hub endpoint ------------------------------------------------------------------


def store_feed(redis_db: redis.Redis, name: str = "all", fmt: str = "rss") -> bytes:
    from shared import feedstore

    body = f"<rss version='2.0'><channel><title>{name}</title></channel></rss>".encode()
    feedstore.save_feed(redis_db, name, fmt, body, now(), "application/rss+xml; charset=utf-8")
    return body


def test_hub_requests_are_validated(api: str, redis_db: redis.Redis) -> None:
    topic = f"{get_settings().base_url}/feeds/all.rss"
    assert_problem(requests.post(f"{api}/websub", json={"hub.mode": "subscribe"}, timeout=10), 415)
    assert_problem(
        hub_post(api, hub_topic=topic, hub_callback="https://r.example/"), 400, "hub.mode"
    )
    assert_problem(
        hub_post(api, hub_mode="subscribe", hub_topic=topic, hub_callback="https://r.example/",
                 hub_secret="s" * 200),
        400,
        "200 bytes",
    )  # fmt: skip
    refused = hub_post(
        api, hub_mode="subscribe", hub_topic=topic, hub_callback="http://127.0.0.1:9/cb"
    )
    assert_problem(refused, 422, "loopback", "SYNDICATE_WEBHOOK_ALLOWED_NETWORKS")
    for bad in ("http://10.0.0.1/cb", "http://169.254.169.254/latest"):
        assert_problem(hub_post(api, hub_mode="subscribe", hub_topic=topic, hub_callback=bad), 422)
    assert_problem(hub_post(api, hub_mode="publish", hub_url=topic), 400, "publish")


def test_subscribe_is_verified_then_listed(
    api: str, redis_db: redis.Redis, allow_loopback: None, callback: Callback
) -> None:
    store_feed(redis_db)
    topic = f"{get_settings().base_url}/feeds/all.rss"
    answer = hub_post(
        api, hub_mode="subscribe", hub_topic=topic, hub_callback=callback.url,
        hub_lease_seconds="600", hub_secret="s3cret", extra="ignored",
    )  # fmt: skip
    assert answer.status_code == 202, answer.text
    intent_id = answer.json()["intent"]
    queued = redis_db.lrange(f"{keys.celery_prefix()}publish", 0, -1)
    assert any(intent_id.encode() in message for message in queued)
    assert websub_store.list_all(redis_db, now()) == [], "inactive until verified"

    assert verify(redis_db, intent_id, now(), get_settings(), "chal-1") == "verified"
    (check,) = queries(callback)
    assert check == {
        "hub.mode": "subscribe",
        "hub.topic": topic,
        "hub.challenge": "chal-1",
        "hub.lease_seconds": "600",
    }
    listed = requests.get(f"{api}/v1/websub/subscriptions", headers=AUTH, timeout=10)
    (item,) = listed.json()["items"]
    assert item["topic"] == topic and item["callback"] == callback.url and item["signed"]
    assert item["lease_seconds"] == 600 and "s3cret" not in listed.text
    intent = requests.get(f"{api}/v1/websub/intents/{intent_id}", headers=AUTH, timeout=10)
    assert intent.json()["state"] == "verified" and "secret" not in intent.json()


def test_a_wrong_challenge_leaves_it_inactive(
    api: str, redis_db: redis.Redis, allow_loopback: None, callback: Callback
) -> None:
    store_feed(redis_db)
    callback.echo = "not-the-challenge"
    topic = f"{get_settings().base_url}/feeds/all.rss"
    intent_id = hub_post(
        api, hub_mode="subscribe", hub_topic=topic, hub_callback=callback.url
    ).json()["intent"]
    assert verify(redis_db, intent_id, now(), get_settings(), "chal-2") == "failed"
    assert websub_store.list_all(redis_db, now()) == []
    intent = websub_store.get_intent(redis_db, intent_id)
    assert intent is not None and "without echoing hub.challenge" in (intent.detail or "")


def test_leases_are_clamped_to_the_settings(
    api: str, redis_db: redis.Redis, allow_loopback: None, callback: Callback
) -> None:
    store_feed(redis_db)
    topic = f"{get_settings().base_url}/feeds/all.rss"
    short = hub_post(
        api, hub_mode="subscribe", hub_topic=topic, hub_callback=callback.url, hub_lease_seconds="5"
    ).json()["intent"]
    verify(redis_db, short, now(), get_settings(), "c")
    assert queries(callback)[-1]["hub.lease_seconds"] == "60"
    default = hub_post(api, hub_mode="subscribe", hub_topic=topic, hub_callback=callback.url)
    verify(redis_db, default.json()["intent"], now(), get_settings(), "c")
    assert queries(callback)[-1]["hub.lease_seconds"] == "864000"


@pytest.mark.parametrize(
    ("topic_path", "reason"),
    [
        ("https://elsewhere.example/feed.xml", "not a feed of this hub"),
        ("{base}/feeds/never-rendered.rss", "names no feed"),
    ],
)
def test_topics_we_refuse_are_denied_to_the_callback(
    api: str,
    redis_db: redis.Redis,
    allow_loopback: None,
    callback: Callback,
    topic_path: str,
    reason: str,
) -> None:
    topic = topic_path.format(base=get_settings().base_url)
    answer = hub_post(api, hub_mode="subscribe", hub_topic=topic, hub_callback=callback.url)
    assert answer.status_code == 202
    assert verify(redis_db, answer.json()["intent"], now(), get_settings(), "c") == "denied"
    (denial,) = queries(callback)
    assert denial["hub.mode"] == "denied" and denial["hub.topic"] == topic
    assert reason in denial["hub.reason"] and "hub.challenge" not in denial


def test_only_the_newest_request_for_a_pair_takes_effect(
    api: str, redis_db: redis.Redis, allow_loopback: None, callback: Callback
) -> None:
    store_feed(redis_db)
    topic = f"{get_settings().base_url}/feeds/all.rss"
    sub = hub_post(api, hub_mode="subscribe", hub_topic=topic, hub_callback=callback.url)
    unsub = hub_post(api, hub_mode="unsubscribe", hub_topic=topic, hub_callback=callback.url)
    assert verify(redis_db, unsub.json()["intent"], now(), get_settings(), "c") == "verified"
    late = verify(redis_db, sub.json()["intent"], now(), get_settings(), "c")
    assert late == "superseded"
    assert websub_store.list_all(redis_db, now()) == []


def test_distribution_sends_the_feed_bytes_signed_and_linked(
    api: str, redis_db: redis.Redis, allow_loopback: None, callback: Callback
) -> None:
    body = store_feed(redis_db, "sections/science")
    base = get_settings().base_url
    topic = f"{base}/feeds/sections/science.rss"
    intent = hub_post(
        api, hub_mode="subscribe", hub_topic=topic, hub_callback=callback.url, hub_secret="k"
    ).json()["intent"]
    verify(redis_db, intent, now(), get_settings(), "c")
    injector = Injector(get_settings().effective_redis_url())
    update = injector.feed(base, "sections/science", "rss", body, "application/rss+xml", send=False)
    injector.close()
    (d,) = fanout.feed_update(redis_db, update, now())
    assert fanout.feed_update(redis_db, update, now()) == [d], "same bytes, same delivery"
    assert attempts.run(redis_db, d, now(), get_settings()).status == "succeeded"
    (got,) = [r for r in callback.snapshot() if r.method == "POST"]
    assert got.body == body
    assert got.headers["Content-Type"] == "application/rss+xml; charset=utf-8"  # as stored
    assert got.headers["Link"] == f'<{base}/websub>; rel="hub", <{topic}>; rel="self"'
    assert got.headers["X-Hub-Signature"] == hub_signature("k", body)


def test_older_feed_bytes_are_superseded_not_sent(
    api: str, redis_db: redis.Redis, allow_loopback: None, callback: Callback
) -> None:
    store_feed(redis_db, "all")
    base = get_settings().base_url
    intent = hub_post(
        api, hub_mode="subscribe", hub_topic=f"{base}/feeds/all.rss", hub_callback=callback.url
    ).json()["intent"]
    verify(redis_db, intent, now(), get_settings(), "c")
    injector = Injector(get_settings().effective_redis_url())
    first = injector.feed(base, "all", "rss", b"<rss>one</rss>", "application/rss+xml", send=False)
    (old,) = fanout.feed_update(redis_db, first, now())
    second = injector.feed(base, "all", "rss", b"<rss>two</rss>", "application/rss+xml", send=False)
    (new,) = fanout.feed_update(redis_db, second, now())
    injector.close()
    assert attempts.run(redis_db, old, now(), get_settings()).status == "superseded"
    assert attempts.run(redis_db, new, now(), get_settings()).status == "succeeded"
    assert [r.body for r in callback.snapshot() if r.method == "POST"] == [b"<rss>two</rss>"]
    assert (
        json.loads(requests.get(f"{api}/v1/deliveries/{old}", headers=AUTH, timeout=10).text)[
            "state"
        ]
        == "superseded"
    )


# --- what a client can send: malformed URLs, slow names, text that is not Unicode ---------------


@pytest.mark.parametrize("url", ["http://[::1", "http://[x]/hook", "https://a]b/"])
def test_malformed_urls_are_refused_naming_the_field(
    api: str, redis_db: redis.Redis, allow_loopback: None, url: str
) -> None:
    created = requests.post(f"{api}/v1/subscriptions", json={"url": url}, headers=AUTH, timeout=10)
    assert_problem(created, 422, "not a valid URL")
    assert created.json()["field"] == "url"
    sub = requests.post(
        f"{api}/v1/subscriptions", json={"url": "http://127.0.0.1:9/"}, headers=AUTH, timeout=10
    ).json()
    patched = requests.patch(
        f"{api}/v1/subscriptions/{sub['id']}", json={"url": url}, headers=AUTH, timeout=10
    )
    assert_problem(patched, 422, "not a valid URL")
    assert patched.json()["field"] == "url"
    topic = f"{get_settings().base_url}/feeds/all.rss"
    for name, fields in (
        ("hub.callback", {"hub_topic": topic, "hub_callback": url}),
        ("hub.topic", {"hub_topic": url, "hub_callback": "http://127.0.0.1:9/cb"}),
    ):
        refused = hub_post(api, hub_mode="subscribe", **fields)
        assert_problem(refused, 400, name, "not a valid URL")
        assert refused.json()["parameter"] == name


def test_a_filter_that_is_not_unicode_text_is_422(api: str, redis_db: redis.Redis) -> None:
    body = '{"url": "http://10.0.0.1/", "filter": {"feeds": ["\\udfff"]}}'
    answer = requests.post(
        f"{api}/v1/subscriptions",
        data=body.encode(),
        headers={**AUTH, "Content-Type": "application/json"},
        timeout=10,
    )
    assert_problem(answer, 422, "not valid Unicode")


@pytest.fixture
def slow_names(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[threading.Event, threading.Event]]:
    """``*.slow.test`` resolves (to 127.0.0.1) only once released; yields (entered, release)."""
    entered, release = threading.Event(), threading.Event()
    real = netguard.resolve

    def resolve(host: str, port: int) -> list[netguard.IPAddress]:
        if not host.endswith(".slow.test"):
            return real(host, port)
        entered.set()
        release.wait(30)
        return [ipaddress.ip_address("127.0.0.1")]

    monkeypatch.setattr(netguard, "resolve", resolve)
    yield entered, release
    release.set()


def test_a_callback_that_resolves_slowly_does_not_stall_the_api(
    api: str,
    redis_db: redis.Redis,
    allow_loopback: None,
    settings_env: pytest.MonkeyPatch,
    slow_names: tuple[threading.Event, threading.Event],
) -> None:
    settings_env.setenv("SYNDICATE_WEBHOOK_CONNECT_TIMEOUT", "30")
    get_settings.cache_clear()
    entered, release = slow_names
    store_feed(redis_db)
    topic = f"{get_settings().base_url}/feeds/all.rss"
    answers: list[requests.Response] = []
    asking = threading.Thread(
        target=lambda: answers.append(
            hub_post(
                api, hub_mode="subscribe", hub_topic=topic, hub_callback="http://cb.slow.test/"
            )
        )
    )
    asking.start()
    assert entered.wait(10), "the hub looked the callback up"
    health = requests.get(f"{api}/healthz", timeout=5)  # answered while the lookup hangs
    assert health.status_code == 200 and not release.is_set()
    release.set()
    asking.join(timeout=20)
    assert [a.status_code for a in answers] == [202]


def test_a_name_slower_to_resolve_than_the_connect_timeout_is_refused(
    api: str,
    redis_db: redis.Redis,
    allow_loopback: None,
    settings_env: pytest.MonkeyPatch,
    slow_names: tuple[threading.Event, threading.Event],
) -> None:
    settings_env.setenv("SYNDICATE_WEBHOOK_CONNECT_TIMEOUT", "0.5")
    get_settings.cache_clear()
    topic = f"{get_settings().base_url}/feeds/all.rss"
    refused = hub_post(
        api, hub_mode="subscribe", hub_topic=topic, hub_callback="http://cb.slow.test/"
    )
    assert_problem(refused, 422, "took over 0.5 s")
    assert refused.json()["parameter"] == "hub.callback"
    created = requests.post(
        f"{api}/v1/subscriptions", json={"url": "http://hook.slow.test/"}, headers=AUTH, timeout=10
    )
    assert_problem(created, 422, "took over 0.5 s")


def test_every_dead_letter_of_one_subscription_replays_at_once(
    api: str, redis_db: redis.Redis, allow_loopback: None
) -> None:
    """``POST /v1/subscriptions/{id}/replay-dead`` and ``syndicate deliveries replay --all-dead
    --subscription``: that subscription's dead letters only, each keeping its webhook-id."""
    import subprocess
    import sys

    from shared import stories

    hook = Receiver(statuses=[500] * 12).start()
    try:
        subs = [
            requests.post(
                f"{api}/v1/subscriptions", json={"url": hook.url}, headers=AUTH, timeout=10
            ).json()["id"]
            for _ in range(2)
        ]
        dead: dict[str, list[str]] = {sub: [] for sub in subs}
        for n in range(2):
            story = make_story(f"st_bulk{n}")
            event = event_for(story, "story.published")
            stories.save_event(redis_db, event)
            stories.save_version(redis_db, story)
            for d in fanout.story_event(redis_db, event, now()).deliveries:
                for step in range(3):
                    attempts.run(redis_db, d, now() + timedelta(seconds=6 * step), get_settings())
                got = store.get_delivery(redis_db, d)
                assert got is not None and got.state == "dead"
                dead[got.subscription_id].append(d)
        first, second = subs
        url = f"{api}/v1/subscriptions/{first}/replay-dead"
        replayed = requests.post(url, headers=AUTH, timeout=10)
        assert replayed.status_code == 202, replayed.text
        assert sorted(replayed.json()["replayed"]) == sorted(dead[first])
        assert replayed.json()["refused"] == {}
        states = {d: store.get_delivery(redis_db, d).state for d in dead[first] + dead[second]}  # type: ignore[union-attr]
        assert states == {
            **dict.fromkeys(dead[first], "pending"),
            **dict.fromkeys(dead[second], "dead"),
        }
        # nothing dead left for the first: an empty answer
        again = requests.post(url, headers=AUTH, timeout=10).json()
        assert again == {"replayed": [], "refused": {}}

        cli = subprocess.run(
            [sys.executable, "-m", "services.cli", "deliveries", "replay", "--all-dead",
             "--subscription", second],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert cli.returncode == 0, cli.stderr
        for d in dead[second]:
            assert f"{d}: replaying" in cli.stdout
            assert store.get_delivery(redis_db, d).state == "pending"  # type: ignore[union-attr]

        # a disabled subscription refuses (enable it first); an unknown one is 404
        requests.patch(
            f"{api}/v1/subscriptions/{second}", json={"disabled": True}, headers=AUTH, timeout=10
        )
        refused = requests.post(
            f"{api}/v1/subscriptions/{second}/replay-dead", headers=AUTH, timeout=10
        )
        assert_problem(refused, 409, "disabled")
    finally:
        hook.stop()
    assert_problem(
        requests.post(f"{api}/v1/subscriptions/sub_nope/replay-dead", headers=AUTH, timeout=10),
        404,
    )
    assert_problem(requests.post(f"{api}/v1/subscriptions/{first}/replay-dead", timeout=10), 401)
