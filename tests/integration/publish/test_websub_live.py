"""The WebSub hub on the real service: subscribers on loopback, verification by the publish
worker, distribution when a feed's bytes change.

Includes the websub.rocks hub tests 100–106 (https://websub.rocks/hub), ported: each subscribes
a callback of ours, makes the topic change, and checks what the hub delivered.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import flask_websub.subscriber as websub_subscriber
import pytest
import redis
import requests
from flask import Flask
from flask_websub.subscriber import (
    SQLite3SubscriberStorage,
    SQLite3TempSubscriberStorage,
    Subscriber,
)
from werkzeug.serving import make_server

from services.publish.websub import hub_signature, subscription_id_for
from shared import keys
from tests.integration.publish.conftest import wait_intent
from tests.integration.test_end_to_end import sample_copy
from tests.support.events import Injector, unique
from tests.support.receiver import Received, Receiver
from tests.support.service import Service
from tests.support.waiting import wait_for
from tests.support.websub_callback import Callback

RSS = "application/rss+xml; charset=utf-8"


@pytest.fixture
def callbacks() -> Iterator[list[Callback]]:
    made: list[Callback] = []
    yield made
    for cb in made:
        cb.stop()


def new_callback(callbacks: list[Callback]) -> Callback:
    cb = Callback().start()
    assert isinstance(cb, Callback)
    callbacks.append(cb)
    return cb


def hub_request(service: Service, **fields: str) -> str:
    """POST /websub; returns the intent id of the accepted request."""
    data = {name.replace("_", ".", 1): value for name, value in fields.items()}
    answer = requests.post(f"{service.base_url}/websub", data=data, timeout=10)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["intent"])


def subscribe(service: Service, topic: str, callback: str, **fields: str) -> dict[str, object]:
    intent = hub_request(
        service, hub_mode="subscribe", hub_topic=topic, hub_callback=callback, **fields
    )
    return wait_intent(service, intent)


def new_topic(service: Service, injector: Injector, fmt: str = "rss", **kw: str) -> tuple[str, str]:
    """A feed of this test's own (so no other test's changes reach its subscribers)."""
    name = unique("websub-")
    injector.feed(
        service.base_url,
        name,
        fmt,
        kw.get("body", "<rss version='2.0'/>").encode(),
        kw.get("content_type", RSS),
        send=False,
    )
    return name, f"{service.base_url}/feeds/{name}.{fmt}"


def change(
    service: Service, injector: Injector, name: str, fmt: str, body: bytes, content_type: str = RSS
) -> None:
    injector.feed(service.base_url, name, fmt, body, content_type)


def deliveries_count(client: redis.Redis, sub_id: str) -> int:
    return int(client.zcard(keys.subscription_deliveries(sub_id)))


def content(cb: Callback, timeout: float = 30) -> list[Received]:
    return wait_for(cb.contents, timeout=timeout, message="a content distribution")


# --- websub.rocks hub tests, ported --------------------------------------------------------------


def test_100_typical_subscriber_request(
    publish_service: Service, injector: Injector, callbacks: list[Callback]
) -> None:
    """Only hub.mode, hub.topic and hub.callback: notifications come without a signature."""
    cb = new_callback(callbacks)
    name, topic = new_topic(publish_service, injector)
    verified = subscribe(publish_service, topic, cb.url)
    assert verified["state"] == "verified"
    (check,) = cb.checks()
    assert check["hub.mode"] == "subscribe" and check["hub.topic"] == topic
    assert check["hub.challenge"] and int(check["hub.lease_seconds"]) > 0
    body = b"<rss version='2.0'><channel><title>100</title></channel></rss>"
    change(publish_service, injector, name, "rss", body)
    (got,) = content(cb)
    assert got.body == body and got.headers["Content-Type"] == RSS
    assert "X-Hub-Signature" not in got.headers
    base = publish_service.base_url
    assert got.headers["Link"] == f'<{base}/websub>; rel="hub", <{topic}>; rel="self"'


def test_101_subscriber_includes_a_secret(
    publish_service: Service, injector: Injector, callbacks: list[Callback]
) -> None:
    cb = new_callback(callbacks)
    name, topic = new_topic(publish_service, injector)
    subscribe(publish_service, topic, cb.url, hub_secret="some_secret")
    body = b"<rss version='2.0'><channel><title>101</title></channel></rss>"
    change(publish_service, injector, name, "rss", body)
    (got,) = content(cb)
    assert got.body == body
    assert got.headers["X-Hub-Signature"] == hub_signature("some_secret", body)


def test_102_additional_parameters_are_ignored(
    publish_service: Service, injector: Injector, callbacks: list[Callback]
) -> None:
    cb = new_callback(callbacks)
    name, topic = new_topic(publish_service, injector)
    verified = subscribe(publish_service, topic, cb.url, foo="bar", hub_extra="1")
    assert verified["state"] == "verified"
    change(publish_service, injector, name, "rss", b"<rss>102</rss>")
    assert content(cb)[0].body == b"<rss>102</rss>"


def test_103_resubscribing_renews_rather_than_duplicates(
    publish_service: Service, injector: Injector, callbacks: list[Callback]
) -> None:
    cb = new_callback(callbacks)
    name, topic = new_topic(publish_service, injector)
    subscribe(publish_service, topic, cb.url, hub_lease_seconds="600")
    subscribe(publish_service, topic, cb.url, hub_lease_seconds="900")
    listed = requests.get(
        f"{publish_service.base_url}/v1/websub/subscriptions",
        params={"topic": topic},
        headers=publish_service.auth(),
        timeout=10,
    ).json()["items"]
    assert [(s["callback"], s["lease_seconds"]) for s in listed] == [(cb.url, 900)]
    change(publish_service, injector, name, "rss", b"<rss>103</rss>")
    content(cb)
    sub_id = subscription_id_for(name, "rss", cb.url)

    def settled() -> bool:
        ids = injector.client.zrange(keys.subscription_deliveries(sub_id), 0, -1)
        return len(ids) == 1 and injector.client.zscore(keys.deliveries_due(), ids[0]) is None

    wait_for(settled, timeout=30, message="the one distribution to finish")
    assert len(cb.contents()) == 1


def test_104_unsubscribe_then_nothing_more(
    publish_service: Service, injector: Injector, callbacks: list[Callback]
) -> None:
    """Subscribe, receive a signed distribution, unsubscribe, receive nothing more."""
    cb, sentinel = new_callback(callbacks), new_callback(callbacks)
    name, topic = new_topic(publish_service, injector)
    subscribe(publish_service, topic, cb.url, hub_secret="k104")
    subscribe(publish_service, topic, sentinel.url)
    change(publish_service, injector, name, "rss", b"<rss>one</rss>")
    (first,) = content(cb)
    assert first.headers["X-Hub-Signature"] == hub_signature("k104", b"<rss>one</rss>")

    gone = hub_request(
        publish_service, hub_mode="unsubscribe", hub_topic=topic, hub_callback=cb.url
    )
    assert wait_intent(publish_service, gone)["state"] == "verified"
    assert cb.checks()[-1]["hub.mode"] == "unsubscribe"
    sub_id = subscription_id_for(name, "rss", cb.url)
    before = deliveries_count(injector.client, sub_id)
    change(publish_service, injector, name, "rss", b"<rss>two</rss>")
    wait_for(
        lambda: any(r.body == b"<rss>two</rss>" for r in sentinel.contents()),
        timeout=30,
        message="the still-subscribed callback to get the change",
    )
    assert deliveries_count(injector.client, sub_id) == before, "no distribution was made"
    assert [r.body for r in cb.contents()] == [b"<rss>one</rss>"]


def test_105_content_that_is_not_xml_goes_out_verbatim(
    publish_service: Service, injector: Injector, callbacks: list[Callback]
) -> None:
    """The hub neither parses nor re-encodes: bytes and content type are the topic's own."""
    cb = new_callback(callbacks)
    name, topic = new_topic(publish_service, injector, "json", body="x", content_type="text/plain")
    subscribe(publish_service, topic, cb.url)
    change(publish_service, injector, name, "json", b"Hello world", "text/plain")
    (got,) = content(cb)
    assert got.body == b"Hello world" and got.headers["Content-Type"] == "text/plain"


def test_106_json_content(
    publish_service: Service, injector: Injector, callbacks: list[Callback]
) -> None:
    cb = new_callback(callbacks)
    feed_type = "application/feed+json"
    name, topic = new_topic(publish_service, injector, "json", body="{}", content_type=feed_type)
    subscribe(publish_service, topic, cb.url, hub_secret="j")
    body = json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": []}).encode()
    change(publish_service, injector, name, "json", body, feed_type)
    (got,) = content(cb)
    assert json.loads(got.body) == json.loads(body)
    assert got.headers["Content-Type"] == feed_type
    assert got.headers["X-Hub-Signature"] == hub_signature("j", body)
    assert f'<{topic}>; rel="self"' in got.headers["Link"]


# --- beyond websub.rocks ---------------------------------------------------------------------


def test_a_wrong_challenge_echo_leaves_it_inactive(
    publish_service: Service, injector: Injector, callbacks: list[Callback]
) -> None:
    wrong, sentinel = new_callback(callbacks), new_callback(callbacks)
    wrong.echo = "something else"
    name, topic = new_topic(publish_service, injector)
    assert subscribe(publish_service, topic, wrong.url)["state"] == "failed"
    subscribe(publish_service, topic, sentinel.url)
    change(publish_service, injector, name, "rss", b"<rss>w</rss>")
    content(sentinel)
    assert wrong.contents() == []
    assert deliveries_count(injector.client, subscription_id_for(name, "rss", wrong.url)) == 0


def test_an_expired_lease_ends_delivery(
    publish_service: Service, injector: Injector, callbacks: list[Callback]
) -> None:
    short, sentinel = new_callback(callbacks), new_callback(callbacks)
    name, topic = new_topic(publish_service, injector)
    subscribe(publish_service, topic, short.url, hub_lease_seconds="2")
    subscribe(publish_service, topic, sentinel.url)
    assert short.checks()[0]["hub.lease_seconds"] == "2"
    listed = requests.get(
        f"{publish_service.base_url}/v1/websub/subscriptions",
        params={"topic": topic},
        headers=publish_service.auth(),
        timeout=10,
    ).json()["items"]
    expires = max(
        datetime.fromisoformat(s["expires_at"]).timestamp()
        for s in listed
        if s["callback"] == short.url
    )
    wait_for(lambda: time.time() > expires + 0.5, timeout=10, message="the lease to run out")
    change(publish_service, injector, name, "rss", b"<rss>late</rss>")
    content(sentinel)
    assert short.contents() == []
    assert deliveries_count(injector.client, subscription_id_for(name, "rss", short.url)) == 0


def test_a_topic_that_is_not_ours_is_denied(
    publish_service: Service, callbacks: list[Callback]
) -> None:
    cb = new_callback(callbacks)
    state = subscribe(publish_service, "https://elsewhere.example/feed.xml", cb.url)
    assert state["state"] == "denied"
    (denial,) = cb.checks()
    assert denial["hub.mode"] == "denied"
    assert denial["hub.topic"] == "https://elsewhere.example/feed.xml"
    assert "not a feed of this hub" in denial["hub.reason"]


def test_external_hubs_are_told_of_every_change(
    publish_service: Service, injector: Injector, external_hub: Receiver
) -> None:
    name, topic = new_topic(publish_service, injector)
    change(publish_service, injector, name, "rss", b"<rss>ping</rss>")

    def pinged() -> bool:
        return any(
            r.method == "POST"
            and r.path == "/hub"
            and r.body
            == f"hub.mode=publish&hub.url={requests.utils.quote(topic, safe='')}".encode()
            for r in external_hub.snapshot()
        )

    wait_for(pinged, timeout=30, message="the publish ping to the external hub")


# --- an independent subscriber ---------------------------------------------------------------


@pytest.fixture
def flask_subscriber(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Flask, Subscriber, list[tuple[str, bytes]]]]:
    """flask-websub's subscriber, served on loopback, recording every valid notification."""
    app = Flask("websub-subscriber")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.config["SERVER_NAME"] = f"127.0.0.1:{server.server_port}"
    subscriber = Subscriber(
        SQLite3SubscriberStorage(str(tmp_path / "subs.db")),
        SQLite3TempSubscriberStorage(str(tmp_path / "temp.db")),
    )
    app.register_blueprint(subscriber.build_blueprint(url_prefix="/callbacks"))
    received: list[tuple[str, bytes]] = []
    subscriber.add_listener(lambda topic, _cid, body: received.append((topic, body)))
    # flask-websub refuses to send a secret to a hub over plain http://; the hub here is on
    # loopback in a test, so it is told the hub is secure
    monkeypatch.setattr(websub_subscriber, "is_secure", lambda _url: True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, subscriber, received
    finally:
        server.shutdown()


def test_flask_websub_subscribes_and_receives_a_signed_distribution(
    publish_service: Service,
    flask_subscriber: tuple[Flask, Subscriber, list[tuple[str, bytes]]],
) -> None:
    app, subscriber, received = flask_subscriber
    topic = f"{publish_service.base_url}/feeds/all.atom"
    hub = f"{publish_service.base_url}/websub"
    with app.app_context():
        callback_id = subscriber.subscribe(
            topic_url=topic, hub_url=hub, secret="flask-secret", lease_seconds=3600
        )
    wait_for(
        lambda: requests.get(
            f"{publish_service.base_url}/v1/websub/subscriptions",
            params={"topic": topic},
            headers=publish_service.auth(),
            timeout=10,
        ).json()["items"],
        timeout=30,
        message="the hub to verify flask-websub's intent",
    )
    tag = unique("")
    assert publish_service.post_wire(sample_copy(tag)).status_code == 202

    # flask-websub calls its listeners only for a body whose X-Hub-Signature checks out
    def got_story() -> bool:
        return any(t == topic and tag.encode() in body for t, body in received)

    wait_for(got_story, timeout=60, message="a signed distribution with the new story")
    with app.app_context():
        subscriber.unsubscribe(callback_id)
    wait_for(
        lambda: (
            not requests.get(
                f"{publish_service.base_url}/v1/websub/subscriptions",
                params={"topic": topic},
                headers=publish_service.auth(),
                timeout=10,
            ).json()["items"]
        ),
        timeout=30,
        message="the unsubscription to be verified",
    )
